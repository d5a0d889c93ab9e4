package activities

import (
	"context"
	"fmt"

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
	_, err := a.Ledger.RecordEvent(ctx, e)
	return ledgerFailed(fmt.Sprintf("recording %s of invoice %s", e.Kind, e.InvoiceID), err)
}
