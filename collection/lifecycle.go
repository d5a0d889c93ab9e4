package collection

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/policy"
)

// The lifecycle: events beyond reminders and payments. Each event has a Check method
// that says whether the current state allows it (without changing anything, so the
// workflow's update validators can call it) and an apply method that changes the state
// and returns the Event to record. Holds (dispute, promise, plan, pause, approval) stop
// the reminder schedule while they last; the invoice's Status is derived from them
// (see DeriveStatus), never set by hand.

// ErrConflict marks a transition the invoice's current state forbids (HTTP 409).
var ErrConflict = errors.New("conflict")

// ConflictError is a transition the current state forbids.
type ConflictError struct {
	Status Status
	Reason string
}

func (e *ConflictError) Error() string { return "status: " + e.Reason }

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Unwrap() error { return ErrConflict }

func conflict(s Status, format string, args ...any) error {
	return &ConflictError{Status: s, Reason: fmt.Sprintf(format, args...)}
}

// Event is one lifecycle change for the ledger and the state's history.
type Event struct {
	Key    string    `json:"key"` // unique per invoice, derived from the event's ids
	Kind   string    `json:"kind"`
	At     time.Time `json:"at"`
	By     string    `json:"by,omitempty"`
	Reason string    `json:"reason,omitempty"`
	// Adjustment is the money change the event made, if any.
	Adjustment *Adjustment `json:"adjustment,omitempty"`
}

// Event kinds, as in the ledger's lifecycle_events table.
const (
	EventDisputeOpened     = "dispute_opened"
	EventDisputeResolved   = "dispute_resolved"
	EventDisputeUpheld     = "dispute_upheld"
	EventPromiseMade       = "promise_made"
	EventPromiseKept       = "promise_kept"
	EventPromiseBroken     = "promise_broken"
	EventPlanAgreed        = "plan_agreed"
	EventPlanCompleted     = "plan_completed"
	EventPlanBroken        = "plan_broken"
	EventPaused            = "paused"
	EventResumed           = "resumed"
	EventApprovalRequested = "approval_requested"
	EventApproved          = "approved"
	EventRejected          = "rejected"
	EventRefunded          = "refunded"
	EventAdjusted          = "adjusted"
	EventReopened          = "reopened"
	EventCancelled         = "cancelled"
	EventWrittenOff        = "written_off"
	EventOptedOut          = "opted_out"
	EventLateFeeCharged    = "late_fee_charged"
	EventInterestCharged   = "interest_charged"
	EventDiscountTaken     = "discount_taken"
	EventPolicyChanged     = "policy_changed"
	EventDueDateChanged    = "due_date_changed"
)

// Adjustment kinds, as in the ledger's adjustments table.
const (
	AdjRefund     = "refund"
	AdjChargeback = "chargeback"
	AdjAdjustment = "adjustment"
	AdjCreditNote = "credit_note"
	AdjWriteOff   = "write_off"
	AdjVoid       = "void"
	AdjLateFee    = "late_fee"
	AdjInterest   = "interest"
	AdjDiscount   = "discount"
)

// Adjustment is a change of the balance that is not a payment.
type Adjustment struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Amount    int64     `json:"amount_minor"` // effect on the balance
	Credit    int64     `json:"credit_minor"` // effect on the credit
	PaymentID string    `json:"payment_id,omitempty"`
	At        time.Time `json:"at"`
	Reason    string    `json:"reason,omitempty"`
}

// Dispute is an open disagreement about the invoice; dunning waits for it.
type Dispute struct {
	ID        string    `json:"id"`
	Reason    string    `json:"reason"`
	ResolveBy *Date     `json:"resolve_by,omitempty"`
	OpenedAt  time.Time `json:"opened_at"`
	By        string    `json:"by,omitempty"`
}

// Promise is the customer's promise to pay Amount by the end of Date.
type Promise struct {
	Date Date `json:"date"`
	// Until is the exact deadline when the promise named a time
	// ("2026-12-03T17:00:00Z"); zero means the end of Date in the customer's timezone.
	Until  time.Time `json:"until,omitzero"`
	Amount int64     `json:"amount_minor"`
	MadeAt time.Time `json:"made_at"`
	// PaidBefore is the total applied to the invoice when the promise was made;
	// payments beyond it count towards the promise.
	PaidBefore int64  `json:"paid_before_minor"`
	By         string `json:"by,omitempty"`
}

// Installment is one payment of a plan.
type Installment struct {
	DueDate Date `json:"due_date"`
	// DueAt is the exact due time when the plan named one; zero means the end of
	// DueDate in the customer's timezone.
	DueAt  time.Time `json:"due_at,omitzero"`
	Amount int64     `json:"amount_minor"`
	// Reminded is set once its reminder was handled.
	Reminded bool `json:"reminded,omitempty"`
}

