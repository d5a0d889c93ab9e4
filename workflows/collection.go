package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/templates"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// How to change this workflow safely: a change to the commands it issues (timers,
// activities, markers, upserts) must keep the runs that are open replaying. Read
// docs/workflow-changes.md before changing it: patching with workflow.GetVersion or
// worker deployment versioning, and the replay corpus in testdata/histories that
// `make test` replays.

// Timeouts and retry shapes, named so their reasons stay next to them.
const (
	// sendStartToClose bounds one provider call plus the ledger writes around it. After
	// a worker crash the send is retried this long after it started, so it is short.
	sendStartToClose = 15 * time.Second
	// sendGiveUpAfter: a provider that stays down this long marks the notice failed and
	// dunning goes on, rather than stalling the invoice forever.
	sendGiveUpAfter = 24 * time.Hour
	// ledgerStartToClose bounds one ledger write; ledger writes retry until they succeed.
	ledgerStartToClose = 10 * time.Second
	// ledgerLocalFor is how long a ledger write retries as a local activity, inside the
	// workflow task, before it falls back to a regular activity that retries without
	// limit (see ledgerCall).
	ledgerLocalFor = time.Minute
)

// historyBound continues as new before the history grows large even if the server has
// not suggested it yet; stepBound does the same after that many actions and events in
// one run (a cheap proxy that also works where the history length is unknown, as in
// the test environment). Variables so tests can make a run continue as new quickly.
var (
	historyBound = 10_000
	stepBound    = 1_000
)

// InvoiceCollection is the collection workflow of one invoice (id "invoice-<id>"): it
// waits for the next action of the invoice's policy, does it, and repeats until the
// invoice is paid. Payments arrive as the "payment" update; the "state" query returns
// the whole state.
func InvoiceCollection(ctx workflow.Context, in invoiceapi.CollectionInput) (invoiceapi.CollectionResult, error) {
	c := &collector{
		inv:    in.Invoice,
		pol:    in.Policy,
		logger: log.With(workflow.GetLogger(ctx), "invoice_id", in.Invoice.ID),
		wake:   workflow.NewBufferedChannel(ctx, 1),
	}
	c.startLedgerWriter(ctx)
	if in.State != nil {
		c.st = *in.State
		c.st.Normalize()
	} else {
		c.st = collection.NewState(&c.inv)
	}
	// A query may come before the main loop plans (attaching to the account takes an
	// activity): it reads the plan, never a zero action.
	c.next = collection.Next(&c.pol, &c.inv, &c.st, workflow.Now(ctx))
	if err := c.registerHandlers(ctx); err != nil {
		return invoiceapi.CollectionResult{}, err
	}
	c.outcomes = workflow.GetSignalChannel(ctx, invoiceapi.SignalReminderOutcome)
	if in.State == nil && c.pol.Consolidates() {
		if err := c.attachToAccount(ctx); err != nil {
			return invoiceapi.CollectionResult{}, err
		}
	}
	res, err := c.run(ctx)
	if !workflow.IsContinueAsNewError(err) {
		c.detachFromAccount(ctx)
	}
	return res, err
}

// collector carries one run's state; handlers and the main loop share it (Temporal runs
// them on one thread, one at a time).
type collector struct {
	inv    collection.Invoice
	pol    policy.Policy
	st     collection.State
	next   collection.Action
	logger log.Logger
	// wake is signalled by handlers when the state changed, so the main loop
	// recomputes its next action instead of sleeping on a stale timer.
	wake workflow.Channel
	// optOuts and deliveries receive the opt-out and delivery signals; the main loop
	// handles them.
	optOuts    workflow.ReceiveChannel
	optIns     workflow.ReceiveChannel
	deliveries workflow.ReceiveChannel
	// outcomes receive the customer account's answers to reminder requests (see
	// accountremind.go).
	outcomes workflow.ReceiveChannel
	// statusRecorded: the final status was written to the ledger by the event that
	// set it (cancel, write-off, a settling credit note), so the end of the run does
	// not write it again.
	statusRecorded bool
	// closing: the run is ending; updates that would re-open it are refused.
	closing bool
	// sleep is the timer of the next action; it outlives an event that leaves the
	// next action as it was (see waitForTimerOrEvent).
	sleep actionTimer
	// ledgerQueue holds the ledger writes of handlers for the writer coroutine (see
	// ledgerwrites.go).
	ledgerQueue []ledgerWrite
	// steps counts the main loop's turns in this run (see stepBound).
	steps int
}

