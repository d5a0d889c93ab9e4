package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"mime"
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

// SessionHandler serves POST /v1/session: with a valid key (any scope) it sets the
// session cookie, good for the session TTL, that Require accepts instead of the
// header for reads and RequireBrowser for the browser's actions. The key comes in
// "Authorization: Bearer <key>" (API clients, the /signin page), answered with JSON,
// or as the field key of an HTML form (application/x-www-form-urlencoded, the sign-in
// form of the operator pages, which needs no script), answered for a browser: 303 to
// the form's next page, or a page saying why not (see formSession).
//
// The cookie is HttpOnly and SameSite=Lax, which keeps it off other sites' requests
// except top-level navigations (which only read), and reaches the API from the
// Temporal UI under /ui/ or on the same host name (http://localhost:8233 to
// http://localhost:8080). Only when one of crossSiteOrigins (the Temporal UI origins
// allowed to call the codec) is on another host, and over TLS, is it
// "SameSite=None; Secure", so that UI can send it with its codec calls. A session
// cannot make another session: the key is required.
//
// What it decided goes into the SignIn of the request's context, if WithSignIn put one
// there, for the caller's audit trail.
func (m *Middleware) SessionHandler(crossSiteOrigins ...string) http.Handler {
	crossSiteOrigins = normalOrigins(crossSiteOrigins)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		si := signInFrom(r.Context())
		values := r.Header.Values("Authorization")
		if len(values) == 0 && isForm(r) {
			si.Form = true
			m.formSession(w, r, si, crossSiteOrigins)
			return
		}
		refuse := func(f *refusal) {
			si.Refused = f.msg
			f.writeJSON(w)
		}
		if len(values) == 0 {
			refuse(unauthorizedError("missing API key; send \"Authorization: Bearer <API key>\" to start a session", false))
			return
		}
		token, ok := bearerToken(values)
		if !ok {
			refuse(unauthorizedError("malformed Authorization header; expected \"Bearer <API key>\"", true))
			return
		}
		key, f := m.lookupKey(r, token)
		if f != nil {
			refuse(f)
			return
		}
		expires := m.startSession(w, r, si, key, crossSiteOrigins)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(SessionResponse{KeyID: key.ID, KeyName: key.Name, Scopes: key.Scopes, ExpiresAt: expires.UTC()})
	})
}

// startSession sets the session cookie for key and records it in si; it returns when
// the session expires.
func (m *Middleware) startSession(w http.ResponseWriter, r *http.Request, si *SignIn, key ledger.APIKey, crossSiteOrigins []string) time.Time {
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
	si.Key, si.ExpiresAt = key, expires.UTC()
	m.log.Info("Session started", "key_id", key.ID, "key_name", key.Name, "expires_at", expires, "form", si.Form)
	return expires
}

// SignIn is what one POST /v1/session decided: the key that signed in and until when,
// or why it was refused. SessionHandler fills it in when the request's context carries
// one (WithSignIn), so that the audit trail records the same outcome whether the key
// came in the header (answered in JSON) or in the sign-in form (answered with a
// redirect or a page). It never holds the key's token.
type SignIn struct {
	// Key is the key that signed in; zero when the sign-in was refused.
	Key ledger.APIKey
	// ExpiresAt is when the session ends (UTC).
	ExpiresAt time.Time
	// Form says the key came in the sign-in form rather than the Authorization header.
	Form bool
	// Next is where a form sign-in leads: its next field if that is a safe local
	// path, else DefaultNext.
	Next string
	// Refused says why the sign-in was refused ("" when a session started, or when
	// it never reached the key check).
	Refused string
}

type signInKey struct{}

// WithSignIn returns ctx carrying a SignIn for SessionHandler to fill in.
func WithSignIn(ctx context.Context) (context.Context, *SignIn) {
	si := &SignIn{}
	return context.WithValue(ctx, signInKey{}, si), si
}

// signInFrom returns the SignIn of ctx, or one that nobody reads.
func signInFrom(ctx context.Context) *SignIn {
	if si, ok := ctx.Value(signInKey{}).(*SignIn); ok {
		return si
	}
	return &SignIn{}
}

const (
	// DefaultNext is where a form sign-in without a safe next field leads.
	DefaultNext = "/reports"
	// maxFormBytes bounds the sign-in form's body (a key and a page path).
	maxFormBytes = 16 << 10
	// maxKeyChars bounds the key field: a token is TokenPrefix and at most 128
	// characters.
	maxKeyChars = 256
	// maxNextChars bounds the next field.
	maxNextChars = 2048
	// keyShape says what an API key looks like, for the messages.
	keyShape = "an API key is " + ledger.TokenPrefix + " followed by 32 to 128 letters, digits, - or _"
)

