package fakeprovider

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RateLimiter sits in front of a Server's handler and enforces a provider's send rate
// limit the way SendGrid and Twilio do: beyond MaxPerSecond sends in one wall-clock
// second, a send is answered 429 with Retry-After (and, for SendGrid,
// X-RateLimit-Limit/-Remaining/-Reset) and never reaches the outbox. Lookups are not
// limited. It also reports every send's outcome (see OnSend) and keeps per-provider
// counts, including how often the same message was refused twice in a row — a client
// that honours Retry-After but not the provider's rate still hammers the limit.
//
// A message is identified by SendGrid's custom_args notice_key (else the recipients)
// and by Twilio's To and Body. Wrap with NewRateLimiter(srv) and serve the limiter
// instead of srv. It is safe for concurrent use.
type RateLimiter struct {
	next http.Handler
	now  func() time.Time

	mu      sync.Mutex
	limit   map[Provider]int
	windows map[Provider]*rateWindow
	stats   map[Provider]*RateStats
	// limited remembers, per message, whether its last send was refused.
	limited map[string]bool
	onSend  func(SendOutcome)
}

// rateWindow counts the sends accepted in one wall-clock second.
type rateWindow struct {
	second int64
	count  int
}

// RateStats counts one provider's sends as the limiter saw them.
type RateStats struct {
	// Passed is how many sends were let through to the provider (whatever it answered).
	Passed int64 `json:"passed"`
	// Limited is how many sends were refused with 429.
	Limited int64 `json:"limited"`
	// RepeatLimited is how many 429s went to a message whose previous send had also
	// been refused with 429.
	RepeatLimited int64 `json:"repeat_limited"`
}

// SendOutcome is one send request and how it was answered.
type SendOutcome struct {
	Provider Provider
	// Key identifies the message (see RateLimiter).
	Key string
	// Status is the HTTP status of the answer: 429 when the limiter refused it.
	Status int
	At     time.Time
}

// NewRateLimiter wraps next (normally a *Server) with no limits set.
func NewRateLimiter(next http.Handler) *RateLimiter {
	return &RateLimiter{
		next: next, now: time.Now,
		limit: map[Provider]int{}, windows: map[Provider]*rateWindow{},
		stats: map[Provider]*RateStats{SendGrid: {}, Twilio: {}}, limited: map[string]bool{},
	}
}

// SetLimit sets provider p's maximum sends per second; 0 or less removes the limit.
func (l *RateLimiter) SetLimit(p Provider, maxPerSecond int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if maxPerSecond <= 0 {
		delete(l.limit, p)
		return
	}
	l.limit[p] = maxPerSecond
	l.windows[p] = &rateWindow{}
}

// OnSend sets a function called after every send request is answered (nil removes
// it). It runs on the request's goroutine and must not block.
func (l *RateLimiter) OnSend(fn func(SendOutcome)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.onSend = fn
}

// Stats returns provider p's counts since the last ResetStats.
func (l *RateLimiter) Stats(p Provider) RateStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s, ok := l.stats[p]; ok {
		return *s
	}
	return RateStats{}
}

// ResetStats zeroes the counts and forgets which messages were last refused.
func (l *RateLimiter) ResetStats() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats = map[Provider]*RateStats{SendGrid: {}, Twilio: {}}
	l.limited = map[string]bool{}
}

// ServeHTTP limits sends and passes everything else to the wrapped handler.
func (l *RateLimiter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := sendProvider(r)
	if !ok {
		l.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "reading request body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	key := messageKey(p, body)

	now := l.now()
	retryAfter, allowed := l.admit(p, key, now)
	status := http.StatusTooManyRequests
	if allowed {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		l.next.ServeHTTP(rec, r)
		status = rec.status
	} else {
		writeRateLimited(w, p, l.limitOf(p), retryAfter, now)
	}
	l.mu.Lock()
	fn := l.onSend
	l.mu.Unlock()
	if fn != nil {
		fn(SendOutcome{Provider: p, Key: key, Status: status, At: now})
	}
}

// admit counts the send against p's current one-second window and reports whether
// it may pass; when it may not, it returns the whole seconds until the next window.
func (l *RateLimiter) admit(p Provider, key string, now time.Time) (retryAfter int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.stats[p]
	perSecond, limited := l.limit[p]
	if limited {
		win := l.windows[p]
		if sec := now.Unix(); win.second != sec {
			win.second, win.count = sec, 0
		}
		if win.count >= perSecond {
			st.Limited++
			if l.limited[key] {
				st.RepeatLimited++
			}
			l.limited[key] = true
			return 1, false // the window ends within the second
		}
		win.count++
	}
	st.Passed++
	delete(l.limited, key)
	return 0, true
}

func (l *RateLimiter) limitOf(p Provider) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit[p]
}

// sendProvider reports which provider's send endpoint r is for.
func sendProvider(r *http.Request) (Provider, bool) {
	if r.Method != http.MethodPost {
		return "", false
	}
	switch {
	case r.URL.Path == "/v3/mail/send":
		return SendGrid, true
	case strings.HasPrefix(r.URL.Path, "/2010-04-01/Accounts/") && strings.HasSuffix(r.URL.Path, "/Messages.json"):
		return Twilio, true
	}
	return "", false
}

// messageKey identifies a message across retries: SendGrid's notice_key custom
// argument (else its recipients), Twilio's recipient and text.
func messageKey(p Provider, body []byte) string {
	if p == Twilio {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return "twilio:?"
		}
		return "twilio:" + strings.TrimSpace(form.Get("To")) + "\n" + form.Get("Body")
	}
	var m sgMail
	if gz, err := gunzip(body); err == nil {
		body = gz
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return "sendgrid:?"
	}
	if k := m.CustomArgs["notice_key"]; k != "" {
		return "sendgrid:" + k
	}
	var tos []string
	for _, pz := range m.Personalizations {
		if k := pz.CustomArgs["notice_key"]; k != "" {
			return "sendgrid:" + k
		}
		for _, a := range pz.To {
			tos = append(tos, normRecipient(a.Email))
		}
	}
	return "sendgrid:" + strings.Join(tos, ",") + "\n" + m.Subject
}

// writeRateLimited answers 429 as provider p does.
func writeRateLimited(w http.ResponseWriter, p Provider, limit, retryAfter int, now time.Time) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	if p == Twilio {
		writeTwilioError(w, http.StatusTooManyRequests, 20429, "Too Many Requests")
		return
	}
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(limit))
	w.Header().Set("X-RateLimit-Remaining", "0")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(now.Unix()+int64(retryAfter), 10))
	writeSendGridErrors(w, http.StatusTooManyRequests, sgError{Message: "too many requests"})
}

// statusRecorder remembers the status the wrapped handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
