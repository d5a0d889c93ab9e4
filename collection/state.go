package collection

import (
	"time"

	"github.com/dunwell/dunwell/policy"
)

// Status is where an invoice stands. The CollectionStatus search attribute carries the
// same word.
type Status string

// Statuses, as in DESIGN.md. The skeleton uses open, overdue, escalated and paid; the
// others belong to operator actions built on top of it.
const (
	StatusOpen             Status = "open"
	StatusOverdue          Status = "overdue"
	StatusPaused           Status = "paused"
	StatusDisputed         Status = "disputed"
	StatusPromised         Status = "promised"
	StatusOnPlan           Status = "on_plan"
	StatusAwaitingApproval Status = "awaiting_approval"
	StatusEscalated        Status = "escalated"
	StatusPaid             Status = "paid"
	StatusCancelled        Status = "cancelled"
	StatusWrittenOff       Status = "written_off"
)

// Terminal reports whether the workflow ends in this status.
func (s Status) Terminal() bool {
	return s == StatusPaid || s == StatusCancelled || s == StatusWrittenOff
}

// NoticeStatus is the outcome of one reminder on one channel.
type NoticeStatus string

// Notice outcomes.
const (
	NoticeSent          NoticeStatus = "sent"
	NoticeFailed        NoticeStatus = "failed"        // permanent failure on this channel; the next channel was tried
	NoticeUndeliverable NoticeStatus = "undeliverable" // no channel left for this step
	NoticeUnknown       NoticeStatus = "unknown"       // may or may not have reached the customer; see the notice's error
	NoticeWithheld      NoticeStatus = "withheld"      // not sent: the invoice was handed off, paid, held or closed before it could go
)

// Notice records one reminder attempt on one channel.
type Notice struct {
	Step       string         `json:"step"`
	Channel    policy.Channel `json:"channel"`
	Status     NoticeStatus   `json:"status"`
	SentAt     time.Time      `json:"sent_at"`
	ProviderID string         `json:"provider_id,omitempty"`
	Error      string         `json:"error,omitempty"`
	// MessageKey names the customer's consolidated message that carried this step
	// (policy consolidate), which listed the customer's other invoices of the window
	// too; empty for a notice sent on its own.
	MessageKey string `json:"message_key,omitempty"`
	// MovedFrom is the policy's time when the contact rules moved the reminder;
	// MoveReason says why.
	MovedFrom  *time.Time `json:"moved_from,omitempty"`
	MoveReason string     `json:"move_reason,omitempty"`
	// Delivery is the provider's later word on a sent notice: "delivered", or a
	// permanent failure ("bounced", "dropped", "undelivered", "failed").
	Delivery      string     `json:"delivery,omitempty"`
	DeliveryError string     `json:"delivery_error,omitempty"`
	DeliveryAt    *time.Time `json:"delivery_at,omitempty"`
}

// Fallback is a step to send again on another channel because its notice failed
// after the provider had accepted it (a bounce, an undelivered SMS).
type Fallback struct {
	Step    int            `json:"step"`
	Channel policy.Channel `json:"channel"`
}

// Payment is money received against the invoice.
type Payment struct {
	PaymentID string    `json:"payment_id"`
	Amount    int64     `json:"amount_minor"`
	PaidAt    time.Time `json:"paid_at"`
	AppliedAt time.Time `json:"applied_at"`
}

// Escalation records the hand-off of an unpaid invoice.
type Escalation struct {
	To      policy.EscalationTarget `json:"to"`
	At      time.Time               `json:"at"`
	Balance int64                   `json:"balance_minor"`
}

