package codec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"go.temporal.io/sdk/converter"
)

// MaxBodyBytes bounds a request to the codec endpoint; larger bodies get 413.
const MaxBodyBytes = 4 << 20

// EnvCORSOrigins is the environment variable listing the UI origins allowed to call
// the codec endpoint from a browser.
const EnvCORSOrigins = "DUNWELL_CODEC_CORS_ORIGINS"

// allowedHeaders are the request headers the Temporal UI sends to a codec endpoint.
const allowedHeaders = "Content-Type, X-Namespace, Authorization"

// HTTPHandler serves Temporal's remote codec protocol: POST <prefix>/encode and POST
// <prefix>/decode, each taking and answering {"payloads": [...]} (protobuf JSON). It
// matches on the path suffix, so it works mounted under any prefix such as /codec/.
// A body over MaxBodyBytes is 413, malformed JSON or a payload that does not decrypt
// is 400, another method is 405, another path 404. It does no authentication and no
// CORS: wrap it, as CORS(origins, auth(HTTPHandler(ring))).
func HTTPHandler(ring *KeyRing) http.Handler {
	inner := converter.NewPayloadCodecHTTPHandler(New(ring))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/encode") && !strings.HasSuffix(r.URL.Path, "/decode") {
			http.Error(w, "codec endpoint: no route for "+r.URL.Path+"; use .../encode or .../decode", http.StatusNotFound)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "codec endpoint: method "+r.Method+" not allowed; use POST", http.StatusMethodNotAllowed)
			return
		}
		if r.Body == nil {
			http.Error(w, "codec endpoint: empty body; expected {\"payloads\": [...]}", http.StatusBadRequest)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				http.Error(w, fmt.Sprintf("codec endpoint: request body is larger than %d bytes", tooLarge.Limit), http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "codec endpoint: reading the request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if len(bytes.TrimSpace(body)) == 0 {
			http.Error(w, "codec endpoint: empty body; expected {\"payloads\": [...]}", http.StatusBadRequest)
			return
		}
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.ContentLength = int64(len(body))
		inner.ServeHTTP(w, r2)
	})
}

// CORS answers browser preflights (every OPTIONS request) itself, without calling
// next, so that it can sit in front of authentication, and adds the CORS headers to
// other answers. Only an Origin in origins is echoed in Access-Control-Allow-Origin,
// with Access-Control-Allow-Credentials: true; a preflight from any other origin is
// 403. Requests without an Origin header (CLI, SDK) pass through unchanged.
func CORS(origins []string, next http.Handler) http.Handler {
	allowed := make([]string, 0, len(origins))
	for _, o := range origins {
		allowed = append(allowed, strings.TrimSuffix(strings.TrimSpace(o), "/"))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		ok := origin != "" && slices.Contains(allowed, origin)
		w.Header().Add("Vary", "Origin")
		if ok {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
		}
		if r.Method != http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		if !ok {
			http.Error(w, "CORS: origin not allowed", http.StatusForbidden)
			return
		}
		w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", allowedHeaders)
		w.Header().Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
	})
}

// ParseCORSOrigins parses DUNWELL_CODEC_CORS_ORIGINS: comma-separated origins, each
// scheme://host[:port] with http or https and no path ("*" is refused: credentials are
// allowed, so every origin must be named). Empty means none.
func ParseCORSOrigins(spec string) ([]string, error) {
	var out []string
	var errs []error
	for _, o := range strings.Split(spec, ",") {
		o = strings.TrimSuffix(strings.TrimSpace(o), "/")
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not an origin like http://localhost:8233", EnvCORSOrigins, o))
			continue
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
