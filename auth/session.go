package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dunwell/dunwell/ledger"
)

const (
	// SessionCookie is the name of the session cookie.
	SessionCookie = "dunwell_session"
	// DefaultSessionTTL is how long a session lasts.
	DefaultSessionTTL = time.Hour
	// EnvSessionSecret names the environment variable that holds the session secret
	// (at least 32 bytes); unset means a random secret per process.
	EnvSessionSecret = "DUNWELL_SESSION_SECRET"
	minSecretLen     = 32
	sessionVersion   = "v1"
	// macContext separates session MACs from any other use of the secret.
	macContext = "dunwell-session/"
)

func randomSecret() ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("auth: generate session secret: %w", err)
	}
	return b, nil
}

// SessionResponse answers POST /v1/session.
type SessionResponse struct {
	KeyID     int64     `json:"key_id"`
	KeyName   string    `json:"key_name"`
	Scopes    []string  `json:"scopes"`
	ExpiresAt time.Time `json:"expires_at"`
}

// SessionHandler serves POST /v1/session: with a valid Bearer key (any scope) it sets
// the session cookie, good for the session TTL, that Require accepts instead of the
// header. The cookie is HttpOnly and, over TLS, "SameSite=None; Secure" so that the
// Temporal UI on another site can send it with its codec calls. Browsers refuse
// SameSite=None without Secure, so over plain HTTP (local development) it is
// SameSite=Lax, which still reaches the API from a UI on the same host name
// (http://localhost:8233 to http://localhost:8080). A session cannot make another
// session: the header is required.
func (m *Middleware) SessionHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		values := r.Header.Values("Authorization")
		if len(values) == 0 {
			unauthorized(w, "missing API key; send \"Authorization: Bearer <API key>\" to start a session", false)
			return
		}
		token, ok := bearerToken(values)
		if !ok {
			unauthorized(w, "malformed Authorization header; expected \"Bearer <API key>\"", true)
			return
		}
		key, ok := m.lookup(w, r, token)
		if !ok {
			return
		}
		expires := m.now().Add(m.ttl).Truncate(time.Second)
		cookie := &http.Cookie{
			Name:     SessionCookie,
			Value:    m.sign(key.ID, expires),
			Path:     "/",
			Expires:  expires,
			MaxAge:   int(m.ttl.Seconds()),
			HttpOnly: true,
			SameSite: http.SameSiteLaxMode,
		}
		if isTLS(r) {
			cookie.Secure, cookie.SameSite = true, http.SameSiteNoneMode
		}
		http.SetCookie(w, cookie)
		m.log.Info("Session started", "key_id", key.ID, "key_name", key.Name, "expires_at", expires)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(SessionResponse{KeyID: key.ID, KeyName: key.Name, Scopes: key.Scopes, ExpiresAt: expires.UTC()})
	})
}

// EndSessionHandler serves DELETE /v1/session: it clears the session cookie. (The
// session itself stays valid until it expires or its key is revoked; revoke the key to
// end every session at once.)
func EndSessionHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
			Secure: isTLS(r), SameSite: http.SameSiteLaxMode})
		w.WriteHeader(http.StatusNoContent)
	})
}

func isTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// sign makes a session value: v1.<key id>.<expiry unix>.<base64url HMAC-SHA256>.
func (m *Middleware) sign(keyID int64, expires time.Time) string {
	payload := sessionVersion + "." + strconv.FormatInt(keyID, 10) + "." + strconv.FormatInt(expires.Unix(), 10)
	return payload + "." + base64.RawURLEncoding.EncodeToString(m.mac(payload))
}

func (m *Middleware) mac(payload string) []byte {
	h := hmac.New(sha256.New, m.secret)
	h.Write([]byte(macContext + payload))
	return h.Sum(nil)
}

// verify checks a session value's signature and expiry and returns its key id.
func (m *Middleware) verify(value string) (int64, bool) {
	parts := strings.Split(value, ".")
	if len(parts) != 4 || parts[0] != sessionVersion {
		return 0, false
	}
	mac, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil || !hmac.Equal(mac, m.mac(strings.Join(parts[:3], "."))) {
		return 0, false
	}
	id, err1 := strconv.ParseInt(parts[1], 10, 64)
	exp, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || m.now().Unix() >= exp {
		return 0, false
	}
	return id, true
}

// fromSession authenticates by session cookie. The key is re-read on every request,
// so a revoked key's sessions stop at once and scope changes apply.
//
// A cookie is sent by the browser whatever page made the request, so a cookie alone
// must not authorise a cross-site form post (CSRF). An unsafe request (not GET or
// HEAD) authenticated by cookie must therefore be JSON: a cross-site page can only
// send Content-Type: application/json after a CORS preflight that the API's CORS
// policy approves for the configured UI origins only.
func (m *Middleware) fromSession(w http.ResponseWriter, r *http.Request, value string) (ledger.APIKey, bool) {
	id, ok := m.verify(value)
	if !ok {
		unauthorized(w, "session expired or invalid; start a new one with POST /v1/session", true)
		return ledger.APIKey{}, false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			unauthorized(w, "a session cookie authenticates only GET and application/json requests; send \"Authorization: Bearer <API key>\"", false)
			return ledger.APIKey{}, false
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), lookupTimeout)
	defer cancel()
	key, err := m.store.GetAPIKey(ctx, id)
	return m.checkKey(w, r, key, err)
}
