package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/workflows/accountapi"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// The invoice's side of consolidated reminders (policy consolidate, docs/accounts.md):
// the invoice keeps its own policy timeline, and at a reminder step hands the reminder
// to the customer's account workflow, which sends one message per customer, channel
// and window and answers each invoice with the outcome.

// accountAnswerWithin bounds the wait for the account's answer: its gather delay plus
// as long as a send may retry. Past it the reminder is recorded as unknown (the
// account may have sent it), as a send whose outcome is unknown is.
const accountAnswerWithin = sendGiveUpAfter + 2*time.Hour

// requestStartToClose bounds one UpdateWithStart on the account.
const requestStartToClose = 30 * time.Second

// attachToAccount starts the customer's account if needed and attaches the invoice,
// so two invoices issued at the same instant for a new customer start one account.
func (c *collector) attachToAccount(ctx workflow.Context) error {
	next := collection.NextReminderAt(&c.pol, &c.inv, &c.st, workflow.Now(ctx))
	req := accountapi.AttachRequest{CustomerID: c.inv.Customer.ID, InvoiceID: c.inv.ID, Next: accountapi.NextAt(next, c.inv.Location())}
	if err := workflow.ExecuteActivity(c.accountOptions(ctx, "attach to account "+accountapi.WorkflowID(c.inv.Customer.ID)),
		invoiceapi.ActivityAttachToAccount, req).Get(ctx, nil); err != nil {
		return fmt.Errorf("attaching invoice %s to its customer's account: %w", c.inv.ID, err)
	}
	c.st.Account, c.st.AccountNext = true, next
	return nil
}

// tellAccount tells the customer's account when the invoice's next reminder falls due,
// when that moved other than the last attach or request said: a hold stops it, a
// resume or the contact budget's deferral moves it, a step went without the account
// (by letter, or no channel reachable), or the policy stopped consolidating. A window
// of the account waits for the invoices it expects (account.Due); this keeps that
// expectation true without a signal per step.
func (c *collector) tellAccount(ctx workflow.Context, now time.Time) {
	if !c.st.Account {
		return
	}
	var next time.Time
	if c.pol.Consolidates() {
		next = collection.NextReminderAt(&c.pol, &c.inv, &c.st, now)
	}
	if next.Equal(c.st.AccountNext) {
		return
	}
	c.st.AccountNext = next
	err := workflow.SignalExternalWorkflow(ctx, accountapi.WorkflowID(c.inv.Customer.ID), "", accountapi.SignalExpect,
		accountapi.Expect{InvoiceID: c.inv.ID, Next: accountapi.NextAt(next, c.inv.Location())}).Get(ctx, nil)
	if err != nil {
		c.logger.Info("The customer's account was not there to hear the next reminder", "error", err)
	}
}

// followingReminder is when the invoice's next reminder falls due once step a is done,
// as the request tells the account. Should the step end otherwise (deferred, or the
// weekly cap moves the next), tellAccount corrects it.
func (c *collector) followingReminder(a collection.Action, now time.Time) accountapi.NextReminder {
	s := c.st
	s.StepsDone, s.Deferred = a.Step+1, nil
	return accountapi.NextAt(collection.NextReminderAt(&c.pol, &c.inv, &s, now), c.inv.Location())
}

// detachFromAccount tells the account the invoice's collection closed. An account that
// is gone has nothing to forget: the error is logged only.
func (c *collector) detachFromAccount(ctx workflow.Context) {
	if !c.st.Account {
		return
	}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	err := workflow.SignalExternalWorkflow(dctx, accountapi.WorkflowID(c.inv.Customer.ID), "", accountapi.SignalDetach,
		accountapi.Detach{InvoiceID: c.inv.ID}).Get(dctx, nil)
	if err != nil {
		c.logger.Info("The customer's account was not there to detach from", "error", err)
	}
}

// accountOptions: the account's updates retry until Temporal takes them; a request the
// account refuses (BadRequest) is final.
func (c *collector) accountOptions(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: requestStartToClose,
		Summary:             summary,
		RetryPolicy:         ledgerRetryPolicy(),
	})
}

