package api

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/internal/config"
)

// RateLimit bounds how fast one caller may use the API: a token bucket per API key
// (by key id, so every replica's view of a key is its own bucket and a key's sessions
// share its bucket), and one per client address for requests that do not
// authenticate (sign-in attempts, wrong keys, unknown routes). Beyond it the API
// answers 429 with Retry-After.
//
// Not limited: the provider webhooks (Stripe, payments, Twilio, SendGrid) and the
// health probes. A webhook is authenticated by its signature, stored before it is
// acted on and deduplicated by event id, so a burst costs one insert each; refusing it
// would only make the provider retry later and delay a payment or an opt-out, and
// providers send from shared addresses, so a per-address bucket would throttle one
// merchant's events by another's. Their bodies are bounded like every request's.
type RateLimit = config.APIRateLimit

// limitSweepEvery is how often idle buckets are dropped: a bucket that has refilled
// is the same as a new one, so forgetting it changes nothing and keeps the
// per-address map from growing with every client ever seen.
const limitSweepEvery = time.Minute

// limiters holds the token buckets of one RateLimit.
type limiters struct {
	limit     RateLimit
	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
}

func newLimiters(l RateLimit) *limiters {
	if l.PerSecond <= 0 {
		return nil
	}
	if l.Burst < 1 {
		l.Burst = 1
	}
	return &limiters{limit: l, buckets: map[string]*rate.Limiter{}}
}

func (l *limiters) bucket(id string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= limitSweepEvery {
		for k, b := range l.buckets {
			if b.TokensAt(now) >= float64(l.limit.Burst) {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	b := l.buckets[id]
	if b == nil {
		b = rate.NewLimiter(rate.Limit(l.limit.PerSecond), l.limit.Burst)
		l.buckets[id] = b
	}
	return b
}

// take spends one request from id's bucket. Refused, it spends nothing and returns
// how long until a request would be allowed.
func (l *limiters) take(id string, now time.Time) (bool, time.Duration) {
	r := l.bucket(id, now).ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// wait returns how long until id's bucket holds a whole request, without spending it
// (0: now). It makes no bucket: one that does not exist is full, and every request
// with a valid key asks, so making one would fill the map with the address of every
// caller that never failed.
func (l *limiters) wait(id string, now time.Time) time.Duration {
	l.mu.Lock()
	b := l.buckets[id]
	l.mu.Unlock()
	if b == nil {
		return 0
	}
	missing := 1 - b.TokensAt(now)
	if missing <= 0 {
		return 0
	}
	return time.Duration(missing / l.limit.PerSecond * float64(time.Second))
}

// tooMany answers 429 with Retry-After in whole seconds (at least 1).
func tooMany(w http.ResponseWriter, after time.Duration) {
	secs := int(math.Ceil(after.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, "rate limit exceeded; retry after "+strconv.Itoa(secs)+"s", nil)
}

// limitKey limits an authenticated request by its API key; it runs after the key
// check, so the key is in the context.
func (s *Server) limitKey(next http.Handler) http.Handler {
	return s.limitBy(s.keyLimits, func(r *http.Request) string {
		if key, ok := auth.KeyFrom(r.Context()); ok {
			return "key:" + strconv.FormatInt(key.ID, 10)
		}
		return "ip:" + s.clientIP(r) // not reached behind Require; limited by address rather than not at all
	}, next)
}

// limitAddr limits a route that needs no key by the client's address.
func (s *Server) limitAddr(next http.Handler) http.Handler {
	return s.limitBy(s.addrLimits, s.clientIP, next)
}

// limitBy answers 429 to a request whose bucket in limits (named by bucket) is empty;
// nil limits limit nothing.
func (s *Server) limitBy(limits *limiters, bucket func(*http.Request) string, next http.Handler) http.Handler {
	if limits == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, after := limits.take(bucket(r), s.now()); !ok {
			tooMany(w, after)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitFailedAuth wraps the key check: a request the check refuses (401) spends one
// request from the client address's bucket, and an address whose bucket is empty is
// answered 429 before its key is looked up. Guessing keys costs a lookup each, so it
// is bounded like any unauthenticated request; a valid key is never charged here.
func (s *Server) limitFailedAuth(check http.Handler) http.Handler {
	if s.addrLimits == nil {
		return check
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := s.clientIP(r)
		if after := s.addrLimits.wait(ip, s.now()); after > 0 {
			tooMany(w, after)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		check.ServeHTTP(sw, r)
		if sw.status == http.StatusUnauthorized {
			s.addrLimits.take(ip, s.now())
		}
	})
}
