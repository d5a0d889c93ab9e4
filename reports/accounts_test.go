package reports_test

import (
	"context"
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/reports"
)

// One consolidated message covering three invoices of a customer counts as the step
// of each of the three (each got the reminder), once each: the message is not a
// fourth notice, and its retried completion adds nothing.
func TestStepEffectivenessCountsEachInvoiceOfAMessageOnce(t *testing.T) {
	t.Parallel()
	store, rep := newLedger(t)
	ctx := context.Background()
	ids := []string{"M-1", "M-2", "M-3"}
	claim := ledger.MessageClaim{Key: "C-M/email/2025-03-05/abc", CustomerID: "C-M", Channel: "email", WindowDay: "2025-03-05"}
	for _, id := range ids {
		sum := sha256.Sum256([]byte(id))
		_, err := store.IssueInvoice(ctx, ledger.InvoiceRecord{InvoiceID: id, CustomerID: "C-M", Currency: "USD",
			AmountDue: 10_000, IssuedAt: at("2025-02-01T10:00:00Z"), DueDate: "2025-03-01", PolicyID: "standard", PolicyVersion: 1,
			Segment: "smb", BodySHA256: sum[:]})
		require.NoError(t, err)
		claim.Lines = append(claim.Lines, ledger.MessageLine{InvoiceID: id, Step: "overdue-1"})
	}
	_, err := store.ClaimMessage(ctx, claim)
	require.NoError(t, err)
	for range 2 { // a retried completion
		require.NoError(t, store.CompleteMessage(ctx, claim.Key, ledger.MessageSent, "sg-1", "", at("2025-03-05T10:00:00Z")))
	}
	// M-1 pays three days after the message.
	_, err = store.RecordPayment(ctx, ledger.PaymentRecord{InvoiceID: "M-1", PaymentID: "p1", Currency: "USD",
		Amount: 10_000, Applied: 10_000, PaidAt: at("2025-03-08T10:00:00Z"), AppliedAt: at("2025-03-08T10:00:00Z")})
	require.NoError(t, err)
	require.NoError(t, store.SetInvoiceStatus(ctx, "M-1", ledger.StatusPaid, 0, at("2025-03-08T10:00:00Z")))

	got, err := rep.Steps(ctx, period("2025-03-01", "2025-03-31"), reports.Filter{}, 7)
	require.NoError(t, err)
	require.Len(t, got.Steps, 1)
	s := got.Steps[0]
	require.Equal(t, "overdue-1", s.Step)
	require.Equal(t, "email", s.Channel)
	require.Equal(t, int64(3), s.Sent, "each invoice's step once")
	require.Equal(t, int64(1), s.PaidWithin)
}