func (c *collector) run(ctx workflow.Context) (invoiceapi.CollectionResult, error) {
	for {
		res, err := c.collect(ctx)
		if err != nil {
			return res, err
		}
		if !c.st.Status.Terminal() {
			// A refund re-opened the invoice while the run was recording its end.
			c.statusRecorded = false
			continue
		}
		if res.Status != collection.StatusPaid || c.pol.RefundWindow.Duration() <= 0 {
			return res, nil
		}
		// A paid invoice stays open for the policy's refund window: a refund or
		// chargeback in it re-opens the balance and dunning starts again. The last
		// action's timer would only wake it for nothing meanwhile.
		c.sleep.stop()
		if reopened := c.awaitRefundWindow(ctx); !reopened {
			c.closing = true
			if err := workflow.Await(ctx, func() bool { return c.settled(ctx) }); err != nil {
				return invoiceapi.CollectionResult{}, err
			}
			if !c.st.Status.Terminal() {
				continue // a refund slipped in while the window closed
			}
			return res, nil
		}
		c.statusRecorded = false
	}
}

// awaitRefundWindow waits until the refund window closes (false) or a refund re-opens
// the invoice (true).
func (c *collector) awaitRefundWindow(ctx workflow.Context) bool {
	for c.st.Status.Terminal() {
		closes := c.st.ClosedAt.Add(c.pol.RefundWindow.Duration())
		now := workflow.Now(ctx)
		if !now.Before(closes) {
			return false
		}
		timerCtx, cancelTimer := workflow.WithCancel(ctx)
		timer := workflow.NewTimerWithOptions(timerCtx, closes.Sub(now), workflow.TimerOptions{
			Summary: "refund window closes at " + closes.In(c.inv.Location()).Format("2006-01-02 15:04:05") + " " + c.inv.Customer.Timezone,
		})
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(timer, func(workflow.Future) {})
		sel.AddReceive(c.wake, func(ch workflow.ReceiveChannel, _ bool) { ch.Receive(ctx, nil) })
		sel.Select(ctx)
		cancelTimer()
		if ctx.Err() != nil {
			return false
		}
	}
	return true
}

// collect runs dunning until the invoice reaches a terminal status.
func (c *collector) collect(ctx workflow.Context) (invoiceapi.CollectionResult, error) {
	for !c.st.Status.Terminal() {
		c.steps++
		c.drainSignals(ctx)
		now := workflow.Now(ctx)
		c.next = collection.Next(&c.pol, &c.inv, &c.st, now)
		c.tellAccount(ctx, now)
		c.publish(ctx)
		if c.next.Kind != collection.ActionNone && !c.next.At.After(now) {
			if err := c.perform(ctx, c.next); err != nil {
				return invoiceapi.CollectionResult{}, err
			}
			if ctx.Err() != nil {
				return c.cancelled(ctx) // cancelled while it acted (a withdrawn send)
			}
			continue
		}
		if c.shouldContinueAsNew(ctx) {
			return invoiceapi.CollectionResult{}, c.continueAsNew(ctx)
		}
		c.waitForTimerOrEvent(ctx, now)
		if ctx.Err() != nil {
			return c.cancelled(ctx)
		}
	}
	c.next = collection.Action{Kind: collection.ActionNone}
	c.publish(ctx)
	// Let any update still recording its payment finish before the run closes.
	if err := workflow.Await(ctx, func() bool { return c.settled(ctx) }); err != nil {
		return invoiceapi.CollectionResult{}, err
	}
	if !c.statusRecorded {
		if err := c.recordStatus(ctx); err != nil {
			return invoiceapi.CollectionResult{}, err
		}
		c.statusRecorded = true
	}
	c.logger.Info("Collection finished", "status", c.st.Status)
	return invoiceapi.CollectionResult{Status: c.st.Status, Balance: c.st.Balance, Credit: c.st.Credit}, nil
}

