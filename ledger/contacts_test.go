package ledger

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// issueFor stores a new invoice of customer and returns its id.
func issueFor(t *testing.T, customer string) string {
	t.Helper()
	id := uid("inv")
	rec := invoiceRecord(id, "body")
	rec.CustomerID = customer
	_, err := testStore.IssueInvoice(context.Background(), rec)
	require.NoError(t, err)
	return id
}

func TestReserveContactCapsPerCustomerAndDay(t *testing.T) {
	ctx := parallel(t)
	cust := uid("cust")
	a, b, c := issueFor(t, cust), issueFor(t, cust), issueFor(t, cust)
	other := issueFor(t, uid("cust"))
	reserve := func(inv, step, day string) ContactDecision {
		t.Helper()
		customer := cust
		if inv == other {
			customer = "cust-other-" + other
		}
		d, err := testStore.ReserveContact(ctx, ContactReservation{Key: inv + "/" + step, CustomerID: customer, InvoiceID: inv,
			LocalDay: day, At: t0, Max: 2})
		require.NoError(t, err)
		return d
	}
	require.Equal(t, ContactDecision{Allowed: true, LocalDay: "2026-03-02", Count: 1}, reserve(a, "s1", "2026-03-02"))
	require.Equal(t, ContactDecision{Allowed: true, LocalDay: "2026-03-02", Count: 2}, reserve(b, "s1", "2026-03-02"))
	// The third contact that day, from a third invoice: refused.
	require.Equal(t, ContactDecision{Allowed: false, LocalDay: "2026-03-02", Count: 2}, reserve(c, "s1", "2026-03-02"))
	// A retry of an allowed contact is allowed again and takes no second slot.
	require.Equal(t, ContactDecision{Allowed: true, Again: true, LocalDay: "2026-03-02", Count: 2}, reserve(a, "s1", "2026-03-02"))
	// Another customer, and the next day, are not affected.
	require.True(t, reserve(other, "s1", "2026-03-02").Allowed)
	require.Equal(t, ContactDecision{Allowed: true, LocalDay: "2026-03-03", Count: 1}, reserve(c, "s1", "2026-03-03"))
}

func TestReserveContactHoldsUnderConcurrency(t *testing.T) {
	t.Parallel()
	cust := uid("cust")
	const n = 8
	invs := make([]string, n)
	for i := range invs {
		invs[i] = issueFor(t, cust)
	}
	var wg sync.WaitGroup
	allowed := make(chan bool, n)
	for _, inv := range invs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := testStore.ReserveContact(context.Background(), ContactReservation{Key: inv + "/s", CustomerID: cust,
				InvoiceID: inv, LocalDay: "2026-03-02", At: t0, Max: 3})
			if err != nil {
				t.Error(err)
			}
			allowed <- d.Allowed
		}()
	}
	wg.Wait()
	close(allowed)
	count := 0
	for ok := range allowed {
		if ok {
			count++
		}
	}
	require.Equal(t, 3, count, "exactly the cap, whatever the interleaving")
}

func TestReserveContactRejectsBadInput(t *testing.T) {
	ctx := parallel(t)
	inv := issue(t)
	for _, r := range []ContactReservation{
		{Key: "", CustomerID: "c", InvoiceID: inv, LocalDay: "2026-03-02", At: t0, Max: 1},
		{Key: inv + "/s", CustomerID: "c", InvoiceID: inv, LocalDay: "2026-03-02", At: t0, Max: 0},
		{Key: inv + "/s", CustomerID: "c", InvoiceID: inv, LocalDay: "03/02/2026", At: t0, Max: 1},
		{Key: inv + "/s", CustomerID: "c", InvoiceID: inv, LocalDay: "2026-03-02", At: time.Time{}, Max: 1},
	} {
		_, err := testStore.ReserveContact(ctx, r)
		require.ErrorIs(t, err, ErrInvalid, "%+v", r)
	}
	_, err := testStore.ReserveContact(ctx, ContactReservation{Key: "nope/s", CustomerID: "c", InvoiceID: "nope",
		LocalDay: "2026-03-02", At: t0, Max: 1})
	require.ErrorIs(t, err, ErrNotFound)
}
