package invoiceapi

import (
	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/policy"
)

// Names of the lifecycle updates and signals. Every event a caller needs an answer to
// is an Update: its validator rejects a transition the current state forbids before it
// reaches history, and the API answers that rejection with 409 (or 422 for a bad
// field). Provider notifications nobody waits on are Signals.
const (
	// UpdateRefund re-opens the balance by a refund or a chargeback; see RefundInput.
	UpdateRefund = "refund"
	// UpdateAdjust changes the amount due (adjustment or credit note); see AdjustInput.
	UpdateAdjust = "adjust"
	// UpdateDispute opens a dispute; dunning pauses until it is resolved.
	UpdateDispute = "dispute"
	// UpdateResolveDispute closes the open dispute; see ResolveDisputeInput.
	UpdateResolveDispute = "resolve-dispute"
	// UpdatePromise records a promise to pay; see PromiseInput.
	UpdatePromise = "promise"
	// UpdatePlan agrees a payment plan; see PlanInput.
	UpdatePlan = "plan"
	// UpdatePause holds dunning; UpdateResume ends the hold.
	UpdatePause  = "pause"
	UpdateResume = "resume"
	// UpdateApprove and UpdateReject decide an escalation awaiting approval.
	UpdateApprove = "approve"
	UpdateReject  = "reject"
	// UpdateCancel voids the invoice; UpdateWriteOff writes its balance off. Both end
	// the workflow.
	UpdateCancel   = "cancel"
	UpdateWriteOff = "write-off"

	// UpdateChangePolicy moves the invoice to another policy (version); see
	// ChangePolicyInput.
	UpdateChangePolicy = "change-policy"
	// UpdateChangeDueDate moves the invoice's due date; see ChangeDueDateInput.
	UpdateChangeDueDate = "change-due-date"

	// SignalOptOut tells the workflow a channel address no longer takes messages
	// (STOP, unsubscribe, spam report, hard bounce); see OptOutInput.
	SignalOptOut = "opt-out"
	// SignalOptIn undoes an opt-out (START, a resubscribe); same payload.
	SignalOptIn = "opt-in"
	// SignalDelivery reports a provider's delivery status for a sent notice; see
	// DeliveryInput.
	SignalDelivery = "delivery"
)

// Actor names who asked for an event, for the ledger and the UI's current details:
// "key:<api key name>", "stripe", "payments-webhook", "twilio", "sendgrid" or "system".
type Actor = string

// EventResult answers every lifecycle update.
type EventResult struct {
	// Duplicate is true when an event with the same id was already applied; nothing
	// changed this time.
	Duplicate bool              `json:"duplicate"`
	Status    collection.Status `json:"status"`
	Balance   int64             `json:"balance_minor"`
	Credit    int64             `json:"credit_minor"`
}

// RefundKind tells a refund from a chargeback.
type RefundKind string

// Refund kinds.
const (
	KindRefund     RefundKind = "refund"
	KindChargeback RefundKind = "chargeback"
)

// RefundInput gives money back to the customer: the balance re-opens by the amount
// (after any credit the customer held), also after the invoice was paid while the
// policy's refund window is open.
type RefundInput struct {
	// RefundID is unique per invoice; a repeat with the same id and amount is a
	// duplicate, with another amount a conflict.
	RefundID  string     `json:"refund_id"`
	Kind      RefundKind `json:"kind"`
	PaymentID string     `json:"payment_id,omitempty"` // the payment refunded, when known
	Amount    int64      `json:"amount_minor"`
	Currency  string     `json:"currency"`
	At        string     `json:"at,omitempty"` // RFC 3339; empty means now
	Reason    string     `json:"reason,omitempty"`
	By        Actor      `json:"by"`
}

// AdjustKind tells an adjustment from a credit note.
type AdjustKind string

// Adjustment kinds.
const (
	KindAdjustment AdjustKind = "adjustment"  // Amount may be positive (more due) or negative
	KindCreditNote AdjustKind = "credit_note" // Amount is negative: less due
)

// AdjustInput changes the amount due.
type AdjustInput struct {
	AdjustmentID string     `json:"adjustment_id"`
	Kind         AdjustKind `json:"kind"`
	// Amount is the change of the amount due in minor units: positive raises it,
	// negative lowers it (never below zero).
	Amount   int64  `json:"amount_minor"`
	Currency string `json:"currency"`
	Reason   string `json:"reason"`
	By       Actor  `json:"by"`
}

