package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeAPI answers every GET with body and records the request URIs.
func fakeAPI(t *testing.T, body string) *[]string {
	t.Helper()
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.RequestURI())
		require.Equal(t, "Bearer k-test", r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("DUNWELL_API_URL", srv.URL)
	t.Setenv("DUNWELL_API_KEY", "k-test")
	return &seen
}

func TestReportKPIsTable(t *testing.T) {
	seen := fakeAPI(t, `{"from":"2026-01-01","to":"2026-01-31","currencies":[
		{"currency":"EUR","invoices_issued":2,"amount_issued":"100.00","collection_rate":0.5,"dso":null},
		{"currency":"JPY","invoices_issued":1,"amount_issued":"1250","collection_rate":1,"dso":12.5}]}`)
	var out bytes.Buffer
	require.NoError(t, report(context.Background(), []string{"kpis", "--from", "2026-01-01", "--to", "2026-01-31", "--currency", "EUR"}, &out))
	require.Equal(t, []string{"/v1/reports/kpis?currency=EUR&from=2026-01-01&to=2026-01-31"}, *seen)
	text := out.String()
	require.Contains(t, text, "KPIs 2026-01-01 to 2026-01-31")
	for _, line := range []string{"EUR", "JPY"} {
		require.Contains(t, text, line)
	}
	require.Regexp(t, `amount_issued\s+100\.00\s+1250`, text)
	require.Regexp(t, `dso\s+-\s+12\.5`, text)

	out.Reset()
	require.NoError(t, report(context.Background(), []string{"kpis", "--json"}, &out))
	require.True(t, strings.HasPrefix(out.String(), `{"from"`))
}

func TestReportAgingStepsAndCustomer(t *testing.T) {
	fakeAPI(t, `{"as_of":"2026-01-31","currencies":[{"currency":"KWD","buckets":[
		{"bucket":"current","invoices":1,"amount":"1.250"},{"bucket":"1_30","invoices":0,"amount":"0.000"}],
		"invoices":1,"total":"1.250"}]}`)
	var out bytes.Buffer
	require.NoError(t, report(context.Background(), []string{"aging", "--as-of", "2026-01-31"}, &out))
	require.Regexp(t, `KWD\s+1\.250\s+0\.000\s+1\.250\s+1`, out.String())

	fakeAPI(t, `{"from":"a","to":"b","within_days":7,"steps":[{"policy":"standard","step":"due","channel":"email",
		"segment":"smb","sent":4,"paid_within":1,"paid_within_rate":0.25,"average_days_to_pay":2.5}]}`)
	out.Reset()
	require.NoError(t, report(context.Background(), []string{"steps", "--within-days", "7"}, &out))
	require.Regexp(t, `standard\s+due\s+email\s+smb\s+4\s+1\s+0\.25\s+2\.5`, out.String())

	fakeAPI(t, `{"customer_id":"C-1","band":"new","invoices":1,"average_days_late":null,
		"balances":[{"currency":"USD","balance":"10.00","invoices":1}],
		"open_invoices":[{"invoice_id":"I-1","currency":"USD","balance":"10.00","due_date":"2026-01-01","days_past_due":3,"status":"overdue"}]}`)
	out.Reset()
	require.NoError(t, customer(context.Background(), []string{"C-1"}, &out))
	require.Regexp(t, `band\s+new`, out.String())
	require.Regexp(t, `I-1\s+USD\s+10\.00\s+2026-01-01\s+3\s+overdue`, out.String())

	var ue usageError
	require.ErrorAs(t, report(context.Background(), []string{"bogus"}, &out), &ue)
	require.ErrorAs(t, report(context.Background(), []string{"aging", "--from", "x"}, &out), &ue)
	require.ErrorAs(t, customer(context.Background(), nil, &out), &ue)
}

