package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// Call steps: a policy step whose first channel is call opens a task for a collector
// (in the ledger, once per invoice and step) and the invoice waits for the call's
// outcome, delivered by the API as the update call-outcome, until the step's
// timeout. The next steps and the escalation wait with it (collection.Next). The
// call itself obeys the policy's call rules (collection.NextCallAt): the contact
// window in the customer's zone, the attempts per week, the quiet days after a
// conversation, the customer's opt-out of calls. A customer who cannot be called
// gets the step's next channels at once, and the notices say why.

// maxCallNote bounds a call's note, as the ledger does.
const maxCallNote = 4000

// noCallBecause records on a call step why nobody will be called, before the step
// goes on to its other channels.
func (c *collector) noCallBecause(ctx workflow.Context, step policy.Step, why string) {
	c.st.Notices = append(c.st.Notices, collection.Notice{
		Step: step.Name, Channel: policy.Call, Status: collection.NoticeFailed, SentAt: workflow.Now(ctx), Error: why,
	})
}

// call runs call step a: it opens the call task, or defers the step to when the call
// rules allow a call. It reports false when no call can be made at all, so the step
// goes on to its other channels.
func (c *collector) call(ctx workflow.Context, a collection.Action) (bool, error) {
	step := c.pol.Steps[a.Step]
	now := workflow.Now(ctx)
	cu := &c.inv.Customer
	if !cu.Reachable(policy.Call) {
		why := "no call: the customer has no phone number"
		if cu.Phone != "" {
			why = "no call: the customer's channels do not include call"
		}
		c.noCallBecause(ctx, step, why)
		return false, nil
	}
	at, why, ok := collection.NextCallAt(&c.pol, &c.inv, c.st.CallAttempts, c.st.IsOptedOut(policy.Call), now)
	if !ok {
		c.noCallBecause(ctx, step, "no call: "+why)
		return false, nil
	}
	if at.After(now) {
		c.st.Deferred = &collection.Deferral{Step: a.Step, At: at, Reason: why}
		c.logger.Info("Call deferred by the call rules", "step", step.Name, "until", at, "reason", why)
		return true, nil
	}
	due := now.Add(step.Timeout.Duration())
	req := invoiceapi.CallTaskRequest{
		InvoiceID: c.inv.ID, CustomerID: cu.ID, Step: step.Name, Phone: cu.Phone,
		Title:           fmt.Sprintf("Call %s about invoice %s", cu.Name, c.inv.ID),
		VoicemailScript: c.pol.Voicemail(), Due: due,
		At: now, QuietAfterConversation: time.Duration(c.pol.CallRules().QuietDaysAfterConversation) * 24 * time.Hour,
	}
	var res invoiceapi.CallTaskResult
	if err := c.ledgerCall(ctx, "open the call task of "+step.Name, invoiceapi.ActivityOpenCallTask, req, &res); err != nil {
		if !isErrorType(err, invoiceapi.ErrTypeBadRequest) {
			return false, fmt.Errorf("opening the call task of step %s: %w", step.Name, err)
		}
		c.logger.Error("The ledger refused the call task", "step", step.Name, "error", err)
		c.noCallBecause(ctx, step, "no call: the ledger refused the task: "+failureMessage(err))
		return false, nil
	}
	if res.OptedOut {
		if !c.st.IsOptedOut(policy.Call) {
			c.st.OptedOut = append(c.st.OptedOut, policy.Call)
		}
		c.noCallBecause(ctx, step, "no call: the phone is opted out of calls ("+res.Status+")")
		return false, nil
	}
	if !res.NotBefore.IsZero() {
		// Spoken to about another of the customer's invoices: this call waits out the
		// same quiet days (the call rules run again then).
		why := fmt.Sprintf("no call within %d days after a conversation with the customer (on %s)",
			c.pol.CallRules().QuietDaysAfterConversation, res.LastConversationAt.In(c.inv.Location()).Format("2006-01-02 15:04"))
		c.st.Deferred = &collection.Deferral{Step: a.Step, At: res.NotBefore, Reason: why}
		c.logger.Info("Call deferred by a conversation about another invoice", "step", step.Name, "until", res.NotBefore)
		return true, nil
	}
	c.st.Deferred = nil
	c.st.Skipped = append(c.st.Skipped, a.Skip...)
	c.st.StepsDone = a.Step + 1
	if res.Status != "open" && res.Status != "snoozed" {
		// The task was finished before this run waited for it (an earlier run's): the
		// step is done, there is nothing to wait for.
		c.logger.Warn("The call task is already finished", "step", step.Name, "task_id", res.TaskID, "status", res.Status)
		return true, nil
	}
	if !res.Due.IsZero() {
		due = res.Due // an earlier attempt opened it: its due time stands
	}
	c.st.Call = &collection.CallWait{TaskID: res.TaskID, Step: step.Name, OpenedAt: now, Due: due, OnTimeout: step.TimeoutAction()}
	c.logger.Info("Call task opened", "step", step.Name, "task_id", res.TaskID, "due", due)
	return true, nil
}