// actionTimer is a pending timer for one next action: when it fires and what it says.
type actionTimer struct {
	future  workflow.Future
	cancel  workflow.CancelFunc
	at      time.Time
	summary string
}

// stop cancels the timer if it is pending (a fired one adds no event).
func (t *actionTimer) stop() {
	if t.cancel != nil {
		t.cancel()
	}
	*t = actionTimer{}
}

// waitForTimerOrEvent sleeps until the next action is due or a handler changed the
// state. The timer stays when an event leaves the next action as it was (a delivery
// report, a partial payment), so an event costs no TimerCanceled and TimerStarted; it
// is cancelled when the next action moves. A run that ends leaves its timer pending:
// it closes with the run, and cancelling it would only add a TimerCanceled event.
func (c *collector) waitForTimerOrEvent(ctx workflow.Context, now time.Time) {
	if c.next.Kind == collection.ActionNone {
		c.sleep.stop()
	} else if summary := collection.Describe(&c.pol, &c.inv, c.next); c.sleep.future == nil || !c.next.At.Equal(c.sleep.at) || summary != c.sleep.summary {
		c.sleep.stop()
		timerCtx, cancel := workflow.WithCancel(ctx)
		c.sleep = actionTimer{
			future: workflow.NewTimerWithOptions(timerCtx, c.next.At.Sub(now), workflow.TimerOptions{Summary: summary}),
			cancel: cancel, at: c.next.At, summary: summary,
		}
	}
	sel := workflow.NewSelector(ctx)
	if c.sleep.future != nil {
		sel.AddFuture(c.sleep.future, func(workflow.Future) { c.sleep = actionTimer{} })
	}
	sel.AddReceive(c.wake, func(ch workflow.ReceiveChannel, _ bool) { ch.Receive(ctx, nil) })
	sel.AddReceive(c.optOuts, func(workflow.ReceiveChannel, bool) {}) // handled at the loop's top
	sel.AddReceive(c.deliveries, func(workflow.ReceiveChannel, bool) {})
	sel.AddReceive(c.optIns, func(workflow.ReceiveChannel, bool) {})
	sel.Select(ctx)
}

func (c *collector) perform(ctx workflow.Context, a collection.Action) error {
	switch a.Kind {
	case collection.ActionOverdue:
		c.st.PastDue = true
		c.st.DeriveStatus()
		return c.recordStatus(ctx)
	case collection.ActionRemind:
		if st := c.pol.Steps[a.Step]; st.Approval && !c.st.StepApproved(st.Name) {
			_, def := st.ApprovalRules()
			e := c.st.RequestStepApproval(&c.pol, a, workflow.Now(ctx))
			return c.recordEvents(ctx, []collection.Event{e}, map[string]any{"step": st.Name, "default": def})
		}
		return c.remind(ctx, a)
	case collection.ActionEscalate:
		if ap := c.pol.Escalation.Approval; ap != nil && ap.Required && !c.st.EscalationApproved {
			e := c.st.RequestApproval(workflow.Now(ctx), *ap)
			return c.recordEvents(ctx, []collection.Event{e}, map[string]any{"to": string(c.pol.Escalation.To), "default": ap.Default})
		}
		return c.escalate(ctx, a)
	case collection.ActionResume:
		e := c.st.Resume(workflow.Now(ctx), "system", "the pause's until-date was reached")
		return c.recordEvents(ctx, []collection.Event{e}, nil)
	case collection.ActionPromiseDue:
		return c.promiseBroken(ctx)
	case collection.ActionInstallmentReminder:
		return c.remindInstallment(ctx, a)
	case collection.ActionInstallmentDue:
		return c.planBroken(ctx, a)
	case collection.ActionFallback:
		return c.fallback(ctx, a)
	case collection.ActionCharge:
		return c.recordEvents(ctx, c.st.BookCharges(&c.pol, &c.inv, workflow.Now(ctx), nil, true), nil)
	case collection.ActionCallTimeout:
		return c.callTimedOut(ctx)
	case collection.ActionApprovalTimeout:
		def := c.st.Approval.Default
		e := c.st.Decide(def == policy.DecisionApprove, workflow.Now(ctx), "system", "no decision before the deadline; the policy's default is "+def)
		return c.recordEvents(ctx, []collection.Event{e}, map[string]any{"default": def})
	default:
		return fmt.Errorf("unknown action %q", a.Kind)
	}
}

