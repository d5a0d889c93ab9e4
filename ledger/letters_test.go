package ledger

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func letterClaim(invoiceID, step string) LetterClaim {
	return LetterClaim{Key: invoiceID + "/" + step + "/letter", InvoiceID: invoiceID, CustomerID: "C-1", Step: step,
		Template: "overdue", PDF: []byte("%PDF-1.3 test")}
}

func TestLetterClaimCompleteAndOutbox(t *testing.T) {
	ctx := parallel(t)
	c := letterClaim(issue(t), "letter-1")
	l, err := testStore.ClaimLetter(ctx, c)
	require.NoError(t, err)
	require.True(t, l.Fresh)
	require.Equal(t, LetterSending, l.Status)
	require.False(t, l.NeedsReconcile())
	require.Empty(t, l.Withheld)

	// A retry that never heard of the first attempt's outcome reconciles.
	again, err := testStore.ClaimLetter(ctx, c)
	require.NoError(t, err)
	require.False(t, again.Fresh)
	require.True(t, again.NeedsReconcile())
	require.Equal(t, 2, again.Attempts)
	require.Equal(t, l.ID, again.ID)

	require.NoError(t, testStore.CompleteLetter(ctx, c.Key, LetterToPrint, "", "", t0))
	require.NoError(t, testStore.CompleteLetter(ctx, c.Key, LetterToPrint, "", "", t0), "the same outcome again is a no-op")
	require.ErrorIs(t, testStore.CompleteLetter(ctx, c.Key, LetterSent, "ltr_1", "", t0), ErrNoticeFinal)

	list, err := testStore.ListLetters(ctx, LetterQuery{Status: LetterToPrint, CustomerID: "C-1", Limit: 500})
	require.NoError(t, err)
	require.Contains(t, ids(list), l.ID)

	pdf, err := testStore.LetterPDF(ctx, l.ID)
	require.NoError(t, err)
	require.Equal(t, c.PDF, pdf)

	at := t0.Add(time.Hour)
	row, already, err := testStore.MarkLetterMailed(ctx, l.ID, "key:ops", at)
	require.NoError(t, err)
	require.False(t, already)
	require.Equal(t, LetterMailed, row.Status)
	require.True(t, row.MailedAt.Equal(at))
	require.Equal(t, "key:ops", row.MailedBy)
	row, already, err = testStore.MarkLetterMailed(ctx, l.ID, "key:other", at.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, already, "mailed twice: the first stays")
	require.Equal(t, "key:ops", row.MailedBy)
}

func TestLetterRefusals(t *testing.T) {
	ctx := parallel(t)
	inv := issue(t)
	c := letterClaim(inv, "letter-1")
	c.Key = inv + "/other/letter"
	_, err := testStore.ClaimLetter(ctx, c)
	require.ErrorIs(t, err, ErrInvalid)
	c = letterClaim(inv, "letter-1")
	c.PDF = nil
	_, err = testStore.ClaimLetter(ctx, c)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = testStore.ClaimLetter(ctx, letterClaim(uid("nope"), "letter-1"))
	require.ErrorIs(t, err, ErrNotFound)

	c = letterClaim(inv, "letter-2")
	l, err := testStore.ClaimLetter(ctx, c)
	require.NoError(t, err)
	_, _, err = testStore.MarkLetterMailed(ctx, l.ID, "key:ops", t0)
	require.ErrorIs(t, err, ErrLetterState, "a letter still being sent is not in the outbox")
	require.NoError(t, testStore.CompleteLetter(ctx, c.Key, LetterSent, "ltr_9", "", t0))
	_, _, err = testStore.MarkLetterMailed(ctx, l.ID, "key:ops", t0)
	require.ErrorIs(t, err, ErrLetterState, "the provider mails it")
	_, _, err = testStore.MarkLetterMailed(ctx, 1<<40, "key:ops", t0)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = testStore.ListLetters(ctx, LetterQuery{Status: "lost", Limit: 10})
	require.ErrorIs(t, err, ErrInvalid)

	require.NoError(t, testStore.SetInvoiceStatus(ctx, inv, StatusPaid, 0, t0))
	w, err := testStore.ClaimLetter(ctx, letterClaim(inv, "letter-3"))
	require.NoError(t, err)
	require.Equal(t, "the invoice is paid", w.Withheld)
}

func ids(list []LetterRow) []int64 {
	out := make([]int64, len(list))
	for i, l := range list {
		out[i] = l.ID
	}
	return out
}

func TestLetterInTheTimeline(t *testing.T) {
	ctx := parallel(t)
	inv := issue(t)
	c := letterClaim(inv, "letter-1")
	l, err := testStore.ClaimLetter(ctx, c)
	require.NoError(t, err)
	require.NoError(t, testStore.CompleteLetter(ctx, c.Key, LetterToPrint, "", "", t0))
	page, err := testStore.Timeline(ctx, TimelineQuery{CustomerID: "cust-" + inv, Limit: 50, Kinds: []string{TimelineMessage}})
	require.NoError(t, err)
	require.Len(t, page.Entries, 1)
	e := page.Entries[0]
	require.Equal(t, inv, e.InvoiceID)
	require.Equal(t, "letter", e.Details["channel"])
	require.Equal(t, "to_print", e.Details["status"])
	require.EqualValues(t, l.ID, e.Details["letter_id"])
}