// State is the whole collection state of one invoice; it survives continue-as-new.
type State struct {
	Status  Status `json:"status"`
	Balance int64  `json:"balance_minor"`
	Credit  int64  `json:"credit_minor"` // over-payment kept for the customer
	// Fees, Interest and Discount are the late fees, interest and early-payment
	// discount booked into the balance so far (see BookCharges).
	Fees     int64 `json:"fees_minor"`
	Interest int64 `json:"interest_minor,omitempty"`
	Discount int64 `json:"discount_minor,omitempty"`
	// Compensation is the fixed compensation for recovery costs booked (once).
	Compensation int64 `json:"compensation_minor,omitempty"`
	// ChargesAt is when interest was last booked: the interest lines of the state
	// view are computed at that instant.
	ChargesAt time.Time `json:"charges_at,omitzero"`
	// StepsDone counts the policy steps already handled (sent, failed or skipped), in
	// policy order.
	StepsDone  int         `json:"steps_done"`
	Skipped    []string    `json:"skipped,omitempty"` // steps not sent: a later one was already due, or an approval was refused
	Notices    []Notice    `json:"notices"`
	Payments   []Payment   `json:"payments"`
	Escalation *Escalation `json:"escalation,omitempty"`
	ClosedAt   time.Time   `json:"closed_at,omitzero"`

	// PastDue is set once the due date (and grace) passed; a hold does not clear it.
	PastDue bool `json:"past_due,omitempty"`
	// Shift slides every later step and the escalation: the time the invoice spent
	// paused or disputed, so dunning resumes with the spacing it had.
	Shift time.Duration `json:"shift_ns,omitempty"`
	// The holds that stop reminders while they last; see lifecycle.go.
	Dispute  *Dispute      `json:"dispute,omitempty"`
	Promise  *Promise      `json:"promise,omitempty"`
	Plan     *Plan         `json:"plan,omitempty"`
	Pause    *Pause        `json:"pause,omitempty"`
	Approval *ApprovalWait `json:"approval,omitempty"`
	// EscalationApproved: an operator (or the timeout's default) approved the
	// hand-off; EscalationRejected: the invoice stays with dunning, never handed off.
	EscalationApproved bool `json:"escalation_approved,omitempty"`
	EscalationRejected bool `json:"escalation_rejected,omitempty"`
	// ApprovedSteps names the reminder steps that needed approval and got it.
	ApprovedSteps []string `json:"approved_steps,omitempty"`
	// OptedOut lists the channels the customer's address opted out of.
	OptedOut []policy.Channel `json:"opted_out,omitempty"`
	// Adjustments are refunds, chargebacks, adjustments, credit notes, voids and
	// write-offs, in order.
	Adjustments []Adjustment `json:"adjustments,omitempty"`
	// Events is the lifecycle history, in order.
	Events []Event `json:"events,omitempty"`
	// Fallbacks are re-sends owed after a delivery failure, in order.
	Fallbacks []Fallback `json:"fallbacks,omitempty"`
	// Deferred holds a reminder the per-customer daily cap refused until a later day.
	Deferred *Deferral `json:"deferred,omitempty"`
	// Account: the invoice attached to its customer's account workflow (its policy
	// consolidates), which it tells when it closes.
	Account bool `json:"account,omitempty"`
	// AccountNext is the next reminder's due time the account last heard from the
	// invoice (zero: none); the invoice tells it again when NextReminderAt moves.
	AccountNext time.Time `json:"account_next,omitzero"`
	// Call is the open call task of a call step, whose outcome the invoice waits for
	// (calls.go); nil when none.
	Call *CallWait `json:"call,omitempty"`
	// CallAttempts are the calls made about the invoice, with their outcomes; the
	// call rules (NextCallAt) count them.
	CallAttempts []CallAttempt `json:"call_attempts,omitempty"`
}

// Deferral moves policy step Step to At, for Reason.
type Deferral struct {
	Step   int       `json:"step"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// NewState is the state of a freshly issued invoice.
func NewState(inv *Invoice) State {
	return State{Status: StatusOpen, Balance: inv.AmountDue, Notices: []Notice{}, Payments: []Payment{}}
}

// Stage is the dunning stage for the DunningStage search attribute: "issued" before
// any step, then the name of the last step handled, then "escalated-<to>".
func (s *State) Stage(p *policy.Policy) string {
	if s.Escalation != nil {
		return "escalated-" + string(s.Escalation.To)
	}
	if s.StepsDone == 0 || s.StepsDone > len(p.Steps) {
		return "issued"
	}
	return p.Steps[s.StepsDone-1].Name
}
