// Package auth guards Dunwell's HTTP API with scoped API keys.
//
// A caller sends "Authorization: Bearer <key>"; the key is looked up (by the SHA-256
// of the token, one indexed SELECT) on every request, and Require(scope) lets the
// request through only if the key exists, is not revoked and grants scope. There is
// deliberately no cache: a revoked key fails on its very next request, and the lookup
// costs well under a millisecond against a local database (see BenchmarkLookup).
//
// Browsers cannot add a header to the Temporal UI's codec calls, so POST /v1/session
// (with a Bearer key, or the key in the operator pages' same-origin sign-in form, which
// needs no script) sets a short-lived, HMAC-signed session cookie that refers to
// the key by id and re-checks the key on every request, so revoking the key ends its
// sessions too. The cookie is a browser credential with less power than its key:
// Require accepts it for reads only, and RequireBrowser (the codec, the Temporal UI's
// allowed actions) also for unsafe requests made by this server's own pages or a
// configured UI origin. Every other write needs the Bearer header.
//
// Answers: 401 with "WWW-Authenticate: Bearer" and {"error": "..."} when the key is
// missing, malformed, unknown or revoked, or is a session cookie on a write that needs
// the header; 403 naming the scope when the key lacks it, or when a session's write
// comes from another site; 503 when the key store cannot be reached. Tokens are never
// logged.
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dunwell/dunwell/ledger"
)

// Scope is a permission an API key grants.
type Scope string

// The scopes. They are independent: none implies another.
const (
	// ScopeInvoicesWrite issues invoices.
	ScopeInvoicesWrite Scope = "invoices:write"
	// ScopePaymentsWrite applies payments.
	ScopePaymentsWrite Scope = "payments:write"
	// ScopeOperator steers invoices (dispute, promise, plan, pause, approvals,
	// write-off, policy changes, webhook event retries).
	ScopeOperator Scope = "operator"
	// ScopeRead reads invoice state, audit trails, reports and decrypted payloads (the
	// codec endpoint, through which the Temporal UI shows what it displays).
	ScopeRead Scope = "read"
)

// AllScopes returns every scope.
func AllScopes() []Scope {
	return []Scope{ScopeInvoicesWrite, ScopePaymentsWrite, ScopeOperator, ScopeRead}
}

// ParseScopes parses a comma-separated list of scopes ("invoices:write,read"); "all"
// means every scope. Unknown or empty lists are an error naming the known scopes.
func ParseScopes(list string) ([]Scope, error) {
	if strings.TrimSpace(list) == "all" {
		return AllScopes(), nil
	}
	var out []Scope
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(AllScopes(), Scope(s)) {
			return nil, fmt.Errorf("unknown scope %q (known: %s, or all)", s, strings.Join(Strings(AllScopes()), ", "))
		}
		if !slices.Contains(out, Scope(s)) {
			out = append(out, Scope(s))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no scope given (known: %s, or all)", strings.Join(Strings(AllScopes()), ", "))
	}
	return out, nil
}

// Strings converts scopes to strings, as the ledger stores them.
func Strings(scopes []Scope) []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = string(s)
	}
	return out
}

// KeyStore finds API keys; *ledger.Store satisfies it.
type KeyStore interface {
	// LookupAPIKey returns the key whose token is token: ledger.ErrNotFound if none,
	// ledger.ErrKeyRevoked if it was revoked.
	LookupAPIKey(ctx context.Context, token string) (ledger.APIKey, error)
	// GetAPIKey returns the key with that id (revoked or not), or ledger.ErrNotFound.
	GetAPIKey(ctx context.Context, id int64) (ledger.APIKey, error)
}

var _ KeyStore = (*ledger.Store)(nil)

// Credential says how a request authenticated.
type Credential string

// How a request authenticated.
const (
	ViaBearer  Credential = "bearer"
	ViaSession Credential = "session"
)

type ctxKey struct{}

type caller struct {
	key ledger.APIKey
	via Credential
}

