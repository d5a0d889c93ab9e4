package forwarder

import (
	"context"
	"time"

	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// Workflows is how the forwarder reaches the invoice workflows: one update each,
// identified by updateID. *invoiceapi.Client implements it; tests may fake it. Its
// errors are the contract's: invoiceapi.ErrNotFound (no workflow yet), ErrClosed,
// *invoiceapi.ConflictError or *invoiceapi.InvalidError (refused: retrying cannot
// help, so the event is parked), or anything else for a transient failure.
type Workflows interface {
	Pay(ctx context.Context, invoiceID, updateID string, in invoiceapi.PaymentInput) (invoiceapi.PaymentResult, error)
	Refund(ctx context.Context, invoiceID, updateID string, in invoiceapi.RefundInput) (invoiceapi.EventResult, error)
	OpenDispute(ctx context.Context, invoiceID, updateID string, in invoiceapi.DisputeInput) (invoiceapi.EventResult, error)
	ResolveDispute(ctx context.Context, invoiceID, updateID string, in invoiceapi.ResolveDisputeInput) (invoiceapi.EventResult, error)
}

// UpdateTimeout bounds one update (invoiceapi.Client.Timeout); the lease (minutes)
// covers several.
const UpdateTimeout = 30 * time.Second