// remindViaAccount is remind for a policy that consolidates: the step goes to the
// account on the first reachable channel, and on to the next when the message failed
// there.
func (c *collector) remindViaAccount(ctx workflow.Context, a collection.Action) error {
	step := c.pol.Steps[a.Step]
	channels := c.reachable(ctx, step)
	done := func() {
		c.noteUnreachableLetter(ctx, step)
		c.st.Deferred = nil
		c.st.Skipped = append(c.st.Skipped, a.Skip...)
		c.st.StepsDone = a.Step + 1
	}
	if len(channels) == 0 {
		done()
		c.st.Notices = append(c.st.Notices, collection.Notice{
			Step: step.Name, Status: collection.NoticeUndeliverable, SentAt: workflow.Now(ctx),
			Error: "the customer has no address on any of the step's channels",
		})
		return nil
	}
	for i, ch := range channels {
		if ch == policy.Letter { // never consolidated: the invoice sends its own letter
			if i == 0 {
				done()
			}
			if !c.remindByLetter(ctx, a, step, i == len(channels)-1, c.letterSummary(a, step)) {
				return nil
			}
			continue
		}
		o, err := c.requestReminder(ctx, a, step, ch)
		if err != nil {
			return err
		}
		if o.Status == invoiceapi.OutcomeDeferred {
			at, _ := collection.NextAllowedContact(&c.pol, &c.inv, o.NotBefore)
			c.st.Deferred = &collection.Deferral{Step: a.Step, At: at, Reason: o.Reason}
			c.logger.Info("Reminder deferred by the customer's contact budget", "step", step.Name, "until", at)
			return nil
		}
		if i == 0 {
			done()
		}
		n := collection.Notice{Step: step.Name, Channel: ch, SentAt: workflow.Now(ctx), MessageKey: o.MessageKey, Error: o.Reason}
		switch o.Status {
		case invoiceapi.OutcomeSent:
			n.Status, n.ProviderID, n.SentAt, n.Error = collection.NoticeSent, o.ProviderID, o.SentAt, ""
		case invoiceapi.OutcomeWithheld:
			n.Status = collection.NoticeWithheld
		case invoiceapi.OutcomeUnknown:
			n.Status = collection.NoticeUnknown
		default:
			n.Status = collection.NoticeFailed
			if i == len(channels)-1 {
				n.Status = collection.NoticeUndeliverable
			}
			c.logger.Warn("Reminder failed", "step", step.Name, "channel", ch, "error", o.Reason)
		}
		c.st.Notices = append(c.st.Notices, withMove(n, a))
		if n.Status != collection.NoticeFailed {
			return nil
		}
	}
	return nil
}

