package activities

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

func TestLedgerFailed(t *testing.T) {
	require.NoError(t, ledgerFailed("recording x", nil))

	down := ledgerFailed("recording x", errors.New("dial tcp: connection refused"))
	var ae *temporal.ApplicationError
	require.False(t, errors.As(down, &ae), "an outage must stay retryable: %v", down)
	require.EqualError(t, down, "recording x: dial tcp: connection refused")

	for _, tc := range []struct {
		name  string
		err   error
		final []error
		bad   bool
	}{
		{"refused input", fmt.Errorf("ledger: record payment: %w: amounts must be positive", ledger.ErrInvalid), nil, true},
		{"no invoice, retried", fmt.Errorf("ledger: record payment: invoice %w", ledger.ErrNotFound), nil, false},
		{"no invoice, final for this activity", fmt.Errorf("ledger: reserve contact: invoice %w", ledger.ErrNotFound), []error{ledger.ErrNotFound}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ledgerFailed("doing it", tc.err, tc.final...)
			require.ErrorIs(t, err, tc.err, "the cause is kept")
			if !tc.bad {
				require.False(t, errors.As(err, &ae), "%v", err)
				return
			}
			require.ErrorAs(t, err, &ae)
			require.True(t, ae.NonRetryable())
			require.Equal(t, invoiceapi.ErrTypeBadRequest, ae.Type())
			require.Contains(t, ae.Error(), "doing it: ")
		})
	}
}

// TestLedgerWritesRefusedAreNotRetried hands each ledger write activity a record the
// real ledger refuses: each fails at once with the non-retryable ErrTypeBadRequest,
// so the workflow's ordered writer goes on instead of retrying it for ever.
func TestLedgerWritesRefusedAreNotRetried(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inv := request(t, policy.Email) // issues the invoice
	a := &Activities{Ledger: testStore}
	now := time.Now().UTC()
	for _, tc := range []struct {
		name string
		run  func() error
		says string
	}{
		{"RecordPayment applying more than was paid", func() error {
			return a.RecordPayment(ctx, invoiceapi.PaymentRecord{InvoiceID: inv.InvoiceID, PaymentID: "p1", Currency: "USD", Amount: 100, Applied: 200,
				BalanceAfter: 0, PaidAt: now, AppliedAt: now})
		}, "recording payment p1 of invoice " + inv.InvoiceID},
		{"Escalate to an unknown target", func() error {
			return a.Escalate(ctx, invoiceapi.EscalationRequest{InvoiceID: inv.InvoiceID, CustomerID: inv.CustomerID, To: "bailiff", Currency: "USD",
				Balance: 100, DueDate: "2026-12-01", At: now})
		}, "escalating invoice " + inv.InvoiceID + " to bailiff"},
		{"RecordStatus of an unknown status", func() error {
			return a.RecordStatus(ctx, invoiceapi.StatusRecord{InvoiceID: inv.InvoiceID, Status: "lost", Balance: 100, At: now})
		}, "recording status lost of invoice " + inv.InvoiceID},
		{"RecordEvent with a negative balance", func() error {
			return a.RecordEvent(ctx, invoiceapi.EventRecord{InvoiceID: inv.InvoiceID, EventKey: "k1", Kind: "paused", Status: "paused", Balance: -1, At: now})
		}, "recording paused of invoice " + inv.InvoiceID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			var ae *temporal.ApplicationError
			require.ErrorAs(t, err, &ae, "%v", err)
			require.True(t, ae.NonRetryable(), "%v", err)
			require.Equal(t, invoiceapi.ErrTypeBadRequest, ae.Type())
			require.Contains(t, ae.Error(), tc.says)
			require.ErrorIs(t, err, ledger.ErrInvalid)
		})
	}
}