// isForm reports whether r's body is an HTML form (application/x-www-form-urlencoded).
func isForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// formSession starts a session from the sign-in form that the operator pages show
// (fields key and next), for a browser without script. A form, unlike a fetch with an
// Authorization header, can be posted by any site; one that signs its visitor in with
// the attacker's key (login CSRF) would have the victim act under the attacker's name
// and hand them what the victim then types. So the form is taken only from a page of
// this server's own origin: an Origin header equal to it, or, without Origin,
// "Sec-Fetch-Site: same-origin"; a browser sets both headers and no page can. A
// Sec-Fetch-Site other than same-origin refuses the form whatever the Origin says.
// The check rests on headers, so it runs before the body is read.
//
// A started session answers 303 See Other to next (a safe local path, else
// DefaultNext); a refusal answers a page with the reason and a link back to next, with
// the status the API would give (400 for a bad form, 401 for a missing, malformed,
// unknown or revoked key, 403 for another site's form, 503 when the keys cannot be
// read). The key is never in an answer or a log.
func (m *Middleware) formSession(w http.ResponseWriter, r *http.Request, si *SignIn, crossSiteOrigins []string) {
	si.Next = DefaultNext
	refuse := func(f *refusal) {
		si.Refused = f.msg
		if f.challenge != "" {
			w.Header().Set("WWW-Authenticate", f.challenge)
		}
		SignInFailed(w, f.status, f.msg, si.Next)
	}
	if !formFromOwnPage(r) {
		m.log.Warn("Sign-in form from another origin refused", "origin", r.Header.Get("Origin"),
			"sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		refuse(&refusal{status: http.StatusForbidden, msg: "the form was sent from " + formSource(r) +
			", not from a page of this server (" + ownOrigins(r)[0] + "); open the page on this server and sign in there"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		// The parser's message may quote the body: the key stays out of the answer.
		msg := "the form is not valid application/x-www-form-urlencoded"
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			msg = fmt.Sprintf("key: too long (the form is over %d KiB); %s", maxFormBytes>>10, keyShape)
		}
		refuse(&refusal{status: http.StatusBadRequest, msg: msg})
		return
	}
	if next := r.PostForm["next"]; len(next) == 1 && SafeNext(next[0]) {
		si.Next = next[0]
	}
	// Only the body: a key in the query string would sit in logs and history.
	keys := r.PostForm["key"]
	var token string
	if len(keys) == 1 {
		token = strings.TrimSpace(keys[0]) // a pasted key often brings a space or a newline
	}
	switch {
	case len(keys) > 1:
		refuse(&refusal{status: http.StatusBadRequest, msg: "key: given more than once"})
		return
	case token == "":
		refuse(unauthorizedError("key: missing; paste an API key", false))
		return
	case len(token) > maxKeyChars:
		refuse(&refusal{status: http.StatusBadRequest, msg: fmt.Sprintf("key: longer than %d characters; %s", maxKeyChars, keyShape)})
		return
	case !ledger.ValidToken(token):
		refuse(unauthorizedError("key: not an API key; "+keyShape, true))
		return
	}
	key, f := m.lookupKey(r, token)
	if f != nil {
		refuse(f)
		return
	}
	m.startSession(w, r, si, key, crossSiteOrigins)
	w.Header().Set("Location", si.Next)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusSeeOther)
}

// formFromOwnPage reports whether a form post came from a page of this server's
// origin (see formSession).
func formFromOwnPage(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	if site != "" && site != "same-origin" {
		return false
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		return slices.ContainsFunc(ownOrigins(r), func(o string) bool { return strings.EqualFold(o, origin) })
	}
	return site == "same-origin"
}

// formSource names where a refused form came from, for the message: the browser's
// Sec-Fetch-Site verdict if it refused the form, else the origin.
func formSource(r *http.Request) string {
	site := r.Header.Get("Sec-Fetch-Site")
	if site == "" || site == "same-origin" {
		return originOf(r)
	}
	if o := r.Header.Get("Origin"); o != "" {
		return "a " + site + " page (origin " + strconv.Quote(o) + ")"
	}
	return "a " + site + " page"
}

// SafeNext reports whether next is a path on this server to send a browser to after
// sign-in: it starts with one "/" (not "//" nor "/\", which browsers read as another
// host), has no scheme, host, control character, space or backslash, and is at most
// 2048 bytes. Anything else could lead the browser off the site (an open redirect).
func SafeNext(next string) bool {
	if len(next) > maxNextChars || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return false
	}
	// Browsers drop tabs and newlines from URLs and read "\" as "/".
	if strings.ContainsFunc(next, func(c rune) bool { return c <= ' ' || c == 0x7f || c == '\\' }) {
		return false
	}
	u, err := url.Parse(next)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}

// failedPage is the answer to a refused form sign-in.
var failedPage = template.Must(template.New("signin-failed").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dunwell · Sign-in failed</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;max-width:44rem;margin:2rem auto;padding:0 1.5rem}
.err{color:#a1261b;background:#fdecea;border:1px solid #f5c2bd;padding:.5rem .8rem;border-radius:4px}</style></head>
<body><h1>Dunwell</h1>
<p class="err" id="signin-failed" role="alert">Sign-in failed: {{.Reason}}</p>
<p><a id="signin-back" href="{{.Next}}">Back to the sign-in form</a></p>
</body></html>
`))

// SignInFailed answers a refused form sign-in with status: a page saying
// "Sign-in failed: <reason>" and linking back to next (a path SafeNext accepts; else
// DefaultNext). The page has no script and loads nothing.
func SignInFailed(w http.ResponseWriter, status int, reason, next string) {
	if !SafeNext(next) {
		next = DefaultNext
	}
	var buf bytes.Buffer
	if err := failedPage.Execute(&buf, struct{ Reason, Next string }{reason, next}); err != nil {
		writeError(w, status, reason) // not reached: the template is fixed and its data are strings
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // the client went away
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
