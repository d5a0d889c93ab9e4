package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// logRecorder keeps the workflow's log lines (local activities log from their own
// goroutines, hence the lock).
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) add(level, msg string, kv []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+" "+msg+" "+fmt.Sprint(kv...))
}

func (l *logRecorder) Debug(msg string, kv ...any) { l.add("DEBUG", msg, kv) }
func (l *logRecorder) Info(msg string, kv ...any)  { l.add("INFO", msg, kv) }
func (l *logRecorder) Warn(msg string, kv ...any)  { l.add("WARN", msg, kv) }
func (l *logRecorder) Error(msg string, kv ...any) { l.add("ERROR", msg, kv) }

func (l *logRecorder) find(level, msg string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		if strings.HasPrefix(line, level+" "+msg) {
			out = append(out, line)
		}
	}
	return out
}

// TestRefusedLedgerWriteIsReportedAndTheWriterGoesOn: the ledger refuses the first
// payment's row (the non-retryable BadRequest the ledger activities return for input
// the ledger refuses). The ordered writer tries it once, logs it as an error naming
// the write, and goes on: the second payment is recorded and the invoice closes paid.
func TestRefusedLedgerWriteIsReportedAndTheWriterGoesOn(t *testing.T) {
	logs := &logRecorder{}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(logs)
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(InvoiceCollection)
	env.RegisterActivity(&unmocked{})
	issued := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	env.SetStartTime(issued)

	var (
		mu       sync.Mutex
		attempts = map[string]int{}
		recorded []string
	)
	env.OnActivity(invoiceapi.ActivityRecordPayment, mock.Anything, mock.Anything).Return(
		func(_ context.Context, p invoiceapi.PaymentRecord) error {
			mu.Lock()
			defer mu.Unlock()
			attempts[p.PaymentID]++
			if p.PaymentID == "refused" {
				return temporal.NewNonRetryableApplicationError("recording payment refused: ledger: record payment: invalid ledger input",
					invoiceapi.ErrTypeBadRequest, nil)
			}
			recorded = append(recorded, p.PaymentID)
			return nil
		})
	env.OnActivity(invoiceapi.ActivityRecordStatus, mock.Anything, mock.Anything).Return(nil).Maybe()
	env.OnActivity(invoiceapi.ActivityRecordEvent, mock.Anything, mock.Anything).Return(nil).Maybe()

	pay := func(delay time.Duration, p invoiceapi.PaymentInput) {
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(invoiceapi.UpdatePayment, "", &testsuite.TestUpdateCallback{
				OnReject:   func(err error) { t.Errorf("payment %s rejected: %v", p.PaymentID, err) },
				OnAccept:   func() {},
				OnComplete: func(_ any, err error) { require.NoError(t, err, p.PaymentID) },
			}, p)
		}, delay)
	}
	pay(time.Hour, invoiceapi.PaymentInput{PaymentID: "refused", Amount: 25000, Currency: "USD"})
	pay(2*time.Hour, invoiceapi.PaymentInput{PaymentID: "after", Amount: 100000, Currency: "USD"})
	cs := &collectionSuite{}
	cs.SetT(t)
	env.ExecuteWorkflow(InvoiceCollection, cs.input("standard"))

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res invoiceapi.CollectionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, collection.StatusPaid, res.Status)
	require.Equal(t, 1, attempts["refused"], "a refused row is not retried")
	require.Equal(t, []string{"after"}, recorded, "the write queued behind the refused one lands")
	failed := logs.find("ERROR", "Ledger write failed")
	require.Len(t, failed, 1, "%v", logs.lines)
	require.Contains(t, failed[0], "record payment refused")
	require.Contains(t, failed[0], invoiceapi.ErrTypeBadRequest)
	env.AssertExpectations(t)
}

// Payments dated before their invoice or in the future are refused by the payment
// update's validator, which every source of payments goes through.
func (s *collectionSuite) TestPaymentDatedOutsideItsInvoiceIsRejected() {
	for i, tc := range []struct{ paidAt, says string }{
		{"2026-10-31T23:59:59Z", "paid_at: 2026-10-31T23:59:59Z is before the invoice was issued (2026-11-01T10:00:00Z)"},
		{"2026-11-01T11:06:00Z", "paid_at: 2026-11-01T11:06:00Z is in the future (now is 2026-11-01T11:00:00Z)"},
	} {
		s.pay(time.Hour, invoiceapi.PaymentInput{PaymentID: fmt.Sprintf("bad-%d", i), Amount: 125000, Currency: "USD", PaidAt: tc.paidAt}, func(_ invoiceapi.PaymentResult, err error) {
			s.Require().Error(err)
			s.Contains(err.Error(), tc.says)
		})
	}
	s.pay(time.Hour, invoiceapi.PaymentInput{PaymentID: "skewed", Amount: 125000, Currency: "USD", PaidAt: "2026-11-01T11:04:00Z"}, func(r invoiceapi.PaymentResult, err error) {
		s.NoError(err, "a few minutes of clock skew are allowed")
		s.Equal(collection.StatusPaid, r.Status)
	})
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))
	s.Equal(collection.StatusPaid, s.result().Status)
	s.Require().Len(s.payments, 1)
	s.Equal("skewed", s.payments[0].PaymentID)
}

// A refund naming a payment is capped by what that payment has left, not by every
// payment of the invoice.
func (s *collectionSuite) TestRefundIsCappedByItsPayment() {
	s.pay(time.Hour, invoiceapi.PaymentInput{PaymentID: "A", Amount: 1000, Currency: "USD"}, func(_ invoiceapi.PaymentResult, err error) { s.NoError(err) })
	s.pay(2*time.Hour, invoiceapi.PaymentInput{PaymentID: "B", Amount: 99000, Currency: "USD"}, func(_ invoiceapi.PaymentResult, err error) { s.NoError(err) })
	s.update(3*time.Hour, invoiceapi.UpdateRefund, invoiceapi.RefundInput{RefundID: "r1", Kind: invoiceapi.KindRefund, PaymentID: "A", Amount: 50000, Currency: "USD"},
		func(_ invoiceapi.EventResult, err error) {
			var appErr *temporal.ApplicationError
			s.Require().True(errors.As(err, &appErr), "want a rejection, got %v", err)
			s.Equal(invoiceapi.ErrTypeConflict, appErr.Type())
			s.Equal("amount: is larger than what payment A has left to refund", appErr.Message())
		})
	s.update(4*time.Hour, invoiceapi.UpdateRefund, invoiceapi.RefundInput{RefundID: "r2", Kind: invoiceapi.KindRefund, PaymentID: "A", Amount: 1000, Currency: "USD"}, s.expect(collection.StatusOpen))
	s.update(5*time.Hour, invoiceapi.UpdateRefund, invoiceapi.RefundInput{RefundID: "r3", Kind: invoiceapi.KindRefund, PaymentID: "A", Amount: 1, Currency: "USD"}, s.rejected(invoiceapi.ErrTypeConflict))
	s.pay(6*time.Hour, invoiceapi.PaymentInput{PaymentID: "C", Amount: 27000, Currency: "USD"}, func(_ invoiceapi.PaymentResult, err error) { s.NoError(err) })
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))
	s.Equal(collection.StatusPaid, s.result().Status)
}
