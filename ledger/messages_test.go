package ledger

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// issueFor stores n invoices of one new customer and returns the customer and ids.
func issueMany(t *testing.T, n int) (string, []string) {
	t.Helper()
	customer := uid("cust")
	var ids []string
	for range n {
		r := invoiceRecord(uid("inv"), "body")
		r.CustomerID = customer
		_, err := testStore.IssueInvoice(context.Background(), r)
		require.NoError(t, err)
		ids = append(ids, r.InvoiceID)
	}
	return customer, ids
}

func messageClaim(customer, channel string, ids ...string) MessageClaim {
	c := MessageClaim{Key: customer + "/" + channel + "/2026-04-02/1", CustomerID: customer, Channel: channel, WindowDay: "2026-04-02"}
	for _, id := range ids {
		c.Lines = append(c.Lines, MessageLine{InvoiceID: id, Step: "first"})
	}
	return c
}

// One message covers three invoices; sending writes one notice per invoice step naming
// the message, and a retried claim returns the stored outcome and the same lines.
func TestMessageCoversEachInvoiceStepOnce(t *testing.T) {
	ctx := parallel(t)
	customer, ids := issueMany(t, 3)
	c := messageClaim(customer, "email", ids...)
	m, err := testStore.ClaimMessage(ctx, c)
	require.NoError(t, err)
	require.True(t, m.Fresh)
	require.Len(t, m.Covered, 3)
	require.Empty(t, m.LeftOut)

	require.NoError(t, testStore.CompleteMessage(ctx, c.Key, MessageSent, "sg-1", "", t0))
	require.NoError(t, testStore.CompleteMessage(ctx, c.Key, MessageSent, "sg-1", "", t0), "completing again is a no-op")
	require.ErrorIs(t, testStore.CompleteMessage(ctx, c.Key, MessageFailed, "", "x", t0), ErrNoticeFinal)

	again, err := testStore.ClaimMessage(ctx, c)
	require.NoError(t, err)
	require.False(t, again.Fresh)
	require.Equal(t, MessageSent, again.Status)
	require.Equal(t, "sg-1", again.ProviderID)
	require.Equal(t, 2, again.Attempts)
	require.Equal(t, m.Covered, again.Covered)

	for _, id := range ids {
		notices, err := testStore.ListNotices(ctx, id)
		require.NoError(t, err)
		require.Len(t, notices, 1)
		require.Equal(t, NoticeSent, notices[0].Status)
		require.Equal(t, "sg-1", notices[0].ProviderID)
		key, err := testStore.MessageOfNotice(ctx, notices[0].Key)
		require.NoError(t, err)
		require.Equal(t, c.Key, key)
	}
	covered, err := testStore.NoticesOfMessage(ctx, c.Key)
	require.NoError(t, err)
	require.Len(t, covered, 3, "one notice per covered invoice step")
	none, err := testStore.NoticesOfMessage(ctx, customer+"/email/2026-04-02/unknown")
	require.NoError(t, err)
	require.Empty(t, none)

	// A later message of the same window cannot cover the same steps again.
	c2 := c
	c2.Key = customer + "/email/2026-04-02/2"
	m2, err := testStore.ClaimMessage(ctx, c2)
	require.NoError(t, err)
	require.Empty(t, m2.Covered)
	require.Len(t, m2.LeftOut, 3)
	require.Contains(t, m2.LeftOut[0].Reason, "already reminded at this step by message "+c.Key)
}

// The first claim leaves out invoices that are paid, disputed, promised or paused, and
// invoices of another customer.
func TestMessageLeavesOutHeldInvoices(t *testing.T) {
	ctx := parallel(t)
	customer, ids := issueMany(t, 5)
	require.NoError(t, testStore.SetInvoiceStatus(ctx, ids[1], StatusPaid, 0, t0))
	require.NoError(t, testStore.SetInvoiceStatus(ctx, ids[2], StatusDisputed, 12_345, t0))
	require.NoError(t, testStore.SetInvoiceStatus(ctx, ids[3], StatusPromised, 12_345, t0))
	require.NoError(t, testStore.SetInvoiceStatus(ctx, ids[4], StatusPaused, 12_345, t0))
	stranger := issue(t)
	m, err := testStore.ClaimMessage(ctx, messageClaim(customer, "sms", append(ids, stranger)...))
	require.NoError(t, err)
	require.Equal(t, []MessageLine{{InvoiceID: ids[0], Step: "first"}}, m.Covered)
	reasons := map[string]string{}
	for _, l := range m.LeftOut {
		reasons[l.InvoiceID] = l.Reason
	}
	require.Equal(t, map[string]string{
		ids[1]:   "the invoice is paid",
		ids[2]:   "the invoice is disputed",
		ids[3]:   "the customer promised to pay it",
		ids[4]:   "the invoice is paused",
		stranger: "the invoice is not issued to this customer",
	}, reasons)
}

// Of concurrent first claims of one message exactly one is fresh; a crash before the
// outcome was recorded leaves it to reconcile.
func TestMessageClaimIsExclusive(t *testing.T) {
	ctx := parallel(t)
	customer, ids := issueMany(t, 2)
	c := messageClaim(customer, "email", ids...)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := testStore.ClaimMessage(ctx, c)
			require.NoError(t, err)
			if m.Fresh {
				mu.Lock()
				fresh++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 1, fresh)
	m, err := testStore.ClaimMessage(ctx, c)
	require.NoError(t, err)
	require.True(t, m.NeedsReconcile())
	require.Equal(t, 9, m.Attempts)
}

func TestMessageClaimRefusesBadInput(t *testing.T) {
	ctx := parallel(t)
	for name, c := range map[string]MessageClaim{
		"no key":      {CustomerID: "c", Channel: "email", WindowDay: "2026-04-02", Lines: []MessageLine{{InvoiceID: "i", Step: "s"}}},
		"bad channel": {Key: "k", CustomerID: "c", Channel: "fax", WindowDay: "2026-04-02", Lines: []MessageLine{{InvoiceID: "i", Step: "s"}}},
		"bad day":     {Key: "k", CustomerID: "c", Channel: "email", WindowDay: "tomorrow", Lines: []MessageLine{{InvoiceID: "i", Step: "s"}}},
		"no lines":    {Key: "k", CustomerID: "c", Channel: "email", WindowDay: "2026-04-02"},
		"twice":       {Key: "k", CustomerID: "c", Channel: "email", WindowDay: "2026-04-02", Lines: []MessageLine{{InvoiceID: "i", Step: "s"}, {InvoiceID: "i", Step: "s"}}},
	} {
		_, err := testStore.ClaimMessage(ctx, c)
		require.ErrorIs(t, err, ErrInvalid, name)
	}
	require.ErrorIs(t, testStore.CompleteMessage(ctx, "nope/email/2026-04-02/1", MessageSent, "x", "", t0), ErrNotFound)
}
