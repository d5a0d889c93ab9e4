package reports_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/reports"
	"github.com/dunwell/dunwell/reports/fixture"
)

// TestForecastByHand spreads a small ledger over four weeks from Wednesday 4 June
// 2025; every expected amount is worked out in the comments.
func TestForecastByHand(t *testing.T) {
	t.Parallel()
	store, rep := newLedger(t)
	rep.Now = func() time.Time { return at("2025-06-04T12:00:00Z") }
	h := handLedger{t, store}

	// C-P pays 2 and 4 days late (3 on average) and kept 3 of its 4 ended promises.
	h.issue("P1", "C-P", "USD", 10_000, "2025-02-01T10:00:00Z", "2025-03-01")
	h.event("P1", "promise/1", "promise_made", "promised", 10_000, "2025-02-20T10:00:00Z", map[string]any{"date": "2025-02-25", "amount_minor": 1})
	h.event("P1", "promise-end/1", "promise_kept", "overdue", 10_000, "2025-02-21T10:00:00Z", nil)
	h.event("P1", "promise-end/2", "promise_kept", "overdue", 10_000, "2025-02-22T10:00:00Z", nil)
	h.pay("P1", "p1", "USD", 10_000, 0, "2025-03-03T12:00:00Z")
	h.issue("P2", "C-P", "USD", 10_000, "2025-03-01T10:00:00Z", "2025-04-01")
	h.event("P2", "promise-end/1", "promise_kept", "overdue", 10_000, "2025-03-20T10:00:00Z", nil)
	h.event("P2", "promise-end/2", "promise_broken", "overdue", 10_000, "2025-03-21T10:00:00Z", nil)
	h.pay("P2", "p2", "USD", 10_000, 0, "2025-04-05T12:00:00Z")
	// P3: USD 200.00 due 1 June; 150.00 promised for 12 June, then 50.00 paid. Of the
	// promise 100.00 is left: 75.00 expected (3/4) in week 2, 25.00 discounted; the
	// 50.00 the promise does not cover is due 1 June + 3 days: week 1.
	h.issue("P3", "C-P", "USD", 20_000, "2025-05-01T10:00:00Z", "2025-06-01")
	h.event("P3", "promise/1", "promise_made", "promised", 20_000, "2025-06-02T10:00:00Z",
		map[string]any{"date": "2025-06-12", "amount_minor": 15_000})
	h.pay("P3", "p3", "USD", 5_000, 15_000, "2025-06-03T10:00:00Z")

	// C-O paid once, 20 days late: its USD 80.00 due 1 May was expected on 21 May.
	h.issue("O0", "C-O", "USD", 1_000, "2025-01-01T10:00:00Z", "2025-01-10")
	h.pay("O0", "o0", "USD", 1_000, 0, "2025-01-30T12:00:00Z")
	h.issue("O1", "C-O", "USD", 8_000, "2025-04-01T10:00:00Z", "2025-05-01")

	// C-L: USD 300.00 on a plan of three 100.00 installments (20 May, 20 June, 20 July),
	// 50.00 paid: 250.00 left covers July (after the weeks), June (week 3) and 50.00 of
	// May (past).
	h.issue("L1", "C-L", "USD", 30_000, "2025-04-01T10:00:00Z", "2025-05-01")
	h.event("L1", "plan/1", "plan_agreed", "on_plan", 30_000, "2025-05-10T10:00:00Z", map[string]any{
		"installments": 3, "first_due": "2025-05-20", "last_due": "2025-07-20", "grace_days": 3,
		"schedule": []any{
			map[string]any{"due_date": "2025-05-20", "amount_minor": 10_000},
			map[string]any{"due_date": "2025-06-20", "amount_minor": 10_000},
			map[string]any{"due_date": "2025-07-20", "amount_minor": 10_000},
		}})
	h.pay("L1", "l1", "USD", 5_000, 25_000, "2025-05-19T10:00:00Z")

	// C-N has no history: the ledger's average, (2 + 4 + 20) / 3 = 8.67, rounds to 9
	// days late. EUR 1000.00 due 19 June: 28 June, week 4; EUR 500.00 due 30 September:
	// after the weeks.
	h.issue("N1", "C-N", "EUR", 100_000, "2025-05-20T10:00:00Z", "2025-06-19")
	h.issue("N2", "C-N", "EUR", 50_000, "2025-05-21T10:00:00Z", "2025-09-30")

	// C-D disputes its JPY 7000: held.
	h.issue("D1", "C-D", "JPY", 7_000, "2025-05-01T10:00:00Z", "2025-05-31")
	h.event("D1", "dispute/1", "dispute_opened", "disputed", 7_000, "2025-06-01T10:00:00Z", nil)

	// Issued after now: not in the forecast.
	h.issue("F1", "C-N", "EUR", 10_000, "2025-06-05T10:00:00Z", "2025-06-20")

	got, err := rep.Forecast(context.Background(), 4, reports.Filter{})
	require.NoError(t, err)

	m := func(cur string) func(int64) reports.Money {
		return func(n int64) reports.Money { return reports.Money{Minor: n, Currency: cur} }
	}
	weeks := func(cur string, lines ...[3]int64) []reports.ForecastWeek {
		mm := m(cur)
		out := []reports.ForecastWeek{}
		for i, from := range []string{"2025-06-04", "2025-06-11", "2025-06-18", "2025-06-25"} {
			l := lines[i]
			out = append(out, reports.ForecastWeek{Week: i + 1, From: from, To: date(from).AddDate(0, 0, 6).Format(time.DateOnly),
				Promises: mm(l[0]), Plans: mm(l[1]), Due: mm(l[2]), Total: mm(l[0] + l[1] + l[2])})
		}
		return out
	}
	eur, jpy, usd := m("EUR"), m("JPY"), m("USD")
	require.Equal(t, reports.ForecastReport{
		AsOf: "2025-06-04T12:00:00Z", Weeks: 4, From: "2025-06-04", To: "2025-07-01",
		DefaultDaysLate: 9, DefaultKeptRate: ptr(0.75),
		Currencies: []reports.Forecast{
			{Currency: "EUR", Weeks: weeks("EUR", [3]int64{}, [3]int64{}, [3]int64{}, [3]int64{0, 0, 100_000}),
				InWeeks: eur(100_000), AfterWeeks: eur(50_000), PastExpected: eur(0), PromiseDiscount: eur(0),
				Held: eur(0), Open: eur(150_000), Invoices: 2},
			{Currency: "JPY", Weeks: weeks("JPY", [3]int64{}, [3]int64{}, [3]int64{}, [3]int64{}),
				InWeeks: jpy(0), AfterWeeks: jpy(0), PastExpected: jpy(0), PromiseDiscount: jpy(0),
				Held: jpy(7_000), Open: jpy(7_000), Invoices: 1},
			{Currency: "USD", Weeks: weeks("USD", [3]int64{0, 0, 5_000}, [3]int64{7_500, 0, 0}, [3]int64{0, 10_000, 0}, [3]int64{}),
				InWeeks: usd(22_500), AfterWeeks: usd(10_000), PastExpected: usd(13_000), PromiseDiscount: usd(2_500),
				Held: usd(0), Open: usd(48_000), Invoices: 3},
		},
	}, got)

	// Every currency's open balance splits exactly into the parts.
	for _, c := range got.Currencies {
		require.Equal(t, c.Open.Minor, c.InWeeks.Minor+c.AfterWeeks.Minor+c.PastExpected.Minor+c.PromiseDiscount.Minor+c.Held.Minor, c.Currency)
	}

	got, err = rep.Forecast(context.Background(), 4, reports.Filter{Currency: "EUR"})
	require.NoError(t, err)
	require.Len(t, got.Currencies, 1)
	require.Equal(t, "EUR", got.Currencies[0].Currency)

	_, err = rep.Forecast(context.Background(), 0, reports.Filter{})
	require.Error(t, err)
	_, err = rep.Forecast(context.Background(), reports.MaxForecastWeeks+1, reports.Filter{})
	require.Error(t, err)
}