// Plan is an agreed schedule of installments that sum to the balance it was agreed
// on. Chosen in-workflow rather than as a child workflow: the plan and the invoice
// share one balance and one payment history, and one workflow keeps them consistent
// without cross-workflow messages; a year of monthly installments adds a few dozen
// events, and continue-as-new carries the plan in the state.
type Plan struct {
	Number       int           `json:"number"` // 1 for the invoice's first plan, then 2, ...
	Installments []Installment `json:"installments"`
	GraceDays    int           `json:"grace_days"`
	AgreedAt     time.Time     `json:"agreed_at"`
	PaidBefore   int64         `json:"paid_before_minor"`
	By           string        `json:"by,omitempty"`
}

// Pause is an operator's manual hold.
type Pause struct {
	Reason string `json:"reason"`
	Until  *Date  `json:"until,omitempty"`
	// UntilAt is the exact end when the pause named a time; zero means the start of
	// Until in the customer's timezone.
	UntilAt time.Time `json:"until_at,omitzero"`
	Since   time.Time `json:"since"`
	By      string    `json:"by,omitempty"`
}

// ApprovalWait is an escalation, or a reminder step, waiting for a person's decision.
type ApprovalWait struct {
	RequestedAt time.Time `json:"requested_at"`
	Deadline    time.Time `json:"deadline"`
	Default     string    `json:"default"` // policy.DecisionApprove or DecisionReject
	// Step names the reminder step that waits (its index in the policy is StepIndex,
	// and Skip lists the earlier steps it supersedes); empty: the escalation waits.
	Step      string   `json:"step,omitempty"`
	StepIndex int      `json:"step_index,omitempty"`
	Skip      []string `json:"skip,omitempty"`
}

// What says what awaits the decision, for people: "the escalation" or "reminder
// overdue-1".
func (w *ApprovalWait) What() string {
	if w.Step == "" {
		return "the escalation"
	}
	return "reminder " + w.Step
}

// planRemindBefore is how long before an installment's due date its reminder goes.
const planRemindBefore = 3

// Held reports whether a hold stops the reminder schedule.
func (s *State) Held() bool {
	return s.Dispute != nil || s.Promise != nil || s.Plan != nil || s.Pause != nil || s.Approval != nil
}

// DeriveStatus sets Status from the holds; terminal statuses stay.
func (s *State) DeriveStatus() {
	if s.Status.Terminal() {
		return
	}
	switch {
	case s.Dispute != nil:
		s.Status = StatusDisputed
	case s.Approval != nil:
		s.Status = StatusAwaitingApproval
	case s.Escalation != nil:
		s.Status = StatusEscalated
	case s.Pause != nil:
		s.Status = StatusPaused
	case s.Plan != nil:
		s.Status = StatusOnPlan
	case s.Promise != nil:
		s.Status = StatusPromised
	case s.PastDue:
		s.Status = StatusOverdue
	default:
		s.Status = StatusOpen
	}
}

// Normalize fills fields that states saved by older versions lack.
func (s *State) Normalize() {
	if s.Status == StatusOverdue || s.Status == StatusEscalated {
		s.PastDue = true
	}
}

// TotalApplied is everything applied to the balance so far, net of refunds.
func (s *State) TotalApplied(inv *Invoice) int64 {
	return inv.AmountDue + s.adjustedBy() - s.Balance
}

func (s *State) adjustedBy() int64 {
	var sum int64
	for _, a := range s.Adjustments {
		if a.Kind == AdjAdjustment || a.Kind == AdjCreditNote {
			sum += a.Amount
		}
	}
	return sum
}

// AmountDue is the invoice's amount after adjustments and credit notes.
func (s *State) AmountDue(inv *Invoice) int64 { return inv.AmountDue + s.adjustedBy() }

func (s *State) hasEvent(key string) bool {
	for _, e := range s.Events {
		if e.Key == key {
			return true
		}
	}
	return false
}

// IsOptedOut reports whether the customer's address on ch opted out.
func (s *State) IsOptedOut(ch policy.Channel) bool {
	for _, o := range s.OptedOut {
		if o == ch {
			return true
		}
	}
	return false
}

// OptIn removes ch from the opted-out channels.
func (s *State) OptIn(ch policy.Channel) {
	s.OptedOut = slices.DeleteFunc(s.OptedOut, func(o policy.Channel) bool { return o == ch })
}

// Record appends an event to the history (and its adjustment to the adjustments)
// and re-derives the status.
func (s *State) Record(e Event) Event { return s.record(e) }

func (s *State) record(e Event) Event {
	s.Events = append(s.Events, e)
	if e.Adjustment != nil {
		s.Adjustments = append(s.Adjustments, *e.Adjustment)
	}
	s.DeriveStatus()
	return e
}

// endHolds resumes the schedule: the time spent in a dispute or pause shifts every
// later step (re-anchoring), so the customer gets the same spacing after the hold.
func (s *State) endPause(now time.Time) {
	if s.Pause != nil {
		s.Shift += now.Sub(s.Pause.Since)
		s.Pause = nil
	}
}

// --- refunds and chargebacks ---

// Refund is a refund or chargeback as the workflow receives it.
type Refund struct {
	ID        string
	Kind      string // AdjRefund or AdjChargeback
	PaymentID string
	Amount    int64
	At        time.Time
	Reason    string
	By        string
}

