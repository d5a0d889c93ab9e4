package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/dunwell/dunwell/ledger"
)

// EventRecord is a lifecycle event (dispute, promise, plan, pause, approval, refund,
// adjustment, cancel, write-off, ...) with the invoice's status and balance after it
// and the money change it made, for the ledger.
type EventRecord = ledger.LifecycleEvent

// Adjustment is the money change of an EventRecord.
type Adjustment = ledger.Adjustment

// RecordEvent writes a lifecycle event, its adjustment and the invoice's new status
// to the ledger in one transaction, once per event key.
func (a *Activities) RecordEvent(ctx context.Context, e EventRecord) error {
	if _, err := a.Ledger.RecordEvent(ctx, e); err != nil {
		err = fmt.Errorf("recording %s of invoice %s: %w", e.Kind, e.InvoiceID, err)
		if errors.Is(err, ledger.ErrInvalid) {
			// A record the ledger refuses will never be accepted; retrying only hides it.
			return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeBadRequest, err)
		}
		return err
	}
	return nil
}
