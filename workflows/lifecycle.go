package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/workflow"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// rejection turns a collection check's error into the typed error the caller decodes
// (see invoiceapi.EncodeError): a change the invoice's state forbids is a conflict,
// input no state would accept is invalid; both name the field.
func rejection(err error) error {
	var conflict *collection.ConflictError
	var invalid *collection.InvalidError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &conflict), errors.As(err, &invalid):
		return invoiceapi.EncodeError(err)
	}
	// Every check returns one of the two; anything else is still the caller's input.
	return invoiceapi.EncodeError(&invoiceapi.InvalidError{Reason: err.Error()})
}

// invalid is the typed rejection of one field's value.
func invalid(field, format string, args ...any) error {
	return invoiceapi.EncodeError(&invoiceapi.InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

const maxReason = 1000

// firstErr returns the first non-nil error: each is already a typed rejection.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func checkReason(reason string, required bool) error {
	switch {
	case required && strings.TrimSpace(reason) == "":
		return invalid("reason", "is required")
	case utf8.RuneCountInString(reason) > maxReason || !utf8.ValidString(reason):
		return invalid("reason", "must be valid text of at most %d characters", maxReason)
	}
	return nil
}

func checkBy(by string) error {
	if len(by) > 100 {
		return invalid("by", "must be at most 100 characters")
	}
	return nil
}

func checkID(field, id string) error {
	if !collection.IDPattern.MatchString(id) {
		return invalid(field, "%s", collection.IDProblem)
	}
	return nil
}

func parseOptionalDate(field, s string) (*collection.Date, error) {
	if s == "" {
		return nil, nil
	}
	d, err := collection.ParseDate(s)
	if err != nil {
		return nil, invalid(field, "%v", err)
	}
	return &d, nil
}

func parseOptionalTime(field, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return now, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, invalid(field, "must be an RFC 3339 timestamp")
	}
	return t.UTC(), nil
}

func (c *collector) result(dup bool) invoiceapi.EventResult {
	return invoiceapi.EventResult{Duplicate: dup, Status: c.st.Status, Balance: c.st.Balance, Credit: c.st.Credit}
}

func (c *collector) registerLifecycleHandlers(ctx workflow.Context) error {
	type reg struct {
		name      string
		handler   any
		validator any
	}
	for _, r := range []reg{
		{invoiceapi.UpdateRefund, c.refund, c.validateRefund},
		{invoiceapi.UpdateAdjust, c.adjust, c.validateAdjust},
		{invoiceapi.UpdateDispute, c.dispute, c.validateDispute},
		{invoiceapi.UpdateResolveDispute, c.resolveDispute, c.validateResolveDispute},
		{invoiceapi.UpdatePromise, c.promise, c.validatePromise},
		{invoiceapi.UpdatePlan, c.plan, c.validatePlan},
		{invoiceapi.UpdatePause, c.pause, c.validatePause},
		{invoiceapi.UpdateResume, c.resume, c.validateResume},
		{invoiceapi.UpdateApprove, c.approve, c.validateDecision},
		{invoiceapi.UpdateReject, c.reject, c.validateDecision},
		{invoiceapi.UpdateCancel, c.cancel, c.validateCancel},
		{invoiceapi.UpdateWriteOff, c.writeOff, c.validateWriteOff},
		{invoiceapi.UpdateChangePolicy, c.changePolicy, c.validateChangePolicy},
		{invoiceapi.UpdateChangeDueDate, c.changeDueDate, c.validateChangeDueDate},
	} {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, r.name, r.handler, workflow.UpdateHandlerOptions{Validator: r.validator}); err != nil {
			return fmt.Errorf("registering the %s update: %w", r.name, err)
		}
	}
	c.optOuts = workflow.GetSignalChannel(ctx, invoiceapi.SignalOptOut)
	c.optIns = workflow.GetSignalChannel(ctx, invoiceapi.SignalOptIn)
	c.deliveries = workflow.GetSignalChannel(ctx, invoiceapi.SignalDelivery)
	return nil
}

// --- refunds ---

