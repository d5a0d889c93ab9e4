package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/auth"
)

// TestUIProxyGuardsAndForwards: the Temporal UI under /ui/ needs read to look and
// operator to act, answers browsers without a session with the sign-in form, and
// never forwards Dunwell's credentials to the UI server.
func TestUIProxyGuardsAndForwards(t *testing.T) {
	t.Parallel()
	var got *http.Request
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(r.Context())
		_, _ = io.WriteString(w, "ui:"+r.URL.Path)
	}))
	defer upstream.Close()
	u, err := url.Parse(upstream.URL)
	require.NoError(t, err)
	ts := newTestServer(t, testStore, func(s *Server) { s.UIUpstream = u })
	reader, _ := newKey(t, testStore, auth.ScopeRead)
	operator, _ := newKey(t, testStore, auth.ScopeOperator)

	do := func(method, path, key, accept string, cookies ...*http.Cookie) (*http.Response, string) {
		req, err := http.NewRequest(method, ts.URL+path, strings.NewReader("{}"))
		require.NoError(t, err)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body)
	}

	resp, body := do(http.MethodGet, "/ui/namespaces/default/workflows", "", "text/html")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, body, `id="signin"`, "a browser gets the sign-in form")
	resp, _ = do(http.MethodGet, "/ui/", "", "application/json")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	resp, body = do(http.MethodGet, "/ui/namespaces/default/workflows", reader, "", &http.Cookie{Name: "_csrf", Value: "ui-token"}, &http.Cookie{Name: auth.SessionCookie, Value: "x"})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Equal(t, "ui:/ui/namespaces/default/workflows", body)
	require.Empty(t, got.Header.Get("Authorization"), "the API key stays with Dunwell")
	_, err = got.Cookie(auth.SessionCookie)
	require.Error(t, err, "the session cookie stays with Dunwell")
	c, err := got.Cookie("_csrf")
	require.NoError(t, err, "the UI's own cookies pass")
	require.Equal(t, "ui-token", c.Value)

	resp, _ = do(http.MethodPost, "/ui/api/v1/namespaces/default/workflows/x/terminate", reader, "")
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "acting needs the operator scope")
	resp, _ = do(http.MethodPost, "/ui/api/v1/namespaces/default/workflows/x/terminate", operator, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
}
