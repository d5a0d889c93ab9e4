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

	bin := chromiumOrSkip(t, "the browser test")
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

// TestTemporalUICancelsWithASession: signed in by the session cookie, an operator
// requests the cancellation of an invoice on its page in the real Temporal UI. The
// UI posts with no body and no JSON content type; the cookie acts because the page is
// this server's own, and the proxy carries the request out as the API's cancel
// action: the invoice is cancelled (its balance voided in the ledger) and the audit
// trail names the key, the session and the UI route.
func TestTemporalUICancelsWithASession(t *testing.T) {
	t.Parallel()
	bin := chromiumOrSkip(t, "the browser test")
	id := "E2E-UI-CANCEL"
	inv := invoice(id)
	inv["policy"] = "standard" // nothing happens for days: the invoice is open when the UI acts
	code, body := call(t, http.MethodPost, "/v1/invoices", inv)
	require.Equal(t, http.StatusCreated, code, body)

	ctx := newBrowser(t, bin, 1400, 1000)
	require.NoError(t, chromedp.Do(ctx, signIn(env.api.URL+"/ui/namespaces/default/workflows/"+"invoice-"+id)))
	// click runs script (an expression that clicks and answers true, or answers false
	// while the element is not there yet) until it clicks.
	click := func(what, script string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			clicked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](script))
			if err == nil && clicked {
				return
			}
			if time.Now().After(deadline) {
				dialogs, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('dialog')].map(d => d.open + ': ' + d.outerHTML.slice(0, 600)).join('\n')`))
				t.Fatalf("the UI never offered %s (last error: %v); dialogs:\n%s", what, err, dialogs)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	click("Request Cancellation", `(() => {
		const b = [...document.querySelectorAll('button')].find(b => b.innerText.trim() === 'Request Cancellation' && !b.disabled);
		if (!b) return false;
		b.click();
		return true;
	})()`)
	click("the confirmation", `(() => {
		const b = [...document.querySelectorAll('dialog[open] [data-testid="confirm-modal-button"]')]
			.find(b => !b.disabled && b.closest('dialog').innerText.includes('Cancel Workflow'));
		if (!b) return false;
		b.click();
		return true;
	})()`)

	var got map[string]any
	eventually(t, 30*time.Second, "the invoice to be cancelled", func() bool {
		_, got = call(t, http.MethodGet, "/v1/invoices/"+id, nil)
		return got["status"] == "cancelled"
	})
	require.Equal(t, "0.00", got["balance"], "the cancel action voided the balance")
	// The workflow answers the update before the API writes its audit row: wait for it.
	var trail map[string]any
	var cancels []map[string]any
	eventually(t, 15*time.Second, "the cancel's audit row", func() bool {
		var code int
		code, trail = call(t, http.MethodGet, "/v1/invoices/"+id+"/audit", nil)
		require.Equal(t, http.StatusOK, code, trail)
		cancels = nil
		for _, e := range trail["entries"].([]any) {
			if e := e.(map[string]any); e["action"] == "invoice.cancel" {
				cancels = append(cancels, e)
			}
		}
		return len(cancels) > 0
	})
	require.Len(t, cancels, 1, "one audit row: %v", trail)
	e := cancels[0]
	require.Equal(t, "applied", e["outcome"])
	require.Equal(t, "e2e", e["key_name"])
	details := e["details"].(map[string]any)
	require.Equal(t, string(auth.ViaSession), details["credential"])
	require.Equal(t, "/ui/api/v1/namespaces/default/workflows/invoice-"+id+"/cancel", details["path"])

	// The UI took the proxy's answer for the UI server's: it shows its success toast.
	eventually(t, 15*time.Second, "the UI's success toast", func() bool {
		shown, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		return err == nil && strings.Contains(shown, "Workflow canceled.")
	})
}
