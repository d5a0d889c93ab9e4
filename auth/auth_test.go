package auth

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/ledger"
)

// fakeStore is an in-memory KeyStore.
type fakeStore struct {
	mu      sync.Mutex
	byToken map[string]ledger.APIKey
	fail    error
	lookups int
}

func newFakeStore() *fakeStore { return &fakeStore{byToken: map[string]ledger.APIKey{}} }

func (f *fakeStore) add(t *testing.T, name string, scopes ...Scope) (string, ledger.APIKey) {
	t.Helper()
	token, err := ledger.NewAPIKeyToken()
	require.NoError(t, err)
	f.mu.Lock()
	defer f.mu.Unlock()
	k := ledger.APIKey{ID: int64(len(f.byToken) + 1), Name: name, Scopes: Strings(scopes), CreatedAt: time.Now()}
	f.byToken[token] = k
	return token, k
}

func (f *fakeStore) revoke(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	for tok, k := range f.byToken {
		if k.ID == id {
			k.RevokedAt = &now
			f.byToken[tok] = k
		}
	}
}

func (f *fakeStore) LookupAPIKey(_ context.Context, token string) (ledger.APIKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	if f.fail != nil {
		return ledger.APIKey{}, f.fail
	}
	k, ok := f.byToken[token]
	switch {
	case !ok:
		return ledger.APIKey{}, ledger.ErrNotFound
	case k.Revoked():
		return k, ledger.ErrKeyRevoked
	}
	return k, nil
}

func (f *fakeStore) GetAPIKey(_ context.Context, id int64) (ledger.APIKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return ledger.APIKey{}, f.fail
	}
	for _, k := range f.byToken {
		if k.ID == id {
			return k, nil
		}
	}
	return ledger.APIKey{}, ledger.ErrNotFound
}

// echo answers 200 with the caller's key name and credential.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	k, ok := KeyFrom(r.Context())
	if !ok {
		http.Error(w, "no key in context", http.StatusInternalServerError)
		return
	}
	_, _ = w.Write([]byte(k.Name + " " + string(CredentialFrom(r.Context()))))
})

func newMiddleware(t *testing.T, store KeyStore, opts ...Option) (*Middleware, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	m, err := New(store, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), opts...)
	require.NoError(t, err)
	return m, &logs
}

func errorOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct {
		Error string `json:"error"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	require.NotEmpty(t, body.Error)
	return body.Error
}

func TestRequire(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	writer, _ := store.add(t, "writer", ScopeInvoicesWrite, ScopeRead)
	reader, _ := store.add(t, "reader", ScopeRead)
	revoked, rk := store.add(t, "gone", ScopeInvoicesWrite)
	store.revoke(rk.ID)
	unknown, err := ledger.NewAPIKeyToken()
	require.NoError(t, err)
	m, logs := newMiddleware(t, store)
	h := m.Require(ScopeInvoicesWrite)(echo)

	for _, tc := range []struct {
		name    string
		headers []string // Authorization values
		code    int
		msg     string
	}{
		{"no header", nil, 401, "missing API key"},
		{"empty header", []string{""}, 401, "malformed"},
		{"basic auth", []string{"Basic dXNlcjpwYXNz"}, 401, "malformed"},
		{"bearer without token", []string{"Bearer"}, 401, "malformed"},
		{"bearer with two spaces", []string{"Bearer  " + writer}, 401, "malformed"},
		{"not a key shape", []string{"Bearer hunter2"}, 401, "malformed"},
		{"two headers", []string{"Bearer " + writer, "Bearer " + writer}, 401, "malformed"},
		{"unknown key", []string{"Bearer " + unknown}, 401, "invalid API key"},
		{"revoked key", []string{"Bearer " + revoked}, 401, "revoked"},
		{"wrong scope", []string{"Bearer " + reader}, 403, `lacks the scope "invoices:write"`},
		{"right scope", []string{"Bearer " + writer}, 200, ""},
		{"scheme is case-insensitive", []string{"bearer " + writer}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/v1/invoices", strings.NewReader("{}"))
			for _, v := range tc.headers {
				req.Header.Add("Authorization", v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tc.code, rec.Code, rec.Body.String())
			switch tc.code {
			case 200:
				require.Equal(t, "writer bearer", rec.Body.String())
			case 401:
				require.True(t, strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer"))
				require.Contains(t, errorOf(t, rec), tc.msg)
				require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			case 403:
				require.Contains(t, rec.Header().Get("WWW-Authenticate"), `error="insufficient_scope"`)
				require.Contains(t, errorOf(t, rec), tc.msg)
			}
		})
	}
	for _, tok := range []string{writer, reader, revoked, unknown} {
		require.NotContains(t, logs.String(), tok, "tokens are never logged")
	}
}

func TestRequireStoreDown(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	token, _ := store.add(t, "k", ScopeRead)
	store.fail = errors.New("connection refused")
	m, logs := newMiddleware(t, store)
	req := httptest.NewRequest(http.MethodGet, "/v1/invoices/X", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	m.Require(ScopeRead)(echo).ServeHTTP(rec, req)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.NotContains(t, errorOf(t, rec), "connection refused", "no internal error text in answers")
	require.Contains(t, logs.String(), "connection refused")
	require.NotContains(t, logs.String(), token)
}

func TestRequireChecksEveryRequest(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	token, k := store.add(t, "k", ScopeRead)
	m, _ := newMiddleware(t, store)
	h := m.Require(ScopeRead)(echo)
	do := func() int {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	require.Equal(t, 200, do())
	require.Equal(t, 200, do())
	store.revoke(k.ID)
	require.Equal(t, 401, do(), "no cache: revocation applies to the next request")
	require.Equal(t, 3, store.lookups)
}

func TestNewRejectsShortSecret(t *testing.T) {
	t.Parallel()
	_, err := New(newFakeStore(), nil, WithSessionSecret([]byte("short")))
	require.Error(t, err)
	_, err = New(nil, nil)
	require.Error(t, err)
	_, err = New(newFakeStore(), nil, WithSessionSecret(bytes.Repeat([]byte("s"), 32)))
	require.NoError(t, err)
}

func TestParseScopes(t *testing.T) {
	t.Parallel()
	got, err := ParseScopes(" invoices:write, read,read ")
	require.NoError(t, err)
	require.Equal(t, []Scope{ScopeInvoicesWrite, ScopeRead}, got)
	got, err = ParseScopes("all")
	require.NoError(t, err)
	require.Equal(t, AllScopes(), got)
	for _, bad := range []string{"", ",", "admin", "read,write"} {
		_, err := ParseScopes(bad)
		require.Error(t, err, bad)
	}
}

// startSession posts to the session handler and returns the answer.
func startSession(t *testing.T, m *Middleware, token string, tlsOn bool) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/session", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if tlsOn {
		req.TLS = &tls.ConnectionState{}
	}
	rec := httptest.NewRecorder()
	m.SessionHandler().ServeHTTP(rec, req)
	return rec
}

func sessionCookie(t *testing.T, rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == SessionCookie {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", rec.Header())
	return nil
}

func TestSession(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	token, k := store.add(t, "operator-ui", ScopeOperator)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	m, logs := newMiddleware(t, store, WithClock(clock), WithSessionTTL(30*time.Minute))
	h := m.Require(ScopeOperator)(echo)

	rec := startSession(t, m, token, true)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	c := sessionCookie(t, rec)
	require.True(t, c.HttpOnly)
	require.True(t, c.Secure)
	require.Equal(t, http.SameSiteLaxMode, c.SameSite, "no UI on another site: Lax, even over TLS")
	require.Equal(t, 1800, c.MaxAge)
	require.NotContains(t, c.Value, token)
	var resp SessionResponse
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
	require.Equal(t, SessionResponse{KeyID: k.ID, KeyName: "operator-ui", Scopes: []string{"operator"}, ExpiresAt: now.Add(30 * time.Minute)}, resp)

	plain := sessionCookie(t, startSession(t, m, token, false))
	require.False(t, plain.Secure)
	require.Equal(t, http.SameSiteLaxMode, plain.SameSite, "browsers refuse SameSite=None without Secure")

	call := func(method, contentType string, cookie *http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/codec/decode", strings.NewReader(`{}`))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	r := call(http.MethodGet, "", c)
	require.Equal(t, 200, r.Code, r.Body.String())
	require.Equal(t, "operator-ui session", r.Body.String())

	// Through Require a session only reads, whatever the content type: the /v1/ writes
	// (payments, keys, actions) need the Bearer header.
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "", "text/plain", "application/x-www-form-urlencoded"} {
		r := call(http.MethodPost, ct, c)
		require.Equal(t, 401, r.Code, ct)
		require.Contains(t, errorOf(t, r), "Bearer")
	}

	// Tampering: another key id, a bad signature, garbage.
	forged := *c
	parts := strings.Split(c.Value, ".")
	parts[1] = "999"
	forged.Value = strings.Join(parts, ".")
	require.Equal(t, 401, call(http.MethodGet, "", &forged).Code)
	for _, v := range []string{"", "x", "v1.1.2", "v1.1.99999999999.AAAA", c.Value + "A", "v2" + c.Value[2:]} {
		bad := *c
		bad.Value = v
		require.Equal(t, 401, call(http.MethodGet, "", &bad).Code, v)
	}

	// Another process's secret does not verify.
	other, _ := newMiddleware(t, store, WithClock(clock))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(c)
	rr := httptest.NewRecorder()
	other.Require(ScopeOperator)(echo).ServeHTTP(rr, req)
	require.Equal(t, 401, rr.Code)

	// Scope still applies to sessions.
	rr = httptest.NewRecorder()
	req = httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(c)
	m.Require(ScopeRead)(echo).ServeHTTP(rr, req)
	require.Equal(t, 403, rr.Code)

	// A Bearer header wins over a cookie.
	reader, _ := store.add(t, "reader", ScopeRead)
	req = httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(c)
	req.Header.Set("Authorization", "Bearer "+reader)
	rr = httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	require.Equal(t, 403, rr.Code)

	// Expiry.
	mu.Lock()
	now = now.Add(30 * time.Minute)
	mu.Unlock()
	require.Equal(t, 401, call(http.MethodGet, "", c).Code, "expired")
	mu.Lock()
	now = now.Add(-time.Minute)
	mu.Unlock()
	require.Equal(t, 200, call(http.MethodGet, "", c).Code)

	// Revoking the key ends its sessions.
	store.revoke(k.ID)
	r = call(http.MethodGet, "", c)
	require.Equal(t, 401, r.Code)
	require.Contains(t, errorOf(t, r), "revoked")

	require.NotContains(t, logs.String(), token)
	require.NotContains(t, logs.String(), c.Value)
}

func TestSessionNeedsBearer(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	token, _ := store.add(t, "k", ScopeRead)
	unknown, _ := ledger.NewAPIKeyToken()
	m, _ := newMiddleware(t, store)
	require.Equal(t, 401, startSession(t, m, "", false).Code)
	require.Equal(t, 401, startSession(t, m, unknown, false).Code)
	// A session cannot mint a session.
	c := sessionCookie(t, startSession(t, m, token, false))
	req := httptest.NewRequest(http.MethodPost, "/v1/session", nil)
	req.AddCookie(c)
	rec := httptest.NewRecorder()
	m.SessionHandler().ServeHTTP(rec, req)
	require.Equal(t, 401, rec.Code)

	rec = httptest.NewRecorder()
	EndSessionHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodDelete, "/v1/session", nil))
	require.Equal(t, http.StatusNoContent, rec.Code)
	cleared := sessionCookie(t, rec)
	require.Empty(t, cleared.Value)
	require.Negative(t, cleared.MaxAge)
}

// TestSessionWritesFromTheBrowser: where RequireBrowser allows it, a session cookie
// acts from the server's own pages (Sec-Fetch-Site: same-origin, or an Origin equal to
// the server's) and from the configured UI origins, whatever the body's content type
// (the Temporal UI sends text/plain bodies and cancels with none); any other page, or
// a request that no browser header vouches for, is refused before the key is read.
func TestSessionWritesFromTheBrowser(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	token, _ := store.add(t, "operator-ui", ScopeOperator)
	m, logs := newMiddleware(t, store)
	c := sessionCookie(t, startSession(t, m, token, false))
	h := m.RequireBrowser(ScopeOperator, "http://localhost:8233/")(echo)

	call := func(contentType, body string, headers ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "http://api.example:8080/ui/api/v1/namespaces/default/workflows/invoice-1/cancel", strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		req.AddCookie(c)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for _, tc := range []struct {
		name        string
		contentType string
		body        string
		headers     []string
		code        int
	}{
		{"same-origin fetch, text/plain", "text/plain;charset=UTF-8", `{"x":1}`, []string{"Sec-Fetch-Site", "same-origin", "Origin", "http://api.example:8080"}, 200},
		{"same-origin fetch, no body", "", "", []string{"Sec-Fetch-Site", "same-origin"}, 200},
		{"older browser: Origin is the server's", "", "", []string{"Origin", "http://api.example:8080"}, 200},
		{"the configured UI origin (same site)", "application/json", `{}`, []string{"Sec-Fetch-Site", "same-site", "Origin", "http://localhost:8233"}, 200},
		{"cross-site form post", "application/x-www-form-urlencoded", "a=1", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, 403},
		{"cross-site JSON", "application/json", `{}`, []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, 403},
		{"same-site page that is not the UI", "text/plain", "", []string{"Sec-Fetch-Site", "same-site", "Origin", "http://localhost:9999"}, 403},
		{"older browser: another Origin", "text/plain", "", []string{"Origin", "https://evil.example"}, 403},
		{"opaque origin", "text/plain", "", []string{"Origin", "null"}, 403},
		{"no browser header at all", "application/json", `{}`, nil, 403},
	} {
		r := call(tc.contentType, tc.body, tc.headers...)
		require.Equal(t, tc.code, r.Code, "%s: %s", tc.name, r.Body.String())
		if tc.code == 403 {
			require.Contains(t, errorOf(t, r), "own pages", tc.name)
		}
	}
	require.Contains(t, logs.String(), "Cross-origin request with a session cookie refused")

	// The Bearer header needs no browser header: CSRF is about cookies.
	req := httptest.NewRequest(http.MethodPost, "/ui/x", strings.NewReader("x"))
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, 200, rec.Code, rec.Body.String())
}

// TestSessionSameSite: the cookie is SameSite=Lax unless, over TLS, a Temporal UI on
// another host must send it with its codec calls.
func TestSessionSameSite(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	token, _ := store.add(t, "k", ScopeRead)
	m, _ := newMiddleware(t, store)
	start := func(tlsOn bool, origins ...string) *http.Cookie {
		req := httptest.NewRequest(http.MethodPost, "http://api.example/v1/session", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if tlsOn {
			req.TLS = &tls.ConnectionState{}
		}
		rec := httptest.NewRecorder()
		m.SessionHandler(origins...).ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code)
		return sessionCookie(t, rec)
	}
	require.Equal(t, http.SameSiteLaxMode, start(true).SameSite, "UI under /ui/: same origin")
	require.Equal(t, http.SameSiteLaxMode, start(true, "https://api.example:8233").SameSite, "another port is the same site")
	cross := start(true, "https://temporal-ui.other.example")
	require.Equal(t, http.SameSiteNoneMode, cross.SameSite)
	require.True(t, cross.Secure)
	require.Equal(t, http.SameSiteLaxMode, start(false, "https://temporal-ui.other.example").SameSite, "None needs Secure")
}
