package api

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/ledger"
)

// postForm posts the sign-in form to srv as a browser would, without following the
// redirect.
func postForm(t *testing.T, srv *testServer, form url.Values, headers ...string) answer {
	t.Helper()
	client := *srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(newRequest(t, http.MethodPost, srv.URL+"/v1/session", form.Encode(), "application/x-www-form-urlencoded", headers))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{code: resp.StatusCode, header: resp.Header, body: b}
}

// TestSignInForm: without a session an operator page answers a plain form (no
// script) that posts the key to POST /v1/session with the page as next; from the
// server's own origin that starts a session and leads back to the page, which then
// shows; another site's form is refused. Both are in the audit trail.
func TestSignInForm(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newTestServer(t, testStore)
	token, k := newKey(t, testStore, auth.ScopeRead)
	const page = "/worklist?assignee=grace"

	a := call(t, srv, http.MethodGet, page, "")
	require.Equal(t, http.StatusUnauthorized, a.code)
	body := string(a.body)
	require.Contains(t, body, `<form id="signin" method="post" action="/v1/session">`)
	require.Contains(t, body, `name="key" type="password"`)
	require.Contains(t, body, `<input type="hidden" name="next" value="/worklist?assignee=grace">`)
	require.NotContains(t, body, "<script")
	csp := a.header.Get("Content-Security-Policy")
	require.Contains(t, csp, "form-action 'self'")
	require.NotContains(t, csp, "script-src", "the sign-in page has no script either")

	// Signed in from the page: back to it, with the cookie.
	a = postForm(t, srv, url.Values{"key": {token}, "next": {page}}, "Origin", srv.URL, "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusSeeOther, a.code, string(a.body))
	require.Equal(t, page, a.header.Get("Location"))
	require.Equal(t, "no-store", a.header.Get("Cache-Control"))
	cookie, _, _ := strings.Cut(a.header.Get("Set-Cookie"), ";")
	require.True(t, strings.HasPrefix(cookie, auth.SessionCookie+"="), a.header.Get("Set-Cookie"))
	require.Contains(t, a.header.Get("Set-Cookie"), "HttpOnly")
	require.Contains(t, a.header.Get("Set-Cookie"), "SameSite=Lax")
	a = call(t, srv, http.MethodGet, page, "", "Cookie", cookie)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.Contains(t, string(a.body), "signed in as "+k.Name)

	trail, err := testStore.ListKeyAudit(ctx, k.ID)
	require.NoError(t, err)
	last := trail[len(trail)-1]
	require.Equal(t, ledger.AuditSessionStart, last.Action)
	require.Equal(t, ledger.AuditStarted, last.Outcome)
	require.Equal(t, k.Name, last.KeyName)
	require.Equal(t, "form", last.Details["via"])
	require.EqualValues(t, http.StatusSeeOther, last.Details["status"])

	// Another site's form (login CSRF) is refused before the key is looked at.
	evil := "https://" + uid("evil") + ".example"
	a = postForm(t, srv, url.Values{"key": {token}, "next": {page}}, "Origin", evil, "Sec-Fetch-Site", "cross-site")
	require.Equal(t, http.StatusForbidden, a.code)
	require.Empty(t, a.header.Values("Set-Cookie"))
	require.Contains(t, a.header.Get("Content-Type"), "text/html")
	require.Contains(t, string(a.body), "Sign-in failed: the form was sent from a cross-site page")
	require.NotContains(t, string(a.body), token)
	var reason, via, status string
	require.NoError(t, testStore.Pool().QueryRow(ctx, `SELECT reason, details->>'via', details->>'status' FROM audit_log
		WHERE action = $1 AND outcome = $2 AND reason LIKE '%' || $3 || '%'`,
		ledger.AuditSessionStart, ledger.AuditRejected, evil).Scan(&reason, &via, &status))
	require.Equal(t, "form", via)
	require.Equal(t, "403", status)

	// A wrong key: the page says so and links back, with no cookie.
	wrong := "dw_" + strings.Repeat("w", 43)
	a = postForm(t, srv, url.Values{"key": {wrong}, "next": {page}}, "Origin", srv.URL)
	require.Equal(t, http.StatusUnauthorized, a.code)
	require.Empty(t, a.header.Values("Set-Cookie"))
	require.Contains(t, string(a.body), "Sign-in failed: invalid API key")
	require.Contains(t, string(a.body), `href="/worklist?assignee=grace"`)
	require.NotContains(t, string(a.body), wrong)
}
