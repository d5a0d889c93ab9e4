package collection

import (
	"slices"
	"time"

	"github.com/dunwell/dunwell/policy"
)

// The lifecycle: events beyond reminders and payments. Each event has a Check method
// that says whether the current state allows it (without changing anything, so the
// workflow's update validators can call it) and an apply method that changes the state
// and returns the Event to record. Holds (dispute, promise, plan, pause, approval) stop
// the reminder schedule while they last; the invoice's Status is derived from them
// (see DeriveStatus), never set by hand.

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
	// EventCompensationCharged: the fixed compensation for recovery costs.
	EventCompensationCharged = "compensation_charged"
	EventPolicyChanged       = "policy_changed"
	EventDueDateChanged      = "due_date_changed"
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
	// AdjCompensation is the fixed compensation for recovery costs (statutory
	// late-payment terms), charged once.
	AdjCompensation = "compensation"
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

func (s *State) countEvents(kind string) int {
	n := 0
	for _, e := range s.Events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}
