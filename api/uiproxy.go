package api

import (
	"net/http"
	"net/http/httputil"
	"strings"

	"github.com/dunwell/dunwell/auth"
)

// The Temporal UI behind the API keys. With UIUpstream set, /ui/ proxies to a Temporal
// UI server started with --ui-public-path /ui. Two things follow:
//
//   - the UI and the codec endpoint share this server's origin, so the browser sends
//     the sign-in session cookie with the UI's codec calls and operators read decoded
//     payloads (no cross-origin credentials to configure);
//   - the UI is not open to whoever reaches it: reading needs the read scope,
//     and everything else (cancel, signal, terminate, reset from the UI) the operator
//     scope. Without a session the browser gets the sign-in form.

// uiProxy serves /ui/ from the upstream UI, or nil when none is configured.
func (s *Server) uiProxy() http.Handler {
	if s.UIUpstream == nil {
		return nil
	}
	if s.Auth == nil {
		return http.HandlerFunc(s.noAuth)
	}
	upstream := s.UIUpstream
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.Out.Host = upstream.Host
			// Dunwell's credentials are for Dunwell, not for the UI server.
			pr.Out.Header.Del("Authorization")
			stripCookie(pr.Out, auth.SessionCookie)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.Logger.Error("Temporal UI proxy failed", "path", r.URL.Path, "error", err)
			writeError(w, http.StatusBadGateway, "the Temporal UI is not reachable", nil)
		},
	}
	read := s.Auth.Require(auth.ScopeRead)(proxy)
	write := s.Auth.Require(auth.ScopeOperator)(proxy)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := write
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			h = read
		}
		if strings.Contains(r.Header.Get("Accept"), "text/html") {
			w = &signInOn401{ResponseWriter: w, s: s} // a browser: the sign-in form
		}
		h.ServeHTTP(w, r)
	})
}

// stripCookie removes one cookie from the request's Cookie headers.
func stripCookie(r *http.Request, name string) {
	cookies := r.Cookies()
	r.Header.Del("Cookie")
	for _, c := range cookies {
		if c.Name != name {
			r.AddCookie(c)
		}
	}
}