// requestReminder hands one reminder to the account and waits for its answer. When
// the invoice leaves the reminding states meanwhile (paid, disputed, promised,
// paused...), it withdraws the reminder; the account then leaves it out of the
// message, or answers sent if the message had already been claimed with it.
func (c *collector) requestReminder(ctx workflow.Context, a collection.Action, step policy.Step, ch policy.Channel) (invoiceapi.ReminderOutcome, error) {
	withheld := invoiceapi.ReminderOutcome{Status: invoiceapi.OutcomeWithheld, Reason: errWithheld.Error()}
	// The account's claim reads the invoice's status from the ledger: let this run's
	// queued writes land first.
	if err := workflow.Await(ctx, func() bool { return c.ledgerIdle() || c.remindersStopped() }); err != nil {
		return withheld, err
	}
	if c.remindersStopped() {
		return withheld, nil
	}
	req := c.reminderRequest(step, ch, a.At)
	req.Next = c.followingReminder(a, workflow.Now(ctx))
	if err := req.Validate(); err != nil {
		return invoiceapi.ReminderOutcome{Status: invoiceapi.OutcomeFailed, Reason: "request reminder " + req.Key() + ": " + err.Error(),
			ErrorType: invoiceapi.ErrTypeBadRequest}, nil
	}
	c.st.Account = true
	// The account is normally running (the invoice attached to it and keeps it open):
	// a signal hands the reminder over without an activity. When the account is not
	// there (it closed, or was terminated), the activity starts it with the request.
	if err := workflow.SignalExternalWorkflow(ctx, accountapi.WorkflowID(c.inv.Customer.ID), "", accountapi.SignalRemind, req).Get(ctx, nil); err != nil {
		if ctx.Err() != nil {
			return withheld, nil
		}
		c.logger.Info("The customer's account did not take the reminder's signal; starting it with the request", "error", err)
		err = workflow.ExecuteActivity(c.accountOptions(ctx, fmt.Sprintf("ask the account for reminder %d of %d (%s) by %s", a.Step+1, len(c.pol.Steps), step.Name, ch)),
			invoiceapi.ActivityRequestReminder, req).Get(ctx, nil)
		if err != nil {
			if temporal.IsCanceledError(err) {
				return withheld, nil
			}
			return invoiceapi.ReminderOutcome{Status: invoiceapi.OutcomeFailed, Reason: failureMessage(err), ErrorType: invoiceapi.ErrTypeBadRequest}, nil
		}
	}
	c.st.AccountNext = req.Next.At // the account took it with the request
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	timedOut := false
	timer := workflow.NewTimerWithOptions(timerCtx, req.Gather+accountAnswerWithin, workflow.TimerOptions{
		Summary: "the account answers " + step.Name + " by " + string(ch),
	})
	withdrawn := false
	for {
		if !withdrawn && c.remindersStopped() {
			withdrawn = true
			c.logger.Info("Withdrawing a reminder the account has not sent yet", "step", step.Name, "channel", ch, "status", c.st.Status)
			_ = workflow.SignalExternalWorkflow(ctx, accountapi.WorkflowID(c.inv.Customer.ID), "", accountapi.SignalWithdraw,
				accountapi.Withdraw{InvoiceID: c.inv.ID, Reason: "the invoice is " + string(c.st.Status)}).Get(ctx, nil)
		}
		var o invoiceapi.ReminderOutcome
		got := false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(c.outcomes, func(rc workflow.ReceiveChannel, _ bool) {
			rc.Receive(ctx, &o)
			got = o.Step == step.Name && o.Channel == ch
			if !got {
				c.logger.Warn("Ignoring the account's answer to another reminder", "step", o.Step, "channel", o.Channel)
			}
		})
		sel.AddFuture(timer, func(workflow.Future) { timedOut = true })
		sel.AddReceive(c.wake, func(rc workflow.ReceiveChannel, _ bool) { rc.Receive(ctx, nil) })
		sel.Select(ctx)
		switch {
		case got:
			return o, nil
		case timedOut:
			return invoiceapi.ReminderOutcome{Status: invoiceapi.OutcomeUnknown, Reason: "the customer's account did not answer"}, nil
		case ctx.Err() != nil:
			return withheld, nil
		}
	}
}

func (c *collector) reminderRequest(step policy.Step, ch policy.Channel, at time.Time) accountapi.ReminderRequest {
	cu := c.inv.Customer
	r := accountapi.ReminderRequest{
		CustomerID: cu.ID, Channel: ch,
		To: accountapi.Recipient{Name: cu.Name, Email: cu.Email, Phone: cu.Phone, Locale: cu.Locale, Timezone: cu.Timezone},
		Line: accountapi.Line{
			InvoiceID: c.inv.ID, Currency: c.inv.Currency, AmountDue: c.st.Balance, Fees: c.st.Fees + c.st.Compensation, Interest: c.st.Interest,
			DueDate: c.inv.DueDate.String(), PaymentURL: c.inv.PaymentURL, Step: step.Name, Template: step.Template,
			Terms: accountapi.Terms{PolicyID: c.pol.ID, Anchor: c.pol.Anchor, LateFee: c.pol.LateFee, Interest: c.pol.Interest,
				GracePeriod: c.pol.GracePeriod, Compensation: c.pol.Compensation},
			NotAfter: c.handOffAt(),
		},
		Gather: c.pol.GatherDelay(),
		At:     at,
	}
	// The amount due includes the fees and interest booked; payments may have
	// brought it below them, and the message then shows what is still owed.
	l := &r.Line
	l.Fees = min(l.Fees, l.AmountDue)
	l.Interest = min(l.Interest, l.AmountDue-l.Fees)
	if ct := c.pol.Contact; ct != nil {
		r.Budget = accountapi.Budget{MaxPerDay: ct.MaxPerCustomerPerDay, MaxPerWeek: ct.MaxPerCustomerPerWeek}
	}
	return r
}
