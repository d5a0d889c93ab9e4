package api

import "net/http"

// signInPage lets an operator start a session with an API key, so that the Temporal UI
// (with "include cross-origin credentials" on in its codec settings) can decode
// payloads through /codec. The key goes only into the Authorization header of
// POST /v1/session; the page stores nothing.
const signInPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dunwell sign-in</title>
<style>body{font:16px system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}
input{width:100%;padding:.5rem;font:inherit}button{margin-top:.75rem;padding:.5rem 1rem;font:inherit}
#out{margin-top:1rem;white-space:pre-wrap}</style></head>
<body><h1>Dunwell</h1>
<p>Sign in with an API key that has the <code>read</code> scope. The session cookie lets the
Temporal UI decode customer data through this server's codec endpoint: in the UI, open the
codec server settings and turn on <em>include cross-origin credentials</em>.</p>
<form id="f"><label for="k">API key</label><input id="k" type="password" autocomplete="off" required>
<button type="submit">Sign in</button></form><div id="out" role="status"></div>
<script>
document.getElementById('f').addEventListener('submit', async (e) => {
  e.preventDefault();
  const out = document.getElementById('out');
  const r = await fetch('/v1/session', {method: 'POST', credentials: 'same-origin',
    headers: {'Authorization': 'Bearer ' + document.getElementById('k').value, 'Content-Type': 'application/json'}});
  const body = await r.json().catch(() => ({}));
  out.textContent = r.ok
    ? 'Signed in as ' + body.key_name + ' until ' + body.expires_at + '.'
    : 'Sign-in failed: ' + (body.error || r.status);
});
</script></body></html>
`

func serveSignIn(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(signInPage))
}