// remind sends policy step a.Step on the first channel that works, falling back to the
// step's next channel when a provider says the recipient can never be reached.
func (c *collector) remind(ctx workflow.Context, a collection.Action) error {
	if c.pol.Steps[a.Step].IsCall() {
		if called, err := c.call(ctx, a); called || err != nil {
			return err
		}
	}
	if c.pol.Consolidates() {
		return c.remindViaAccount(ctx, a)
	}
	step := c.pol.Steps[a.Step]
	if ok, err := c.reserveContact(ctx, a, step); err != nil || !ok {
		return err
	}
	c.st.Deferred = nil
	c.st.Skipped = append(c.st.Skipped, a.Skip...)
	c.st.StepsDone = a.Step + 1
	c.noteUnreachableLetter(ctx, step)
	channels := c.reachable(ctx, step)
	if len(channels) == 0 {
		c.st.Notices = append(c.st.Notices, collection.Notice{
			Step: step.Name, Status: collection.NoticeUndeliverable, SentAt: workflow.Now(ctx),
			Error: "the customer has no address on any of the step's channels",
		})
		return nil
	}
	for i, ch := range channels {
		if ch == policy.Letter {
			if !c.remindByLetter(ctx, a, step, i == len(channels)-1, c.letterSummary(a, step)) {
				return nil
			}
			continue
		}
		req := c.noticeRequest(step, ch, a.At)
		req.NotAfter = c.handOffAt()
		res, err := c.sendNotice(ctx, ch, fmt.Sprintf("reminder %d of %d (%s) by %s", a.Step+1, len(c.pol.Steps), step.Name, ch), req, c.remindersStopped)
		if c.withheld(ctx, err, step.Name, ch) {
			return nil
		}
		if err == nil {
			c.st.Notices = append(c.st.Notices, withMove(collection.Notice{
				Step: step.Name, Channel: ch, Status: collection.NoticeSent, SentAt: res.SentAt, ProviderID: res.ProviderID,
			}, a))
			return nil
		}
		status := collection.NoticeFailed
		if i == len(channels)-1 {
			status = collection.NoticeUndeliverable
		}
		unknown := isErrorType(err, invoiceapi.ErrTypeOutcomeUnknown)
		if unknown {
			status = collection.NoticeUnknown
		}
		c.logger.Warn("Reminder failed", "step", step.Name, "channel", ch, "error", err)
		c.st.Notices = append(c.st.Notices, withMove(collection.Notice{
			Step: step.Name, Channel: ch, Status: status, SentAt: workflow.Now(ctx), Error: failureMessage(err),
		}, a))
		if unknown {
			return nil // the customer may have it: another channel could duplicate it
		}
	}
	return nil
}

// reserveContact asks the ledger whether the customer may get one more reminder today
// across all their invoices, when the policy caps it. Refused, the reminder is
// deferred to the next allowed moment of a later day (the main loop re-plans).
func (c *collector) reserveContact(ctx workflow.Context, a collection.Action, step policy.Step) (bool, error) {
	if c.pol.Contact == nil || c.pol.Contact.MaxPerCustomerPerDay <= 0 {
		return true, nil
	}
	now := workflow.Now(ctx)
	req := invoiceapi.ContactCapRequest{
		CustomerID: c.inv.Customer.ID, InvoiceID: c.inv.ID, Step: step.Name, Timezone: c.inv.Customer.Timezone,
		At: now, MaxPerDay: c.pol.Contact.MaxPerCustomerPerDay,
	}
	var res invoiceapi.ContactCapResult
	if err := c.ledgerCall(ctx, "daily contact cap for "+step.Name, invoiceapi.ActivityReserveContact, req, &res); err != nil {
		return false, fmt.Errorf("reserving a contact for %s: %w", step.Name, err)
	}
	if res.Allowed {
		return true, nil
	}
	at, why := collection.AfterDailyCap(&c.pol, &c.inv, now)
	c.st.Deferred = &collection.Deferral{Step: a.Step, At: at, Reason: why}
	c.logger.Info("Reminder deferred by the daily contact cap", "step", step.Name, "until", at)
	return false, nil
}

