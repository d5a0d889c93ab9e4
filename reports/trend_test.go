package reports_test

import (
	"context"
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/reports"
	"github.com/dunwell/dunwell/reports/fixture"
)

// handLedger writes invoices and payments by hand, as the workflows record them.
type handLedger struct {
	t     *testing.T
	store *ledger.Store
}

func (h handLedger) issue(id, customer, currency string, amount int64, issued, due string) {
	h.t.Helper()
	sum := sha256.Sum256([]byte(id))
	_, err := h.store.IssueInvoice(context.Background(), ledger.InvoiceRecord{InvoiceID: id, CustomerID: customer,
		Currency: currency, AmountDue: amount, IssuedAt: at(issued), DueDate: due, PolicyID: "standard",
		PolicyVersion: 1, Segment: "smb", BodySHA256: sum[:]})
	require.NoError(h.t, err)
}

func (h handLedger) pay(id, pid, currency string, amount, balanceAfter int64, when string) {
	h.t.Helper()
	ctx := context.Background()
	_, err := h.store.RecordPayment(ctx, ledger.PaymentRecord{InvoiceID: id, PaymentID: pid, Currency: currency,
		Amount: amount, Applied: amount, BalanceAfter: balanceAfter, PaidAt: at(when), AppliedAt: at(when)})
	require.NoError(h.t, err)
	if balanceAfter == 0 {
		require.NoError(h.t, h.store.SetInvoiceStatus(ctx, id, ledger.StatusPaid, 0, at(when)))
	}
}

func (h handLedger) event(id, key, kind, status string, balance int64, when string, details map[string]any) {
	h.t.Helper()
	_, err := h.store.RecordEvent(context.Background(), ledger.LifecycleEvent{InvoiceID: id, EventKey: key, Kind: kind,
		At: at(when), Status: status, Balance: balance, Details: details})
	require.NoError(h.t, err)
}

// TestTrendByHand checks the trend of three months on a ledger whose answers are
// worked out in the comments.
func TestTrendByHand(t *testing.T) {
	t.Parallel()
	store, rep := newLedger(t)
	h := handLedger{t, store}
	// A: USD 100.00 issued in December, due in January, paid in February.
	h.issue("A", "C-A", "USD", 10_000, "2024-12-20T10:00:00Z", "2025-01-19")
	h.pay("A", "a1", "USD", 10_000, 0, "2025-02-10T12:00:00Z")
	// B: USD 300.00 issued in January, due in February; 100.00 paid in February, the rest in March.
	h.issue("B", "C-B", "USD", 30_000, "2025-01-10T10:00:00Z", "2025-02-09")
	h.pay("B", "b1", "USD", 10_000, 20_000, "2025-02-05T12:00:00Z")
	h.pay("B", "b2", "USD", 20_000, 0, "2025-03-05T12:00:00Z")
	// C: USD 200.00 issued in February, due on 1 March, unpaid.
	h.issue("C", "C-C", "USD", 20_000, "2025-02-15T10:00:00Z", "2025-03-01")
	// D: JPY 5000 issued, due and paid in March.
	h.issue("D", "C-D", "JPY", 5_000, "2025-03-02T10:00:00Z", "2025-03-10")
	h.pay("D", "d1", "JPY", 5_000, 0, "2025-03-12T12:00:00Z")
	// E: USD 50.00 due on 20 March, after the report's end: not in any month's due.
	h.issue("E", "C-E", "USD", 5_000, "2025-03-16T10:00:00Z", "2025-03-20")

	got, err := rep.Trend(context.Background(), date("2025-03-15"), 3, reports.Filter{})
	require.NoError(t, err)
	usd := func(n int64) reports.Money { return reports.Money{Minor: n, Currency: "USD"} }
	jpy := func(n int64) reports.Money { return reports.Money{Minor: n, Currency: "JPY"} }
	require.Equal(t, reports.TrendReport{From: "2025-01-01", To: "2025-03-15", Months: 3, Currencies: []reports.Trend{
		{Currency: "JPY", Months: []reports.TrendMonth{
			{Month: "2025-01", From: "2025-01-01", To: "2025-01-31", Days: 31, AmountIssued: jpy(0),
				ClosingReceivables: jpy(0), AmountDue: jpy(0), CollectedOnDue: jpy(0)},
			{Month: "2025-02", From: "2025-02-01", To: "2025-02-28", Days: 28, AmountIssued: jpy(0),
				ClosingReceivables: jpy(0), AmountDue: jpy(0), CollectedOnDue: jpy(0)},
			// Issued, due and paid within the month: nothing outstanding, all collected.
			{Month: "2025-03", From: "2025-03-01", To: "2025-03-15", Days: 15, Partial: true,
				InvoicesIssued: 1, AmountIssued: jpy(5000), ClosingReceivables: jpy(0), DSO: ptr(0),
				InvoicesDue: 1, AmountDue: jpy(5000), CollectedOnDue: jpy(5000), CollectionRate: ptr(1)},
		}},
		{Currency: "USD", Months: []reports.TrendMonth{
			// Receivables on 31 January: A 100.00 + B 300.00; issued B: 400/300 × 31 days.
			// Due in January: A, nothing collected by the 31st.
			{Month: "2025-01", From: "2025-01-01", To: "2025-01-31", Days: 31,
				InvoicesIssued: 1, AmountIssued: usd(30_000), ClosingReceivables: usd(40_000), DSO: ptr(41.33),
				InvoicesDue: 1, AmountDue: usd(10_000), CollectedOnDue: usd(0), CollectionRate: ptr(0)},
			// On 28 February: B 200.00 + C 200.00; issued C: 400/200 × 28. Due: B, 100.00 of 300.00 collected.
			{Month: "2025-02", From: "2025-02-01", To: "2025-02-28", Days: 28,
				InvoicesIssued: 1, AmountIssued: usd(20_000), ClosingReceivables: usd(40_000), DSO: ptr(56),
				InvoicesDue: 1, AmountDue: usd(30_000), CollectedOnDue: usd(10_000), CollectionRate: ptr(0.3333)},
			// On 15 March: C 200.00 (E is issued on the 16th); nothing issued: no DSO. Due: C, unpaid.
			{Month: "2025-03", From: "2025-03-01", To: "2025-03-15", Days: 15, Partial: true,
				AmountIssued: usd(0), ClosingReceivables: usd(20_000),
				InvoicesDue: 1, AmountDue: usd(20_000), CollectedOnDue: usd(0), CollectionRate: ptr(0)},
		}},
	}}, got)

	// A filter that matches nothing answers an empty list, never null.
	got, err = rep.Trend(context.Background(), date("2025-03-15"), 3, reports.Filter{Segment: "nobody"})
	require.NoError(t, err)
	require.Empty(t, got.Currencies)
	require.NotNil(t, got.Currencies)

	_, err = rep.Trend(context.Background(), date("2025-03-15"), 0, reports.Filter{})
	require.Error(t, err)
	_, err = rep.Trend(context.Background(), date("2025-03-15"), reports.MaxTrendMonths+1, reports.Filter{})
	require.Error(t, err)
}

