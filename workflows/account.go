package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dunwell/dunwell/account"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/workflows/accountapi"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// answeredBound is how many answered request keys the account remembers, so a
// retried remind update is recognised; older ones are long settled.
const answeredBound = 500

// CustomerAccount is the account workflow of one customer (id "customer-<id>"): it
// lives while the customer has open invoices, gathers their reminders of one contact
// window (same channel, same local day the reminders fall due) and sends them as ONE
// message through ActivitySendAccountMessage, within the customer's contact budget.
// Each invoice tells the account when its next reminder falls due (on attach, on each
// request, and by SignalExpect when that moves), so a window waits past the policy's
// gather delay for the invoices due in it that have not arrived yet (late under load),
// at most account.MaxWait (account.Due). Each invoice hears the outcome back (invoiceapi.SignalReminderOutcome). It
// continues as new when its history grows and completes when nothing is open or
// pending and no handler runs. See docs/accounts.md.
func CustomerAccount(ctx workflow.Context, in accountapi.Input) error {
	a := &accountRun{
		customerID: in.CustomerID,
		logger:     log.With(workflow.GetLogger(ctx), "customer_id", in.CustomerID),
		wake:       workflow.NewBufferedChannel(ctx, 1),
		detaches:   workflow.GetSignalChannel(ctx, accountapi.SignalDetach),
		withdraws:  workflow.GetSignalChannel(ctx, accountapi.SignalWithdraw),
		expects:    workflow.GetSignalChannel(ctx, accountapi.SignalExpect),
		issued:     workflow.GetSignalChannel(ctx, accountapi.SignalIssued),
		reminds:    workflow.GetSignalChannel(ctx, accountapi.SignalRemind),
	}
	if in.State != nil {
		a.st = *in.State
	}
	if err := a.registerHandlers(ctx); err != nil {
		return err
	}
	return a.run(ctx)
}

type accountRun struct {
	customerID string
	st         accountapi.State
	logger     log.Logger
	wake       workflow.Channel
	detaches   workflow.ReceiveChannel
	withdraws  workflow.ReceiveChannel
	expects    workflow.ReceiveChannel
	issued     workflow.ReceiveChannel
	reminds    workflow.ReceiveChannel
	// sending holds the keys of the message being sent, for withdraws meanwhile.
	sending []string
	// timer fires at timerAt, when the next window is ready (wait).
	timer       workflow.Future
	cancelTimer workflow.CancelFunc
	timerAt     time.Time
	steps       int
}

func (a *accountRun) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, accountapi.QueryState, func() (accountapi.View, error) {
		return accountapi.View{CustomerID: a.customerID, Open: a.st.Open, Expected: a.st.Expected, Pending: a.st.Pending, Messages: a.st.Messages}, nil
	}); err != nil {
		return fmt.Errorf("registering the state query: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, accountapi.UpdateAttach,
		func(ctx workflow.Context, r accountapi.AttachRequest) (accountapi.Ack, error) {
			dup := !a.attach(r.InvoiceID)
			a.expect(r.InvoiceID, r.Next)
			if len(a.st.Pending) > 0 {
				a.wake.SendAsync(true) // a window may wait for it no longer
			}
			return accountapi.Ack{Duplicate: dup}, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, r accountapi.AttachRequest) error {
			switch {
			case r.CustomerID != a.customerID:
				return invalid("customer_id", "%q is not this account's customer %q", r.CustomerID, a.customerID)
			case r.InvoiceID == "":
				return invalid("invoice_id", "is required")
			}
			if err := r.Next.Validate(); err != nil {
				return invalid("next", "%s", err.Error())
			}
			return nil
		}}); err != nil {
		return fmt.Errorf("registering the attach update: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, accountapi.UpdateRemind, a.remind,
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, r accountapi.ReminderRequest) error {
			return a.validateReminder(r)
		}}); err != nil {
		return fmt.Errorf("registering the remind update: %w", err)
	}
	return nil
}

