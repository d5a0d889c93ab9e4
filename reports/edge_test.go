package reports_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/reports"
	"github.com/dunwell/dunwell/reports/fixture"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr(v float64) *float64 { return &v }

// TestEdgeCasesByHand checks figures computed by hand on a tiny ledger: an invoice
// issued before the period and paid in it, a refund after payment, a zero-exponent
// currency, an empty period and a customer with no history.
func TestEdgeCasesByHand(t *testing.T) {
	t.Parallel()
	store, rep := newLedger(t)
	ctx := context.Background()
	issue := func(id, customer, currency string, amount int64, issued, due string) {
		sum := sha256.Sum256([]byte(id))
		_, err := store.IssueInvoice(ctx, ledger.InvoiceRecord{InvoiceID: id, CustomerID: customer, Currency: currency,
			AmountDue: amount, IssuedAt: at(issued), DueDate: due, PolicyID: "standard", PolicyVersion: 1,
			Segment: "smb", BodySHA256: sum[:]})
		require.NoError(t, err)
	}
	pay := func(id, pid, currency string, amount, balanceAfter int64, when string) {
		_, err := store.RecordPayment(ctx, ledger.PaymentRecord{InvoiceID: id, PaymentID: pid, Currency: currency,
			Amount: amount, Applied: amount, BalanceAfter: balanceAfter, PaidAt: at(when), AppliedAt: at(when)})
		require.NoError(t, err)
		if balanceAfter == 0 {
			require.NoError(t, store.SetInvoiceStatus(ctx, id, ledger.StatusPaid, 0, at(when)))
		}
	}
	// A: USD 100.00 issued in January, paid 40.00 in January and 60.00 in February.
	issue("A", "C-A", "USD", 10_000, "2025-01-10T10:00:00Z", "2025-02-09")
	pay("A", "a1", "USD", 4_000, 6_000, "2025-01-20T12:00:00Z")
	pay("A", "a2", "USD", 6_000, 0, "2025-02-05T12:00:00Z")
	// B: JPY 5000 issued in February, paid in full, then 2000 refunded: open again.
	issue("B", "C-B", "JPY", 5_000, "2025-02-03T09:00:00Z", "2025-02-17")
	pay("B", "b1", "JPY", 5_000, 0, "2025-02-20T09:00:00Z")
	_, err := store.RecordEvent(ctx, ledger.LifecycleEvent{InvoiceID: "B", EventKey: "refund/r1", Kind: "refunded",
		At: at("2025-02-25T09:00:00Z"), Status: ledger.StatusOverdue, Balance: 2_000,
		Adjustment: &ledger.Adjustment{AdjustmentID: "r1", Kind: "refund", Currency: "JPY", Amount: 2_000,
			BalanceAfter: 2_000, PaymentID: "b1", At: at("2025-02-25T09:00:00Z")}})
	require.NoError(t, err)

	got, err := rep.KPIs(ctx, period("2025-02-01", "2025-02-28"), reports.Filter{})
	require.NoError(t, err)
	usd := reports.Money{Currency: "USD"}
	jpy := func(n int64) reports.Money { return reports.Money{Minor: n, Currency: "JPY"} }
	require.Equal(t, []reports.KPI{
		{
			Currency: "JPY", InvoicesIssued: 1, AmountIssued: jpy(5000), Billed: jpy(5000),
			CollectedOnIssued: jpy(3000), WrittenOffOnIssued: jpy(0), CollectionRate: ptr(0.6), WriteOffRate: ptr(0),
			EscalationRate: ptr(0), Collected: jpy(3000), WrittenOff: jpy(0), OpeningReceivables: jpy(0),
			ClosingReceivables: jpy(2000), ClosingCurrent: jpy(0),
			DSO: ptr(11.2), // 2000 / 5000 * 28 days
			CEI: ptr(60),   // (0 + 5000 - 2000) / (0 + 5000 - 0)
		},
		{
			Currency: "USD", AmountIssued: usd, Billed: usd, CollectedOnIssued: usd, WrittenOffOnIssued: usd,
			InvoicesPaid: 1, DaysToPayTotal: 26, AverageDaysToPay: ptr(26), AverageDaysDelinquent: ptr(0),
			Collected:          reports.Money{Minor: 6_000, Currency: "USD"},
			WrittenOff:         usd,
			OpeningReceivables: reports.Money{Minor: 6_000, Currency: "USD"}, ClosingReceivables: usd, ClosingCurrent: usd,
			CEI: ptr(100),
		},
	}, got.Currencies)

	// JSON: snake_case names, money as decimal strings with the currency's digits.
	data, err := json.Marshal(got.Currencies[0])
	require.NoError(t, err)
	require.Contains(t, string(data), `"closing_receivables":"2000"`)
	require.Contains(t, string(data), `"collection_rate":0.6`)
	require.Contains(t, string(data), `"average_days_to_pay":null`)
	require.Equal(t, "1.250", reports.Money{Minor: 1250, Currency: "KWD"}.String())

	// An empty period: no currency at all, not zero rows.
	empty, err := rep.KPIs(ctx, period("2024-01-01", "2024-12-31"), reports.Filter{})
	require.NoError(t, err)
	require.Empty(t, empty.Currencies)
	aging, err := rep.Aging(ctx, date("2024-12-31"), reports.Filter{})
	require.NoError(t, err)
	require.Empty(t, aging.Currencies)

	// Aging on 28 February: B is 11 days past due with 2000 yen open; A is paid.
	aging, err = rep.Aging(ctx, date("2025-02-28"), reports.Filter{})
	require.NoError(t, err)
	require.Len(t, aging.Currencies, 1)
	require.Equal(t, "JPY", aging.Currencies[0].Currency)
	require.Equal(t, reports.Bucket{Bucket: "1_30", Invoices: 1, Amount: jpy(2000)}, aging.Currencies[0].Buckets[1])
	require.Equal(t, jpy(2000), aging.Currencies[0].Total)
	// On 19 February A was paid and B not yet: B is 2 days late with all 5000 open.
	aging, err = rep.Aging(ctx, date("2025-02-19"), reports.Filter{Currency: "JPY"})
	require.NoError(t, err)
	require.Equal(t, jpy(5000), aging.Currencies[0].Buckets[1].Amount)

	// Customers: none, and one with an open invoice and no payment history.
	rep.Now = func() time.Time { return at("2025-03-01T00:00:00Z") }
	_, err = rep.Customer(ctx, "C-nobody")
	require.ErrorIs(t, err, reports.ErrNotFound)
	b, err := rep.Customer(ctx, "C-B")
	require.NoError(t, err)
	require.Equal(t, reports.BandNew, b.Band)
	require.Nil(t, b.AverageDaysLate)
	require.Nil(t, b.OnTimeShare)
	require.Nil(t, b.LastContact)
	require.Equal(t, []reports.CurrencyBalance{{Currency: "JPY", Invoices: 1, Balance: jpy(2000)}}, b.Balances)
	require.Equal(t, int64(12), b.OpenInvoices[0].DaysPastDue) // 1 March - 17 February
	a, err := rep.Customer(ctx, "C-A")
	require.NoError(t, err)
	require.Equal(t, int64(1), a.InvoicesPaid)
	require.Equal(t, ptr(1), a.OnTimeShare)
	require.Empty(t, a.OpenInvoices)
}