// reachable lists the step's channels the customer can be reached on and has not
// opted out of, in the customer's order of preference when they chose one (the
// ledger's, read when there is a choice to make), else in the step's.
func (c *collector) reachable(ctx workflow.Context, step policy.Step) []policy.Channel {
	var out []policy.Channel
	for _, ch := range collection.ChannelsFor(step, &c.inv.Customer) {
		if ch != policy.Call && !c.st.IsOptedOut(ch) { // a call is a task, not a message (calls.go)
			out = append(out, ch)
		}
	}
	if len(out) < 2 {
		return out
	}
	var res invoiceapi.ChannelOrderResult
	if err := c.ledgerCall(ctx, "the customer's channel order", invoiceapi.ActivityChannelOrder,
		invoiceapi.ChannelOrderRequest{CustomerID: c.inv.Customer.ID}, &res); err != nil {
		c.logger.Warn("Reading the customer's channel order failed; the step's order holds", "step", step.Name, "error", err)
		return out
	}
	return collection.InCustomerOrder(out, res.Order)
}

// sendOptions: a send on channel ch retries with backoff for a day, then the notice is
// marked failed and dunning goes on; errors that retrying cannot fix are not retried.
// It runs on the provider's task queue, whose rate limit holds across all workers
func (c *collector) sendOptions(ctx workflow.Context, ch policy.Channel, summary string) workflow.Context {
	return workflow.WithActivityOptions(workflow.WithTaskQueue(ctx, invoiceapi.NoticeTaskQueue(ch)), workflow.ActivityOptions{
		StartToCloseTimeout:    sendStartToClose,
		ScheduleToCloseTimeout: sendGiveUpAfter,
		WaitForCancellation:    true,
		Summary:                summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        5 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        10 * time.Minute,
			NonRetryableErrorTypes: []string{invoiceapi.ErrTypeRecipientInvalid, invoiceapi.ErrTypeBadRequest, invoiceapi.ErrTypeOutcomeUnknown},
		},
	})
}

// fallback sends a step again on the channel queued after a delivery failure.
func (c *collector) fallback(ctx workflow.Context, a collection.Action) error {
	c.st.Fallbacks = c.st.Fallbacks[1:]
	step := c.pol.Steps[a.Step]
	if c.st.IsOptedOut(a.Channel) || !c.inv.Customer.Reachable(a.Channel) {
		return nil
	}
	if a.Channel == policy.Letter {
		c.remindByLetter(ctx, a, step, true, step.Name+" again by letter after a delivery failure")
		return nil
	}
	req := c.noticeRequest(step, a.Channel, a.At)
	req.NotAfter = c.handOffAt()
	res, err := c.sendNotice(ctx, a.Channel, fmt.Sprintf("%s again by %s after a delivery failure", step.Name, a.Channel), req, c.remindersStopped)
	if c.withheld(ctx, err, step.Name, a.Channel) {
		return nil
	}
	if err == nil {
		c.st.Notices = append(c.st.Notices, withMove(collection.Notice{
			Step: step.Name, Channel: a.Channel, Status: collection.NoticeSent, SentAt: res.SentAt, ProviderID: res.ProviderID,
		}, a))
		return nil
	}
	status := collection.NoticeUndeliverable
	if isErrorType(err, invoiceapi.ErrTypeOutcomeUnknown) {
		status = collection.NoticeUnknown
	}
	c.st.Notices = append(c.st.Notices, collection.Notice{Step: step.Name, Channel: a.Channel, Status: status, SentAt: workflow.Now(ctx), Error: failureMessage(err)})
	return nil
}