// Refundable is what may still be refunded: payments received less refunds.
func (s *State) Refundable() int64 {
	var sum int64
	for _, p := range s.Payments {
		sum += p.Amount
	}
	for _, a := range s.Adjustments {
		if a.Kind == AdjRefund || a.Kind == AdjChargeback {
			sum -= a.Amount - a.Credit // a refund re-opens Amount and takes back -Credit
		}
	}
	return sum
}

func (s *State) findAdjustment(id string) (Adjustment, bool) {
	for _, a := range s.Adjustments {
		if a.ID == id {
			return a, true
		}
	}
	return Adjustment{}, false
}

// CheckRefund says whether the refund may be applied; duplicate is true when it was
// applied before (same id and amount).
func (s *State) CheckRefund(r Refund, refundWindowOpen bool) (duplicate bool, err error) {
	if prev, ok := s.findAdjustment("refund/" + r.ID); ok {
		if prev.Amount-prev.Credit != r.Amount {
			return false, fmt.Errorf("refund_id: %s was already applied with another amount", r.ID)
		}
		return true, nil
	}
	switch {
	case s.Status == StatusCancelled || s.Status == StatusWrittenOff:
		return false, conflict(s.Status, "the invoice is %s; a refund cannot re-open it", s.Status)
	case s.Status == StatusPaid && !refundWindowOpen:
		return false, conflict(s.Status, "the invoice is paid and its refund window has closed")
	case r.PaymentID != "":
		if _, ok := s.FindPayment(r.PaymentID); !ok {
			return false, conflict(s.Status, "payment %s was not applied to this invoice", r.PaymentID)
		}
	}
	if r.Amount > s.Refundable() {
		return false, conflict(s.Status, "the refund is larger than the payments still refundable")
	}
	return false, nil
}

// ApplyRefund re-opens the balance by the refund, after taking back any credit the
// customer held. A paid invoice re-opens.
func (s *State) ApplyRefund(r Refund) []Event {
	fromCredit := min(s.Credit, r.Amount)
	s.Credit -= fromCredit
	reopen := r.Amount - fromCredit
	s.Balance += reopen
	adj := &Adjustment{ID: "refund/" + r.ID, Kind: r.Kind, Amount: reopen, Credit: -fromCredit, PaymentID: r.PaymentID, At: r.At, Reason: r.Reason}
	events := []Event{}
	if s.Status == StatusPaid && s.Balance > 0 {
		s.Status = StatusOpen // DeriveStatus below picks the right open status
		s.ClosedAt = time.Time{}
		events = append(events, Event{Key: "reopened/" + r.ID, Kind: EventReopened, At: r.At, By: r.By, Reason: r.Reason})
	}
	// The refund event goes first so its adjustment lands before the reopening.
	events = append([]Event{{Key: "refund/" + r.ID, Kind: EventRefunded, At: r.At, By: r.By, Reason: r.Reason, Adjustment: adj}}, events...)
	for _, e := range events {
		s.record(e)
	}
	return events
}

// --- adjustments and credit notes ---

// Adjust is an adjustment or credit note as the workflow receives it.
type Adjust struct {
	ID     string
	Kind   string // AdjAdjustment or AdjCreditNote
	Amount int64  // change of the amount due
	At     time.Time
	Reason string
	By     string
}

// CheckAdjust says whether the adjustment may be applied.
func (s *State) CheckAdjust(a Adjust, currency string) (duplicate bool, err error) {
	if prev, ok := s.findAdjustment("adjust/" + a.ID); ok {
		if prev.Amount != a.Amount {
			return false, fmt.Errorf("adjustment_id: %s was already applied with another amount", a.ID)
		}
		return true, nil
	}
	if s.Status.Terminal() {
		return false, conflict(s.Status, "the invoice is %s; its amount can no longer change", s.Status)
	}
	if a.Amount < 0 && -a.Amount > s.Balance {
		return false, fmt.Errorf("amount: lowers the amount due by more than the balance of %s", money.Format(s.Balance, currency))
	}
	return false, nil
}

// ApplyAdjust changes the amount due. A balance that reaches zero is settled: paid.
func (s *State) ApplyAdjust(a Adjust) Event {
	s.Balance += a.Amount
	e := Event{Key: "adjust/" + a.ID, Kind: EventAdjusted, At: a.At, By: a.By, Reason: a.Reason,
		Adjustment: &Adjustment{ID: "adjust/" + a.ID, Kind: a.Kind, Amount: a.Amount, At: a.At, Reason: a.Reason}}
	if s.Balance == 0 {
		s.Status, s.ClosedAt = StatusPaid, a.At
	}
	return s.record(e)
}

// --- disputes ---

// CheckDispute says whether a dispute may be opened.
func (s *State) CheckDispute(id string) (duplicate bool, err error) {
	if s.hasEvent("dispute/" + id) {
		return true, nil
	}
	switch {
	case s.Status.Terminal():
		return false, conflict(s.Status, "the invoice is %s; there is nothing to dispute", s.Status)
	case s.Dispute != nil:
		return false, conflict(s.Status, "dispute %s is already open; resolve it first", s.Dispute.ID)
	}
	return false, nil
}

