package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/internal/ledgertest"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/reports"
	"github.com/dunwell/dunwell/reports/fixture"
)

// reportServer is the API over a ledger of its own holding a generated history.
func reportServer(t *testing.T) (*testServer, *ledger.Store, string) {
	t.Helper()
	ctx := context.Background()
	store := ledgertest.OnNewDatabase(t, testPG)
	require.NoError(t, fixture.Write(ctx, store, fixture.Generate(fixture.Options{Invoices: 80, Seed: 3})))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	srv := newTestServer(t, store, func(s *Server) { s.Now = func() time.Time { return now } })
	token, _ := newKey(t, store, auth.ScopeRead)
	return srv, store, token
}

func TestReportsAnswerWhatTheReporterComputes(t *testing.T) {
	t.Parallel()
	srv, store, token := reportServer(t)
	rep := reports.New(store.Pool())
	rep.Now = func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
	ctx := context.Background()
	p := reports.Period{From: time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)}

	kpis, err := rep.KPIs(ctx, p, reports.Filter{Segment: "smb"})
	require.NoError(t, err)
	aging, err := rep.Aging(ctx, p.To, reports.Filter{Currency: "JPY"})
	require.NoError(t, err)
	steps, err := rep.Steps(ctx, p, reports.Filter{}, 14)
	require.NoError(t, err)
	defaults, err := rep.Aging(ctx, rep.Today(), reports.Filter{})
	require.NoError(t, err)
	trend, err := rep.Trend(ctx, p.To, 6, reports.Filter{Policy: "gentle"})
	require.NoError(t, err)
	trendDefaults, err := rep.Trend(ctx, rep.Today(), reports.DefaultTrendMonths, reports.Filter{})
	require.NoError(t, err)
	forecast, err := rep.Forecast(ctx, 8, reports.Filter{Currency: "EUR"})
	require.NoError(t, err)
	forecastDefaults, err := rep.Forecast(ctx, reports.DefaultForecastWeeks, reports.Filter{})
	require.NoError(t, err)
	team, err := rep.Collectors(ctx, p, 10)
	require.NoError(t, err)
	for path, want := range map[string]any{
		"/v1/reports/kpis?from=2025-04-01&to=2025-06-30&segment=smb":     kpis,
		"/v1/reports/aging?as_of=2025-06-30&currency=JPY":                aging,
		"/v1/reports/steps?from=2025-04-01&to=2025-06-30&within_days=14": steps,
		"/v1/reports/aging": defaults,
		"/v1/reports/trend?to=2025-06-30&months=6&policy=gentle": trend,
		"/v1/reports/trend":                         trendDefaults,
		"/v1/reports/forecast?weeks=8&currency=EUR": forecast,
		"/v1/reports/forecast":                      forecastDefaults,
		"/v1/reports/collectors?from=2025-04-01&to=2025-06-30&within_days=10": team,
	} {
		a := call(t, srv, http.MethodGet, path, "", bearer(token)...)
		require.Equal(t, http.StatusOK, a.code, "%s: %s", path, a.body)
		wantJSON, err := json.Marshal(want)
		require.NoError(t, err)
		require.JSONEq(t, string(wantJSON), string(a.body), path)
	}
	// Without dates the KPIs cover the 30 days ending today.
	a := call(t, srv, http.MethodGet, "/v1/reports/kpis", "", bearer(token)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	var k reports.KPIReport
	require.NoError(t, json.Unmarshal(a.body, &struct {
		From *string `json:"from"`
		To   *string `json:"to"`
	}{&k.From, &k.To}))
	require.Equal(t, "2026-01-31", k.From)
	require.Equal(t, "2026-03-01", k.To)
}