func (c *collector) refundInput(ctx workflow.Context, in invoiceapi.RefundInput) (collection.Refund, error) {
	if err := checkID("refund_id", in.RefundID); err != nil {
		return collection.Refund{}, err
	}
	if in.PaymentID != "" {
		if err := checkID("payment_id", in.PaymentID); err != nil {
			return collection.Refund{}, err
		}
	}
	switch {
	case in.Kind != invoiceapi.KindRefund && in.Kind != invoiceapi.KindChargeback:
		return collection.Refund{}, invalid("kind", "must be %q or %q", invoiceapi.KindRefund, invoiceapi.KindChargeback)
	case in.Currency != c.inv.Currency:
		return collection.Refund{}, invalid("currency", "is %s but the invoice is in %s", in.Currency, c.inv.Currency)
	case in.Amount <= 0:
		return collection.Refund{}, invalid("amount", "must be greater than zero")
	case in.Amount > money.MaxMinor:
		return collection.Refund{}, invalid("amount", "is too large")
	}
	at, err := parseOptionalTime("at", in.At, workflow.Now(ctx))
	if err != nil {
		return collection.Refund{}, err
	}
	if err := firstErr(checkReason(in.Reason, false), checkBy(in.By)); err != nil {
		return collection.Refund{}, err
	}
	kind := collection.AdjRefund
	if in.Kind == invoiceapi.KindChargeback {
		kind = collection.AdjChargeback
	}
	return collection.Refund{ID: in.RefundID, Kind: kind, PaymentID: in.PaymentID, Amount: in.Amount, At: at, Reason: in.Reason, By: in.By}, nil
}

func (c *collector) refundWindowOpen(ctx workflow.Context) bool {
	return c.st.Status == collection.StatusPaid && !c.closing &&
		workflow.Now(ctx).Before(c.st.ClosedAt.Add(c.pol.RefundWindow.Duration()))
}

func (c *collector) validateRefund(ctx workflow.Context, in invoiceapi.RefundInput) error {
	r, err := c.refundInput(ctx, in)
	if err != nil {
		return err
	}
	_, err = c.st.CheckRefund(r, c.refundWindowOpen(ctx))
	return rejection(err)
}

func (c *collector) refund(ctx workflow.Context, in invoiceapi.RefundInput) (invoiceapi.EventResult, error) {
	r, _ := c.refundInput(ctx, in) // checked by the validator
	if dup, _ := c.st.CheckRefund(r, c.refundWindowOpen(ctx)); dup {
		return c.result(true), nil
	}
	r.At = workflow.Now(ctx) // business time of the ledger row: when it was applied
	events := c.st.ApplyRefund(r)
	return c.result(false), c.recordEvents(ctx, events, map[string]any{"refund_id": in.RefundID, "payment_id": in.PaymentID, "amount_minor": in.Amount})
}

// --- adjustments ---

func (c *collector) adjustInput(ctx workflow.Context, in invoiceapi.AdjustInput) (collection.Adjust, error) {
	if err := checkID("adjustment_id", in.AdjustmentID); err != nil {
		return collection.Adjust{}, err
	}
	switch {
	case in.Kind != invoiceapi.KindAdjustment && in.Kind != invoiceapi.KindCreditNote:
		return collection.Adjust{}, invalid("kind", "must be %q or %q", invoiceapi.KindAdjustment, invoiceapi.KindCreditNote)
	case in.Currency != c.inv.Currency:
		return collection.Adjust{}, invalid("currency", "is %s but the invoice is in %s", in.Currency, c.inv.Currency)
	case in.Amount == 0:
		return collection.Adjust{}, invalid("amount", "must not be zero")
	case in.Kind == invoiceapi.KindCreditNote && in.Amount > 0:
		return collection.Adjust{}, invalid("amount", "a credit note lowers the amount due; it must be negative")
	case in.Amount > money.MaxMinor || in.Amount < -money.MaxMinor:
		return collection.Adjust{}, invalid("amount", "is too large")
	}
	if err := firstErr(checkReason(in.Reason, true), checkBy(in.By)); err != nil {
		return collection.Adjust{}, err
	}
	return collection.Adjust{ID: in.AdjustmentID, Kind: string(in.Kind), Amount: in.Amount, At: workflow.Now(ctx), Reason: in.Reason, By: in.By}, nil
}