// callTimedOut closes the open call task nobody completed in time and applies the
// step's on_timeout.
func (c *collector) callTimedOut(ctx workflow.Context) error {
	w := *c.st.Call
	now := workflow.Now(ctx)
	req := invoiceapi.CloseCallTaskRequest{TaskID: w.TaskID, Reason: "no outcome before the call step's timeout", At: now}
	var res invoiceapi.CallTaskResult
	if err := c.ledgerCall(ctx, "close the call task of "+w.Step, invoiceapi.ActivityCloseCallTask, req, &res); err != nil {
		if !isErrorType(err, invoiceapi.ErrTypeBadRequest) {
			return fmt.Errorf("closing call task %d: %w", w.TaskID, err)
		}
		c.logger.Error("The ledger refused to close the call task", "task_id", w.TaskID, "error", err)
	}
	c.st.Call = nil
	c.logger.Info("Call step timed out", "step", w.Step, "task_id", w.TaskID, "on_timeout", w.OnTimeout)
	if w.OnTimeout == policy.OnTimeoutEscalate && c.pol.Escalation != nil && !c.st.EscalationRejected &&
		c.st.Escalation == nil && !c.st.Held() {
		return c.perform(ctx, collection.Action{Kind: collection.ActionEscalate, At: now})
	}
	return nil
}

// validateCallOutcome refuses, before it enters history, an outcome for a task the
// invoice does not wait for, an unknown outcome, and a promise or dispute the
// invoice's state would refuse.
func (c *collector) validateCallOutcome(ctx workflow.Context, in invoiceapi.CallOutcomeInput) error {
	if w := c.st.Call; w == nil || w.TaskID != in.TaskID || c.st.Status.Terminal() {
		return invoiceapi.EncodeError(&invoiceapi.ConflictError{Field: "task_id",
			Reason: fmt.Sprintf("invoice %s is %s and waits for no call task %d", c.inv.ID, c.st.Status, in.TaskID)})
	}
	switch {
	case !slices.Contains(collection.CallOutcomes, in.Outcome):
		return invalid("outcome", "%q is not a call outcome; outcomes are %s", in.Outcome, strings.Join(collection.CallOutcomes, ", "))
	case utf8.RuneCountInString(in.Note) > maxCallNote || !utf8.ValidString(in.Note):
		return invalid("note", "must be valid text of at most %d characters", maxCallNote)
	case strings.ContainsFunc(in.Note, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }):
		// The ledger stores no such note: accepted here, its write would fail for ever.
		return invalid("note", "must not contain control characters other than line breaks and tabs")
	case in.Outcome != collection.CallPromised && (in.PromiseDate != "" || in.PromiseAmount != 0):
		return invalid("promise", "is only for the outcome %s", collection.CallPromised)
	case in.Outcome == collection.CallPromised && in.PromiseDate == "":
		return invalid("promise.date", "is required when the customer promised")
	case in.PromiseAmount < 0:
		return invalid("promise.amount", "must be greater than zero")
	}
	if err := checkBy(in.By); err != nil {
		return err
	}
	switch in.Outcome {
	case collection.CallPromised:
		p, err := c.callPromise(ctx, in)
		if err != nil {
			return err
		}
		return promiseRejection(c.st.CheckPromise(&c.inv, p, workflow.Now(ctx), c.inv.Currency))
	case collection.CallDisputed:
		if c.st.Dispute != nil {
			return nil // disputed already: the open dispute stands
		}
		_, err := c.st.CheckDispute(callDisputeID(in.TaskID))
		return rejection(err)
	}
	return nil
}