// OpenDispute pauses dunning until the dispute is resolved. The dispute supersedes
// any promise, plan, pause or pending approval: they end, and after resolution the
// schedule (and any escalation approval) starts again from where it stood.
func (s *State) OpenDispute(d Dispute) Event {
	s.endPause(d.OpenedAt)
	s.Promise, s.Plan, s.Approval = nil, nil, nil
	s.Dispute = &d
	return s.record(Event{Key: "dispute/" + d.ID, Kind: EventDisputeOpened, At: d.OpenedAt, By: d.By, Reason: d.Reason})
}

// Resolution closes a dispute.
type Resolution struct {
	DisputeID string
	Upheld    bool
	// AdjustAmount (> 0) lowers the amount due when upheld; Cancel voids the invoice.
	AdjustAmount int64
	Cancel       bool
	At           time.Time
	Reason       string
	By           string
}

// CheckResolve says whether the open dispute may be resolved this way.
func (s *State) CheckResolve(r Resolution, currency string) (duplicate bool, err error) {
	if s.Dispute == nil {
		if r.DisputeID != "" && s.hasEvent("dispute-closed/"+r.DisputeID) {
			return true, nil
		}
		return false, conflict(s.Status, "no dispute is open")
	}
	switch {
	case r.DisputeID != "" && r.DisputeID != s.Dispute.ID:
		return false, conflict(s.Status, "the open dispute is %s, not %s", s.Dispute.ID, r.DisputeID)
	case !r.Upheld && (r.AdjustAmount != 0 || r.Cancel):
		return false, errors.New("outcome: only an upheld dispute adjusts or cancels the invoice")
	case r.Upheld && r.AdjustAmount == 0 && !r.Cancel:
		return false, errors.New("outcome: an upheld dispute needs adjust_amount_minor or cancel")
	case r.Upheld && r.AdjustAmount != 0 && r.Cancel:
		return false, errors.New("outcome: give adjust_amount_minor or cancel, not both")
	case r.AdjustAmount < 0:
		return false, errors.New("adjust_amount_minor: must be positive")
	case r.AdjustAmount > s.Balance:
		return false, fmt.Errorf("adjust_amount_minor: is more than the balance of %s", money.Format(s.Balance, currency))
	}
	return false, nil
}

// ResolveDispute ends the dispute. Resolved: dunning resumes, the schedule shifted
// by the time the dispute was open. Upheld: the amount due is lowered (settling the
// invoice when nothing is left) or the invoice is voided.
func (s *State) ResolveDispute(r Resolution) []Event {
	d := *s.Dispute
	s.Dispute = nil
	s.Shift += r.At.Sub(d.OpenedAt)
	kind := EventDisputeResolved
	if r.Upheld {
		kind = EventDisputeUpheld
	}
	events := []Event{s.record(Event{Key: "dispute-closed/" + d.ID, Kind: kind, At: r.At, By: r.By, Reason: r.Reason})}
	switch {
	case r.Cancel:
		events = append(events, s.Close(StatusCancelled, r.At, r.Reason, r.By))
	case r.AdjustAmount > 0:
		events = append(events, s.ApplyAdjust(Adjust{ID: "dispute/" + d.ID, Kind: AdjCreditNote, Amount: -r.AdjustAmount, At: r.At, Reason: r.Reason, By: r.By}))
	}
	return events
}

// --- promises ---

// CheckPromise says whether the promise may be recorded; today is the customer's
// local date.
func (s *State) CheckPromise(inv *Invoice, p Promise, now time.Time, currency string) error {
	switch s.Status {
	case StatusOpen, StatusOverdue:
	default:
		return conflict(s.Status, "the invoice is %s; a promise can be recorded only while it is open or overdue", s.Status)
	}
	date, amount := p.Date, p.Amount
	switch {
	case !p.Deadline(inv).After(now):
		return fmt.Errorf("date: %s is in the past", date)
	case date.After(DateOf(now.In(inv.Location())).AddDays(366)):
		return errors.New("date: must be within a year")
	case amount <= 0:
		return errors.New("amount: must be greater than zero")
	case amount > s.Balance:
		return fmt.Errorf("amount: is more than the balance of %s", money.Format(s.Balance, currency))
	}
	return nil
}

// MakePromise pauses reminders until the promise's date.
func (s *State) MakePromise(inv *Invoice, p Promise) Event {
	p.PaidBefore = s.TotalApplied(inv)
	s.Promise = &p
	n := s.countEvents(EventPromiseMade) + 1
	return s.record(Event{Key: fmt.Sprintf("promise/%d", n), Kind: EventPromiseMade, At: p.MadeAt, By: p.By})
}