func (c *collector) validateAdjust(ctx workflow.Context, in invoiceapi.AdjustInput) error {
	a, err := c.adjustInput(ctx, in)
	if err != nil {
		return err
	}
	_, err = c.st.CheckAdjust(a, c.inv.Currency)
	return rejection(err)
}

func (c *collector) adjust(ctx workflow.Context, in invoiceapi.AdjustInput) (invoiceapi.EventResult, error) {
	a, _ := c.adjustInput(ctx, in)
	if dup, _ := c.st.CheckAdjust(a, c.inv.Currency); dup {
		return c.result(true), nil
	}
	e := c.st.ApplyAdjust(a)
	return c.result(false), c.recordEvents(ctx, []collection.Event{e}, map[string]any{"adjustment_id": in.AdjustmentID, "amount_minor": in.Amount})
}

// --- disputes ---

func (c *collector) validateDispute(ctx workflow.Context, in invoiceapi.DisputeInput) error {
	if err := firstErr(checkID("dispute_id", in.DisputeID), checkReason(in.Reason, true), checkBy(in.By)); err != nil {
		return err
	}
	if _, err := parseOptionalDate("resolve_by", in.ResolveBy); err != nil {
		return err
	}
	_, err := c.st.CheckDispute(in.DisputeID)
	return rejection(err)
}

func (c *collector) dispute(ctx workflow.Context, in invoiceapi.DisputeInput) (invoiceapi.EventResult, error) {
	if dup, _ := c.st.CheckDispute(in.DisputeID); dup {
		return c.result(true), nil
	}
	by, _ := parseOptionalDate("resolve_by", in.ResolveBy)
	e := c.st.OpenDispute(collection.Dispute{ID: in.DisputeID, Reason: in.Reason, ResolveBy: by, OpenedAt: workflow.Now(ctx), By: in.By})
	return c.result(false), c.recordEvents(ctx, []collection.Event{e}, map[string]any{"dispute_id": in.DisputeID, "resolve_by": in.ResolveBy})
}

func (c *collector) resolution(ctx workflow.Context, in invoiceapi.ResolveDisputeInput) (collection.Resolution, error) {
	if in.DisputeID != "" {
		if err := checkID("dispute_id", in.DisputeID); err != nil {
			return collection.Resolution{}, err
		}
	}
	if in.Outcome != invoiceapi.DisputeResolved && in.Outcome != invoiceapi.DisputeUpheld {
		return collection.Resolution{}, invalid("outcome", "must be %q or %q", invoiceapi.DisputeResolved, invoiceapi.DisputeUpheld)
	}
	if err := firstErr(checkReason(in.Reason, false), checkBy(in.By)); err != nil {
		return collection.Resolution{}, err
	}
	return collection.Resolution{DisputeID: in.DisputeID, Upheld: in.Outcome == invoiceapi.DisputeUpheld, AdjustAmount: in.AdjustAmount,
		Cancel: in.Cancel, At: workflow.Now(ctx), Reason: in.Reason, By: in.By}, nil
}

func (c *collector) validateResolveDispute(ctx workflow.Context, in invoiceapi.ResolveDisputeInput) error {
	r, err := c.resolution(ctx, in)
	if err != nil {
		return err
	}
	_, err = c.st.CheckResolve(r, c.inv.Currency)
	return rejection(err)
}

func (c *collector) resolveDispute(ctx workflow.Context, in invoiceapi.ResolveDisputeInput) (invoiceapi.EventResult, error) {
	r, _ := c.resolution(ctx, in)
	if dup, _ := c.st.CheckResolve(r, c.inv.Currency); dup {
		return c.result(true), nil
	}
	events := c.st.ResolveDispute(r)
	return c.result(false), c.recordEvents(ctx, events, map[string]any{"outcome": in.Outcome, "adjust_amount_minor": in.AdjustAmount})
}