// DisputeInput opens a dispute.
type DisputeInput struct {
	// DisputeID identifies the dispute (a provider's chargeback id, or one the
	// operator chooses); a repeat with the same id is a duplicate.
	DisputeID string `json:"dispute_id"`
	Reason    string `json:"reason"`
	// ResolveBy is an optional date (YYYY-MM-DD) by which the dispute should be
	// resolved; past it the UI flags the dispute as overdue. It does not resolve it.
	ResolveBy string `json:"resolve_by,omitempty"`
	By        Actor  `json:"by"`
}

// Dispute outcomes.
const (
	// DisputeResolved: the debt stands; dunning resumes, its schedule re-anchored by
	// the time the dispute was open.
	DisputeResolved = "resolved"
	// DisputeUpheld: the customer was right; AdjustAmount lowers the amount due, or
	// Cancel voids the invoice.
	DisputeUpheld = "upheld"
)

// ResolveDisputeInput closes the open dispute.
type ResolveDisputeInput struct {
	DisputeID string `json:"dispute_id,omitempty"` // empty: the open one
	Outcome   string `json:"outcome"`
	// AdjustAmount (minor units, > 0) lowers the amount due when upheld.
	AdjustAmount int64  `json:"adjust_amount_minor,omitempty"`
	Cancel       bool   `json:"cancel,omitempty"`
	Reason       string `json:"reason,omitempty"`
	By           Actor  `json:"by"`
}

// PromiseInput records the customer's promise to pay Amount by Date.
type PromiseInput struct {
	// Date is YYYY-MM-DD (by the end of that day in the customer's timezone) or an
	// exact RFC 3339 time.
	Date   string `json:"date"`
	Amount int64  `json:"amount_minor"` // > 0 and ≤ the balance
	Reason string `json:"reason,omitempty"`
	By     Actor  `json:"by"`
}

// Installment is one payment of a plan.
type Installment struct {
	DueDate string `json:"due_date"` // YYYY-MM-DD (end of that day, customer's timezone) or RFC 3339
	Amount  int64  `json:"amount_minor"`
}

// PlanInput agrees a payment plan: installments in date order whose amounts sum to
// the balance.
type PlanInput struct {
	Installments []Installment `json:"installments"`
	// GraceDays after an installment's due date before a shortfall breaks the plan.
	GraceDays int    `json:"grace_days"`
	Reason    string `json:"reason,omitempty"`
	By        Actor  `json:"by"`
}

// PauseInput holds dunning, until Until (optional: YYYY-MM-DD, the start of that day
// in the customer's timezone, or an RFC 3339 time) or a resume.
type PauseInput struct {
	Reason string `json:"reason"`
	Until  string `json:"until,omitempty"`
	By     Actor  `json:"by"`
}

// ReasonInput is the argument of resume, approve, reject, cancel and write-off.
type ReasonInput struct {
	Reason string `json:"reason"`
	By     Actor  `json:"by"`
}

// OptOutInput is the payload of the opt-out signal.
type OptOutInput struct {
	Channel string `json:"channel"` // "email" or "sms"
	// Address is the email address or E.164 number that opted out; it is ignored
	// unless it is the invoice's current address on that channel.
	Address string `json:"address"`
	Source  string `json:"source"` // "stop", "unsubscribe", "spamreport", "bounce", ...
}

// DeliveryInput is the payload of the delivery signal.
type DeliveryInput struct {
	NoticeKey string `json:"notice_key"` // <invoice>/<step>/<channel>
	// Status is the provider's final word: "delivered", or a permanent failure
	// ("bounced", "dropped", "undelivered", "failed") that moves the step to its next
	// channel.
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	At     string `json:"at,omitempty"` // RFC 3339
}

// ChangePolicyInput moves a running invoice to another policy or policy version. The
// state carries over: payments, fees booked, notices sent. A step of the new policy
// whose name was already sent (or skipped) is not sent again, nor is any step before
// it; the schedule goes on from the first step after the last one handled.
type ChangePolicyInput struct {
	Policy policy.Policy `json:"policy"`
	Reason string        `json:"reason"`
	By     Actor         `json:"by"`
}

// ChangeDueDateInput moves the due date. The schedule is recomputed from the new date:
// steps already sent are not sent again, steps now in the past are not sent late (only
// the latest one due goes), and an invoice whose new due date is ahead is open again.
type ChangeDueDateInput struct {
	DueDate string `json:"due_date"` // YYYY-MM-DD
	Reason  string `json:"reason"`
	By      Actor  `json:"by"`
}
