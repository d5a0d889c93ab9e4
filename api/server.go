// Package api is Dunwell's HTTP API v1 (served by `starter serve`): invoices issued by
// the billing system, payments, the collection state, health and readiness. JSON in
// and out; money as decimal strings in major units with an ISO 4217 currency.
//
// Errors are {"error": "...", "fields": {"customer.email": "..."}}: every bad field is
// named, and a rejected request changes nothing.
package api

import (
	"bytes"
	"context"
	_ "embed" // the OpenAPI description
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/client"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/internal/codec"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/templates"
)

// DefaultMaxBodyBytes bounds a request body unless Server.MaxBodyBytes says
// otherwise; an invoice is a few kilobytes.
const DefaultMaxBodyBytes = 1 << 20

// requestTimeout bounds the work of one request (a Temporal start, query or update).
const requestTimeout = 15 * time.Second

// Server serves the API.
type Server struct {
	Temporal client.Client
	Ledger   *ledger.Store
	Policies *policy.Set
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Auth guards every /v1/ route with a scoped API key; nil refuses them all (503).
	Auth *auth.Middleware
	// MaxBodyBytes bounds a request body (413 beyond); 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Codec serves Temporal's remote codec protocol (codec.HTTPHandler); Handler mounts
	// it at /codec/ behind CORS for CodecOrigins and the read scope. nil: no endpoint.
	Codec http.Handler
	// UIUpstream, when set, is the Temporal UI server proxied under /ui/ (see
	// uiproxy.go).
	UIUpstream *url.URL
	// Namespace is the Temporal namespace the invoices run in; the UI proxy lets
	// writes through for it alone. Empty means "default".
	Namespace string
	// CodecOrigins are the Temporal UI origins allowed to call the codec endpoint.
	CodecOrigins []string
	// Delivery configures the Twilio and SendGrid webhooks; nil answers them 503.
	Delivery *DeliveryWebhooks
	// Webhooks verifies the payment webhooks (see webhooks.go).
	Webhooks Webhooks
	// TrustedProxies are the reverse proxies whose X-Forwarded-* headers are believed
	// (see proxies.go); empty: nobody's.
	TrustedProxies []netip.Prefix
	// Business is who the statements come from: the letterhead of their PDFs (GET
	// /v1/customers/{id}/statement).
	Business templates.Business
	// RateLimit bounds requests per API key and, for requests without a valid key,
	// per client address (see ratelimit.go); zero: no limit.
	RateLimit RateLimit
	// Bank configures cash application: statement imports and matching (bank.go).
	Bank BankConfig
	// Portal configures the customer's portal (portal.go).
	Portal Portal
	// Inbound configures SendGrid's Inbound Parse webhook: customers' replies
	// (replies.go).
	Inbound InboundParse

	keyLimits, addrLimits, linkLimits *limiters
}

// Route is one route the API serves: the method and path pattern it was registered
// with (net/http.ServeMux syntax; Method is empty for a path prefix like "/ui/") and
// the scope an API key needs for it ("" when no key is checked: webhooks carry a
// signature instead, and health, session and sign-in are open or check the key
// themselves).
type Route struct {
	Method, Path string
	Scope        auth.Scope
}

// Routes lists every route Handler serves, in registration order, so that tests and
// the OpenAPI description are checked against what the server really registers.
func (s *Server) Routes() []Route {
	_, routes := s.routes()
	return routes
}

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	s.keyLimits, s.addrLimits = newLimiters(s.RateLimit), newLimiters(s.RateLimit)
	if s.RateLimit.PerSecond > 0 {
		s.linkLimits = newLimiters(portalLinkLimit)
	}
	h, _ := s.routes()
	return h
}

// openAPISpec is the API's OpenAPI description, served at GET /openapi.yaml.
//
//go:embed openapi.yaml
var openAPISpec []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(openAPISpec)
}

// routeMux is a ServeMux that remembers what was registered on it; a handler built
// by Server.require carries its scope along.
type routeMux struct {
	*http.ServeMux
	routes []Route
}