// --- promises ---

func (c *collector) validatePromise(ctx workflow.Context, in invoiceapi.PromiseInput) error {
	if err := firstErr(checkReason(in.Reason, false), checkBy(in.By)); err != nil {
		return err
	}
	p, err := c.promiseOf(ctx, in)
	if err != nil {
		return err
	}
	return rejection(c.st.CheckPromise(&c.inv, p, workflow.Now(ctx), c.inv.Currency))
}

func (c *collector) promiseOf(ctx workflow.Context, in invoiceapi.PromiseInput) (collection.Promise, error) {
	d, until, err := collection.ParseDeadline(in.Date, c.inv.Location())
	if err != nil {
		return collection.Promise{}, invalid("date", "%v", err)
	}
	return collection.Promise{Date: d, Until: until, Amount: in.Amount, MadeAt: workflow.Now(ctx), By: in.By}, nil
}

func (c *collector) promise(ctx workflow.Context, in invoiceapi.PromiseInput) (invoiceapi.EventResult, error) {
	p, _ := c.promiseOf(ctx, in)
	e := c.st.MakePromise(&c.inv, p)
	e.Reason = in.Reason
	return c.result(false), c.recordEvents(ctx, []collection.Event{e}, map[string]any{"date": in.Date, "amount_minor": in.Amount})
}

// --- plans ---

func (c *collector) planItems(in invoiceapi.PlanInput) ([]collection.Installment, error) {
	if len(in.Installments) > 60 {
		return nil, invalid("installments", "must list 1 to 60 installments")
	}
	items := make([]collection.Installment, 0, len(in.Installments))
	for i, it := range in.Installments {
		d, at, err := collection.ParseDeadline(it.DueDate, c.inv.Location())
		if err != nil {
			return nil, invalid(fmt.Sprintf("installments[%d].due_date", i), "%v", err)
		}
		items = append(items, collection.Installment{DueDate: d, DueAt: at, Amount: it.Amount})
	}
	return items, nil
}

func (c *collector) validatePlan(ctx workflow.Context, in invoiceapi.PlanInput) error {
	if err := firstErr(checkReason(in.Reason, false), checkBy(in.By)); err != nil {
		return err
	}
	items, err := c.planItems(in)
	if err != nil {
		return err
	}
	return rejection(c.st.CheckPlan(&c.inv, items, in.GraceDays, workflow.Now(ctx), c.inv.Currency))
}

func (c *collector) plan(ctx workflow.Context, in invoiceapi.PlanInput) (invoiceapi.EventResult, error) {
	items, _ := c.planItems(in)
	e := c.st.AgreePlan(&c.inv, collection.Plan{Installments: items, GraceDays: in.GraceDays, AgreedAt: workflow.Now(ctx), By: in.By})
	e.Reason = in.Reason
	// The schedule (dates and amounts only) lets the reports forecast the installments.
	schedule := make([]map[string]any, len(items))
	for i, it := range items {
		schedule[i] = map[string]any{"due_date": it.DueDate.String(), "amount_minor": it.Amount}
	}
	return c.result(false), c.recordEvents(ctx, []collection.Event{e}, map[string]any{
		"installments": len(items), "first_due": items[0].DueDate.String(), "last_due": items[len(items)-1].DueDate.String(), "grace_days": in.GraceDays,
		"schedule": schedule,
	})
}

// --- pause and resume ---

func (c *collector) validatePause(ctx workflow.Context, in invoiceapi.PauseInput) error {
	if err := firstErr(checkReason(in.Reason, true), checkBy(in.By)); err != nil {
		return err
	}
	p, err := c.pauseOf(ctx, in)
	if err != nil {
		return err
	}
	return rejection(c.st.CheckPause(&c.inv, p, workflow.Now(ctx)))
}