func TestPeriodAndFilterValidation(t *testing.T) {
	t.Parallel()
	require.Equal(t, map[string]string{"to": "must not be before from"}, period("2025-02-01", "2025-01-01").Validate())
	require.Contains(t, period("2000-01-01", "2025-01-01").Validate(), "from")
	require.Empty(t, period("2025-01-01", "2025-01-01").Validate())
	require.Equal(t, int64(1), period("2025-01-01", "2025-01-01").Days())
	bad := reports.Filter{Currency: "usd", Segment: "a b", Policy: "x;y"}.Validate()
	require.Len(t, bad, 3)
	require.Empty(t, reports.Filter{Currency: "KWD", Segment: "smb", Policy: "standard"}.Validate())
}

func TestExplainNamesTheQueries(t *testing.T) {
	t.Parallel()
	_, rep := newLedger(t)
	ctx := context.Background()
	plans, err := rep.ExplainKPIs(ctx, period("2025-01-01", "2025-01-31"), reports.Filter{Currency: "USD"})
	require.NoError(t, err)
	require.Len(t, plans, 3)
	require.Equal(t, "kpis/cohort", plans[0].Query)
	a, err := rep.ExplainAging(ctx, date("2025-01-31"), reports.Filter{})
	require.NoError(t, err)
	require.Equal(t, "aging", a.Query)
	require.True(t, reports.Plan{Indexes: []string{"x"}, SeqScans: []string{"invoices"}}.UsesIndexes())
	require.False(t, reports.Plan{Indexes: []string{"x"}, SeqScans: []string{"payments"}}.UsesIndexes())
}

// TestKPIsWithTheParallelSlotTaken runs the KPIs the sequential way and requires the
// same answer as the parallel one.
func TestKPIsWithTheParallelSlotTaken(t *testing.T) {
	store, rep := newLedger(t)
	ctx := context.Background()
	require.NoError(t, fixture.Write(ctx, store, fixture.Generate(fixture.Options{Invoices: 60, Seed: 5})))
	p := period("2025-02-01", "2025-08-31")
	parallel, err := rep.KPIs(ctx, p, reports.Filter{})
	require.NoError(t, err)
	release := reports.HoldParallelSlot()
	sequential, err := rep.KPIs(ctx, p, reports.Filter{})
	release()
	require.NoError(t, err)
	require.NotEmpty(t, parallel.Currencies)
	require.Equal(t, parallel, sequential)
}
