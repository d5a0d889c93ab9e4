package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// ReserveContact decides the per-customer daily cap by reading (and writing) the
// ledger, so the workflow stays deterministic: the decision is an activity result in
// its history. The count and the reservation happen in one transaction under a lock
// on the customer, so concurrent invoices of one customer never exceed the cap.
// Invalid input fails with the non-retryable ErrTypeBadRequest.
func (a *Activities) ReserveContact(ctx context.Context, req invoiceapi.ContactCapRequest) (invoiceapi.ContactCapResult, error) {
	loc, err := time.LoadLocation(req.Timezone)
	switch {
	case err != nil || req.Timezone == "":
		return invoiceapi.ContactCapResult{}, badRequest(fmt.Errorf("reserve contact: unknown timezone %q", req.Timezone))
	case req.MaxPerDay < 1:
		return invoiceapi.ContactCapResult{}, badRequest(fmt.Errorf("reserve contact: max_per_day %d must be at least 1 (do not call it without a cap)", req.MaxPerDay))
	case req.CustomerID == "" || req.InvoiceID == "" || req.Step == "" || req.At.IsZero():
		return invoiceapi.ContactCapResult{}, badRequest(errors.New("reserve contact: customer_id, invoice_id, step and at are required"))
	}
	local := req.At.In(loc)
	d, err := a.Ledger.ReserveContact(ctx, ledger.ContactReservation{
		Key: req.InvoiceID + "/" + req.Step, CustomerID: req.CustomerID, InvoiceID: req.InvoiceID,
		LocalDay: local.Format(time.DateOnly), At: req.At, Max: req.MaxPerDay,
	})
	if err != nil {
		return invoiceapi.ContactCapResult{}, ledgerFailed(fmt.Sprintf("reserving a contact for %s/%s", req.InvoiceID, req.Step), err, ledger.ErrNotFound)
	}
	res := invoiceapi.ContactCapResult{Allowed: d.Allowed, LocalDay: d.LocalDay, Count: d.Count}
	if !d.Allowed {
		res.NotBefore = time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, loc)
	}
	return res, nil
}