func TestReportTrendAndForecastTables(t *testing.T) {
	seen := fakeAPI(t, `{"from":"2026-01-01","to":"2026-02-10","months":2,"currencies":[{"currency":"USD","months":[
		{"month":"2026-01","to":"2026-01-31","partial":false,"amount_issued":"100.00","closing_receivables":"50.00","dso":15.5,
		 "amount_due":"80.00","collected_on_due":"40.00","collection_rate":0.5},
		{"month":"2026-02","to":"2026-02-10","partial":true,"amount_issued":"0.00","closing_receivables":"50.00","dso":null,
		 "amount_due":"0.00","collected_on_due":"0.00","collection_rate":null}]}]}`)
	var out bytes.Buffer
	require.NoError(t, report(context.Background(), []string{"trend", "--to", "2026-02-10", "--months", "2"}, &out))
	require.Equal(t, []string{"/v1/reports/trend?months=2&to=2026-02-10"}, *seen)
	require.Regexp(t, `USD\s+2026-01\s+100\.00\s+50\.00\s+15\.5\s+80\.00\s+40\.00\s+0\.5`, out.String())
	require.Regexp(t, `USD\s+2026-02 \(to 2026-02-10\)\s+0\.00\s+50\.00\s+-`, out.String())

	seen = fakeAPI(t, `{"from":"2026-01-01","to":"2026-01-14","currencies":[{"currency":"JPY","weeks":[
		{"week":1,"from":"2026-01-01","to":"2026-01-07","promises":"100","plans":"0","due":"50","total":"150"},
		{"week":2,"from":"2026-01-08","to":"2026-01-14","promises":"0","plans":"20","due":"0","total":"20"}],
		"in_weeks":"170","after_weeks":"5","past_expected":"3","promise_discount":"2","held":"0","open":"180"}]}`)
	out.Reset()
	require.NoError(t, report(context.Background(), []string{"forecast", "--weeks", "2", "--currency", "JPY"}, &out))
	require.Equal(t, []string{"/v1/reports/forecast?currency=JPY&weeks=2"}, *seen)
	require.Regexp(t, `JPY\s+1\s+2026-01-01\s+2026-01-07\s+100\s+0\s+50\s+150`, out.String())
	require.Contains(t, out.String(), "JPY: open 180 = in the weeks 170 + after them 5 + expected before today 3 + promise discount 2 + held 0")

	var ue usageError
	require.ErrorAs(t, report(context.Background(), []string{"forecast", "--from", "2026-01-01"}, &out), &ue)
}

func TestReportCollectorsTable(t *testing.T) {
	seen := fakeAPI(t, `{"from":"2026-01-01","to":"2026-01-31","within_days":7,"collectors":[
		{"collector":"alice","customers":12,"tasks_done":9,"conversations":5,"promises_obtained":3,"promises_kept":2,
		 "promises_broken":1,"promise_kept_rate":0.6667,"collected":[{"currency":"EUR","invoices":1,"amount":"10.00"},
		 {"currency":"JPY","invoices":2,"amount":"1250"}]},
		{"collector":"bob","customers":0,"tasks_done":0,"conversations":0,"promises_obtained":0,"promises_kept":0,
		 "promises_broken":0,"promise_kept_rate":null,"collected":[]}]}`)
	var out bytes.Buffer
	require.NoError(t, report(context.Background(), []string{"collectors", "--from", "2026-01-01", "--within-days", "7"}, &out))
	require.Equal(t, []string{"/v1/reports/collectors?from=2026-01-01&within_days=7"}, *seen)
	require.Regexp(t, `alice\s+12\s+9\s+5\s+3\s+2\s+1\s+0\.6667\s+10\.00 EUR, 1250 JPY`, out.String())
	require.Regexp(t, `bob\s+0\s+0\s+0\s+0\s+0\s+0\s+-\s+-`, out.String())
	var ue usageError
	require.ErrorAs(t, report(context.Background(), []string{"collectors", "--currency", "USD"}, &out), &ue)
}