// TestTrendMatchesTheKPIsAndPlainGo checks every month of a generated year: its DSO,
// issued amount and receivables are the KPIs of that month, and its collection rate
// is recomputed in plain Go from the history.
func TestTrendMatchesTheKPIsAndPlainGo(t *testing.T) {
	t.Parallel()
	store, rep := newLedger(t)
	invoices := fixture.Generate(fixture.Options{Invoices: 300, Seed: 5, Prefix: "TR"})
	ctx := context.Background()
	require.NoError(t, fixture.Write(ctx, store, invoices))

	for _, f := range []reports.Filter{{}, {Currency: "KWD"}, {Segment: "enterprise", Policy: "gentle"}} {
		for _, to := range []string{"2025-12-31", "2025-08-17"} {
			got, err := rep.Trend(ctx, date(to), 12, f)
			require.NoError(t, err)
			require.NotEmpty(t, got.Currencies)
			for _, tr := range got.Currencies {
				require.Len(t, tr.Months, 12)
				for _, m := range tr.Months {
					p := period(m.From, m.To)
					kf := f
					kf.Currency = tr.Currency
					kpis, err := rep.KPIs(ctx, p, kf)
					require.NoError(t, err)
					want := reports.KPI{Currency: tr.Currency, AmountIssued: reports.Money{Currency: tr.Currency},
						ClosingReceivables: reports.Money{Currency: tr.Currency}}
					if len(kpis.Currencies) == 1 {
						want = kpis.Currencies[0]
					}
					require.Equal(t, want.AmountIssued, m.AmountIssued, "%s %s issued", tr.Currency, m.Month)
					require.Equal(t, want.InvoicesIssued, m.InvoicesIssued, "%s %s issued", tr.Currency, m.Month)
					require.Equal(t, want.ClosingReceivables, m.ClosingReceivables, "%s %s receivables", tr.Currency, m.Month)
					require.Equal(t, want.DSO, m.DSO, "%s %s DSO", tr.Currency, m.Month)

					// Collection rate, in plain Go.
					end := p.To.AddDate(0, 0, 1)
					var n, owed, collected int64
					for _, inv := range invoices {
						if inv.Currency != tr.Currency || !matches(inv, f) || inv.DueDate.Before(p.From) ||
							!inv.DueDate.Before(end) || !inv.IssuedAt.Before(end) {
							continue
						}
						s := stateAt(inv, end)
						n++
						owed += inv.AmountDue + s.billing - s.voided
						collected += s.applied - s.refunded
					}
					require.Equal(t, n, m.InvoicesDue, "%s %s due", tr.Currency, m.Month)
					require.Equal(t, owed, m.AmountDue.Minor, "%s %s owed", tr.Currency, m.Month)
					require.Equal(t, collected, m.CollectedOnDue.Minor, "%s %s collected", tr.Currency, m.Month)
					require.Equal(t, ratio(collected, owed, 4), m.CollectionRate, "%s %s rate", tr.Currency, m.Month)
				}
			}
		}
	}
}