func newRouteMux() *routeMux { return &routeMux{ServeMux: http.NewServeMux()} }

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.ServeMux.Handle(pattern, h)
	method, path, found := strings.Cut(pattern, " ")
	if !found {
		method, path = "", pattern
	}
	r := Route{Method: method, Path: path}
	if sh, ok := h.(scoped); ok {
		r.Scope = sh.scope
	}
	m.routes = append(m.routes, r)
}

func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

// scoped is a handler behind the key check for scope (see require).
type scoped struct {
	http.Handler
	scope auth.Scope
}

func (s *Server) routes() (http.Handler, []Route) {
	mux := newRouteMux()
	// Every /v1/ route needs a key with its scope; it is checked before the body is read.
	mux.Handle("POST /v1/invoices", s.require(auth.ScopeInvoicesWrite, s.issueInvoice))
	mux.Handle("GET /v1/invoices/{id}", s.require(auth.ScopeRead, s.getInvoice))
	mux.Handle("POST /v1/invoices/{id}/payments", s.require(auth.ScopePaymentsWrite, s.payInvoice))
	mux.Handle("GET /v1/invoices/{id}/audit", s.require(auth.ScopeRead, s.getAudit))
	// Payment webhooks: the provider's signature, not an API key (still body-limited).
	mux.HandleFunc("POST /v1/webhooks/stripe", s.stripeWebhook)
	mux.HandleFunc("POST /v1/webhooks/payments", s.paymentsWebhook)
	mux.Handle("GET /v1/webhooks/events", s.require(auth.ScopeRead, s.listWebhookEvents))
	mux.Handle("POST /v1/webhooks/events/{id}/retry", s.require(auth.ScopeOperator, s.retryWebhookEvent))
	actions := s.actionRoutes(mux)
	s.reportRoutes(mux)
	s.timelineRoutes(mux)
	s.assigneeRoutes(mux)
	s.taskRoutes(mux)
	s.worklistRoutes(mux)
	s.bankRoutes(mux)
	s.letterRoutes(mux)
	mux.Handle("GET /v1/customers/{id}/statement", s.require(auth.ScopeRead, s.getStatement))
	s.portalRoutes(mux)
	mux.Handle("POST /v1/session", s.limitAddr(s.auditSignIn(s.startSession())))
	mux.Handle("DELETE /v1/session", auth.EndSessionHandler())
	// Provider webhooks: no API key, the provider's signature instead (webhooks_delivery.go).
	mux.HandleFunc("POST /v1/webhooks/twilio", s.twilioWebhook)
	mux.HandleFunc("POST /v1/webhooks/sendgrid", s.sendGridWebhook)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.HandleFunc("GET /openapi.yaml", serveOpenAPI)
	mux.Handle("GET /signin", s.limitAddr(http.HandlerFunc(serveSignIn)))
	if ui := s.uiProxy(actions); ui != nil {
		mux.Handle("/ui/", ui)
	}
	root := http.NewServeMux()
	mux.Handle("/", s.limitAddr(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The catch-all is less specific than every route, so ServeMux's own 405 never
		// comes: a path that other methods answer is said so here (RFC 9110 15.5.6).
		if allow := allowedMethods(r, mux.ServeMux, root); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s; it answers %s", r.Method, r.URL.Path, strings.Join(allow, ", ")), nil)
			return
		}
		writeError(w, http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path, nil)
	})))
	root.Handle("/", s.limitBody(mux))
	routes := mux.routes
	// A bank statement has its own, larger size limit (BankConfig.MaxBytes).
	root.Handle(bankImportRoute, s.bankImportHandler())
	method, path, _ := strings.Cut(bankImportRoute, " ")
	routes = append(routes, Route{Method: method, Path: path, Scope: auth.ScopePaymentsWrite})
	// Inbound Parse posts whole emails with attachments: its own limit too (replies.go).
	root.Handle(inboundRoute, s.inboundHandler())
	method, path, _ = strings.Cut(inboundRoute, " ")
	routes = append(routes, Route{Method: method, Path: path})
	if s.Codec != nil {
		// The codec has its own (larger) body limit. CORS answers the UI's preflights,
		// which carry no credentials; everything else needs the read scope. The UI
		// posts to it with the session cookie, from /ui/ or from CodecOrigins.
		root.Handle("/codec/", codec.CORS(s.CodecOrigins, s.requireBrowser(auth.ScopeRead, s.Codec.ServeHTTP, s.CodecOrigins...)))
		routes = append(routes, Route{Path: "/codec/", Scope: auth.ScopeRead})
	}
	return s.recoverer(s.dropUntrustedForwarding(root)), routes
}