// sendNotice runs SendNotice and withdraws it as soon as stop reports that the
// invoice left the states in which this notice may go (paid, escalated, disputed,
// paused, cancelled...). A send that is being retried (its provider or the ledger is
// down) would otherwise reach the customer after the hand-off. The cancellation is
// waited for (WaitForCancellation), so a send that went out before it reached the
// activity is still recorded as sent. The activity checks again when it claims the
// notice, in the ledger, against the status recorded there and req.NotAfter.
func (c *collector) sendNotice(ctx workflow.Context, ch policy.Channel, summary string, req invoiceapi.NoticeRequest, stop func() bool) (invoiceapi.NoticeResult, error) {
	var res invoiceapi.NoticeResult
	// The claim reads the invoice's status from the ledger: let the writes queued
	// before this send land first, so it reads this run's latest.
	if err := workflow.Await(ctx, func() bool { return c.ledgerIdle() || stop() }); err != nil {
		return res, err
	}
	if stop() {
		return res, errWithheld
	}
	sctx, cancel := workflow.WithCancel(c.sendOptions(ctx, ch, summary))
	defer cancel()
	f := workflow.ExecuteActivity(sctx, invoiceapi.ActivitySendNotice, req)
	// An error here is the workflow's own cancellation, which cancels the send too.
	_ = workflow.Await(ctx, func() bool { return f.IsReady() || stop() })
	if !f.IsReady() {
		c.logger.Info("Withdrawing a notice still being sent", "step", req.Step, "channel", ch, "status", c.st.Status)
		cancel()
	}
	err := f.Get(ctx, &res)
	return res, err
}

// errWithheld: the invoice left the reminding states before the send was scheduled.
var errWithheld = errors.New("the invoice left the reminding states before the notice was sent")

// withheld records a notice that was not sent because the invoice left the reminding
// states (the workflow withdrew it, or the ledger refused it when it was claimed),
// and reports whether err was that. No other channel is tried then.
func (c *collector) withheld(ctx workflow.Context, err error, step string, ch policy.Channel) bool {
	if err == nil || !(errors.Is(err, errWithheld) || temporal.IsCanceledError(err) || isErrorType(err, invoiceapi.ErrTypeWithheld)) {
		return false
	}
	c.st.Notices = append(c.st.Notices, collection.Notice{
		Step: step, Channel: ch, Status: collection.NoticeWithheld, SentAt: workflow.Now(ctx), Error: failureMessage(err),
	})
	return true
}

// remindersStopped reports whether the invoice left the states in which a policy
// reminder goes out: closed, handed off, or held (dispute, pause, promise, plan or a
// pending approval). A reminder is only started outside them (see collection.Next).
func (c *collector) remindersStopped() bool {
	return c.st.Status.Terminal() || c.st.Escalation != nil || c.st.Held()
}

// handOffAt is when the policy hands the invoice off (its escalation, or the request
// to approve it); zero if it never does. No reminder goes out from then on, however
// long its send was retried: SendNotice refuses it in the ledger.
func (c *collector) handOffAt() time.Time {
	esc := c.pol.Escalation
	if esc == nil || c.st.EscalationRejected {
		return time.Time{}
	}
	return collection.StepTime(&c.pol, &c.inv, esc.After).Add(c.st.Shift)
}

func (c *collector) noticeRequest(step policy.Step, ch policy.Channel, at time.Time) invoiceapi.NoticeRequest {
	to := c.inv.Customer.Email
	if ch == policy.SMS {
		to = c.inv.Customer.Phone
	}
	return invoiceapi.NoticeRequest{
		InvoiceID: c.inv.ID, CustomerID: c.inv.Customer.ID, Step: step.Name, Channel: ch, Template: step.Template,
		To: to, CustomerName: c.inv.Customer.Name, Locale: c.inv.Customer.Locale, Currency: c.inv.Currency,
		Balance: c.st.Balance, DueDate: c.inv.DueDate.String(), PaymentURL: c.inv.PaymentURL, ScheduledAt: at,
		Terms: templates.TermsOf(&c.pol),
	}
}

func (c *collector) escalate(ctx workflow.Context, a collection.Action) error {
	esc := c.pol.Escalation
	req := invoiceapi.EscalationRequest{
		InvoiceID: c.inv.ID, CustomerID: c.inv.Customer.ID, To: esc.To, Currency: c.inv.Currency,
		Balance: c.st.Balance, DueDate: c.inv.DueDate.String(), At: a.At,
		SetStatus: true, // the hand-off records "escalated" in the same transaction
	}
	if err := c.ledgerCall(ctx, "escalate to "+string(esc.To), invoiceapi.ActivityEscalate, req, nil); err != nil {
		return fmt.Errorf("escalating invoice %s: %w", c.inv.ID, err)
	}
	c.st.Escalation = &collection.Escalation{To: esc.To, At: a.At, Balance: c.st.Balance}
	c.st.DeriveStatus()
	return nil
}