// validateReminder is the remind update's validator; a remind signal that fails it is
// logged and dropped (the invoice checks its request before it signals).
func (a *accountRun) validateReminder(r accountapi.ReminderRequest) error {
	if r.CustomerID != a.customerID {
		return invalid("customer_id", "%q is not this account's customer %q", r.CustomerID, a.customerID)
	}
	if err := r.Validate(); err != nil {
		return invalid("reminder", "%s", err.Error())
	}
	return nil
}

// attach records an open invoice; false if it was known.
func (a *accountRun) attach(invoiceID string) bool {
	if slices.Contains(a.st.Open, invoiceID) {
		return false
	}
	a.st.Open = append(a.st.Open, invoiceID)
	return true
}

// expect records when the invoice's next reminder falls due (zero: none planned).
func (a *accountRun) expect(invoiceID string, next accountapi.NextReminder) {
	i := slices.IndexFunc(a.st.Expected, func(e accountapi.Expected) bool { return e.InvoiceID == invoiceID })
	switch {
	case i >= 0 && next.At.IsZero():
		a.st.Expected = slices.Delete(a.st.Expected, i, i+1)
	case i >= 0:
		a.st.Expected[i].Next = next
	case !next.At.IsZero():
		a.st.Expected = append(a.st.Expected, accountapi.Expected{InvoiceID: invoiceID, Next: next})
	}
}

// remind queues one reminder for its window's message. A request already pending,
// being sent or answered is a duplicate and changes nothing.
func (a *accountRun) remind(ctx workflow.Context, r accountapi.ReminderRequest) (accountapi.Ack, error) {
	if id := r.RequestID(); slices.Contains(a.st.Answered, id) || slices.Contains(a.sending, r.Key()) || a.pendingIndex(r.Key()) >= 0 {
		return accountapi.Ack{Duplicate: true}, nil
	}
	a.attach(r.Line.InvoiceID)
	a.expect(r.Line.InvoiceID, r.Next)
	loc, _ := time.LoadLocation(r.To.Timezone) // checked by the validator
	now := workflow.Now(ctx)
	a.st.Pending = append(a.st.Pending, accountapi.Pending{Request: r, WindowDay: account.Day(r.At, loc), ArrivedAt: now, ReadyAt: now.Add(r.Gather)})
	a.wake.SendAsync(true)
	return accountapi.Ack{}, nil
}

func (a *accountRun) pendingIndex(key string) int {
	return slices.IndexFunc(a.st.Pending, func(p accountapi.Pending) bool { return p.Request.Key() == key })
}

func (a *accountRun) run(ctx workflow.Context) error {
	for {
		a.steps++
		a.drainSignals(ctx)
		now := workflow.Now(ctx)
		due, next := account.Due(a.items(), a.expected(), now)
		for _, b := range due {
			if len(b.Missing) > 0 {
				a.logger.Warn("Window sent without invoices it expected: they did not arrive in time", "channel", b.Channel, "day", b.Day,
					"missing", b.Missing, "waited", account.MaxWait)
			}
			if err := a.send(ctx, b); err != nil {
				return err
			}
		}
		if len(due) > 0 {
			continue
		}
		if len(a.st.Open) == 0 && len(a.st.Pending) == 0 {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return err
			}
			a.drainSignals(ctx)
			if len(a.st.Open) == 0 && len(a.st.Pending) == 0 {
				a.logger.Info("Account closed: nothing of the customer is open")
				return nil
			}
			continue
		}
		if info := workflow.GetInfo(ctx); info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > historyBound || a.steps > stepBound {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return err
			}
			a.drainSignals(ctx)
			a.prune(workflow.Now(ctx))
			st := a.st
			return workflow.NewContinueAsNewError(ctx, CustomerAccount, accountapi.Input{CustomerID: a.customerID, State: &st})
		}
		a.wait(ctx, now, next)
	}
}