// require wraps h in the key check for scope and the key's rate limit, or refuses
// every request when the server has no Auth (fail closed).
func (s *Server) require(scope auth.Scope, h http.HandlerFunc) http.Handler {
	if s.Auth == nil {
		return scoped{http.HandlerFunc(s.noAuth), scope}
	}
	return scoped{s.limitFailedAuth(s.Auth.Require(scope)(s.limitKey(h))), scope}
}

// requireBrowser is require for the routes a signed-in browser acts on: a session
// cookie may also make unsafe requests there from this server's pages or origins
// (auth.RequireBrowser).
func (s *Server) requireBrowser(scope auth.Scope, h http.HandlerFunc, origins ...string) http.Handler {
	if s.Auth == nil {
		return http.HandlerFunc(s.noAuth)
	}
	return s.limitFailedAuth(s.Auth.RequireBrowser(scope, origins...)(s.limitKey(h)))
}

// startSession serves POST /v1/session (a session cookie for the browser: the
// Temporal UI, its codec calls, the reports page).
func (s *Server) startSession() http.Handler {
	if s.Auth == nil {
		return http.HandlerFunc(s.noAuth)
	}
	return s.Auth.SessionHandler(s.CodecOrigins...)
}

func (s *Server) noAuth(w http.ResponseWriter, r *http.Request) {
	s.Logger.Error("API authentication is not configured; refusing the request", "method", r.Method, "path", r.URL.Path)
	writeError(w, http.StatusServiceUnavailable, "authentication is not configured", nil)
}

// limitBody bounds every request body to MaxBodyBytes; decode answers 413 beyond.
func (s *Server) limitBody(next http.Handler) http.Handler {
	limit := s.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// recoverer turns a handler panic into a 500 instead of a dropped connection; handlers
// are written not to panic, this is the last line. Two panics are not turned into an
// answer: http.ErrAbortHandler, which a handler (the UI proxy, when the upstream
// breaks off mid-answer) raises on purpose to abort the response, goes on to the
// server; and a panic after the status line went out aborts the connection too, since
// an error body appended to a started answer would read as part of it (a 200 with
// truncated JSON and an error object after it) instead of as a failure.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.Logger.Error("Handler panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v),
				"answer_started", sw.status != 0, "stack", string(debug.Stack()))
			if sw.status != 0 {
				panic(http.ErrAbortHandler)
			}
			writeError(w, http.StatusInternalServerError, "internal error", nil)
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusWriter records the status of the answer (0 until its headers go out).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 { // 1xx are interim; the real status follows
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends the headers too; the UI proxy streams.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush() // unsupported: nothing to flush
}

// Unwrap lets http.ResponseController reach the connection (hijack, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"temporal": "ok", "postgres": "ok"}
	code := http.StatusOK
	if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		s.Logger.Warn("Readiness: Temporal unreachable", "error", err)
		checks["temporal"], code = "unreachable", http.StatusServiceUnavailable
	}
	if err := s.Ledger.Ping(ctx); err != nil {
		s.Logger.Warn("Readiness: PostgreSQL unreachable", "error", err)
		checks["postgres"], code = "unreachable", http.StatusServiceUnavailable
	}
	writeJSON(w, code, checks)
}

