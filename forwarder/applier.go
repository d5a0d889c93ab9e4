package forwarder

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/webhooks"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// applier sends one event's updates, in order. Each update has an UpdateID derived
// from the event (source, event id, step), so a retry of the whole event repeats
// the same ids and Temporal answers the steps that already ran from its record.
type applier struct {
	f         *Forwarder
	ev        *webhooks.Event
	invoiceID string
	result    map[string]any
	// payStep is set while a payment step runs: a closed workflow may then already
	// hold the payment.
	payStep string
}

func (a *applier) updateID(step string) string {
	return fmt.Sprintf("webhook:%s:%s:%s", a.ev.Source, a.ev.ID, step)
}

func (a *applier) at() string {
	if a.ev.At.IsZero() {
		return ""
	}
	return a.ev.At.UTC().Format(time.RFC3339)
}

func (a *applier) run(ctx context.Context) error {
	ev, wf, by := a.ev, a.f.cfg.Workflows, a.ev.Source.Actor()
	switch ev.Kind {
	case webhooks.KindPayment:
		return a.pay(ctx, "payment", ev.PaymentID, ev.Amount)
	case webhooks.KindRefund:
		for _, r := range ev.Refunds {
			res, err := wf.Refund(ctx, a.invoiceID, a.updateID("refund:"+r.ID), invoiceapi.RefundInput{
				RefundID: r.ID, Kind: invoiceapi.KindRefund, PaymentID: ev.PaymentID, Amount: r.Amount,
				Currency: ev.Currency, At: a.at(), Reason: ev.Reason, By: by,
			})
			if err != nil {
				return err
			}
			a.result["refund:"+r.ID] = res
		}
		return nil
	case webhooks.KindChargebackOpened:
		// An inquiry moves no money; a chargeback takes the payment back, then the
		// dispute pauses dunning until the bank decides.
		if !ev.Inquiry && ev.Amount > 0 {
			res, err := wf.Refund(ctx, a.invoiceID, a.updateID("chargeback"), invoiceapi.RefundInput{
				RefundID: ev.DisputeID, Kind: invoiceapi.KindChargeback, PaymentID: ev.PaymentID, Amount: ev.Amount,
				Currency: ev.Currency, At: a.at(), Reason: ev.Reason, By: by,
			})
			if err != nil {
				return err
			}
			a.result["chargeback"] = res
		}
		res, err := wf.OpenDispute(ctx, a.invoiceID, a.updateID("dispute"), invoiceapi.DisputeInput{
			DisputeID: ev.DisputeID, Reason: disputeReason(ev), By: by,
		})
		if err != nil {
			return err
		}
		a.result["dispute"] = res
		return nil
	case webhooks.KindChargebackClosed:
		// Won: the bank returns the money, applied as a payment after the dispute
		// closes. Lost: the chargeback stands, the balance stays re-opened and dunning
		// resumes; an operator may still cancel or write the invoice off.
		res, err := wf.ResolveDispute(ctx, a.invoiceID, a.updateID("resolve"), invoiceapi.ResolveDisputeInput{
			DisputeID: ev.DisputeID, Outcome: invoiceapi.DisputeResolved, Reason: "chargeback " + string(ev.Outcome), By: by,
		})
		if err != nil {
			return err
		}
		a.result["resolve"] = res
		if ev.Outcome == webhooks.OutcomeWon && !ev.Inquiry && ev.Amount > 0 {
			return a.pay(ctx, "reinstated", ev.DisputeID+":reinstated", ev.Amount)
		}
		return nil
	}
	return &invoiceapi.InvalidError{Field: "kind", Reason: fmt.Sprintf("%q is not a known event kind", ev.Kind)}
}

func (a *applier) pay(ctx context.Context, step, paymentID string, amount int64) error {
	a.payStep = paymentID
	res, err := a.f.cfg.Workflows.Pay(ctx, a.invoiceID, a.updateID(step), invoiceapi.PaymentInput{
		PaymentID: paymentID, Amount: amount, Currency: a.ev.Currency, PaidAt: a.at(),
	})
	if err != nil {
		return err
	}
	a.payStep = ""
	a.result[step] = res
	return nil
}

func disputeReason(ev *webhooks.Event) string {
	what := "chargeback"
	if ev.Inquiry {
		what = "inquiry"
	}
	if ev.Reason != "" {
		return what + ": " + ev.Reason
	}
	return what + " " + ev.DisputeID
}

// failed turns an update error into the event's outcome.
func (a *applier) failed(ctx context.Context, err error) outcome {
	var (
		conflict *invoiceapi.ConflictError
		invalid  *invoiceapi.InvalidError
	)
	switch {
	case errors.Is(err, invoiceapi.ErrNotFound):
		return held(ledger.WaitWorkflow, a.invoiceID, "the workflow of invoice %s is not running yet", a.invoiceID)
	case errors.Is(err, invoiceapi.ErrClosed) && a.payStep != "":
		// The invoice closed (paid, cancelled, written off): the payment is a
		// duplicate if the ledger holds it, else an operator must decide.
		ok, lerr := a.f.cfg.Store.PaymentRecorded(ctx, a.invoiceID, a.payStep)
		if lerr != nil {
			return retry("looking up payment %s: %v", a.payStep, lerr)
		}
		if ok {
			a.result["payment"] = map[string]any{"duplicate": true, "closed": true}
			return outcome{status: ledger.WebhookApplied, invoiceID: a.invoiceID, result: a.result}
		}
		return parked("status: invoice %s is closed; payment %s was not applied", a.invoiceID, a.payStep)
	case errors.Is(err, invoiceapi.ErrClosed):
		return parked("status: invoice %s is closed; %s not applied", a.invoiceID, a.ev.Type)
	case errors.As(err, &conflict) || errors.As(err, &invalid):
		return parked("rejected by the workflow: %s", err.Error())
	}
	return retry("%v", err)
}