// wait sleeps until the next window is ready, an update queued a reminder, or a
// signal came. The window's timer outlives a wake-up that leaves the next window's
// time as it was: reminders arriving one by one start no timer each.
func (a *accountRun) wait(ctx workflow.Context, now, next time.Time) {
	if !next.Equal(a.timerAt) {
		if a.cancelTimer != nil {
			a.cancelTimer()
		}
		a.timer, a.cancelTimer, a.timerAt = nil, nil, next
		if !next.IsZero() {
			timerCtx, cancel := workflow.WithCancel(ctx)
			a.timer = workflow.NewTimerWithOptions(timerCtx, next.Sub(now), workflow.TimerOptions{
				Summary: "send the window's message at " + next.UTC().Format(time.RFC3339),
			})
			a.cancelTimer = cancel
		}
	}
	sel := workflow.NewSelector(ctx)
	if a.timer != nil {
		sel.AddFuture(a.timer, func(workflow.Future) { a.timer, a.cancelTimer, a.timerAt = nil, nil, time.Time{} })
	}
	sel.AddReceive(a.wake, func(ch workflow.ReceiveChannel, _ bool) { ch.Receive(ctx, nil) })
	sel.AddReceive(a.detaches, func(workflow.ReceiveChannel, bool) {})
	sel.AddReceive(a.withdraws, func(workflow.ReceiveChannel, bool) {})
	sel.AddReceive(a.expects, func(workflow.ReceiveChannel, bool) {})
	sel.AddReceive(a.issued, func(workflow.ReceiveChannel, bool) {})
	sel.AddReceive(a.reminds, func(workflow.ReceiveChannel, bool) {})
	sel.Select(ctx)
}

func (a *accountRun) items() []account.Item {
	out := make([]account.Item, 0, len(a.st.Pending))
	for _, p := range a.st.Pending {
		out = append(out, account.Item{Key: p.Request.Key(), Invoice: p.Request.Line.InvoiceID, Channel: string(p.Request.Channel), Day: p.WindowDay,
			DueAt: p.Request.At, Arrived: p.ArrivedAt, ReadyAt: p.ReadyAt})
	}
	return out
}

func (a *accountRun) expected() []account.Expected {
	out := make([]account.Expected, 0, len(a.st.Expected))
	for _, e := range a.st.Expected {
		out = append(out, account.Expected{Invoice: e.InvoiceID, At: e.Next.At, Day: e.Next.Day})
	}
	return out
}

// drainSignals applies the issued, remind, detach, withdraw and expect signals
// received so far.
func (a *accountRun) drainSignals(ctx workflow.Context) {
	var is accountapi.AttachRequest
	for a.issued.ReceiveAsync(&is) {
		if is.CustomerID != a.customerID || is.InvoiceID == "" || is.Next.Validate() != nil {
			a.logger.Warn("Ignoring an issued signal", "invoice_id", is.InvoiceID, "for_customer", is.CustomerID, "next", is.Next)
			continue
		}
		if a.attach(is.InvoiceID) {
			a.expect(is.InvoiceID, is.Next)
		}
	}
	var r accountapi.ReminderRequest
	for a.reminds.ReceiveAsync(&r) {
		if err := a.validateReminder(r); err != nil {
			a.logger.Warn("Ignoring a remind signal", "key", r.Key(), "error", err)
			continue
		}
		_, _ = a.remind(ctx, r) // never fails; a duplicate changes nothing
		r = accountapi.ReminderRequest{}
	}
	a.wake.ReceiveAsync(nil) // the loop looks at the pending reminders next anyway
	var d accountapi.Detach
	for a.detaches.ReceiveAsync(&d) {
		a.st.Open = slices.DeleteFunc(a.st.Open, func(id string) bool { return id == d.InvoiceID })
		a.expect(d.InvoiceID, accountapi.NextReminder{})
		a.withdraw(d.InvoiceID, "the invoice's collection closed")
	}
	var w accountapi.Withdraw
	for a.withdraws.ReceiveAsync(&w) {
		a.withdraw(w.InvoiceID, w.Reason)
	}
	var e accountapi.Expect
	for a.expects.ReceiveAsync(&e) {
		if !slices.Contains(a.st.Open, e.InvoiceID) || e.Next.Validate() != nil {
			a.logger.Warn("Ignoring an expect signal", "invoice_id", e.InvoiceID, "open", slices.Contains(a.st.Open, e.InvoiceID), "next", e.Next)
			continue
		}
		a.expect(e.InvoiceID, e.Next)
	}
}