// ErrorBody is every error answer.
type ErrorBody struct {
	Error  string            `json:"error"`
	Fields map[string]string `json:"fields,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}

func writeError(w http.ResponseWriter, code int, msg string, fields map[string]string) {
	writeJSON(w, code, ErrorBody{Error: msg, Fields: fields})
}

// decode reads one JSON object into v strictly: unknown fields, trailing data, wrong
// types and oversize bodies are all errors that say where the problem is.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json", nil)
		return false
	}
	// The body is bounded by limitBody (Server.MaxBodyBytes).
	var (
		typeErr  *json.UnmarshalTypeError
		syntax   *json.SyntaxError
		tooLarge *http.MaxBytesError
	)
	body, err := io.ReadAll(r.Body)
	if errors.As(err, &tooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", tooLarge.Limit), nil)
		return false
	} else if err != nil {
		writeError(w, http.StatusBadRequest, "reading the request body failed: "+err.Error(), nil)
		return false
	}
	// JSON is UTF-8 (RFC 8259); the decoder would put U+FFFD for each bad byte and
	// store text the client never sent.
	if !utf8.Valid(body) {
		at := 0
		for at < len(body) {
			r, size := utf8.DecodeRune(body[at:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			at += size
		}
		writeError(w, http.StatusBadRequest, "invalid request", map[string]string{"body": fmt.Sprintf("is not valid UTF-8 (byte %d)", at)})
		return false
	}
	// A NUL is valid JSON (\u0000) but no text column or JSON document of the ledger
	// stores it: refused here, naming the field, before anything is applied half-way.
	if field := nulField(body); field != "" {
		writeError(w, http.StatusBadRequest, "invalid request", map[string]string{field: "must not contain the NUL character (\\u0000)"})
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil {
		if rest := dec.Decode(&struct{}{}); rest != io.EOF {
			err = errors.New("unexpected data after the JSON object")
			if errors.As(rest, &tooLarge) { // trailing bytes past the limit
				err = rest
			}
		}
	}
	if err == nil {
		return true
	}
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		writeError(w, http.StatusBadRequest, "invalid request", map[string]string{field: "must be a JSON " + jsonType(typeErr.Type.Kind().String())})
	case errors.As(err, &syntax):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("malformed JSON at byte %d: %v", syntax.Offset, err), nil)
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", tooLarge.Limit), nil)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		writeError(w, http.StatusBadRequest, "invalid request", map[string]string{name: "is not a known field"})
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "request body is empty; expected a JSON object", nil)
	default:
		writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error(), nil)
	}
	return false
}

// allowedMethods returns the methods other than r's that a route of muxes answers on
// r's path (the catch-all "/" is no route).
func allowedMethods(r *http.Request, muxes ...*http.ServeMux) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		for _, mux := range muxes {
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
				allow = append(allow, m)
				break
			}
		}
	}
	return allow
}

// nulField returns where in the JSON body a string (a value or a key) holds a NUL
// character, as "note", "promise.date" or "invoice_ids[1]" ("body" at the top), or ""
// when none does or the body is not JSON (decode says what is wrong with it then).
func nulField(body []byte) string {
	if !bytes.Contains(body, []byte(`\u0000`)) {
		return ""
	}
	type frame struct {
		object  bool
		key     string
		index   int
		wantKey bool
	}
	var stack []frame
	path := func(leaf string) string {
		var b strings.Builder
		for i, f := range stack {
			switch {
			case f.object && i == len(stack)-1 && leaf != "":
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(leaf)
			case f.object:
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			default:
				fmt.Fprintf(&b, "[%d]", f.index)
			}
		}
		if b.Len() == 0 {
			return "body"
		}
		return b.String()
	}
	// valueDone moves the innermost container past the value just read.
	valueDone := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].wantKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if n := len(stack); n > 0 && stack[n-1].object {
					stack[n-1].wantKey = false
				}
				stack = append(stack, frame{object: t == '{', wantKey: t == '{'})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			n := len(stack)
			if n > 0 && stack[n-1].object && stack[n-1].wantKey {
				stack[n-1].key, stack[n-1].wantKey = t, false
				if strings.ContainsRune(t, 0) {
					return path(t)
				}
				continue
			}
			if strings.ContainsRune(t, 0) {
				return path("")
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	case "bool":
		return "boolean"
	default:
		return "number"
	}
}

// invoiceIDFromPath returns the {id} path value if it can be an invoice id.
func invoiceIDFromPath(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if !collection.IDPattern.MatchString(id) {
		writeError(w, http.StatusNotFound, "unknown invoice "+fmt.Sprintf("%q", id), nil)
		return "", false
	}
	return id, true
}