func TestReportsNameEveryBadParameter(t *testing.T) {
	t.Parallel()
	srv, store, token := reportServer(t)
	cases := map[string][]string{
		"/v1/reports/kpis?from=2025-13-01&to=yesterday&currency=usd&bogus=1":       {"from", "to", "currency", "bogus"},
		"/v1/reports/kpis?from=2025-02-01&to=2025-01-01":                           {"to"},
		"/v1/reports/kpis?from=2000-01-01&to=2025-01-01&policy=a%20b":              {"from", "policy"},
		"/v1/reports/aging?as_of=2025-02-30&segment=x%3By&from=2025-01-01":         {"as_of", "segment", "from"},
		"/v1/reports/steps?within_days=0&currency=XYZ&to=2025-01-01&to=2025-01-02": {"within_days", "currency", "to"},
		"/v1/customers/C-1?x=1": {"x"},
		"/v1/reports/trend?months=37&to=2025-02-30&from=2025-01-01": {"months", "to", "from"},
		"/v1/reports/trend?months=x&currency=EURO":                  {"months", "currency"},
		"/v1/reports/forecast?weeks=0&to=2025-01-01&segment=a%20b":  {"weeks", "to", "segment"},
		"/v1/reports/forecast?weeks=27&weeks=3":                     {"weeks"},
	}
	for path, fields := range cases {
		a := call(t, srv, http.MethodGet, path, "", bearer(token)...)
		require.Equal(t, http.StatusBadRequest, a.code, "%s: %s", path, a.body)
		var e ErrorBody
		require.NoError(t, json.Unmarshal(a.body, &e))
		require.Len(t, e.Fields, len(fields), "%s: %v", path, e.Fields)
		for _, f := range fields {
			require.Contains(t, e.Fields, f, path)
			require.Contains(t, e.Error, f+":", path)
		}
	}
	// The read scope is required.
	writer, _ := newKey(t, store, auth.ScopeInvoicesWrite)
	for _, path := range []string{"/v1/reports/kpis", "/v1/reports/aging", "/v1/reports/steps", "/v1/reports/trend",
		"/v1/reports/forecast", "/v1/reports/collectors", "/v1/customers/C-1"} {
		require.Equal(t, http.StatusForbidden, call(t, srv, http.MethodGet, path, "", bearer(writer)...).code, path)
		require.Equal(t, http.StatusUnauthorized, call(t, srv, http.MethodGet, path, "").code, path)
	}
}