// withdraw marks the invoice's pending reminders withdrawn: they are answered as
// withheld when their window's message goes, without being listed.
func (a *accountRun) withdraw(invoiceID, reason string) {
	if reason == "" {
		reason = "the invoice left the reminding states"
	}
	for i := range a.st.Pending {
		if p := &a.st.Pending[i]; p.Request.Line.InvoiceID == invoiceID && p.Withdrawn == "" {
			p.Withdrawn = reason
		}
	}
}

// send sends one window's message and answers each invoice.
func (a *accountRun) send(ctx workflow.Context, b account.Batch) error {
	var reqs []accountapi.ReminderRequest
	var answers []pendingAnswer
	for _, key := range b.Keys {
		i := a.pendingIndex(key)
		p := a.st.Pending[i]
		a.st.Pending = slices.Delete(a.st.Pending, i, i+1)
		if p.Withdrawn != "" {
			answers = append(answers, pendingAnswer{p.Request, invoiceapi.ReminderOutcome{Status: invoiceapi.OutcomeWithheld, Reason: p.Withdrawn}})
			continue
		}
		reqs = append(reqs, p.Request)
	}
	now := workflow.Now(ctx)
	if len(reqs) > 0 {
		loc, _ := time.LoadLocation(reqs[0].To.Timezone)
		budget := account.Budget{}
		for _, r := range reqs {
			budget = budget.Strictest(account.Budget{MaxPerDay: r.Budget.MaxPerDay, MaxPerWeek: r.Budget.MaxPerWeek})
		}
		if ok, notBefore, why := account.Allow(budget, a.sent(), account.Day(now, loc), now, loc); !ok {
			a.logger.Info("Message deferred by the contact budget", "channel", b.Channel, "until", notBefore, "reason", why)
			for _, r := range reqs {
				answers = append(answers, pendingAnswer{r, invoiceapi.ReminderOutcome{Status: invoiceapi.OutcomeDeferred, Reason: why, NotBefore: notBefore}})
			}
		} else {
			answers = append(answers, a.sendMessage(ctx, b, reqs, now)...)
		}
	}
	a.answer(ctx, answers)
	return nil
}

type pendingAnswer struct {
	req accountapi.ReminderRequest
	out invoiceapi.ReminderOutcome
}

// sendMessage runs the send activity for reqs and returns each request's outcome.
func (a *accountRun) sendMessage(ctx workflow.Context, b account.Batch, reqs []accountapi.ReminderRequest, now time.Time) []pendingAnswer {
	ch := policy.Channel(b.Channel)
	// Oldest due first, as a statement lists them; the order of arrival is chance.
	slices.SortFunc(reqs, func(x, y accountapi.ReminderRequest) int {
		return strings.Compare(x.Line.DueDate+"/"+x.Line.InvoiceID, y.Line.DueDate+"/"+y.Line.InvoiceID)
	})
	msg := accountapi.MessageRequest{
		Key:        accountapi.MessageKey(a.customerID, ch, b.Day, account.Batch{Keys: keysOf(reqs)}.Digest()),
		CustomerID: a.customerID, Channel: ch, WindowDay: b.Day, To: reqs[len(reqs)-1].To, ScheduledAt: now,
	}
	for _, r := range reqs {
		msg.Lines = append(msg.Lines, r.Line)
	}
	a.sending = keysOf(reqs)
	defer func() { a.sending = nil }()
	actx := workflow.WithActivityOptions(workflow.WithTaskQueue(ctx, invoiceapi.NoticeTaskQueue(ch)), workflow.ActivityOptions{
		StartToCloseTimeout:    sendStartToClose,
		ScheduleToCloseTimeout: sendGiveUpAfter,
		Summary:                fmt.Sprintf("one %s listing %d invoice(s)", ch, len(reqs)),
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
			NonRetryableErrorTypes: []string{invoiceapi.ErrTypeRecipientInvalid, invoiceapi.ErrTypeBadRequest, invoiceapi.ErrTypeOutcomeUnknown, invoiceapi.ErrTypeWithheld},
		},
	})
	var res accountapi.MessageResult
	err := workflow.ExecuteActivity(actx, accountapi.ActivitySendAccountMessage, msg).Get(ctx, &res)
	rec := accountapi.Message{Key: msg.Key, Channel: ch, WindowDay: b.Day, At: workflow.Now(ctx)}
	out := make([]pendingAnswer, 0, len(reqs))
	if err != nil {
		status, errType := invoiceapi.OutcomeFailed, ""
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			errType = appErr.Type()
		}
		switch errType {
		case invoiceapi.ErrTypeOutcomeUnknown:
			status = invoiceapi.OutcomeUnknown
		case invoiceapi.ErrTypeWithheld:
			status = invoiceapi.OutcomeWithheld
		}
		a.logger.Warn("Message not sent", "key", msg.Key, "error", err)
		rec.Status, rec.Error, rec.Invoices = status, failureMessage(err), invoicesOf(reqs)
		for _, r := range reqs {
			out = append(out, pendingAnswer{r, invoiceapi.ReminderOutcome{Status: status, MessageKey: msg.Key, Reason: failureMessage(err), ErrorType: errType}})
		}
		a.record(rec)
		return out
	}
	reasons := map[string]string{}
	for _, l := range res.LeftOut {
		reasons[l.InvoiceID] = l.Reason
	}
	rec.Status, rec.ProviderID, rec.Invoices = "sent", res.ProviderID, res.Covered
	if len(res.Covered) == 0 {
		rec.Status, rec.Invoices = invoiceapi.OutcomeWithheld, invoicesOf(reqs)
	} else {
		rec.At = res.SentAt
	}
	for _, r := range reqs {
		o := invoiceapi.ReminderOutcome{Status: invoiceapi.OutcomeSent, MessageKey: msg.Key, ProviderID: res.ProviderID, SentAt: res.SentAt}
		if !slices.Contains(res.Covered, r.Line.InvoiceID) {
			o = invoiceapi.ReminderOutcome{Status: invoiceapi.OutcomeWithheld, MessageKey: msg.Key, Reason: reasons[r.Line.InvoiceID]}
		}
		out = append(out, pendingAnswer{r, o})
	}
	a.logger.Info("Message sent", "key", msg.Key, "covered", len(res.Covered), "left_out", len(res.LeftOut))
	a.record(rec)
	return out
}

