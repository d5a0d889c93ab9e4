package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

func (c *collector) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, invoiceapi.QueryState, func() (collection.View, error) {
		return collection.NewView(&c.pol, &c.inv, &c.st, c.next), nil
	}); err != nil {
		return fmt.Errorf("registering the state query: %w", err)
	}
	if err := workflow.SetQueryHandler(ctx, invoiceapi.QueryPolicy, func() (policy.Policy, error) {
		return c.pol, nil
	}); err != nil {
		return fmt.Errorf("registering the policy query: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, invoiceapi.UpdatePayment, c.applyPayment, workflow.UpdateHandlerOptions{
		Validator: c.validatePayment,
	}); err != nil {
		return fmt.Errorf("registering the payment update: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, invoiceapi.UpdateCallOutcome, c.callOutcome, workflow.UpdateHandlerOptions{
		Validator: c.validateCallOutcome,
	}); err != nil {
		return fmt.Errorf("registering the call-outcome update: %w", err)
	}
	return c.registerLifecycleHandlers(ctx)
}

// validatePayment rejects a payment before it enters history: a bad one costs nothing
// and changes nothing. The refusal crosses to the caller as a typed error (see
// rejection).
func (c *collector) validatePayment(ctx workflow.Context, p invoiceapi.PaymentInput) error {
	pay := collection.Payment{PaymentID: p.PaymentID, Amount: p.Amount}
	if p.PaidAt != "" {
		t, err := time.Parse(time.RFC3339, p.PaidAt)
		if err != nil {
			return invalid("paid_at", "must be an RFC 3339 timestamp")
		}
		pay.PaidAt = t
	}
	_, err := c.st.CheckPayment(&c.inv, pay, p.Currency, workflow.Now(ctx))
	return rejection(err)
}

func (c *collector) applyPayment(ctx workflow.Context, p invoiceapi.PaymentInput) (invoiceapi.PaymentResult, error) {
	now := workflow.Now(ctx)
	paidAt := now
	if p.PaidAt != "" {
		paidAt, _ = time.Parse(time.RFC3339, p.PaidAt) // checked by the validator
	}
	pay := collection.Payment{PaymentID: p.PaymentID, Amount: p.Amount, PaidAt: paidAt.UTC(), AppliedAt: now}
	var charges []collection.Event
	if _, dup := c.st.FindPayment(p.PaymentID); !dup {
		// Fees due by now, the discount this payment earns and, unless the payment
		// settles everything shown, the interest to date, first.
		withInterest := !c.st.SettlesWithoutInterest(&c.pol, &c.inv, now, pay)
		charges = c.st.BookCharges(&c.pol, &c.inv, now, &pay, withInterest)
	}
	out := c.st.ApplyPayment(pay)
	res := invoiceapi.PaymentResult{Duplicate: out.Duplicate, Status: c.st.Status, Balance: c.st.Balance, Credit: c.st.Credit, Applied: out.Applied}
	if out.Duplicate {
		return res, nil
	}
	c.logger.Info("Payment applied", "payment_id", p.PaymentID, "amount", p.Amount, "balance", c.st.Balance)
	rec := invoiceapi.PaymentRecord{
		InvoiceID: c.inv.ID, PaymentID: p.PaymentID, Currency: c.inv.Currency, Amount: p.Amount,
		Applied: out.Applied, Credit: out.Credit, BalanceAfter: c.st.Balance, PaidAt: paidAt.UTC(), AppliedAt: now,
	}
	if out.Paid {
		// The payment's ledger write records "paid" too: no separate status write at the
		// end of the run.
		rec.Status, c.statusRecorded = string(collection.StatusPaid), true
	}
	c.wake.SendAsync(true)
	if len(charges) > 0 {
		if err := c.recordEvents(ctx, charges, nil); err != nil {
			return res, err
		}
	}
	// A payment may keep a promise or complete a plan.
	events := c.st.PaymentEvents(&c.inv, now)
	res.Status = c.st.Status
	c.writeLedger(ledgerWrite{summary: "record payment " + p.PaymentID, activity: invoiceapi.ActivityRecordPayment, arg: rec})
	if len(events) > 0 && !c.st.Status.Terminal() {
		return res, c.recordEvents(ctx, events, map[string]any{"payment_id": p.PaymentID})
	}
	return res, nil
}
