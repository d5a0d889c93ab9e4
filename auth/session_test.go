package auth

import (
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/ledger"
)

// TestSessionForm: the sign-in form of the operator pages (no script) starts a session
// only from a page of the server's own origin, sends the browser back to a local next
// page, and answers a refusal with a page that says why and never shows the key.
func TestSessionForm(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	token, k := store.add(t, "grace", ScopeRead)
	revoked, rk := store.add(t, "old", ScopeRead)
	store.revoke(rk.ID)
	unknown, err := ledger.NewAPIKeyToken()
	require.NoError(t, err)
	m, logs := newMiddleware(t, store)
	const own = "http://api.example:8080"

	form := func(key, next string) string {
		return url.Values{"key": {key}, "next": {next}}.Encode()
	}
	sameOrigin := []string{"Origin", own, "Sec-Fetch-Site", "same-origin"}
	for _, tc := range []struct {
		name     string
		body     string
		headers  []string
		code     int
		location string // for 303
		reason   string // for a refusal: in "Sign-in failed: <reason>"
		back     string // the refusal page's link
	}{
		{"same origin", form(token, "/worklist?assignee=grace"), sameOrigin, 303, "/worklist?assignee=grace", "", ""},
		{"Origin only (older browser)", form(token, "/bank"), []string{"Origin", own}, 303, "/bank", "", ""},
		{"no Origin, Sec-Fetch-Site same-origin", form(token, "/reports?from=2026-01-01"), []string{"Sec-Fetch-Site", "same-origin"}, 303, "/reports?from=2026-01-01", "", ""},
		{"a pasted key with a newline", form(" "+token+"\n", "/worklist"), sameOrigin, 303, "/worklist", "", ""},
		{"charset in the content type", form(token, "/worklist"), append([]string{"Content-Type", "application/x-www-form-urlencoded; charset=UTF-8"}, sameOrigin...), 303, "/worklist", "", ""},

		{"another origin", form(token, "/worklist"), []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, 403, "", `the form was sent from a cross-site page (origin "https://evil.example"), not from a page of this server (http://api.example:8080)`, "/reports"},
		{"another origin, older browser", form(token, "/worklist"), []string{"Origin", "https://evil.example"}, 403, "", `the form was sent from origin "https://evil.example", not from a page of this server`, "/reports"},
		{"same site, another port", form(token, "/worklist"), []string{"Origin", "http://api.example:9999", "Sec-Fetch-Site", "same-site"}, 403, "", "not from a page of this server", "/reports"},
		{"no Origin, cross-site", form(token, "/worklist"), []string{"Sec-Fetch-Site", "cross-site"}, 403, "", "a cross-site page", "/reports"},
		{"our Origin but Sec-Fetch-Site cross-site", form(token, "/worklist"), []string{"Origin", own, "Sec-Fetch-Site", "cross-site"}, 403, "", "the form was sent from a cross-site page (origin", "/reports"},
		{"opaque origin", form(token, "/worklist"), []string{"Origin", "null"}, 403, "", `origin "null"`, "/reports"},
		{"no browser header", form(token, "/worklist"), nil, 403, "", "no browser page", "/reports"},
		{"https page, plain request", form(token, "/worklist"), []string{"Origin", "https://api.example:8080"}, 403, "", "not from a page of this server", "/reports"},

		{"next: another host", form(token, "//evil.example/x"), sameOrigin, 303, "/reports", "", ""},
		{"next: backslash host", form(token, `/\evil.example`), sameOrigin, 303, "/reports", "", ""},
		{"next: absolute URL", form(token, "https://evil.example/"), sameOrigin, 303, "/reports", "", ""},
		{"next: scheme", form(token, "javascript:alert(1)"), sameOrigin, 303, "/reports", "", ""},
		{"next: tab that browsers drop", form(token, "/\t/evil.example"), sameOrigin, 303, "/reports", "", ""},
		{"next: relative", form(token, "worklist"), sameOrigin, 303, "/reports", "", ""},
		{"next: missing", url.Values{"key": {token}}.Encode(), sameOrigin, 303, "/reports", "", ""},
		{"next: twice", url.Values{"key": {token}, "next": {"/bank", "/worklist"}}.Encode(), sameOrigin, 303, "/reports", "", ""},

		{"unknown key", form(unknown, "/worklist?assignee=grace"), sameOrigin, 401, "", "invalid API key", "/worklist?assignee=grace"},
		{"revoked key", form(revoked, "/bank"), sameOrigin, 401, "", "API key revoked", "/bank"},
		{"empty key", form("", "/worklist"), sameOrigin, 401, "", "key: missing", "/worklist"},
		{"no key field", url.Values{"next": {"/worklist"}}.Encode(), sameOrigin, 401, "", "key: missing", "/worklist"},
		{"not a key", form("hunter2", "/worklist"), sameOrigin, 401, "", "key: not an API key; an API key is dw_", "/worklist"},
		{"oversized key", form("dw_"+strings.Repeat("a", 300), "/worklist"), sameOrigin, 400, "", "key: longer than 256 characters", "/worklist"},
		{"oversized form", form(strings.Repeat("a", 20<<10), "/worklist"), sameOrigin, 400, "", "key: too long (the form is over 16 KiB)", "/reports"},
		{"key twice", url.Values{"key": {token, token}, "next": {"/worklist"}}.Encode(), sameOrigin, 400, "", "key: given more than once", "/worklist"},
		{"not a form body", "key=%zz" + token, sameOrigin, 400, "", "the form is not valid application/x-www-form-urlencoded", "/reports"},
		{"bad next on a refusal", form(unknown, "//evil.example"), sameOrigin, 401, "", "invalid API key", "/reports"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, own+"/v1/session", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for i := 0; i+1 < len(tc.headers); i += 2 {
				req.Header.Set(tc.headers[i], tc.headers[i+1])
			}
			ctx, si := WithSignIn(req.Context())
			rec := httptest.NewRecorder()
			m.SessionHandler().ServeHTTP(rec, req.WithContext(ctx))
			require.Equal(t, tc.code, rec.Code, rec.Body.String())
			require.True(t, si.Form)
			require.NotContains(t, rec.Body.String(), token)
			require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			if tc.code == http.StatusSeeOther {
				require.Equal(t, tc.location, rec.Header().Get("Location"))
				c := sessionCookie(t, rec)
				require.True(t, c.HttpOnly)
				require.False(t, c.Secure, "plain HTTP")
				require.Equal(t, http.SameSiteLaxMode, c.SameSite)
				require.Equal(t, int(DefaultSessionTTL.Seconds()), c.MaxAge)
				require.Equal(t, k.ID, si.Key.ID)
				require.Equal(t, tc.location, si.Next)
				require.Empty(t, si.Refused)
				return
			}
			require.Empty(t, rec.Result().Cookies(), "no cookie on a refusal")
			require.Empty(t, rec.Header().Get("Location"))
			require.Zero(t, si.Key.ID)
			require.Contains(t, si.Refused, tc.reason)
			require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
			require.Contains(t, rec.Header().Get("Content-Security-Policy"), "default-src 'none'")
			page := html.UnescapeString(rec.Body.String())
			require.Contains(t, page, `id="signin-failed" role="alert">Sign-in failed: `)
			require.Contains(t, page, tc.reason)
			require.Contains(t, page, `href="`+tc.back+`"`)
			if tc.code == http.StatusUnauthorized {
				require.Contains(t, rec.Header().Get("WWW-Authenticate"), "Bearer")
			}
		})
	}
	require.Contains(t, logs.String(), "Sign-in form from another origin refused")
	require.NotContains(t, logs.String(), token)
	require.NotContains(t, logs.String(), revoked)
}

