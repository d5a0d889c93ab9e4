package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/internal/codec"
)

// TestRecovererNeverAppendsToAStartedAnswer: a panic after the status line went out
// aborts the connection (the client sees a broken answer, not a 200 followed by an
// error object), http.ErrAbortHandler goes on to the server untouched, and a panic
// before anything was written is still a 500.
func TestRecovererNeverAppendsToAStartedAnswer(t *testing.T) {
	t.Parallel()
	s := &Server{Logger: slog.New(slog.DiscardHandler)}
	hs := httptest.NewServer(s.recoverer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/started":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, `{"invoice_id": "INV-1", "bal`)
			http.NewResponseController(w).Flush()
			panic("boom after the headers")
		case "/abort":
			panic(http.ErrAbortHandler)
		default:
			panic("boom before the headers")
		}
	})))
	t.Cleanup(hs.Close)

	resp, err := hs.Client().Get(hs.URL + "/started")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Error(t, err, "the client must see the answer break off, got %q", body)
	require.NotContains(t, string(body), "internal error")

	_, err = hs.Client().Get(hs.URL + "/abort")
	require.Error(t, err, "ErrAbortHandler must abort the connection, not become an answer")

	a := getAnswer(t, hs, "/before")
	require.Equal(t, http.StatusInternalServerError, a.code)
	require.Contains(t, string(a.body), "internal error")
}

func getAnswer(t *testing.T, hs *httptest.Server, path string) answer {
	t.Helper()
	resp, err := hs.Client().Get(hs.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{code: resp.StatusCode, header: resp.Header, body: b}
}

// TestForwardedProtoOnlyFromTrustedProxies: the session cookie is Secure because of
// X-Forwarded-Proto only when the header comes from a configured proxy.
func TestForwardedProtoOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	token, _ := newKey(t, testStore, auth.ScopeRead)
	for _, tc := range []struct {
		name    string
		proxies []netip.Prefix
		secure  bool
	}{
		{"no proxy configured", nil, false},
		{"the peer is not a configured proxy", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, false},
		{"the peer is a configured proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, testStore, func(s *Server) { s.TrustedProxies = tc.proxies })
			a := call(t, srv, "POST", "/v1/session", "", append(bearer(token), "X-Forwarded-Proto", "https")...)
			require.Equal(t, http.StatusOK, a.code, string(a.body))
			cookies := (&http.Response{Header: a.header}).Cookies()
			require.Len(t, cookies, 1)
			require.Equal(t, tc.secure, cookies[0].Secure)
		})
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	s := &Server{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	for _, tc := range []struct{ remote, xff, want string }{
		{"203.0.113.9:4000", "", "203.0.113.9"},
		{"203.0.113.9:4000", "198.51.100.1", "203.0.113.9"}, // not from a proxy: the header is the client's word
		{"10.0.0.2:4000", "", "10.0.0.2"},
		{"10.0.0.2:4000", "198.51.100.1", "198.51.100.1"},
		{"10.0.0.2:4000", "1.2.3.4, 198.51.100.1, 10.0.0.7", "198.51.100.1"}, // 1.2.3.4 was written by the client
		{"10.0.0.2:4000", "not-an-ip, 198.51.100.1", "198.51.100.1"},
		{"10.0.0.2:4000", "198.51.100.1, garbage", "10.0.0.2"},
		{"[::ffff:203.0.113.9]:4000", "", "203.0.113.9"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		require.Equal(t, tc.want, s.clientIP(r), "%s via %q", tc.remote, tc.xff)
	}
}

// fakeClock is a settable clock for Server.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// limitedServer is a test server whose rate limit (a burst of 2, one request back
// every 2 s) runs on a clock the test moves.
func limitedServer(t *testing.T, mutate ...func(*Server)) (*testServer, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	srv := newTestServer(t, testStore, append(mutate, func(s *Server) {
		s.Now = clock.now
		s.RateLimit = RateLimit{PerSecond: 0.5, Burst: 2}
	})...)
	return srv, clock
}

// spendBurst spends the key's burst on route and returns the answer to the request
// after it, which the limit refuses.
func spendBurst(t *testing.T, srv *testServer, route, token string) answer {
	t.Helper()
	for i := 0; i < 2; i++ {
		require.Equal(t, http.StatusOK, call(t, srv, "GET", route, "", bearer(token)...).code)
	}
	refused := call(t, srv, "GET", route, "", bearer(token)...)
	require.Equal(t, http.StatusTooManyRequests, refused.code, string(refused.body))
	return refused
}

// TestRateLimitPerKey: each key has its own bucket (429 with Retry-After once it is
// empty, refilled with time); requests without a valid key are limited by address,
// sign-in included; the webhooks are not limited.
func TestRateLimitPerKey(t *testing.T) {
	t.Parallel()
	srv, clock := limitedServer(t)
	a, _ := newKey(t, testStore, auth.ScopeRead)
	b, _ := newKey(t, testStore, auth.ScopeRead)
	const route = "/v1/webhooks/events"
	refused := spendBurst(t, srv, route, a)
	require.Equal(t, "2", refused.header.Get("Retry-After"), "one request comes back every 2 s")
	require.Contains(t, refused.errorText(t), "rate limit")
	require.Equal(t, http.StatusOK, call(t, srv, "GET", route, "", bearer(b)...).code, "another key has its own bucket")
	clock.add(2 * time.Second)
	require.Equal(t, http.StatusOK, call(t, srv, "GET", route, "", bearer(a)...).code, "refilled")
	require.Equal(t, http.StatusTooManyRequests, call(t, srv, "GET", route, "", bearer(a)...).code)

	// Wrong keys: two lookups, then 429 before any lookup.
	wrong := bearer("dw_" + strings.Repeat("x", 43))
	require.Equal(t, http.StatusUnauthorized, call(t, srv, "GET", route, "", wrong...).code)
	require.Equal(t, http.StatusUnauthorized, call(t, srv, "POST", "/v1/session", "", wrong...).code)
	require.Equal(t, http.StatusTooManyRequests, call(t, srv, "GET", route, "", wrong...).code)
	require.Equal(t, http.StatusTooManyRequests, call(t, srv, "POST", "/v1/session", "", wrong...).code)
	require.Equal(t, http.StatusTooManyRequests, call(t, srv, "GET", "/no/such/route", "").code)
	// The webhooks and probes are not limited.
	for i := 0; i < 5; i++ {
		require.NotEqual(t, http.StatusTooManyRequests, call(t, srv, "POST", "/v1/webhooks/stripe", "{}").code)
		require.Equal(t, http.StatusOK, call(t, srv, "GET", "/healthz", "").code)
	}
}

// TestLimitersWaitMakesNoBucket: asking whether an address may try a key (every keyed
// request asks) keeps no bucket for it; only a refused key spends, and then waits.
func TestLimitersWaitMakesNoBucket(t *testing.T) {
	t.Parallel()
	l := newLimiters(RateLimit{PerSecond: 0.5, Burst: 1})
	now := time.Unix(1_800_000_000, 0)
	require.Zero(t, l.wait("203.0.113.7", now))
	require.Empty(t, l.buckets, "asking makes no bucket")
	ok, _ := l.take("203.0.113.7", now)
	require.True(t, ok)
	require.Equal(t, 2*time.Second, l.wait("203.0.113.7", now))
}

// TestCodecScope: decoding for viewing is what the Temporal UI does with the codec
// endpoint, so it needs read, and auth's scope documentation says the same thing.
func TestCodecScope(t *testing.T) {
	t.Parallel()
	spec, err := codec.GenerateKeySpec("test")
	require.NoError(t, err)
	ring, err := codec.ParseKeyRing(spec)
	require.NoError(t, err)
	srv := newTestServer(t, testStore, func(s *Server) { s.Codec = codec.HTTPHandler(ring) })
	for _, scope := range auth.AllScopes() {
		token, _ := newKey(t, testStore, scope)
		a := call(t, srv, "POST", "/codec/decode", `{"payloads": []}`, bearer(token)...)
		want := http.StatusForbidden
		if scope == auth.ScopeRead {
			want = http.StatusOK
		}
		require.Equal(t, want, a.code, "scope %s: %s", scope, a.body)
	}

	// The scope whose documentation mentions the codec endpoint is read, and only read.
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "../auth/auth.go", nil, parser.ParseComments)
	require.NoError(t, err)
	var mention []string
	ast.Inspect(f, func(n ast.Node) bool {
		if spec, ok := n.(*ast.ValueSpec); ok && spec.Doc != nil && strings.Contains(spec.Doc.Text(), "codec") {
			mention = append(mention, spec.Names[0].Name)
		}
		return true
	})
	require.Equal(t, []string{"ScopeRead"}, mention)
}

// TestUIProxyRateLimit: the Temporal UI's API calls through /ui/ count against the
// key like the API's own routes; its static files do not.
func TestUIProxyRateLimit(t *testing.T) {
	t.Parallel()
	_, u := newFakeUI(t)
	srv, _ := limitedServer(t, func(s *Server) { s.UIUpstream = u })
	key, _ := newKey(t, testStore, auth.ScopeRead)
	refused := spendBurst(t, srv, "/ui/api/v1/namespaces/default/workflows", key)
	require.NotEmpty(t, refused.header.Get("Retry-After"))
	for i := 0; i < 5; i++ {
		require.Equal(t, http.StatusOK, call(t, srv, "GET", "/ui/_app/immutable/app.js", "", bearer(key)...).code, "static files are not limited")
	}
}

// A method a path does not take is 405 with Allow naming those it does (the catch-all
// answered 404 "no route"); a path no route has stays 404.
func TestWrongMethodIs405WithAllow(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore)
	key, _ := newKey(t, testStore, auth.AllScopes()...)
	for _, c := range []struct {
		method, path string
		code         int
		allow        string
	}{
		{"GET", "/v1/tasks/1/complete", http.StatusMethodNotAllowed, "POST"},
		{"DELETE", "/v1/invoices/INV-1", http.StatusMethodNotAllowed, "GET"},
		{"PATCH", "/v1/customers/C-1/assignee", http.StatusMethodNotAllowed, "PUT, DELETE"},
		{"GET", "/v1/bank-statements", http.StatusMethodNotAllowed, "POST"}, // a route of its own body limit
		{"GET", "/worklist/tasks/1/snooze", http.StatusMethodNotAllowed, "POST"},
		{"GET", "/v1/nothing-here", http.StatusNotFound, ""},
		{"POST", "/v1/tasks/1/frobnicate", http.StatusNotFound, ""},
	} {
		a := call(t, srv, c.method, c.path, "", bearer(key)...)
		require.Equal(t, c.code, a.code, "%s %s: %s", c.method, c.path, a.body)
		require.Equal(t, c.allow, a.header.Get("Allow"), "%s %s", c.method, c.path)
		require.NotEmpty(t, a.errorText(t))
	}
}
