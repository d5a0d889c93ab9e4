package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dunwell/dunwell/ledger"
)

// ContactCapRequest asks whether one reminder may reach the customer now, under the
// policy's per-customer daily cap (policy.Contact.MaxPerCustomerPerDay) across all of
// the customer's invoices. The workflow calls ReserveContact right before sending a
// reminder whose policy sets the cap (skip the call when it is 0).
type ContactCapRequest struct {
	CustomerID string `json:"customer_id"`
	InvoiceID  string `json:"invoice_id"`
	// Step is the policy step's name: the contact is "<invoice>/<step>", one contact
	// whichever channel carries it.
	Step string `json:"step"`
	// Timezone is the customer's IANA zone: the cap counts the customer's local day.
	Timezone string `json:"timezone"`
	// At is when the reminder goes out (workflow.Now at the send).
	At time.Time `json:"at"`
	// MaxPerDay is policy.Contact.MaxPerCustomerPerDay (at least 1).
	MaxPerDay int `json:"max_per_day"`
}

// ContactCapResult answers a ContactCapRequest.
type ContactCapResult struct {
	// Allowed: send now. The slot is held; a retry or a fallback channel of the same
	// step is allowed again without taking another.
	Allowed bool `json:"allowed"`
	// LocalDay is the customer's day that was counted ("2026-12-24").
	LocalDay string `json:"local_day"`
	// Count is how many contacts the customer holds that day (this one included when
	// allowed).
	Count int `json:"count"`
	// NotBefore, when not allowed, is the start of the customer's next local day: the
	// workflow moves the reminder to collection.AfterDailyCap(policy, invoice, At) (the
	// first allowed contact moment from then), records the move with its reason, and
	// asks again then.
	NotBefore time.Time `json:"not_before,omitzero"`
}

// ReserveContact decides the per-customer daily cap by reading (and writing) the
// ledger, so the workflow stays deterministic: the decision is an activity result in
// its history. The count and the reservation happen in one transaction under a lock
// on the customer, so concurrent invoices of one customer never exceed the cap.
// Invalid input fails with the non-retryable ErrTypeBadRequest.
func (a *Activities) ReserveContact(ctx context.Context, req ContactCapRequest) (ContactCapResult, error) {
	loc, err := time.LoadLocation(req.Timezone)
	switch {
	case err != nil || req.Timezone == "":
		return ContactCapResult{}, badRequest(fmt.Errorf("reserve contact: unknown timezone %q", req.Timezone))
	case req.MaxPerDay < 1:
		return ContactCapResult{}, badRequest(fmt.Errorf("reserve contact: max_per_day %d must be at least 1 (do not call it without a cap)", req.MaxPerDay))
	case req.CustomerID == "" || req.InvoiceID == "" || req.Step == "" || req.At.IsZero():
		return ContactCapResult{}, badRequest(errors.New("reserve contact: customer_id, invoice_id, step and at are required"))
	}
	local := req.At.In(loc)
	d, err := a.Ledger.ReserveContact(ctx, ledger.ContactReservation{
		Key: req.InvoiceID + "/" + req.Step, CustomerID: req.CustomerID, InvoiceID: req.InvoiceID,
		LocalDay: local.Format(time.DateOnly), At: req.At, Max: req.MaxPerDay,
	})
	if err != nil {
		return ContactCapResult{}, ledgerFailed(fmt.Sprintf("reserving a contact for %s/%s", req.InvoiceID, req.Step), err, ledger.ErrNotFound)
	}
	res := ContactCapResult{Allowed: d.Allowed, LocalDay: d.LocalDay, Count: d.Count}
	if !d.Allowed {
		res.NotBefore = time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, loc)
	}
	return res, nil
}