func (s *State) countEvents(kind string) int {
	n := 0
	for _, e := range s.Events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// BreakPromise ends a promise whose date passed without the amount.
func (s *State) BreakPromise(at time.Time, reason string) Event {
	s.Promise = nil
	return s.record(Event{Key: s.promiseEndKey(), Kind: EventPromiseBroken, At: at, By: "system", Reason: reason})
}

// promiseEndKey is the event key of the end of the current promise, kept or broken:
// the ends number the promises in order.
func (s *State) promiseEndKey() string {
	return fmt.Sprintf("promise-end/%d", s.countEvents(EventPromiseKept)+s.countEvents(EventPromiseBroken)+1)
}

// Deadline is the end of the promise's day in the customer's timezone.
func (p *Promise) Deadline(inv *Invoice) time.Time {
	if !p.Until.IsZero() {
		return p.Until
	}
	return p.Date.In(inv.Location()).AddDate(0, 0, 1)
}

// --- plans ---

// CheckPlan says whether the plan may be agreed; today is the customer's local date.
func (s *State) CheckPlan(inv *Invoice, items []Installment, graceDays int, now time.Time, currency string) error {
	today := DateOf(now.In(inv.Location()))
	switch s.Status {
	case StatusOpen, StatusOverdue, StatusPromised:
	default:
		return conflict(s.Status, "the invoice is %s; a plan can be agreed only while it is open, overdue or promised", s.Status)
	}
	if len(items) == 0 || len(items) > 60 {
		return errors.New("installments: must list 1 to 60 installments")
	}
	if graceDays < 0 || graceDays > 30 {
		return errors.New("grace_days: must be 0 to 30")
	}
	var sum int64
	for i, it := range items {
		f := fmt.Sprintf("installments[%d]", i)
		switch {
		case it.Amount <= 0:
			return fmt.Errorf("%s.amount: must be greater than zero", f)
		case i == 0 && !it.dueEnd(inv).After(now):
			return fmt.Errorf("%s.due_date: %s is in the past", f, it.DueDate)
		case i > 0 && !items[i-1].dueEnd(inv).Before(it.dueEnd(inv)):
			return fmt.Errorf("%s.due_date: must come after the previous installment's %s", f, items[i-1].DueDate)
		case it.DueDate.After(today.AddDays(5 * 366)):
			return fmt.Errorf("%s.due_date: must be within five years", f)
		}
		sum += it.Amount
		if sum > money.MaxMinor {
			return fmt.Errorf("%s.amount: is too large", f)
		}
	}
	if sum != s.Balance {
		return fmt.Errorf("installments: sum to %s but the balance is %s", money.Format(sum, currency), money.Format(s.Balance, currency))
	}
	return nil
}

// AgreePlan replaces any promise with the plan.
func (s *State) AgreePlan(inv *Invoice, p Plan) Event {
	p.Number = s.countEvents(EventPlanAgreed) + 1
	p.PaidBefore = s.TotalApplied(inv)
	s.Promise = nil
	s.Plan = &p
	return s.record(Event{Key: fmt.Sprintf("plan/%d", p.Number), Kind: EventPlanAgreed, At: p.AgreedAt, By: p.By})
}

// BreakPlan ends a plan whose installment stayed unpaid past its grace.
func (s *State) BreakPlan(at time.Time, reason string) Event {
	n := s.Plan.Number
	s.Plan = nil
	return s.record(Event{Key: fmt.Sprintf("plan-end/%d", n), Kind: EventPlanBroken, At: at, By: "system", Reason: reason})
}

// planPaid is what was applied since the plan was agreed.
func (s *State) planPaid(inv *Invoice) int64 { return s.TotalApplied(inv) - s.Plan.PaidBefore }

// InstallmentDue is the first installment not yet covered by payments, or -1.
func (s *State) InstallmentDue(inv *Invoice) int {
	paid := s.planPaid(inv)
	var cum int64
	for i, it := range s.Plan.Installments {
		cum += it.Amount
		if paid < cum {
			return i
		}
	}
	return -1
}

// InstallmentOwed is what is still owed on installment i.
func (s *State) InstallmentOwed(inv *Invoice, i int) int64 {
	var cum int64
	for _, it := range s.Plan.Installments[:i+1] {
		cum += it.Amount
	}
	return max(0, cum-s.planPaid(inv))
}

// dueEnd is when the installment falls due: its exact time, or the end of its date.
func (it Installment) dueEnd(inv *Invoice) time.Time {
	if !it.DueAt.IsZero() {
		return it.DueAt
	}
	return it.DueDate.In(inv.Location()).AddDate(0, 0, 1)
}

// InstallmentDeadline is the end of installment i's grace, in the customer's timezone.
func (s *State) InstallmentDeadline(inv *Invoice, i int) time.Time {
	return s.Plan.Installments[i].dueEnd(inv).AddDate(0, 0, s.Plan.GraceDays)
}

// InstallmentReminderAt is when installment i's reminder goes out: a few days before
// it falls due, at the policy's send time (or at once, for a plan agreed late).
func (s *State) InstallmentReminderAt(p *policy.Policy, inv *Invoice, i int) time.Time {
	it := s.Plan.Installments[i]
	if !it.DueAt.IsZero() {
		return it.DueAt.AddDate(0, 0, -planRemindBefore)
	}
	d := it.DueDate.In(inv.Location())
	h, m := p.SendClock()
	return time.Date(d.Year(), d.Month(), d.Day()-planRemindBefore, h, m, 0, 0, d.Location())
}

// --- pause and resume ---

// CheckPause says whether the invoice may be paused; today is the customer's local
// date.
func (s *State) CheckPause(inv *Invoice, p Pause, now time.Time) error {
	switch s.Status {
	case StatusOpen, StatusOverdue:
	default:
		return conflict(s.Status, "the invoice is %s; only an open or overdue invoice can be paused", s.Status)
	}
	if p.Until != nil && !p.Ends(inv).After(now) {
		return fmt.Errorf("until: %s must be in the future", p.Until)
	}
	return nil
}

// PauseDunning holds the schedule.
func (s *State) PauseDunning(p Pause) Event {
	s.Pause = &p
	n := s.countEvents(EventPaused) + 1
	return s.record(Event{Key: fmt.Sprintf("pause/%d", n), Kind: EventPaused, At: p.Since, By: p.By, Reason: p.Reason})
}

// CheckResume says whether the invoice may be resumed.
func (s *State) CheckResume() error {
	if s.Pause == nil {
		return conflict(s.Status, "the invoice is %s, not paused", s.Status)
	}
	return nil
}

// Resume ends the pause; the schedule shifts by the time it lasted.
func (s *State) Resume(at time.Time, by, reason string) Event {
	s.endPause(at)
	n := s.countEvents(EventResumed) + 1
	return s.record(Event{Key: fmt.Sprintf("resume/%d", n), Kind: EventResumed, At: at, By: by, Reason: reason})
}

// PauseEnds is when an until-date pause ends by itself: the start of that day.
func (p *Pause) Ends(inv *Invoice) time.Time {
	switch {
	case !p.UntilAt.IsZero():
		return p.UntilAt
	case p.Until == nil:
		return time.Time{}
	}
	return p.Until.In(inv.Location())
}

// --- approvals ---

// RequestApproval makes the escalation wait for a decision.
func (s *State) RequestApproval(at time.Time, a policy.Approval) Event {
	s.Approval = &ApprovalWait{RequestedAt: at, Deadline: at.Add(a.Timeout.Duration()), Default: a.Default}
	return s.record(Event{Key: "approval/requested", Kind: EventApprovalRequested, At: at, By: "system"})
}

// RequestStepApproval makes reminder step a.Step wait for a decision (see
// policy.Step.Approval); the action's superseded steps are decided with it.
func (s *State) RequestStepApproval(p *policy.Policy, a Action, at time.Time) Event {
	st := p.Steps[a.Step]
	timeout, def := st.ApprovalRules()
	s.Approval = &ApprovalWait{RequestedAt: at, Deadline: at.Add(timeout), Default: def,
		Step: st.Name, StepIndex: a.Step, Skip: a.Skip}
	return s.record(Event{Key: fmt.Sprintf("approval/%s/requested/%d", st.Name, len(s.Events)), Kind: EventApprovalRequested,
		At: at, By: "system", Reason: "reminder " + st.Name + " waits for a person's approval"})
}

// StepApproved reports whether reminder step name was approved and may go out.
func (s *State) StepApproved(name string) bool {
	return slices.Contains(s.ApprovedSteps, name)
}

// CheckDecision says whether an approval decision may be taken now.
func (s *State) CheckDecision() error {
	if s.Approval == nil {
		return conflict(s.Status, "the invoice is %s; nothing awaits approval", s.Status)
	}
	return nil
}

// Decide takes the decision on what awaits approval. For the escalation, approve
// leaves EscalationApproved set for the workflow to escalate at once, and reject keeps
// collecting without a hand-off. For a reminder step, approve lets it go out (at the
// next moment the contact rules allow) and reject means it is never sent: dunning goes
// on with the next step.
func (s *State) Decide(approve bool, at time.Time, by, reason string) Event {
	w := s.Approval
	s.Approval = nil
	if w != nil && w.Step != "" {
		verb, kind := "rejected", EventRejected
		if approve {
			verb, kind = "approved", EventApproved
			s.ApprovedSteps = append(s.ApprovedSteps, w.Step)
		} else if w.StepIndex >= s.StepsDone {
			s.Skipped = append(s.Skipped, w.Skip...)
			s.Skipped = append(s.Skipped, w.Step)
			s.StepsDone = w.StepIndex + 1
			if s.Deferred != nil && s.Deferred.Step <= w.StepIndex {
				s.Deferred = nil
			}
		}
		if reason == "" {
			reason = w.What() + " " + verb
		}
		return s.record(Event{Key: fmt.Sprintf("approval/%s/%s/%d", w.Step, verb, len(s.Events)), Kind: kind, At: at, By: by, Reason: reason})
	}
	if approve {
		s.EscalationApproved = true
		return s.record(Event{Key: "approval/approved", Kind: EventApproved, At: at, By: by, Reason: reason})
	}
	s.EscalationRejected = true
	return s.record(Event{Key: "approval/rejected", Kind: EventRejected, At: at, By: by, Reason: reason})
}

// --- closing ---

// CheckClose says whether the invoice may be cancelled or written off.
func (s *State) CheckClose(to Status) error {
	if s.Status.Terminal() {
		return conflict(s.Status, "the invoice is already %s", s.Status)
	}
	if to == StatusWrittenOff && s.Balance == 0 {
		return conflict(s.Status, "the balance is zero; there is nothing to write off")
	}
	return nil
}

// Close cancels (voids) the invoice or writes its balance off; the balance goes to
// zero through a void or write-off adjustment, so the ledger still adds up.
func (s *State) Close(to Status, at time.Time, reason, by string) Event {
	kind, adjKind := EventCancelled, AdjVoid
	if to == StatusWrittenOff {
		kind, adjKind = EventWrittenOff, AdjWriteOff
	}
	e := Event{Key: kind, Kind: kind, At: at, By: by, Reason: reason}
	if s.Balance > 0 {
		e.Adjustment = &Adjustment{ID: adjKind, Kind: adjKind, Amount: -s.Balance, At: at, Reason: reason}
	}
	s.Balance = 0
	s.Dispute, s.Promise, s.Plan, s.Pause, s.Approval = nil, nil, nil, nil, nil
	s.Status, s.ClosedAt = to, at
	return s.record(e)
}

// --- delivery reports ---

// Delivery statuses the providers report after accepting a message.
const (
	DeliveryDelivered = "delivered"
)

// PermanentDeliveryFailure reports whether a delivery status means the message never
// reached the customer and never will.
func PermanentDeliveryFailure(status string) bool {
	switch status {
	case "bounced", "bounce", "dropped", "undelivered", "failed", "spamreport":
		return true
	}
	return false
}

// ApplyDelivery records a provider's delivery report on the notice of that step and
// channel. A permanent failure of a policy step's notice queues the step's next
// channel the customer can still be reached on (reachable tells), or, with none left,
// records the step as undeliverable. It reports whether anything changed.
func (s *State) ApplyDelivery(p *policy.Policy, step string, ch policy.Channel, status, errText string, at time.Time, reachable func(policy.Channel) bool) bool {
	idx := -1
	for i := range s.Notices {
		if n := &s.Notices[i]; n.Step == step && n.Channel == ch && n.Status == NoticeSent {
			idx = i
		}
	}
	if idx < 0 {
		return false
	}
	n := &s.Notices[idx]
	if n.Delivery != "" && n.Delivery != DeliveryDelivered || n.Delivery == status {
		return false // a final failure stays; a repeat changes nothing
	}
	n.Delivery, n.DeliveryError, n.DeliveryAt = status, errText, &at
	if !PermanentDeliveryFailure(status) {
		return true
	}
	stepIdx := -1
	for i, st := range p.Steps {
		if st.Name == step {
			stepIdx = i
		}
	}
	if stepIdx < 0 {
		return true // an installment reminder: recorded, no fallback
	}
	tried := map[policy.Channel]bool{}
	for _, m := range s.Notices {
		if m.Step == step {
			tried[m.Channel] = true
		}
	}
	for _, f := range s.Fallbacks {
		if f.Step == stepIdx {
			tried[f.Channel] = true
		}
	}
	for _, next := range p.Steps[stepIdx].Channels {
		if !tried[next] && reachable(next) {
			s.Fallbacks = append(s.Fallbacks, Fallback{Step: stepIdx, Channel: next})
			return true
		}
	}
	s.Notices = append(s.Notices, Notice{Step: step, Status: NoticeUndeliverable, SentAt: at,
		Error: "every channel of the step failed; the last: " + status})
	return true
}

// --- charges ---

// BookCharges books into the balance the late fees, interest and early-payment
// discount that the policy makes due by at (ComputeCharges over the payments so far,
// plus pending, a payment about to be applied), as the difference from what was booked
// before. Charges follow the policy whatever the invoice's holds; an operator waives
// them with a credit note.
//
// Interest accrues continuously but is booked only when withInterest is set: at each
// late fee and with each partial payment. A payment of the balance shown settles the
// invoice, so nobody is left owing the interest of the minutes between quote and
// payment (see SettlesWithoutInterest).
func (s *State) BookCharges(p *policy.Policy, inv *Invoice, at time.Time, pending *Payment, withInterest bool) []Event {
	if s.Status.Terminal() {
		return nil
	}
	payments := s.Payments
	if pending != nil {
		payments = append(append([]Payment{}, s.Payments...), *pending)
	}
	c := ComputeCharges(p, inv, payments, at)
	var events []Event
	book := func(kind, adjKind, key string, delta int64) {
		if delta == 0 {
			return
		}
		s.Balance = max(0, s.Balance+delta)
		events = append(events, s.record(Event{Key: key, Kind: kind, At: at, By: "policy",
			Adjustment: &Adjustment{ID: key, Kind: adjKind, Amount: delta, At: at}}))
	}
	if d := c.LateFeesTotal - s.Fees; d > 0 {
		s.Fees += d
		book(EventLateFeeCharged, AdjLateFee, fmt.Sprintf("late-fee/%d", s.countEvents(EventLateFeeCharged)+1), d)
	}
	if d := c.Interest - s.Interest; d > 0 && withInterest {
		s.Interest += d
		book(EventInterestCharged, AdjInterest, fmt.Sprintf("interest/%d", s.countEvents(EventInterestCharged)+1), d)
	}
	if d := c.DiscountTaken - s.Discount; d > 0 {
		s.Discount += d
		book(EventDiscountTaken, AdjDiscount, "discount", -d)
	}
	return events
}

// SettlesWithoutInterest reports whether a payment of amount settles the balance once
// the fees and discount due by then are booked (interest since the last booking is
// then not charged).
func (s *State) SettlesWithoutInterest(p *policy.Policy, inv *Invoice, at time.Time, pending Payment) bool {
	c := s.clip()
	c.BookCharges(p, inv, at, &pending, false)
	return pending.Amount >= c.Balance
}

// clip is a copy of the state whose slices an append cannot share with s.
func (s *State) clip() State {
	c := *s
	c.Events, c.Adjustments, c.Payments = slices.Clip(c.Events), slices.Clip(c.Adjustments), slices.Clip(c.Payments)
	return c
}

// NextChargeAt is when the next late fee falls due (now if one is due and not yet
// booked), or zero.
func (s *State) NextChargeAt(p *policy.Policy, inv *Invoice, now time.Time) time.Time {
	if p.LateFee == nil || s.Status.Terminal() {
		return time.Time{}
	}
	c := ComputeCharges(p, inv, s.Payments, now)
	if c.LateFeesTotal > s.Fees {
		return now
	}
	return c.NextLateFeeAt
}

// --- policy changes ---

// CheckChangePolicy says whether the invoice may move to policy next.
func (s *State) CheckChangePolicy(cur, next *policy.Policy) error {
	if s.Status.Terminal() {
		return conflict(s.Status, "the invoice is %s; its policy can no longer change", s.Status)
	}
	if next.ID == cur.ID && next.Version == cur.Version {
		return conflict(s.Status, "the invoice already runs under %s v%d", cur.ID, cur.Version)
	}
	// The caller loaded next from validated policy files (policy.Validate iterates
	// maps, which a workflow must not); this only refuses an empty one.
	if next.ID == "" || len(next.Steps) == 0 {
		return errors.New("policy: has no id or no steps")
	}
	return nil
}

// ChangePolicy moves the state to policy next: steps carry over by name, so no step
// already sent or skipped is sent again, and the schedule resumes after the last step
// handled under the old policy. A pending fallback or deferral of an old step is
// dropped (its step index means nothing in the new policy).
func (s *State) ChangePolicy(cur, next *policy.Policy, at time.Time, by, reason string) Event {
	handled := map[string]bool{}
	for _, n := range s.Notices {
		handled[n.Step] = true
	}
	for _, name := range s.Skipped {
		handled[name] = true
	}
	done := 0
	for i, st := range next.Steps {
		if handled[st.Name] {
			done = i + 1
		}
	}
	for _, st := range next.Steps[:done] {
		if !handled[st.Name] {
			s.Skipped = append(s.Skipped, st.Name) // before a handled step: never sent late
		}
	}
	s.StepsDone = done
	s.Fallbacks, s.Deferred = nil, nil
	if s.Approval != nil && s.Approval.Step != "" {
		s.Approval = nil // the new policy's schedule decides again whether a step waits
	}
	return s.record(Event{Key: fmt.Sprintf("policy/%s/%d", next.ID, next.Version), Kind: EventPolicyChanged, At: at, By: by,
		Reason: fmt.Sprintf("%s v%d -> %s v%d: %s", cur.ID, cur.Version, next.ID, next.Version, reason)})
}

// --- due date changes ---

// CheckChangeDueDate says whether the due date may move to d.
func (s *State) CheckChangeDueDate(inv *Invoice, d Date) error {
	switch {
	case s.Status.Terminal():
		return conflict(s.Status, "the invoice is %s; its due date can no longer change", s.Status)
	case s.Escalation != nil:
		return conflict(s.Status, "the invoice was handed off to %s; its due date can no longer change", s.Escalation.To)
	case d == inv.DueDate:
		return fmt.Errorf("due_date: is already %s", d)
	case d.Before(DateOf(inv.IssuedAt.In(inv.Location()))):
		return fmt.Errorf("due_date: %s is before the issue date", d)
	}
	return nil
}

// ChangeDueDate moves inv's due date to d and re-derives the status: an invoice whose
// new due date is still ahead is no longer overdue.
func (s *State) ChangeDueDate(inv *Invoice, d Date, at time.Time, by, reason string) Event {
	old := inv.DueDate
	inv.DueDate = d
	s.PastDue = !at.Before(inv.DueEnd())
	if s.Status == StatusOverdue || s.Status == StatusOpen {
		s.Status = StatusOpen // DeriveStatus in record sets the right one
	}
	n := s.countEvents(EventDueDateChanged) + 1
	return s.record(Event{Key: fmt.Sprintf("due-date/%d", n), Kind: EventDueDateChanged, At: at, By: by,
		Reason: fmt.Sprintf("%s -> %s: %s", old, d, reason)})
}