// promiseRejection names a promise's fields as the call outcome has them.
func promiseRejection(err error) error {
	var inv *collection.InvalidError
	if errors.As(err, &inv) && (inv.Field == "date" || inv.Field == "amount") {
		return invoiceapi.EncodeError(&invoiceapi.InvalidError{Field: "promise." + inv.Field, Reason: inv.Reason})
	}
	return rejection(err)
}

// callPromise is the promise of a promised outcome: the whole balance unless it
// names an amount.
func (c *collector) callPromise(ctx workflow.Context, in invoiceapi.CallOutcomeInput) (collection.Promise, error) {
	if _, err := collection.ParseDate(in.PromiseDate); err != nil {
		return collection.Promise{}, invalid("promise.date", "%v", err)
	}
	d, until, err := collection.ParseDeadline(in.PromiseDate, c.inv.Location())
	if err != nil {
		return collection.Promise{}, invalid("promise.date", "%v", err)
	}
	amount := in.PromiseAmount
	if amount == 0 {
		amount = c.st.Balance
	}
	return collection.Promise{Date: d, Until: until, Amount: amount, MadeAt: workflow.Now(ctx), By: in.By}, nil
}

func callDisputeID(taskID int64) string { return fmt.Sprintf("call-%d", taskID) }

// callOutcome applies a call's outcome: the attempt counts for the call rules; a
// promise is recorded as the promise update records one; a dispute opens; a wrong
// number opts the phone out of calls and SMS. The task's completion (the outcome and
// note on the customer's timeline) is in the ledger before the answer leaves.
func (c *collector) callOutcome(ctx workflow.Context, in invoiceapi.CallOutcomeInput) (invoiceapi.EventResult, error) {
	now := workflow.Now(ctx)
	w := *c.st.Call
	c.st.Call = nil
	c.st.CallAttempts = append(c.st.CallAttempts, collection.CallAttempt{At: now, Outcome: in.Outcome, Conversation: collection.IsConversation(in.Outcome)})
	details := map[string]any{"task_id": in.TaskID, "step": w.Step, "outcome": in.Outcome}
	var events []collection.Event
	completion := invoiceapi.CallCompletion{
		TaskID: in.TaskID, InvoiceID: c.inv.ID, CustomerID: c.inv.Customer.ID, Outcome: in.Outcome, Note: in.Note,
		PromiseDate: in.PromiseDate, By: in.By, At: now,
	}
	switch in.Outcome {
	case collection.CallPromised:
		p, _ := c.callPromise(ctx, in) // checked by the validator
		e := c.st.MakePromise(&c.inv, p)
		e.Reason = "promised on a call"
		events = append(events, e)
		completion.PromiseAmount = p.Amount
		details["date"], details["amount_minor"] = in.PromiseDate, p.Amount
	case collection.CallDisputed:
		if c.st.Dispute == nil {
			reason := "disputed on a call"
			if note := strings.TrimSpace(in.Note); note != "" {
				reason += ": " + truncateRunes(note, maxReason-len(reason)-2)
			}
			events = append(events, c.st.OpenDispute(collection.Dispute{ID: callDisputeID(in.TaskID), Reason: reason, OpenedAt: now, By: in.By}))
			details["dispute_id"] = callDisputeID(in.TaskID)
		}
	case collection.CallWrongNumber:
		for _, ch := range []policy.Channel{policy.Call, policy.SMS} {
			if !c.st.IsOptedOut(ch) {
				c.st.OptedOut = append(c.st.OptedOut, ch)
			}
		}
		completion.Phone = c.inv.Customer.Phone
	}
	c.st.DeriveStatus()
	c.wake.SendAsync(true)
	c.logger.Info("Call outcome applied", "task_id", in.TaskID, "outcome", in.Outcome)
	if err := c.ledgerCall(ctx, "record the outcome of call task "+fmt.Sprint(in.TaskID), invoiceapi.ActivityCompleteCallTask, completion, nil); err != nil {
		if !isErrorType(err, invoiceapi.ErrTypeBadRequest) && !temporal.IsCanceledError(err) {
			return c.result(false), fmt.Errorf("recording the outcome of call task %d: %w", in.TaskID, err)
		}
		c.logger.Error("The ledger refused the call's outcome", "task_id", in.TaskID, "error", err)
	}
	if len(events) > 0 {
		return c.result(false), c.recordEvents(ctx, events, details)
	}
	return c.result(false), nil
}

// truncateRunes cuts s to at most n characters.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:max(n, 0)])
}
