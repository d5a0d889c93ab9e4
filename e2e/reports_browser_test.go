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
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/reports"
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
	bin := chromiumOrSkip(t, "the /reports browser test")
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
		chromedp.WaitVisible(chromedp.ID("collectors")),
		chromedp.WaitVisible(chromedp.ID("trend")),
		chromedp.WaitVisible(chromedp.ID("forecast")),
	), "signing in on %s", page)
	// Each figure: what people read (textContent) and the API's value (data-value).
	figures := func(selector, key string) (shown, values map[string]string) {
		t.Helper()
		var err error
		shown, err = chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
			`Object.fromEntries([...document.querySelectorAll('`+selector+`')].map(e => [`+key+`, e.textContent.trim()]))`))
		require.NoError(t, err)
		values, err = chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
			`Object.fromEntries([...document.querySelectorAll('`+selector+`')].map(e => [`+key+`, e.dataset.value]))`))
		require.NoError(t, err)
		return shown, values
	}
	shown, values := figures("td[data-kpi]", "e.dataset.kpi + '/' + e.dataset.currency")
	aging, agingValues := figures("[data-aging]", "e.dataset.aging")
	trendShown, trendValues := figures("td[data-trend]", "e.dataset.trend")
	castShown, castValues := figures("td[data-forecast]", "e.dataset.forecast")
	en := reports.FormatFor() // the browser asks for en-US

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
			key := name + "/" + cur
			require.Equal(t, text(v), values[key], "%s %s on the page", cur, name)
			require.Equal(t, human(t, en, name, cur, v), shown[key], "%s %s as people read it", cur, name)
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
			require.Equal(t, b.Amount, agingValues[c.Currency+"/"+label], "%s aging %s on the page", c.Currency, b.Bucket)
			require.Equal(t, human(t, en, "amount", c.Currency, b.Amount), aging[c.Currency+"/"+label], "%s aging %s", c.Currency, b.Bucket)
			n++
		}
	}
	require.Len(t, aging, n)
	// Thousands separators: the year's USD receivables run to five digits at least.
	require.Regexp(t, `^\$ \d{1,3}(,\d{3})+\.\d{2}$`, shown["amount_issued/USD"])
	require.Regexp(t, `^\d+(\.\d)?%$`, shown["collection_rate/USD"])

	// The trend: a chart per currency, drawn, and its table equal to the API's.
	var trend struct {
		Currencies []struct {
			Currency string           `json:"currency"`
			Months   []map[string]any `json:"months"`
		} `json:"currencies"`
	}
	getJSON(t, "/v1/reports/trend?to="+to, &trend)
	require.Len(t, trend.Currencies, 4)
	n = 0
	for _, c := range trend.Currencies {
		require.Len(t, c.Months, 12)
		for _, m := range c.Months {
			for _, name := range []string{"dso", "collection_rate", "closing_receivables"} {
				key := c.Currency + "/" + m["month"].(string) + "/" + name
				require.Equal(t, text(m[name]), trendValues[key], key)
				require.Equal(t, human(t, en, name, c.Currency, m[name]), trendShown[key], key)
				n++
			}
		}
	}
	require.Len(t, trendShown, n)
	drawn, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]int](
		`Object.fromEntries([...document.querySelectorAll('figure[data-trend-currency]')].map(f => [f.dataset.trendCurrency,
			f.querySelectorAll('svg polyline, svg circle[cx]').length + f.querySelectorAll('svg rect').length]))`))
	require.NoError(t, err)
	require.Len(t, drawn, 4)
	for cur, marks := range drawn {
		require.Greater(t, marks, 12, "%s: the trend chart draws its months", cur)
	}
	box, err := chromedp.Run(ctx, chromedp.Evaluate[float64](
		`document.querySelector('figure[data-trend-currency="USD"] svg').getBoundingClientRect().height`))
	require.NoError(t, err)
	require.Positive(t, box, "the USD trend chart is laid out")

	// The forecast: its weeks' totals equal the API's (both computed as of today). Other
	// tests issue USD and EUR invoices meanwhile, which move those currencies' weeks:
	// JPY and KWD are only the fixture's.
	var cast struct {
		Currencies []struct {
			Currency string `json:"currency"`
			Weeks    []struct {
				Week  int    `json:"week"`
				Total string `json:"total"`
			} `json:"weeks"`
		} `json:"currencies"`
	}
	getJSON(t, "/v1/reports/forecast", &cast)
	n = 0
	for _, c := range cast.Currencies {
		if c.Currency != "JPY" && c.Currency != "KWD" {
			continue
		}
		for _, w := range c.Weeks {
			key := fmt.Sprintf("%s/%d", c.Currency, w.Week)
			require.Equal(t, w.Total, castValues[key], key)
			require.Equal(t, human(t, en, "amount", c.Currency, w.Total), castShown[key], key)
			n++
		}
	}
	require.Equal(t, 2*12, n, "JPY and KWD, twelve weeks each")
	for key := range castShown {
		if strings.HasPrefix(key, "JPY/") || strings.HasPrefix(key, "KWD/") {
			n--
		}
	}
	require.Zero(t, n, "the page shows the JPY and KWD weeks, no more, no fewer")

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

// human formats a JSON figure as the page shows it to people in English: money
// with its currency, rates as percentages, counts grouped, days with 2 decimals.
func human(t *testing.T, f reports.Format, name, currency string, v any) string {
	t.Helper()
	switch x := v.(type) {
	case nil:
		return "–"
	case string:
		minor, err := money.Parse(x, currency)
		require.NoError(t, err, "%s %s", name, x)
		return f.Money(reports.Money{Minor: minor, Currency: currency})
	case float64:
		switch {
		case strings.HasSuffix(name, "_rate"):
			return f.Percent(&x)
		case strings.HasPrefix(name, "invoices_"):
			return f.Count(int64(x))
		default:
			return f.Number(&x, 2)
		}
	}
	return fmt.Sprint(v)
}

// keepScreenshot writes the page's screenshot to the test output directory and, with
// UPDATE_SCREENSHOT=1, to docs/reports.png.
func keepScreenshot(t *testing.T, png []byte) {
	t.Helper()
	keepScreenshotAs(t, "reports.png", filepath.Join("docs", "reports.png"), png)
}

// keepScreenshotAs writes a page's screenshot to the test output directory as name
// and, with UPDATE_SCREENSHOT=1, to docsPath under the repository root.
func keepScreenshotAs(t *testing.T, name, docsPath string, png []byte) {
	t.Helper()
	require.NotEmpty(t, png)
	root, err := testenv.RepoRoot()
	require.NoError(t, err)
	dir := os.Getenv("TEST_OUTPUT_DIR")
	if dir == "" {
		dir = filepath.Join(root, ".test-output")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	out := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(out, png, 0o644))
	t.Logf("screenshot: %s", out)
	if os.Getenv("UPDATE_SCREENSHOT") == "1" {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, docsPath)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, docsPath), png, 0o644))
	}
}