func (c *collector) pauseOf(ctx workflow.Context, in invoiceapi.PauseInput) (collection.Pause, error) {
	p := collection.Pause{Reason: in.Reason, Since: workflow.Now(ctx), By: in.By}
	if in.Until != "" {
		d, at, err := collection.ParseDeadline(in.Until, c.inv.Location())
		if err != nil {
			return p, invalid("until", "%v", err)
		}
		p.Until, p.UntilAt = &d, at
	}
	return p, nil
}

func (c *collector) pause(ctx workflow.Context, in invoiceapi.PauseInput) (invoiceapi.EventResult, error) {
	p, _ := c.pauseOf(ctx, in)
	e := c.st.PauseDunning(p)
	return c.result(false), c.recordEvents(ctx, []collection.Event{e}, map[string]any{"until": in.Until})
}

func (c *collector) validateResume(ctx workflow.Context, in invoiceapi.ReasonInput) error {
	if err := firstErr(checkReason(in.Reason, false), checkBy(in.By)); err != nil {
		return err
	}
	return rejection(c.st.CheckResume())
}

func (c *collector) resume(ctx workflow.Context, in invoiceapi.ReasonInput) (invoiceapi.EventResult, error) {
	e := c.st.Resume(workflow.Now(ctx), in.By, in.Reason)
	return c.result(false), c.recordEvents(ctx, []collection.Event{e}, nil)
}

// --- approvals ---

func (c *collector) validateDecision(ctx workflow.Context, in invoiceapi.ReasonInput) error {
	if err := firstErr(checkReason(in.Reason, false), checkBy(in.By)); err != nil {
		return err
	}
	return rejection(c.st.CheckDecision())
}

func (c *collector) approve(ctx workflow.Context, in invoiceapi.ReasonInput) (invoiceapi.EventResult, error) {
	return c.decide(ctx, true, in.By, in.Reason)
}

func (c *collector) reject(ctx workflow.Context, in invoiceapi.ReasonInput) (invoiceapi.EventResult, error) {
	return c.decide(ctx, false, in.By, in.Reason)
}

func (c *collector) decide(ctx workflow.Context, approve bool, by, reason string) (invoiceapi.EventResult, error) {
	e := c.st.Decide(approve, workflow.Now(ctx), by, reason)
	// An approval escalates in the main loop (ActionEscalate is due at once).
	return c.result(false), c.recordEvents(ctx, []collection.Event{e}, nil)
}

// --- cancel and write-off ---

func (c *collector) validateCancel(ctx workflow.Context, in invoiceapi.ReasonInput) error {
	if err := firstErr(checkReason(in.Reason, true), checkBy(in.By)); err != nil {
		return err
	}
	return rejection(c.st.CheckClose(collection.StatusCancelled))
}

func (c *collector) cancel(ctx workflow.Context, in invoiceapi.ReasonInput) (invoiceapi.EventResult, error) {
	balance := c.st.Balance
	events := []collection.Event{c.st.Close(collection.StatusCancelled, workflow.Now(ctx), in.Reason, in.By)}
	return c.result(false), c.recordEvents(ctx, events, map[string]any{"voided_minor": balance})
}

func (c *collector) validateWriteOff(ctx workflow.Context, in invoiceapi.ReasonInput) error {
	if err := firstErr(checkReason(in.Reason, true), checkBy(in.By)); err != nil {
		return err
	}
	return rejection(c.st.CheckClose(collection.StatusWrittenOff))
}

func (c *collector) writeOff(ctx workflow.Context, in invoiceapi.ReasonInput) (invoiceapi.EventResult, error) {
	// Fees and interest to date are written off with the rest.
	events := c.st.BookCharges(&c.pol, &c.inv, workflow.Now(ctx), nil, true)
	balance := c.st.Balance
	events = append(events, c.st.Close(collection.StatusWrittenOff, workflow.Now(ctx), in.Reason, in.By))
	return c.result(false), c.recordEvents(ctx, events, map[string]any{"written_off_minor": balance})
}

// --- policy changes ---

func (c *collector) validateChangePolicy(ctx workflow.Context, in invoiceapi.ChangePolicyInput) error {
	if err := firstErr(checkReason(in.Reason, true), checkBy(in.By)); err != nil {
		return err
	}
	return rejection(c.st.CheckChangePolicy(&c.pol, &in.Policy))
}