// cancelled ends the collection when the workflow is cancelled from Temporal (an
// operator's Cancel in the UI or CLI): the invoice is recorded as cancelled, through a
// context that survives the cancellation, and the run closes as cancelled.
func (c *collector) cancelled(ctx workflow.Context) (invoiceapi.CollectionResult, error) {
	c.logger.Info("Collection cancelled")
	c.st.Status = collection.StatusCancelled
	c.st.ClosedAt = workflow.Now(ctx)
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	c.next = collection.Action{Kind: collection.ActionNone}
	c.publish(dctx)
	if err := workflow.Await(dctx, c.ledgerIdle); err != nil { // queued writes first
		return invoiceapi.CollectionResult{}, err
	}
	if err := c.recordStatus(dctx); err != nil {
		return invoiceapi.CollectionResult{}, err
	}
	return invoiceapi.CollectionResult{}, temporal.NewCanceledError(string(collection.StatusCancelled))
}

func (c *collector) recordStatus(ctx workflow.Context) error {
	rec := invoiceapi.StatusRecord{InvoiceID: c.inv.ID, Status: string(c.st.Status), Balance: c.st.Balance, At: workflow.Now(ctx)}
	if err := c.ledgerCall(ctx, "record status "+string(c.st.Status), invoiceapi.ActivityRecordStatus, rec, nil); err != nil {
		return fmt.Errorf("recording status %s of invoice %s: %w", c.st.Status, c.inv.ID, err)
	}
	return nil
}

// ledgerOptions: ledger writes are idempotent and must eventually land, so they retry
// without a limit; a database outage delays the invoice, it never loses a record.
func (c *collector) ledgerOptions(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: ledgerStartToClose,
		Summary:             summary,
		RetryPolicy:         ledgerRetryPolicy(),
	})
}

// ledgerRetryPolicy retries a ledger write with a backoff up to a minute, except a
// record the ledger refuses.
func ledgerRetryPolicy() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
		NonRetryableErrorTypes: []string{invoiceapi.ErrTypeBadRequest},
	}
}

func (c *collector) shouldContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > historyBound || c.steps > stepBound
}

func (c *collector) continueAsNew(ctx workflow.Context) error {
	if err := workflow.Await(ctx, func() bool { return c.settled(ctx) }); err != nil {
		return err
	}
	c.drainSignals(ctx) // a signal not handled now would be lost with this run
	st := c.st
	c.logger.Info("Continuing as new", "history_length", workflow.GetInfo(ctx).GetCurrentHistoryLength())
	return workflow.NewContinueAsNewError(ctx, InvoiceCollection, invoiceapi.CollectionInput{Invoice: c.inv, Policy: c.pol, State: &st})
}

// publish keeps the search attributes and the UI's current details true. Only the
// attributes that changed are upserted, so an unchanged state costs no history event.
func (c *collector) publish(ctx workflow.Context) {
	current := workflow.GetTypedSearchAttributes(ctx)
	var updates []temporal.SearchAttributeUpdate
	setKeyword := func(k temporal.SearchAttributeKeyKeyword, v string) {
		if old, ok := current.GetKeyword(k); !ok || old != v {
			updates = append(updates, k.ValueSet(v))
		}
	}
	setKeyword(invoiceapi.AttrStatus, string(c.st.Status))
	setKeyword(invoiceapi.AttrDunningStage, c.st.Stage(&c.pol))
	if old, ok := current.GetInt64(invoiceapi.AttrAmountDue); !ok || old != c.st.Balance {
		updates = append(updates, invoiceapi.AttrAmountDue.ValueSet(c.st.Balance))
	}
	oldNext, hasNext := current.GetTime(invoiceapi.AttrNextActionAt)
	switch {
	case c.next.Kind == collection.ActionNone && hasNext:
		updates = append(updates, invoiceapi.AttrNextActionAt.ValueUnset())
	case c.next.Kind != collection.ActionNone && (!hasNext || !oldNext.Equal(c.next.At)):
		updates = append(updates, invoiceapi.AttrNextActionAt.ValueSet(c.next.At.UTC()))
	}
	if len(updates) > 0 {
		if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
			c.logger.Error("Search attribute upsert failed", "error", err)
		}
	}
	workflow.SetCurrentDetails(ctx, c.details())
}