// WithKey returns ctx carrying key as the authenticated caller, as Require does.
func WithKey(ctx context.Context, key ledger.APIKey, via Credential) context.Context {
	return context.WithValue(ctx, ctxKey{}, caller{key: key, via: via})
}

// KeyFrom returns the API key that authenticated the request whose context is ctx.
func KeyFrom(ctx context.Context) (ledger.APIKey, bool) {
	c, ok := ctx.Value(ctxKey{}).(caller)
	return c.key, ok
}

// CredentialFrom returns how the request whose context is ctx authenticated ("" if
// it did not).
func CredentialFrom(ctx context.Context) Credential {
	c, _ := ctx.Value(ctxKey{}).(caller)
	return c.via
}

// lookupTimeout bounds one key lookup.
const lookupTimeout = 5 * time.Second

// Middleware authenticates requests against a KeyStore. Create it with New; it is
// safe for concurrent use.
type Middleware struct {
	store  KeyStore
	log    *slog.Logger
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// Option configures New.
type Option func(*Middleware)

// WithSessionSecret sets the HMAC key that signs session cookies (at least 32 bytes).
// Without it New draws a random one: sessions then end when the process does and are
// not shared between replicas.
func WithSessionSecret(secret []byte) Option {
	return func(m *Middleware) { m.secret = secret }
}

// WithSessionTTL sets how long a session lasts (default DefaultSessionTTL).
// Non-positive values are ignored.
func WithSessionTTL(d time.Duration) Option {
	return func(m *Middleware) {
		if d > 0 {
			m.ttl = d
		}
	}
}

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(m *Middleware) {
		if now != nil {
			m.now = now
		}
	}
}