func (c *collector) changePolicy(ctx workflow.Context, in invoiceapi.ChangePolicyInput) (invoiceapi.EventResult, error) {
	e := c.st.ChangePolicy(&c.pol, &in.Policy, workflow.Now(ctx), in.By, in.Reason)
	c.pol = in.Policy
	if err := workflow.UpsertTypedSearchAttributes(ctx, invoiceapi.AttrPolicyID.ValueSet(c.pol.ID)); err != nil {
		c.logger.Error("Search attribute upsert failed", "error", err)
	}
	return c.result(false), c.recordPolicyChange(ctx, e)
}

func (c *collector) recordPolicyChange(ctx workflow.Context, e collection.Event) error {
	c.wake.SendAsync(true)
	rec := invoiceapi.EventRecord{
		InvoiceID: c.inv.ID, EventKey: e.Key, Kind: e.Kind, Reason: e.Reason, Actor: e.By,
		Details: map[string]any{"policy_id": c.pol.ID, "policy_version": c.pol.Version, "steps_done": c.st.StepsDone},
		At:      e.At, Status: string(c.st.Status), Balance: c.st.Balance, PolicyID: c.pol.ID, PolicyVersion: c.pol.Version,
	}
	c.writeLedger(ledgerWrite{summary: "record policy change", activity: invoiceapi.ActivityRecordEvent, arg: rec})
	return nil
}

// --- due date changes ---

func (c *collector) validateChangeDueDate(ctx workflow.Context, in invoiceapi.ChangeDueDateInput) error {
	if err := firstErr(checkReason(in.Reason, true), checkBy(in.By)); err != nil {
		return err
	}
	d, err := collection.ParseDate(in.DueDate)
	if err != nil {
		return invalid("due_date", "%v", err)
	}
	return rejection(c.st.CheckChangeDueDate(&c.inv, d))
}

func (c *collector) changeDueDate(ctx workflow.Context, in invoiceapi.ChangeDueDateInput) (invoiceapi.EventResult, error) {
	d, _ := collection.ParseDate(in.DueDate)
	e := c.st.ChangeDueDate(&c.inv, d, workflow.Now(ctx), in.By, in.Reason)
	if err := workflow.UpsertTypedSearchAttributes(ctx, invoiceapi.AttrDueDate.ValueSet(c.inv.DueDate.In(c.inv.Location()).UTC())); err != nil {
		c.logger.Error("Search attribute upsert failed", "error", err)
	}
	c.wake.SendAsync(true)
	rec := invoiceapi.EventRecord{
		InvoiceID: c.inv.ID, EventKey: e.Key, Kind: e.Kind, Reason: e.Reason, Actor: e.By,
		Details: map[string]any{"due_date": in.DueDate}, At: e.At, Status: string(c.st.Status), Balance: c.st.Balance,
		DueDate: in.DueDate,
	}
	c.writeLedger(ledgerWrite{summary: "record due date change", activity: invoiceapi.ActivityRecordEvent, arg: rec})
	return c.result(false), nil
}

// --- opt-outs ---

// drainSignals handles every signal already delivered, without blocking.
func (c *collector) drainSignals(ctx workflow.Context) {
	var in invoiceapi.OptOutInput
	for c.optOuts.ReceiveAsync(&in) {
		c.optOut(ctx, in)
	}
	for c.optIns.ReceiveAsync(&in) {
		c.optIn(ctx, in)
	}
	var d invoiceapi.DeliveryInput
	for c.deliveries.ReceiveAsync(&d) {
		c.delivery(ctx, d)
	}
	// An account's answer that arrives outside a reminder's wait is for a request
	// this run no longer waits for (it timed out): nothing to apply.
	var o invoiceapi.ReminderOutcome
	for c.outcomes != nil && c.outcomes.ReceiveAsync(&o) {
		c.logger.Warn("Ignoring a late answer of the customer's account", "step", o.Step, "channel", o.Channel, "status", o.Status)
	}
}

