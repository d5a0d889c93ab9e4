package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// Call steps: the ledger side of a policy step on the channel call (see
// workflows/calls.go). Each activity is idempotent: the task exists once per key, a
// close or completion repeated finds the task finished and answers as it stands.

// noCallBackNumber stands in the voicemail script when DUNWELL_BUSINESS_PHONE is not
// set, so the collector sees what is missing (the script is shown to them only).
const noCallBackNumber = "[no call-back number: set DUNWELL_BUSINESS_PHONE]"

// OpenCallTask opens the call task of a call step, once per invoice and step, unless
// the phone is opted out of calls in the ledger (by any customer's invoice: a wrong
// number found on another invoice counts here too) or the customer was spoken to,
// about any of their invoices, within the policy's quiet days (then NotBefore says
// until when).
func (a *Activities) OpenCallTask(ctx context.Context, r invoiceapi.CallTaskRequest) (invoiceapi.CallTaskResult, error) {
	what := fmt.Sprintf("opening the call task of invoice %s step %s", r.InvoiceID, r.Step)
	if r.Phone == "" || r.Due.IsZero() {
		return invoiceapi.CallTaskResult{}, badRequest(fmt.Errorf("%s: the phone and the due time are required", what))
	}
	key := invoiceapi.CallTaskKey(r.InvoiceID, r.Step)
	if t, err := a.Ledger.GetTaskByKey(ctx, key); err == nil {
		return callTaskResult(t), nil // opened by an earlier attempt: whatever the opt-outs say now
	} else if !errors.Is(err, ledger.ErrNotFound) {
		return invoiceapi.CallTaskResult{}, ledgerFailed(what, err)
	}
	if o, out, err := a.Ledger.OptedOut(ctx, ledger.ChannelCall, r.Phone); err != nil {
		return invoiceapi.CallTaskResult{}, ledgerFailed(what, err)
	} else if out {
		return invoiceapi.CallTaskResult{OptedOut: true, Status: string(o.Source)}, nil
	}
	if r.QuietAfterConversation > 0 && !r.At.IsZero() {
		last, ok, err := a.Ledger.LastConversation(ctx, r.CustomerID)
		if err != nil {
			return invoiceapi.CallTaskResult{}, ledgerFailed(what, err)
		}
		if until := last.Add(r.QuietAfterConversation); ok && r.At.Before(until) {
			return invoiceapi.CallTaskResult{Status: "deferred", NotBefore: until, LastConversationAt: last}, nil
		}
	}
	phone := a.Business.Phone
	if phone == "" {
		phone = noCallBackNumber
	}
	name := a.Business.Name
	if name == "" {
		name = "Dunwell"
	}
	t, _, err := a.Ledger.CreateTask(ctx, ledger.NewTask{
		Key: key, Kind: ledger.TaskCall, CustomerID: r.CustomerID, InvoiceID: r.InvoiceID,
		Title: r.Title, Step: r.Step, DueAt: r.Due,
		Details: map[string]any{
			"phone":            r.Phone,
			"voicemail_script": policy.RenderVoicemail(r.VoicemailScript, name, phone),
		},
	})
	if err != nil {
		return invoiceapi.CallTaskResult{}, ledgerFailed(what, err)
	}
	return callTaskResult(t), nil
}

func callTaskResult(t ledger.Task) invoiceapi.CallTaskResult {
	res := invoiceapi.CallTaskResult{TaskID: t.ID, Status: t.Status}
	if t.DueAt != nil {
		res.Due = *t.DueAt
	}
	return res
}

// CloseCallTask closes a call task nobody completed before its step's timeout. A task
// already done or closed (its invoice closed) is answered as it stands.
func (a *Activities) CloseCallTask(ctx context.Context, r invoiceapi.CloseCallTaskRequest) (invoiceapi.CallTaskResult, error) {
	t, _, err := a.Ledger.CloseTask(ctx, r.TaskID, r.Reason, r.At)
	if err != nil {
		return invoiceapi.CallTaskResult{}, ledgerFailed(fmt.Sprintf("closing call task %d", r.TaskID), err)
	}
	return callTaskResult(t), nil
}

// CompleteCallTask records the outcome the workflow applied as the task's completion
// (once: the customer's timeline shows it as the task's "done" entry) and marks it
// delivered. A wrong number opts the phone out of SMS and calls for the customer,
// once per task. A task found done already (this activity retried) is fine; one that
// was closed meanwhile keeps its closing, and the outcome stays applied to the
// invoice and recorded by its events.
func (a *Activities) CompleteCallTask(ctx context.Context, c invoiceapi.CallCompletion) error {
	what := fmt.Sprintf("recording the outcome of call task %d", c.TaskID)
	if c.Outcome == ledger.OutcomeWrongNumber && c.Phone != "" {
		for _, ch := range []string{ledger.ChannelCall, ledger.ChannelSMS} {
			_, err := a.Ledger.RecordOptOut(ctx, ledger.OptOutChange{
				EventID: fmt.Sprintf("task:%d:%s", c.TaskID, ch), Channel: ch, Address: c.Phone,
				CustomerIDs: []string{c.CustomerID}, OptedOut: true, Source: ledger.SourceWrongNumber, At: c.At,
			})
			if err != nil {
				return ledgerFailed(what, err)
			}
		}
	}
	comp := ledger.TaskCompletion{Outcome: c.Outcome, Note: c.Note, PromiseDate: c.PromiseDate, By: c.By, At: c.At}
	if c.PromiseAmount > 0 {
		amount := c.PromiseAmount
		comp.PromiseAmount = &amount
	}
	_, err := a.Ledger.CompleteTask(ctx, c.TaskID, comp)
	var fin *ledger.TaskFinishedError
	switch {
	case errors.As(err, &fin):
		if fin.Task.Status == ledger.TaskClosed {
			return nil
		}
	case err != nil:
		return ledgerFailed(what, err)
	}
	return ledgerFailed(what, a.Ledger.MarkTaskDelivered(ctx, c.TaskID, c.At))
}
