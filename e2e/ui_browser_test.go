package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/auth"
)

// TestTemporalUIDecodesThroughTheProxy: an operator opens the Temporal UI through the
// API (/ui/), signs in with a key, and reads the invoice's input decoded, with the
// customer's name, although the history holds it encrypted (see pii_test.go). The
// UI's own write calls need the operator scope.
func TestTemporalUIDecodesThroughTheProxy(t *testing.T) {
	t.Parallel()
	id := "E2E-UI"
	code, body := call(t, http.MethodPost, "/v1/invoices", invoice(id))
	require.Equal(t, http.StatusCreated, code, body)

	// Without a session: the sign-in form for a browser, 401 for anything else.
	req, _ := http.NewRequest(http.MethodGet, env.api.URL+"/ui/", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	// A read-only key may look but not act.
	readOnly, _, err := env.ledger.CreateAPIKey(context.Background(), "e2e-ui-read", auth.Strings([]auth.Scope{auth.ScopeRead}))
	require.NoError(t, err)
	req, _ = http.NewRequest(http.MethodPost, env.api.URL+"/ui/api/v1/namespaces/default/workflows/invoice-"+id+"/terminate", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+readOnly)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	bin := chromiumPath()
	if bin == "" {
		t.Skip("no Chromium on this machine: scripts/ensure-chromium.sh installs it (make test runs it)")
	}
	ctx := newBrowser(t, bin, 1400, 1300)

	page := env.api.URL + "/ui/namespaces/default/workflows/" + "invoice-" + id
	require.NoError(t, chromedp.Do(ctx, signIn(page)))
	// After the sign-in the page reloads into the UI, which decodes the input through
	// /codec with the session cookie.
	var text string
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`)); err == nil {
			if text = got; strings.Contains(text, "Ada Lovelace") {
				break
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	require.Contains(t, text, "invoice-"+id)
	require.Contains(t, text, "Ada Lovelace", "the UI shows the decoded customer name")

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	dir := os.Getenv("TEST_OUTPUT_DIR")
	if dir == "" {
		dir = filepath.Join("..", ".test-output")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "temporal-ui.png"), png, 0o644))
	if os.Getenv("UPDATE_SCREENSHOT") != "" {
		require.NoError(t, os.WriteFile(filepath.Join("..", "docs", "temporal-ui.png"), png, 0o644))
	}
}