// details is the UI's "current details" of the invoice, in Markdown.
func (c *collector) details() string {
	cur := c.inv.Currency
	out := fmt.Sprintf("**Invoice %s** · %s · balance %s %s of %s, due %s\n\n",
		c.inv.ID, c.st.Status, money.Format(c.st.Balance, cur), cur, money.Format(c.inv.AmountDue, cur), c.inv.DueDate) +
		fmt.Sprintf("Policy %s v%d, stage %s. Next: %s.\n", c.pol.ID, c.pol.Version, c.st.Stage(&c.pol), collection.Describe(&c.pol, &c.inv, c.next))
	if hold := c.holdDetails(); hold != "" {
		out += "\n" + hold + "\n"
	}
	if n := len(c.st.Notices); n > 0 {
		last := c.st.Notices[n-1]
		out += fmt.Sprintf("\nLast notice: %s by %s, %s.", last.Step, last.Channel, last.Status)
	}
	return out
}

// holdDetails says what holds the invoice and who must act, for the UI.
func (c *collector) holdDetails() string {
	cur, loc := c.inv.Currency, c.inv.Location()
	when := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04") + " " + c.inv.Customer.Timezone }
	st := &c.st
	switch {
	case st.Dispute != nil:
		d := st.Dispute
		out := fmt.Sprintf("**Disputed** (%s) since %s: %s. An operator resolves it (`operator` scope: resolve-dispute).", d.ID, when(d.OpenedAt), d.Reason)
		if d.ResolveBy != nil {
			out += fmt.Sprintf(" To be resolved by %s.", d.ResolveBy)
		}
		return out
	case st.Approval != nil && st.Approval.Step != "":
		return fmt.Sprintf("**Awaiting approval** of reminder %s: an operator (`operator` scope) must approve or reject by %s; then the policy's default, %s, applies.",
			st.Approval.Step, when(st.Approval.Deadline), st.Approval.Default)
	case st.Approval != nil:
		return fmt.Sprintf("**Awaiting approval** of the escalation to %s: an operator (`operator` scope) must approve or reject by %s; then the policy's default, %s, applies.",
			c.pol.Escalation.To, when(st.Approval.Deadline), st.Approval.Default)
	case st.Pause != nil:
		out := fmt.Sprintf("**Paused** since %s by %s: %s.", when(st.Pause.Since), st.Pause.By, st.Pause.Reason)
		if st.Pause.Until != nil {
			out += fmt.Sprintf(" Resumes on %s.", st.Pause.Until)
		}
		return out
	case st.Plan != nil:
		i := st.InstallmentDue(&c.inv)
		if i < 0 {
			return "**On a payment plan**, every installment paid."
		}
		it := st.Plan.Installments[i]
		return fmt.Sprintf("**On payment plan %d**: installment %d of %d, %s %s owed by %s (grace %d days).",
			st.Plan.Number, i+1, len(st.Plan.Installments), money.Format(st.InstallmentOwed(&c.inv, i), cur), cur, it.DueDate, st.Plan.GraceDays)
	case st.Promise != nil:
		return fmt.Sprintf("**Promised**: %s %s by %s.", money.Format(st.Promise.Amount, cur), cur, st.Promise.Date)
	case st.Status == collection.StatusPaid && c.pol.RefundWindow.Duration() > 0:
		return fmt.Sprintf("Paid; refunds and chargebacks re-open it until %s.", when(st.ClosedAt.Add(c.pol.RefundWindow.Duration())))
	}
	return ""
}

// withMove records on the notice that the contact rules moved its reminder.
func withMove(n collection.Notice, a collection.Action) collection.Notice {
	if !a.MovedFrom.IsZero() {
		from := a.MovedFrom
		n.MovedFrom, n.MoveReason = &from, a.MoveReason
	}
	return n
}

func isErrorType(err error, errType string) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == errType
}

func failureMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Error()
	}
	return err.Error()
}
