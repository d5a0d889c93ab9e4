package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/reports/fixture"
)

// The browser test of /reports: headless Chromium (scripts/ensure-chromium.sh installs
// Debian's package) signs in with an API key on the page, and every figure the page
// shows must equal the API's. The screenshot is kept in $TEST_OUTPUT_DIR (default
// .test-output/ at the repository root); UPDATE_SCREENSHOT=1 also refreshes
// docs/reports.png for docs/kpis.md.

// getJSON calls the API with the e2e key.
func getJSON(t *testing.T, path string, out any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, env.api.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+env.apiKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", path, body)
	require.NoError(t, json.Unmarshal(body, out), string(body))
}

// text renders a JSON value as the page shows it.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return "–"
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func TestReportsPageInChromiumShowsTheAPIsFigures(t *testing.T) {
	bin := chromiumPath()
	if bin == "" {
		t.Skip("no Chromium found (run scripts/ensure-chromium.sh, or set CHROMIUM): skipping the /reports browser test")
	}
	t.Parallel()
	// A year of history in the past, so that invoices other tests issue today do not
	// move these figures while the test compares them.
	invoices := fixture.Generate(fixture.Options{Invoices: 300, Seed: 42, Prefix: "BR"})
	require.NoError(t, fixture.Write(context.Background(), env.ledger, invoices))
	const from, to = "2025-01-01", "2025-12-31"

	ctx := newBrowser(t, bin, 1280, 1800)

	page := env.api.URL + "/reports?from=" + from + "&to=" + to
	require.NoError(t, chromedp.Do(ctx,
		signIn(page),
		chromedp.WaitVisible(chromedp.ID("kpis")),
	), "signing in on %s", page)
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll('td[data-kpi]')].map(
			e => [e.dataset.kpi + '/' + e.dataset.currency, e.textContent.trim()]))`))
	require.NoError(t, err)
	aging, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll('[data-aging]')].map(
			e => [e.dataset.aging, e.textContent.trim()]))`))
	require.NoError(t, err)

	var kpis struct {
		Currencies []map[string]any `json:"currencies"`
	}
	getJSON(t, "/v1/reports/kpis?from="+from+"&to="+to, &kpis)
	require.Len(t, kpis.Currencies, 4, "USD, EUR, JPY and KWD")
	compared := 0
	for _, c := range kpis.Currencies {
		cur := c["currency"].(string)
		for name, v := range c {
			if name == "currency" || name == "days_to_pay_total" || name == "days_delinquent_total" {
				continue
			}
			require.Equal(t, text(v), shown[name+"/"+cur], "%s %s on the page", cur, name)
			compared++
		}
	}
	require.Len(t, shown, compared, "the page shows exactly the API's KPIs")

	var ag struct {
		Currencies []struct {
			Currency string `json:"currency"`
			Buckets  []struct {
				Bucket string `json:"bucket"`
				Amount string `json:"amount"`
			} `json:"buckets"`
		} `json:"currencies"`
	}
	getJSON(t, "/v1/reports/aging?as_of="+to, &ag)
	require.NotEmpty(t, ag.Currencies)
	n := 0
	for _, c := range ag.Currencies {
		for _, b := range c.Buckets {
			label := map[string]string{"current": "current", "1_30": "1–30", "31_60": "31–60", "61_90": "61–90", "90_plus": "90+"}[b.Bucket]
			require.Equal(t, b.Amount, aging[c.Currency+"/"+label], "%s aging %s on the page", c.Currency, b.Bucket)
			n++
		}
	}
	require.Len(t, aging, n)

	// The currency picker narrows the page to one currency.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("currency"), "JPY"),
		chromedp.Submit(chromedp.ID("currency")),
		chromedp.WaitVisible(chromedp.CSS(`#kpis td[data-currency="JPY"]`)),
	))
	columns, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...new Set([...document.querySelectorAll('td[data-kpi]')].map(e => e.dataset.currency))]`))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("steps"))))
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.Equal(t, []string{"JPY"}, columns)
	keepScreenshot(t, png)
}

// keepScreenshot writes the page's screenshot to the test output directory and, with
// UPDATE_SCREENSHOT=1, to docs/reports.png.
func keepScreenshot(t *testing.T, png []byte) {
	t.Helper()
	require.NotEmpty(t, png)
	root, err := testenv.RepoRoot()
	require.NoError(t, err)
	dir := os.Getenv("TEST_OUTPUT_DIR")
	if dir == "" {
		dir = filepath.Join(root, ".test-output")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	out := filepath.Join(dir, "reports.png")
	require.NoError(t, os.WriteFile(out, png, 0o644))
	t.Logf("screenshot of /reports: %s", out)
	if os.Getenv("UPDATE_SCREENSHOT") == "1" {
		require.NoError(t, os.WriteFile(filepath.Join(root, "docs", "reports.png"), png, 0o644))
	}
}