func TestCustomerView(t *testing.T) {
	t.Parallel()
	srv, _, token := reportServer(t)
	a := call(t, srv, http.MethodGet, "/v1/customers/F-C00003", "", bearer(token)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	var c map[string]any
	require.NoError(t, json.Unmarshal(a.body, &c))
	for _, k := range []string{"customer_id", "open_invoices", "balances", "average_days_late", "on_time_share",
		"last_contact", "opt_outs", "band"} {
		require.Contains(t, c, k)
	}
	require.Equal(t, "F-C00003", c["customer_id"])
	require.Equal(t, http.StatusNotFound, call(t, srv, http.MethodGet, "/v1/customers/nobody", "", bearer(token)...).code)
	require.Equal(t, http.StatusNotFound, call(t, srv, http.MethodGet, "/v1/customers/%20bad", "", bearer(token)...).code)
}

func TestReportsPage(t *testing.T) {
	t.Parallel()
	srv, store, token := reportServer(t)
	// Without a key: the sign-in form, as a 401.
	a := call(t, srv, http.MethodGet, "/reports", "")
	require.Equal(t, http.StatusUnauthorized, a.code)
	require.Contains(t, a.header.Get("Content-Type"), "text/html")
	require.Contains(t, string(a.body), `id="signin"`)
	require.NotContains(t, string(a.body), `"error"`)

	// With a session cookie from POST /v1/session.
	s := call(t, srv, http.MethodPost, "/v1/session", "", bearer(token)...)
	require.Equal(t, http.StatusOK, s.code, string(s.body))
	cookie := s.header.Get("Set-Cookie")
	require.NotEmpty(t, cookie)
	cookie, _, _ = strings.Cut(cookie, ";")
	a = call(t, srv, http.MethodGet, "/reports?from=2025-04-01&to=2025-06-30&currency=JPY", "", "Cookie", cookie)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	page := string(a.body)
	require.Contains(t, a.header.Get("Content-Security-Policy"), "default-src 'none'")
	require.NotContains(t, page, "<script")

	kpis := call(t, srv, http.MethodGet, "/v1/reports/kpis?from=2025-04-01&to=2025-06-30&currency=JPY", "", bearer(token)...)
	var raw struct {
		Currencies []map[string]any `json:"currencies"`
	}
	require.NoError(t, json.Unmarshal(kpis.body, &raw))
	require.Len(t, raw.Currencies, 1)
	// Each figure carries the API's value and shows it for people (English by default).
	en := reports.FormatFor()
	for name, human := range map[string]func(any) string{
		"amount_issued":       func(v any) string { return en.Money(jpy(t, v)) },
		"collected":           func(v any) string { return en.Money(jpy(t, v)) },
		"closing_receivables": func(v any) string { return en.Money(jpy(t, v)) },
		"collection_rate":     func(v any) string { f := v.(float64); return en.Percent(&f) },
		"dso":                 func(v any) string { f := v.(float64); return en.Number(&f, 2) },
		"invoices_paid":       func(v any) string { return en.Count(int64(v.(float64))) },
	} {
		want := raw.Currencies[0][name]
		text := "–"
		switch v := want.(type) {
		case string:
			text = v
		case float64:
			text = strconv.FormatFloat(v, 'f', -1, 64)
		}
		require.Contains(t, page, `data-kpi="`+name+`" data-currency="JPY" data-value="`+text+`">`+human(want)+`<`, name)
	}
	require.Contains(t, page, `data-aging-currency="JPY"`)
	require.NotContains(t, page, `data-currency="USD"`)
	require.Contains(t, page, `<html lang="en-US">`)
	require.Contains(t, page, "KPIs, Apr 01, 2025 to Jun 30, 2025")

	// The trend: a chart and its table, per shown currency, with the API's figures.
	trend, err := reports.New(store.Pool()).Trend(context.Background(), time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC), 12,
		reports.Filter{Currency: "JPY"})
	require.NoError(t, err)
	require.Len(t, trend.Currencies, 1)
	require.Contains(t, page, `<figure class="chart" data-trend-currency="JPY">`)
	require.Contains(t, page, `<polyline points=`)
	for _, m := range trend.Currencies[0].Months {
		key := "JPY/" + m.Month
		require.Contains(t, page, `data-trend="`+key+`/dso" data-value="`+reports.FloatText(m.DSO)+`">`+en.Number(m.DSO, 2)+`<`, key)
		require.Contains(t, page, `data-trend="`+key+`/collection_rate" data-value="`+reports.FloatText(m.CollectionRate)+`">`+en.Percent(m.CollectionRate)+`<`, key)
		require.Contains(t, page, `data-trend="`+key+`/closing_receivables" data-value="`+m.ClosingReceivables.String()+`">`+en.Money(m.ClosingReceivables)+`<`, key)
	}
	// The forecast: one table per shown currency, its weeks from today.
	require.Contains(t, page, `data-forecast-currency="JPY"`)
	require.Contains(t, page, `data-forecast="JPY/12"`)
	require.Contains(t, page, "Cash-in forecast by week, Mar 01, 2026 to May 23, 2026")

	require.Contains(t, page, `id="no-collectors"`)

	// A collector with a customer and a task done in the period.
	ctx := context.Background()
	_, _, err = store.CreateAPIKey(ctx, "alice", []string{"read", "operator"})
	require.NoError(t, err)
	inv, err := store.GetInvoice(ctx, "F-INV0000001")
	require.NoError(t, err)
	_, _, err = store.AssignByRule(ctx, inv.CustomerID, "alice", "segment:smb")
	require.NoError(t, err)
	task, _, err := store.CreateTask(ctx, ledger.NewTask{Key: "call:F-INV0000001/page", Kind: ledger.TaskCall,
		CustomerID: inv.CustomerID, InvoiceID: inv.InvoiceID})
	require.NoError(t, err)
	_, err = store.CompleteTask(ctx, task.ID, ledger.TaskCompletion{Outcome: "reached", By: "key:alice",
		At: time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	a = call(t, srv, http.MethodGet, "/reports?from=2025-04-01&to=2025-06-30&currency=JPY", "", "Cookie", cookie)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.Contains(t, string(a.body), `<tr data-collector="alice"><th scope="row">alice</th><td>1</td><td data-team="alice/tasks_done" data-value="1">1</td><td>1</td>`)

	// The figures follow lang, else the browser's Accept-Language.
	for _, c := range []struct{ query, accept, lang, heading, issued string }{
		{"&lang=de-DE", "", `lang="de-DE"`, "KPIs, 01.04.2025 to 30.06.2025", "¥ 146.797"},
		{"", "fr-FR,fr;q=0.9", `lang="fr-FR"`, "KPIs, 01 avr 2025 to 30 juin 2025", "JPY 146\u00a0797"},
		{"&lang=de-CH", "fr", `lang="de-CH"`, "KPIs, 01.04.2025 to 30.06.2025", "¥ 146’797"},
	} {
		headers := []string{"Cookie", cookie}
		if c.accept != "" {
			headers = append(headers, "Accept-Language", c.accept)
		}
		a = call(t, srv, http.MethodGet, "/reports?from=2025-04-01&to=2025-06-30&currency=JPY"+c.query, "", headers...)
		require.Equal(t, http.StatusOK, a.code, string(a.body))
		require.Contains(t, string(a.body), c.lang)
		require.Contains(t, string(a.body), c.heading)
		require.Contains(t, string(a.body), `data-value="146797">`+c.issued+`<`)
	}

	// Bad parameters: 400 naming them, on the page.
	a = call(t, srv, http.MethodGet, "/reports?from=nope&currency=usd&lang=%21%21", "", "Cookie", cookie)
	require.Equal(t, http.StatusBadRequest, a.code)
	require.Contains(t, string(a.body), "lang: must be a language tag")
	require.Contains(t, string(a.body), "from: must be a date")
	require.Contains(t, string(a.body), "currency: must be an ISO 4217 code")
}

// jpy reads a JSON money string of JPY.
func jpy(t *testing.T, v any) reports.Money {
	t.Helper()
	n, err := strconv.ParseInt(v.(string), 10, 64)
	require.NoError(t, err)
	return reports.Money{Minor: n, Currency: "JPY"}
}