// delivery records a provider's delivery report on its notice; a permanent failure
// sends the step again on its next channel (see collection.State.ApplyDelivery).
func (c *collector) delivery(ctx workflow.Context, in invoiceapi.DeliveryInput) {
	prefix := c.inv.ID + "/"
	rest, ok := strings.CutPrefix(in.NoticeKey, prefix)
	i := strings.LastIndex(rest, "/")
	if !ok || i <= 0 || len(in.Status) > 32 || len(in.Error) > 500 {
		c.logger.Warn("Ignoring a delivery report for another or malformed notice key", "notice_key", in.NoticeKey)
		return
	}
	step, ch := rest[:i], policy.Channel(rest[i+1:])
	at := workflow.Now(ctx)
	if t, err := time.Parse(time.RFC3339, in.At); err == nil {
		at = t.UTC()
	}
	reachable := func(ch policy.Channel) bool { return c.inv.Customer.Reachable(ch) && !c.st.IsOptedOut(ch) }
	if c.st.ApplyDelivery(&c.pol, step, ch, in.Status, in.Error, at, reachable) {
		c.logger.Info("Delivery report", "step", step, "channel", ch, "status", in.Status)
	}
}

// optOut stops messages on a channel whose current address opted out. A signal for an
// address the invoice no longer uses changes nothing.
func (c *collector) optOut(ctx workflow.Context, in invoiceapi.OptOutInput) {
	ch := policy.Channel(in.Channel)
	addr := c.addressOn(ch)
	if !ch.Valid() || addr == "" || !strings.EqualFold(addr, in.Address) || c.st.IsOptedOut(ch) || c.st.Status.Terminal() {
		return
	}
	c.st.OptedOut = append(c.st.OptedOut, ch)
	e := c.st.Record(collection.Event{Key: "opt-out/" + string(ch), Kind: collection.EventOptedOut, At: workflow.Now(ctx), By: in.Source})
	if err := c.recordEvents(ctx, []collection.Event{e}, map[string]any{"channel": in.Channel, "source": in.Source}); err != nil {
		c.logger.Error("Recording the opt-out failed", "error", err)
	}
}

// optIn lets messages reach a channel again once its current address opted back in.
func (c *collector) optIn(ctx workflow.Context, in invoiceapi.OptOutInput) {
	ch := policy.Channel(in.Channel)
	if !ch.Valid() || !strings.EqualFold(c.addressOn(ch), in.Address) || !c.st.IsOptedOut(ch) {
		return
	}
	c.st.OptIn(ch)
	c.logger.Info("Channel opted back in", "channel", ch, "source", in.Source)
}

// addressOn is the customer's address on a channel ("" when none).
func (c *collector) addressOn(ch policy.Channel) string {
	if ch == policy.SMS || ch == policy.Call {
		return c.inv.Customer.Phone
	}
	return c.inv.Customer.Email
}

// maxDetailInterestLines bounds the interest lines an interest_charged event carries.
const maxDetailInterestLines = 16

// recordEvents writes the events to the ledger (with the invoice's status after
// them) and wakes the main loop to re-plan. The state changed before this call, so a
// ledger outage delays only the record, never the decision.
func (c *collector) recordEvents(ctx workflow.Context, events []collection.Event, details map[string]any) error {
	c.wake.SendAsync(true)
	if c.st.Status.Terminal() {
		c.statusRecorded = true // the last event below records the final status
	}
	for _, e := range events {
		rec := invoiceapi.EventRecord{
			InvoiceID: c.inv.ID, EventKey: e.Key, Kind: e.Kind, Reason: e.Reason, Actor: e.By, Details: details,
			At: e.At, Status: string(c.st.Status), Balance: c.st.Balance,
		}
		if e.Kind == collection.EventInterestCharged && details == nil {
			// Reference-rate interest: the half-year lines the state shows now, so the
			// ledger (and the customer's statement) carry each rate used.
			// At most maxDetailInterestLines (eight years), within the ledger's 8 kB of details.
			if lines := c.st.BookedInterestLines(&c.pol, &c.inv); len(lines) > 0 && len(lines) <= maxDetailInterestLines {
				rec.Details = map[string]any{collection.DetailInterestLines: lines}
			}
		}
		if a := e.Adjustment; a != nil {
			rec.Adjustment = &invoiceapi.Adjustment{
				AdjustmentID: a.ID, Kind: a.Kind, Currency: c.inv.Currency, Amount: a.Amount, Credit: a.Credit,
				BalanceAfter: c.st.Balance, PaymentID: a.PaymentID, Reason: a.Reason, Actor: e.By, At: a.At,
			}
		}
		c.writeLedger(ledgerWrite{summary: "record " + e.Kind, activity: invoiceapi.ActivityRecordEvent, arg: rec})
	}
	return nil
}

