package activities

import (
	"context"
	"fmt"

	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// RecordEvent writes a lifecycle event, its adjustment and the invoice's new status
// to the ledger in one transaction, once per event key.
func (a *Activities) RecordEvent(ctx context.Context, e invoiceapi.EventRecord) error {
	_, err := a.Ledger.RecordEvent(ctx, lifecycleEvent(e))
	return ledgerFailed(fmt.Sprintf("recording %s of invoice %s", e.Kind, e.InvoiceID), err)
}

// lifecycleEvent is the ledger's row of a workflow's event record.
func lifecycleEvent(e invoiceapi.EventRecord) ledger.LifecycleEvent {
	row := ledger.LifecycleEvent{
		InvoiceID: e.InvoiceID, EventKey: e.EventKey, Kind: e.Kind, Reason: e.Reason, Actor: e.Actor,
		Details: e.Details, At: e.At, Status: e.Status, Balance: e.Balance,
		PolicyID: e.PolicyID, PolicyVersion: e.PolicyVersion, DueDate: e.DueDate,
	}
	if a := e.Adjustment; a != nil {
		row.Adjustment = &ledger.Adjustment{
			AdjustmentID: a.AdjustmentID, Kind: a.Kind, Currency: a.Currency, Amount: a.Amount, Credit: a.Credit,
			BalanceAfter: a.BalanceAfter, PaymentID: a.PaymentID, Reason: a.Reason, Actor: a.Actor, At: a.At,
		}
	}
	return row
}