// record keeps the message for the query and the budget.
func (a *accountRun) record(m accountapi.Message) {
	a.st.Messages = append(a.st.Messages, m)
	a.prune(m.At)
}

// prune keeps the messages of the last week, and at least the last RecentMessages.
func (a *accountRun) prune(now time.Time) {
	for len(a.st.Messages) > accountapi.RecentMessages && now.Sub(a.st.Messages[0].At) > 7*24*time.Hour {
		a.st.Messages = a.st.Messages[1:]
	}
}

// sent lists the messages that reached the customer, for the budget.
func (a *accountRun) sent() []account.Sent {
	var out []account.Sent
	for _, m := range a.st.Messages {
		if m.Status == invoiceapi.OutcomeSent {
			out = append(out, account.Sent{At: m.At, Day: m.WindowDay})
		}
	}
	return out
}

// answer signals each invoice its outcome. An invoice whose workflow closed meanwhile
// cannot hear it; that is logged, not retried.
func (a *accountRun) answer(ctx workflow.Context, answers []pendingAnswer) {
	futures := make([]workflow.Future, len(answers))
	for i, ans := range answers {
		o := ans.out
		o.Step, o.Channel = ans.req.Line.Step, ans.req.Channel
		futures[i] = workflow.SignalExternalWorkflow(ctx, invoiceapi.WorkflowID(ans.req.Line.InvoiceID), "", invoiceapi.SignalReminderOutcome, o)
		a.st.Answered = append(a.st.Answered, ans.req.RequestID())
	}
	if n := len(a.st.Answered); n > answeredBound {
		a.st.Answered = a.st.Answered[n-answeredBound:]
	}
	for i, f := range futures {
		if err := f.Get(ctx, nil); err != nil {
			a.logger.Warn("Could not tell the invoice its reminder's outcome", "invoice_id", answers[i].req.Line.InvoiceID, "error", err)
		}
	}
}

func keysOf(reqs []accountapi.ReminderRequest) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.Key()
	}
	return out
}

func invoicesOf(reqs []accountapi.ReminderRequest) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.Line.InvoiceID
	}
	return out
}
