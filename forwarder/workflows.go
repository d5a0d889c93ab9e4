package forwarder

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// Workflows is how the forwarder reaches the invoice workflows: one update each,
// identified by updateID. Temporal implements it; tests may fake it. Errors are
// ErrNoWorkflow, ErrClosed, *Rejected, or anything else for a transient failure.
type Workflows interface {
	Pay(ctx context.Context, invoiceID, updateID string, in invoiceapi.PaymentInput) (invoiceapi.PaymentResult, error)
	Refund(ctx context.Context, invoiceID, updateID string, in invoiceapi.RefundInput) (invoiceapi.EventResult, error)
	OpenDispute(ctx context.Context, invoiceID, updateID string, in invoiceapi.DisputeInput) (invoiceapi.EventResult, error)
	ResolveDispute(ctx context.Context, invoiceID, updateID string, in invoiceapi.ResolveDisputeInput) (invoiceapi.EventResult, error)
}

var (
	// ErrNoWorkflow: the invoice has no workflow (yet).
	ErrNoWorkflow = errors.New("the invoice's workflow does not exist")
	// ErrClosed: the invoice's workflow has finished.
	ErrClosed = errors.New("the invoice's workflow has closed")
)

// Rejected is an update the workflow refused (its validator or handler said no):
// retrying cannot help, so the event is parked with Reason.
type Rejected struct{ Reason string }

func (e *Rejected) Error() string { return "rejected: " + e.Reason }

// Temporal sends the updates through a Temporal client.
type Temporal struct{ Client client.Client }

// updateTimeout bounds one update; the lease (minutes) covers several.
const updateTimeout = 30 * time.Second

// Pay sends the payment update.
func (t Temporal) Pay(ctx context.Context, invoiceID, updateID string, in invoiceapi.PaymentInput) (invoiceapi.PaymentResult, error) {
	var res invoiceapi.PaymentResult
	return res, t.update(ctx, invoiceID, updateID, invoiceapi.UpdatePayment, in, &res)
}

// Refund sends the refund update (refunds and chargebacks).
func (t Temporal) Refund(ctx context.Context, invoiceID, updateID string, in invoiceapi.RefundInput) (invoiceapi.EventResult, error) {
	var res invoiceapi.EventResult
	return res, t.update(ctx, invoiceID, updateID, invoiceapi.UpdateRefund, in, &res)
}

// OpenDispute sends the dispute update.
func (t Temporal) OpenDispute(ctx context.Context, invoiceID, updateID string, in invoiceapi.DisputeInput) (invoiceapi.EventResult, error) {
	var res invoiceapi.EventResult
	return res, t.update(ctx, invoiceID, updateID, invoiceapi.UpdateDispute, in, &res)
}

// ResolveDispute sends the resolve-dispute update.
func (t Temporal) ResolveDispute(ctx context.Context, invoiceID, updateID string, in invoiceapi.ResolveDisputeInput) (invoiceapi.EventResult, error) {
	var res invoiceapi.EventResult
	return res, t.update(ctx, invoiceID, updateID, invoiceapi.UpdateResolveDispute, in, &res)
}

func (t Temporal) update(ctx context.Context, invoiceID, updateID, name string, arg, out any) error {
	ctx, cancel := context.WithTimeout(ctx, updateTimeout)
	defer cancel()
	handle, err := t.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   invoiceapi.WorkflowID(invoiceID),
		UpdateID:     updateID,
		UpdateName:   name,
		WaitForStage: client.WorkflowUpdateStageCompleted,
		Args:         []any{arg},
	})
	if err == nil {
		err = handle.Get(ctx, out)
	}
	return classify(name, err)
}

// classify maps a Temporal error onto the forwarder's.
func classify(update string, err error) error {
	var (
		nf     *serviceerror.NotFound
		appErr *temporal.ApplicationError
	)
	switch {
	case err == nil:
		return nil
	case strings.Contains(err.Error(), "workflow execution already completed"):
		return ErrClosed
	case errors.As(err, &nf):
		return ErrNoWorkflow
	case errors.As(err, &appErr) && strings.Contains(appErr.Error(), "unknown update"):
		// A worker without this handler yet (a rolling deploy): try again later.
		return fmt.Errorf("the workflow has no %q update handler yet: %w", update, err)
	case errors.As(err, &appErr):
		return &Rejected{Reason: appErr.Message()}
	}
	return fmt.Errorf("%s update: %w", update, err)
}