// TestForecastCoversTheAgingOverAGeneratedYear: on a generated ledger, each
// currency's forecast accounts for exactly the open balance the aging shows.
func TestForecastCoversTheAgingOverAGeneratedYear(t *testing.T) {
	t.Parallel()
	store, rep := newLedger(t)
	invoices := fixture.Generate(fixture.Options{Invoices: 200, Seed: 9, Prefix: "FC"})
	ctx := context.Background()
	require.NoError(t, fixture.Write(ctx, store, invoices))
	for _, now := range []string{"2025-07-01", "2026-03-01"} {
		rep.Now = func() time.Time { return date(now) }
		got, err := rep.Forecast(ctx, 12, reports.Filter{})
		require.NoError(t, err)
		aging, err := rep.Aging(ctx, date(now).AddDate(0, 0, -1), reports.Filter{})
		require.NoError(t, err)
		require.Len(t, got.Currencies, len(aging.Currencies))
		var inWeeks int64
		for i, c := range got.Currencies {
			require.Equal(t, aging.Currencies[i].Total, c.Open, "%s on %s", c.Currency, now)
			require.Equal(t, aging.Currencies[i].Invoices, c.Invoices, "%s on %s", c.Currency, now)
			require.Equal(t, c.Open.Minor, c.InWeeks.Minor+c.AfterWeeks.Minor+c.PastExpected.Minor+c.PromiseDiscount.Minor+c.Held.Minor)
			inWeeks += c.InWeeks.Minor
		}
		if now == "2025-07-01" {
			require.Positive(t, inWeeks, "invoices falling due in the coming weeks")
		}
	}
}