// TestSessionFormBehindProxy: over TLS (X-Forwarded-Proto from a trusted proxy, or
// TLS itself) the form's origin is https and the cookie is Secure; a form from a
// configured Temporal UI origin is still not the server's own page.
func TestSessionFormBehindProxy(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	token, _ := store.add(t, "grace", ScopeRead)
	m, _ := newMiddleware(t, store)
	post := func(origin string, headers ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "http://dunwell.example/v1/session",
			strings.NewReader(url.Values{"key": {token}, "next": {"/reports"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		rec := httptest.NewRecorder()
		m.SessionHandler("https://temporal-ui.other.example").ServeHTTP(rec, req)
		return rec
	}
	rec := post("https://dunwell.example", "X-Forwarded-Proto", "https")
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	c := sessionCookie(t, rec)
	require.True(t, c.Secure)
	require.Equal(t, http.SameSiteNoneMode, c.SameSite, "the same attributes as the header's sign-in")

	rec = post("https://public.example", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "public.example")
	require.Equal(t, http.StatusSeeOther, rec.Code, "the proxy's public name: %s", rec.Body.String())

	require.Equal(t, http.StatusForbidden, post("http://dunwell.example", "X-Forwarded-Proto", "https").Code, "an http page of an https site")
	require.Equal(t, http.StatusForbidden, post("https://temporal-ui.other.example").Code, "the UI's origin may call the codec, not sign in by form")
}

// TestSessionHeaderUnchanged: the header's sign-in answers JSON as before, whatever
// the body, and records its outcome too; a form body without the header and a JSON
// body without it are both refused as before only when they are not a form.
func TestSessionHeaderUnchanged(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	token, k := store.add(t, "ui", ScopeRead)
	m, _ := newMiddleware(t, store)
	post := func(contentType, body string, headers ...string) (*httptest.ResponseRecorder, *SignIn) {
		req := httptest.NewRequest(http.MethodPost, "http://api.example/v1/session", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		ctx, si := WithSignIn(req.Context())
		rec := httptest.NewRecorder()
		m.SessionHandler().ServeHTTP(rec, req.WithContext(ctx))
		return rec, si
	}
	rec, si := post("application/json", "", "Authorization", "Bearer "+token)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.Contains(t, rec.Body.String(), `"key_name":"ui"`)
	require.Equal(t, k.ID, si.Key.ID)
	require.False(t, si.Form)

	// The header wins over a form body (its key field is not read).
	rec, si = post("application/x-www-form-urlencoded", "key=nonsense&next=/bank", "Authorization", "Bearer "+token)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Empty(t, rec.Header().Get("Location"))
	require.False(t, si.Form)

	rec, si = post("application/json", `{"key":"`+token+`"}`, "Origin", "http://api.example")
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	require.Contains(t, errorOf(t, rec), "missing API key")
	require.Equal(t, errorOf(t, rec), si.Refused)
	require.Empty(t, rec.Result().Cookies())

	rec, si = post("application/json", "", "Authorization", "Bearer dw_"+strings.Repeat("x", 43))
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	require.Equal(t, "invalid API key", errorOf(t, rec))
	require.Equal(t, "invalid API key", si.Refused)
	require.Contains(t, rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`)

	store.fail = errors.New("database down")
	rec, si = post("application/json", "", "Authorization", "Bearer "+token)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Contains(t, si.Refused, "cannot check the API key")
	rec, _ = post("application/x-www-form-urlencoded", url.Values{"key": {token}}.Encode(), "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Contains(t, rec.Body.String(), "Sign-in failed: cannot check the API key right now")
}

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for _, next := range []string{"/", "/reports", "/worklist?assignee=grace", "/ui/namespaces/default/workflows/invoice-1", "/bank?matched=3#done", "/reports?currency=%E2%82%AC"} {
		require.True(t, SafeNext(next), next)
	}
	for _, next := range []string{"", "reports", "//evil.example", `/\evil.example`, `/a\b`, "/\t/evil.example", "/\n/evil.example",
		"/ /x", "https://evil.example/", "http:/x", "javascript:alert(1)", "/" + strings.Repeat("a", 2048), "/\x7f"} {
		require.False(t, SafeNext(next), next)
	}
}
