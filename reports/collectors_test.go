package reports_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/reports"
)

// TestCollectorsByHand: three collectors in June 2025, the figures worked out in the
// comments.
func TestCollectorsByHand(t *testing.T) {
	t.Parallel()
	store, rep := newLedger(t)
	ctx := context.Background()
	h := handLedger{t, store}
	for _, name := range []string{"alice", "bob", "carol"} {
		_, _, err := store.CreateAPIKey(ctx, name, []string{"read", "operator"})
		require.NoError(t, err)
	}
	h.issue("I1", "C1", "USD", 10_000, "2025-05-01T10:00:00Z", "2025-05-31")
	h.issue("I2", "C2", "USD", 20_000, "2025-05-01T10:00:00Z", "2025-05-31")
	h.issue("I3", "C1", "JPY", 5_000, "2025-05-01T10:00:00Z", "2025-05-31")
	h.issue("I4", "C3", "EUR", 5_000, "2025-05-01T10:00:00Z", "2025-05-31")
	for customer, collector := range map[string]string{"C1": "alice", "C2": "bob", "C3": "carol"} {
		_, _, err := store.AssignByRule(ctx, customer, collector, "segment:smb")
		require.NoError(t, err)
	}
	n := 0
	done := func(invoice, customer, by, outcome, when, promise string) {
		t.Helper()
		n++
		task, _, err := store.CreateTask(ctx, ledger.NewTask{Key: "call:" + invoice + "/" + string(rune('a'+n)),
			Kind: ledger.TaskCall, CustomerID: customer, InvoiceID: invoice})
		require.NoError(t, err)
		_, err = store.CompleteTask(ctx, task.ID, ledger.TaskCompletion{Outcome: outcome, PromiseDate: promise,
			By: "key:" + by, At: at(when)})
		require.NoError(t, err)
	}
	// Before the period: bob reached C1 about I3 on 31 May; the JPY 500 paid on 1 June
	// follows that contact, not one in June: nobody's in June.
	done("I3", "C1", "bob", "reached", "2025-05-31T09:00:00Z", "")
	h.pay("I3", "j0", "JPY", 500, 4_500, "2025-06-01T09:00:00Z")
	// alice gets a promise on I1 on 2 June; 100.00 paid on the 8th, the promise kept on
	// the 9th: alice collected USD 100.00, one promise kept.
	done("I1", "C1", "alice", "promised", "2025-06-02T10:00:00Z", "2025-06-10")
	h.event("I1", "promise/1", "promise_made", "promised", 10_000, "2025-06-02T10:00:01Z", map[string]any{"date": "2025-06-10", "amount_minor": 10_000})
	h.pay("I1", "i1", "USD", 10_000, 0, "2025-06-08T10:00:00Z")
	h.event("I1", "promise-end/1", "promise_kept", "paid", 0, "2025-06-09T10:00:00Z", nil)
	// On I2 bob gets no answer on the 3rd, alice reaches C2 on the 5th: the 50.00 paid
	// on the 6th goes to alice (the latest contact); 30.00 on the 20th is too late for
	// a 7-day window.
	done("I2", "C2", "bob", "no_answer", "2025-06-03T10:00:00Z", "")
	done("I2", "C2", "alice", "reached", "2025-06-05T10:00:00Z", "")
	h.pay("I2", "i2a", "USD", 5_000, 15_000, "2025-06-06T10:00:00Z")
	h.pay("I2", "i2b", "USD", 3_000, 12_000, "2025-06-20T10:00:00Z")
	// bob gets a promise on I3 on the 10th; JPY 1000 on the 12th, the promise broken on
	// the 20th.
	done("I3", "C1", "bob", "promised", "2025-06-10T10:00:00Z", "2025-06-19")
	h.pay("I3", "j1", "JPY", 1_000, 3_500, "2025-06-12T10:00:00Z")
	h.event("I3", "promise-end/1", "promise_broken", "overdue", 3_500, "2025-06-20T10:00:00Z", nil)
	// alice's refusal on the 28th; the 10.00 paid on 2 July is after the period.
	done("I2", "C2", "alice", "refused", "2025-06-28T10:00:00Z", "")
	h.pay("I2", "i2c", "USD", 1_000, 11_000, "2025-07-02T10:00:00Z")
	// An open task counts for nobody.
	_, _, err := store.CreateTask(ctx, ledger.NewTask{Key: "call:I2/open", Kind: ledger.TaskCall, CustomerID: "C2", InvoiceID: "I2"})
	require.NoError(t, err)

	got, err := rep.Collectors(ctx, period("2025-06-01", "2025-06-30"), 7)
	require.NoError(t, err)
	usd := func(n int64) reports.Money { return reports.Money{Minor: n, Currency: "USD"} }
	require.Equal(t, reports.CollectorReport{From: "2025-06-01", To: "2025-06-30", WithinDays: 7, Collectors: []reports.Collector{
		{Collector: "alice", Customers: 1, TasksDone: 3, Conversations: 3, PromisesObtained: 1, PromisesKept: 1,
			PromiseKeptRate: ptr(1), Collected: []reports.CollectedAfter{{Currency: "USD", Invoices: 2, Amount: usd(15_000)}}},
		{Collector: "bob", Customers: 1, TasksDone: 2, Conversations: 1, PromisesObtained: 1, PromisesBroken: 1,
			PromiseKeptRate: ptr(0), Collected: []reports.CollectedAfter{{Currency: "JPY", Invoices: 1,
				Amount: reports.Money{Minor: 1_000, Currency: "JPY"}}}},
		{Collector: "carol", Customers: 1, Collected: []reports.CollectedAfter{}},
	}}, got)

	// A 16-day window reaches the 30.00 of the 20th (alice's contact of the 5th, + 16 days: the 21st).
	got, err = rep.Collectors(ctx, period("2025-06-01", "2025-06-30"), 16)
	require.NoError(t, err)
	require.Equal(t, []reports.CollectedAfter{{Currency: "USD", Invoices: 2, Amount: usd(18_000)}}, got.Collectors[0].Collected)

	_, err = rep.Collectors(ctx, period("2025-06-01", "2025-06-30"), 0)
	require.Error(t, err)
}
