package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
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
// header for reads and RequireBrowser for the browser's actions. The cookie is
// HttpOnly and SameSite=Lax, which keeps it off other sites' requests except
// top-level navigations (which only read), and reaches the API from the Temporal UI
// under /ui/ or on the same host name (http://localhost:8233 to
// http://localhost:8080). Only when one of crossSiteOrigins (the Temporal UI origins
// allowed to call the codec) is on another host, and over TLS, is it
// "SameSite=None; Secure", so that UI can send it with its codec calls. A session
// cannot make another session: the header is required.
func (m *Middleware) SessionHandler(crossSiteOrigins ...string) http.Handler {
	crossSiteOrigins = normalOrigins(crossSiteOrigins)
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
			cookie.Secure = true
			if crossSite(r, crossSiteOrigins) {
				cookie.SameSite = http.SameSiteNoneMode
			}
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
// The cookie is a browser credential: it authenticates reads anywhere, and unsafe
// requests only where the route allows them (writeOrigins non-nil, RequireBrowser)
// and only when they come from a page of this server's origin or of writeOrigins. A
// browser sends the cookie whatever page made the request, so that check is what
// keeps another site from acting with it (CSRF). It rests on headers the page cannot
// set, not on the body's content type, so the Temporal UI's text/plain and empty-body
// calls pass while a cross-site form post does not.
func (m *Middleware) fromSession(w http.ResponseWriter, r *http.Request, value string, writeOrigins []string) (ledger.APIKey, bool) {
	id, ok := m.verify(value)
	if !ok {
		unauthorized(w, "session expired or invalid; start a new one with POST /v1/session", true)
		return ledger.APIKey{}, false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if writeOrigins == nil {
			unauthorized(w, "a session cookie only reads here (and acts in the Temporal UI); send \"Authorization: Bearer <API key>\" for "+r.Method+" "+r.URL.Path, false)
			return ledger.APIKey{}, false
		}
		if !sameOrigin(r, writeOrigins) {
			m.log.Warn("Cross-origin request with a session cookie refused", "method", r.Method, "path", r.URL.Path,
				"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
			writeError(w, http.StatusForbidden, "a session cookie acts only from this server's own pages (or a configured Temporal UI origin); this request came from "+originOf(r))
			return ledger.APIKey{}, false
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), lookupTimeout)
	defer cancel()
	key, err := m.store.GetAPIKey(ctx, id)
	return m.checkKey(w, r, key, err)
}

// sameOrigin reports whether an unsafe request was made by a page of this server's
// origin or of one of origins. Browsers send Origin on every unsafe request and
// Sec-Fetch-Site on every request, and a page's script can set neither; a request
// with neither header is not from a browser page this check can vouch for, so it is
// refused (a program sends the Bearer header instead).
func sameOrigin(r *http.Request, origins []string) bool {
	origin := r.Header.Get("Origin")
	if origin != "" && origin != "null" && slices.Contains(origins, origin) {
		return true
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" // the browser's own verdict, behind any proxy
	}
	// Browsers before Sec-Fetch-Site (2020-2023): compare Origin with the server's.
	return origin != "" && slices.Contains(ownOrigins(r), origin)
}

// ownOrigins are this server's origin as the browser sees it: the request's scheme
// and Host, and the X-Forwarded-Host a trusted proxy names (the API drops the
// forwarding headers of anyone else).
func ownOrigins(r *http.Request) []string {
	scheme := "http"
	if isTLS(r) {
		scheme = "https"
	}
	out := []string{scheme + "://" + r.Host}
	if fh := r.Header.Get("X-Forwarded-Host"); fh != "" {
		out = append(out, scheme+"://"+strings.TrimSpace(strings.Split(fh, ",")[0]))
	}
	return out
}

// originOf names where a request came from, for an error message.
func originOf(r *http.Request) string {
	if o := r.Header.Get("Origin"); o != "" {
		return "origin " + strconv.Quote(o)
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return "a " + site + " page"
	}
	return "no browser page (no Origin or Sec-Fetch-Site header)"
}

// normalOrigins trims origins to scheme://host[:port]; nil stays non-nil (empty), so
// that RequireBrowser without origins still allows the server's own pages.
func normalOrigins(origins []string) []string {
	out := make([]string, 0, len(origins))
	for _, o := range origins {
		if o = strings.TrimSuffix(strings.TrimSpace(o), "/"); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// crossSite reports whether one of origins is on another host than the request: its
// pages' requests are then cross-site, and a SameSite=Lax cookie would not go with
// them. (Ports do not make a site: http://localhost:8233 and http://localhost:8080
// are the same site.)
func crossSite(r *http.Request, origins []string) bool {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	for _, o := range origins {
		u, err := url.Parse(o)
		if err == nil && u.Hostname() != "" && !strings.EqualFold(u.Hostname(), host) {
			return true
		}
	}
	return false
}