// New returns a Middleware looking keys up in store. A nil logger discards logs; a
// session secret shorter than 32 bytes is an error.
func New(store KeyStore, logger *slog.Logger, opts ...Option) (*Middleware, error) {
	if store == nil {
		return nil, errors.New("auth: no key store")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Middleware{store: store, log: logger, ttl: DefaultSessionTTL, now: time.Now}
	for _, o := range opts {
		if o != nil {
			o(m)
		}
	}
	if m.secret == nil {
		secret, err := randomSecret()
		if err != nil {
			return nil, err
		}
		m.secret = secret
	} else if len(m.secret) < minSecretLen {
		return nil, fmt.Errorf("auth: session secret must be at least %d bytes, got %d", minSecretLen, len(m.secret))
	}
	return m, nil
}

// Require returns a wrapper that lets a request through to the handler only if it
// carries a valid, unrevoked API key that grants scope; the key is then in the request
// context (KeyFrom). The key comes from the Bearer header, or, for reads (GET and
// HEAD) only, from the session cookie: a session never writes through a Require'd
// route (see RequireBrowser). It runs before the handler reads the body, so an
// unauthenticated request is answered without decoding it.
func (m *Middleware) Require(scope Scope) func(http.Handler) http.Handler {
	return m.require(scope, nil)
}

// RequireBrowser is Require for the routes a signed-in browser acts on (the codec
// endpoint, the Temporal UI's allowed actions): a session cookie may also make an
// unsafe request there, if the request comes from this server's own origin or from
// one of origins (see sameOrigin).
func (m *Middleware) RequireBrowser(scope Scope, origins ...string) func(http.Handler) http.Handler {
	return m.require(scope, normalOrigins(origins))
}

// require is Require (writeOrigins nil: sessions only read) or RequireBrowser.
func (m *Middleware) require(scope Scope, writeOrigins []string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key, via, ok := m.authenticate(w, r, writeOrigins)
			if !ok {
				return
			}
			if !key.HasScope(string(scope)) {
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="dunwell", error="insufficient_scope", scope=%q`, scope))
				writeError(w, http.StatusForbidden, fmt.Sprintf("API key %q lacks the scope %q", key.Name, scope))
				return
			}
			next.ServeHTTP(w, r.WithContext(WithKey(r.Context(), key, via)))
		})
	}
}

// authenticate finds the request's key, or answers and returns false. writeOrigins
// says whether (non-nil) and from where a session cookie may make an unsafe request.
func (m *Middleware) authenticate(w http.ResponseWriter, r *http.Request, writeOrigins []string) (ledger.APIKey, Credential, bool) {
	if values := r.Header.Values("Authorization"); len(values) > 0 {
		token, ok := bearerToken(values)
		if !ok {
			unauthorized(w, "malformed Authorization header; expected \"Bearer <API key>\"", true)
			return ledger.APIKey{}, "", false
		}
		key, ok := m.lookup(w, r, token)
		return key, ViaBearer, ok
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		key, ok := m.fromSession(w, r, c.Value, writeOrigins)
		return key, ViaSession, ok
	}
	unauthorized(w, "missing API key; send \"Authorization: Bearer <API key>\"", false)
	return ledger.APIKey{}, "", false
}

// bearerToken extracts the token of a single "Bearer <token>" header value.
func bearerToken(values []string) (string, bool) {
	if len(values) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || !ledger.ValidToken(token) {
		return "", false
	}
	return token, true
}

// lookup checks a Bearer token against the store.
func (m *Middleware) lookup(w http.ResponseWriter, r *http.Request, token string) (ledger.APIKey, bool) {
	key, f := m.lookupKey(r, token)
	if f != nil {
		f.writeJSON(w)
		return ledger.APIKey{}, false
	}
	return key, true
}

// lookupKey is lookup that returns its refusal instead of answering it.
func (m *Middleware) lookupKey(r *http.Request, token string) (ledger.APIKey, *refusal) {
	ctx, cancel := context.WithTimeout(r.Context(), lookupTimeout)
	defer cancel()
	key, err := m.store.LookupAPIKey(ctx, token)
	return m.keyOrRefusal(r, key, err)
}

// checkKey turns a store answer into a key or an error answer.
func (m *Middleware) checkKey(w http.ResponseWriter, r *http.Request, key ledger.APIKey, err error) (ledger.APIKey, bool) {
	key, f := m.keyOrRefusal(r, key, err)
	if f != nil {
		f.writeJSON(w)
		return ledger.APIKey{}, false
	}
	return key, true
}

// keyOrRefusal turns a store answer into a key or the refusal to answer.
func (m *Middleware) keyOrRefusal(r *http.Request, key ledger.APIKey, err error) (ledger.APIKey, *refusal) {
	switch {
	case errors.Is(err, ledger.ErrKeyRevoked) || (err == nil && key.Revoked()):
		m.log.Info("Revoked API key refused", "key_id", key.ID, "key_name", key.Name, "method", r.Method, "path", r.URL.Path)
		return ledger.APIKey{}, unauthorizedError("API key revoked", true)
	case errors.Is(err, ledger.ErrNotFound):
		return ledger.APIKey{}, unauthorizedError("invalid API key", true)
	case err != nil:
		// The error text comes from the store and never contains the token.
		m.log.Error("API key lookup failed", "method", r.Method, "path", r.URL.Path, "error", err)
		return ledger.APIKey{}, &refusal{status: http.StatusServiceUnavailable, msg: "cannot check the API key right now; retry later"}
	}
	return key, nil
}

// refusal is a refused credential: the status, the message and the
// WWW-Authenticate challenge ("" for none) to answer.
type refusal struct {
	status    int
	msg       string
	challenge string
}

func unauthorizedError(msg string, invalid bool) *refusal {
	challenge := `Bearer realm="dunwell"`
	if invalid {
		challenge += `, error="invalid_token"`
	}
	return &refusal{status: http.StatusUnauthorized, msg: msg, challenge: challenge}
}

// writeJSON answers the refusal in the API's error shape.
func (f *refusal) writeJSON(w http.ResponseWriter) {
	if f.challenge != "" {
		w.Header().Set("WWW-Authenticate", f.challenge)
	}
	writeError(w, f.status, f.msg)
}

func unauthorized(w http.ResponseWriter, msg string, invalid bool) {
	unauthorizedError(msg, invalid).writeJSON(w)
}

// errorBody is the API's error shape.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(errorBody{Error: msg}) // the client went away
}