// --- hold deadlines (main loop) ---

// promiseBroken: the promise's date passed without the amount; dunning resumes at the
// next step due (not re-anchored: the customer had their chance).
func (c *collector) promiseBroken(ctx workflow.Context) error {
	p := *c.st.Promise
	e := c.st.BreakPromise(workflow.Now(ctx), fmt.Sprintf("%s promised by %s was not paid", money.Format(p.Amount, c.inv.Currency), p.Date))
	return c.recordEvents(ctx, []collection.Event{e}, map[string]any{"date": p.Date.String(), "amount_minor": p.Amount})
}

// planBroken: an installment stayed unpaid past its grace; the main schedule resumes.
func (c *collector) planBroken(ctx workflow.Context, a collection.Action) error {
	due := c.st.Plan.Installments[a.Installment].DueDate
	owed := c.st.InstallmentOwed(&c.inv, a.Installment)
	e := c.st.BreakPlan(workflow.Now(ctx), fmt.Sprintf("installment %d (due %s) is short by %s", a.Installment+1, due, money.Format(owed, c.inv.Currency)))
	return c.recordEvents(ctx, []collection.Event{e}, map[string]any{"installment": a.Installment + 1, "owed_minor": owed})
}

// remindInstallment sends the reminder of one plan installment, once, on the first of
// the customer's channels that works. Its notice key names the plan and installment.
func (c *collector) remindInstallment(ctx workflow.Context, a collection.Action) error {
	plan := c.st.Plan
	plan.Installments[a.Installment].Reminded = true
	it := plan.Installments[a.Installment]
	step := policy.Step{
		Name:     fmt.Sprintf("plan%d-installment-%d", plan.Number, a.Installment+1),
		Channels: []policy.Channel{policy.Email, policy.SMS},
		Template: "due_soon",
	}
	owed := c.st.InstallmentOwed(&c.inv, a.Installment)
	// The plan's reminders stop with the plan (broken, replaced, completed) or when
	// the invoice is closed, handed off, disputed or paused.
	stop := func() bool {
		st := &c.st
		return st.Status.Terminal() || st.Escalation != nil || st.Dispute != nil || st.Pause != nil || st.Plan != plan
	}
	for _, ch := range c.reachable(ctx, step) {
		req := c.noticeRequest(step, ch, a.At)
		req.Balance, req.DueDate = owed, it.DueDate.String()
		res, err := c.sendNotice(ctx, ch, fmt.Sprintf("installment %d of %d by %s", a.Installment+1, len(plan.Installments), ch), req, stop)
		if c.withheld(ctx, err, step.Name, ch) {
			return nil
		}
		if err == nil {
			c.st.Notices = append(c.st.Notices, collection.Notice{Step: step.Name, Channel: ch, Status: collection.NoticeSent, SentAt: res.SentAt, ProviderID: res.ProviderID})
			return nil
		}
		unknown := isErrorType(err, invoiceapi.ErrTypeOutcomeUnknown)
		status := collection.NoticeFailed
		if unknown {
			status = collection.NoticeUnknown
		}
		c.st.Notices = append(c.st.Notices, collection.Notice{Step: step.Name, Channel: ch, Status: status, SentAt: workflow.Now(ctx), Error: failureMessage(err)})
		if unknown {
			return nil
		}
	}
	return nil
}
