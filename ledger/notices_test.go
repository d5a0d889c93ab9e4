package ledger

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func claimFor(invoiceID, step, channel string) NoticeClaim {
	return NoticeClaim{Key: invoiceID + "/" + step + "/" + channel, InvoiceID: invoiceID, Step: step, Channel: channel}
}

// firstClaim issues an invoice and claims its notice for step and channel, the first
// claim of it.
func firstClaim(t *testing.T, step, channel string) (NoticeClaim, NoticeRow) {
	t.Helper()
	c := claimFor(issue(t), step, channel)
	n, err := testStore.ClaimNotice(t.Context(), c)
	require.NoError(t, err)
	require.True(t, n.Fresh)
	return c, n
}

// reclaim claims a notice claimed before, as a retried activity does.
func reclaim(t *testing.T, c NoticeClaim) NoticeRow {
	t.Helper()
	n, err := testStore.ClaimNotice(t.Context(), c)
	require.NoError(t, err)
	require.False(t, n.Fresh)
	return n
}

func TestClaimNoticeFreshSentReclaim(t *testing.T) {
	ctx := parallel(t)
	c, n := firstClaim(t, "reminder-1", "email")
	require.False(t, n.NeedsReconcile())
	require.Equal(t, NoticeSending, n.Status)
	require.Equal(t, 1, n.Attempts)

	require.NoError(t, testStore.CompleteNotice(ctx, c.Key, NoticeSent, "sg-123", "", t0))

	n = reclaim(t, c)
	require.False(t, n.NeedsReconcile())
	require.Equal(t, NoticeSent, n.Status)
	require.Equal(t, "sg-123", n.ProviderID)
	require.NotNil(t, n.SentAt)
	require.True(t, n.SentAt.Equal(t0))

	list, err := testStore.ListNotices(ctx, c.InvoiceID)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, NoticeSent, list[0].Status)
}

func TestClaimNoticeAfterCrash(t *testing.T) {
	t.Parallel()
	c, _ := firstClaim(t, "reminder-1", "sms")
	// The worker dies here: no CompleteNotice.
	n := reclaim(t, c)
	require.True(t, n.NeedsReconcile())
	require.Equal(t, NoticeSending, n.Status)
	require.Equal(t, 2, n.Attempts)
}

func TestCompleteNoticeKeepsSent(t *testing.T) {
	ctx := parallel(t)
	c, _ := firstClaim(t, "final", "email")

	require.NoError(t, testStore.CompleteNotice(ctx, c.Key, NoticeSent, "sg-1", "", t0))
	require.NoError(t, testStore.CompleteNotice(ctx, c.Key, NoticeSent, "sg-1", "", t0), "repeat is a no-op")
	err := testStore.CompleteNotice(ctx, c.Key, NoticeFailed, "", "bounced", t0)
	require.ErrorIs(t, err, ErrNoticeFinal)

	n, err := testStore.GetNotice(ctx, c.Key)
	require.NoError(t, err)
	require.Equal(t, NoticeSent, n.Status)
	require.Equal(t, "sg-1", n.ProviderID)
	require.Empty(t, n.Error)
}

func TestCompleteNoticeFailed(t *testing.T) {
	ctx := parallel(t)
	c, _ := firstClaim(t, "reminder-2", "sms")
	require.NoError(t, testStore.CompleteNotice(ctx, c.Key, NoticeUndeliverable, "", "number unreachable", t0))
	n := reclaim(t, c)
	require.False(t, n.NeedsReconcile())
	require.Equal(t, NoticeUndeliverable, n.Status)
	require.Equal(t, "number unreachable", n.Error)
	require.Nil(t, n.SentAt)
}

func TestNoticeErrors(t *testing.T) {
	ctx := parallel(t)
	_, err := testStore.ClaimNotice(ctx, claimFor(uid("missing"), "s", "email"))
	require.ErrorIs(t, err, ErrNotFound, "invoice must exist")

	id := issue(t)
	bad := claimFor(id, "s", "email")
	bad.Key = "something-else"
	_, err = testStore.ClaimNotice(ctx, bad)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = testStore.ClaimNotice(ctx, claimFor(id, "s", "pigeon"))
	require.ErrorIs(t, err, ErrInvalid, "channel CHECK")

	require.ErrorIs(t, testStore.CompleteNotice(ctx, uid("nope"), NoticeSent, "x", "", t0), ErrNotFound)
	require.ErrorIs(t, testStore.CompleteNotice(ctx, id+"/s/email", NoticeSending, "", "", t0), ErrInvalid)
	_, err = testStore.GetNotice(ctx, uid("nope"))
	require.ErrorIs(t, err, ErrNotFound)
}

func TestClaimNoticeConcurrent(t *testing.T) {
	ctx := parallel(t)
	c := claimFor(issue(t), "reminder-1", "email")
	const n = 10
	rows := make([]NoticeRow, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { rows[i], errs[i] = testStore.ClaimNotice(ctx, c) })
	}
	wg.Wait()
	fresh := 0
	for i := range n {
		require.NoError(t, errs[i])
		if rows[i].Fresh {
			fresh++
		}
	}
	require.Equal(t, 1, fresh)
	got, err := testStore.GetNotice(ctx, c.Key)
	require.NoError(t, err)
	require.Equal(t, n, got.Attempts)
}

// TestClaimNoticeWithheldAfterHandOff: the claim says, in its own transaction, that a
// reminder may not go out once the invoice is escalated, paid, cancelled, written off
// or disputed, or from the policy's hand-off time on; it may while the invoice is
// open, and a hand-off time still ahead does not stop it.
func TestClaimNoticeWithheldAfterHandOff(t *testing.T) {
	ctx := parallel(t)
	now := time.Now().UTC()

	open := issue(t)
	c := claimFor(open, "reminder-1", "email")
	c.NotAfter = now.Add(time.Hour)
	n, err := testStore.ClaimNotice(ctx, c)
	require.NoError(t, err)
	require.Empty(t, n.Withheld, "open, hand-off an hour ahead")

	c.NotAfter = now.Add(-time.Second)
	n, err = testStore.ClaimNotice(ctx, c)
	require.NoError(t, err)
	require.Contains(t, n.Withheld, "handed off at")

	for _, status := range []string{StatusEscalated, StatusPaid, StatusCancelled, StatusWrittenOff, StatusDisputed} {
		id := issue(t)
		require.NoError(t, testStore.SetInvoiceStatus(ctx, id, status, 0, now))
		n, err := testStore.ClaimNotice(ctx, claimFor(id, "reminder-1", "sms"))
		require.NoError(t, err, status)
		require.NotEmpty(t, n.Withheld, status)
		require.Equal(t, NoticeSending, n.Status, "the claim is still recorded, to be settled as withheld")
	}
	for _, status := range []string{StatusOverdue, StatusOnPlan} {
		id := issue(t)
		require.NoError(t, testStore.SetInvoiceStatus(ctx, id, status, 100, now))
		n, err := testStore.ClaimNotice(ctx, claimFor(id, "reminder-1", "sms"))
		require.NoError(t, err, status)
		require.Empty(t, n.Withheld, status)
	}
}
