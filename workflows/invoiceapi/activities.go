package invoiceapi

import (
	"strconv"
	"time"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/templates"
)

// Names of the workflow's activities: the method names of activities.Activities,
// which the worker registers as a pointer. The workflow calls them by these names
// (workflow.ExecuteActivity(ctx, ActivitySendNotice, req)), so it depends on no
// database driver or provider SDK.
const (
	// ActivitySendNotice sends one reminder on one channel: NoticeRequest → NoticeResult.
	ActivitySendNotice = "SendNotice"
	// ActivityRecordPayment writes an applied payment: PaymentRecord.
	ActivityRecordPayment = "RecordPayment"
	// ActivityEscalate hands an invoice off: EscalationRequest.
	ActivityEscalate = "Escalate"
	// ActivityRecordStatus writes a status change: StatusRecord.
	ActivityRecordStatus = "RecordStatus"
	// ActivityRecordEvent writes a lifecycle event: EventRecord.
	ActivityRecordEvent = "RecordEvent"
	// ActivityReserveContact decides the per-customer daily cap: ContactCapRequest →
	// ContactCapResult.
	ActivityReserveContact = "ReserveContact"
	// ActivitySendLetter renders a dunning letter and hands it to the print-and-mail
	// provider, or to the letter outbox: LetterRequest → LetterResult.
	ActivitySendLetter = "SendLetter"
	// ActivityChannelOrder reads the customer's order of the message channels (the
	// portal's "contact me first by"): ChannelOrderRequest → ChannelOrderResult.
	ActivityChannelOrder = "ChannelOrder"
)

// Error types an activity returns as non-retryable application errors, so the
// workflow can branch on them.
const (
	// ErrTypeRecipientInvalid: the address or number can never receive this message
	// (invalid, unreachable, opted out). The workflow falls back to another channel.
	ErrTypeRecipientInvalid = "RecipientInvalid"
	// ErrTypeBadRequest: the request itself is wrong; retrying cannot help.
	ErrTypeBadRequest = "BadRequest"
	// ErrTypeOutcomeUnknown: an earlier attempt may have reached the provider, and the
	// provider cannot be asked (its look-up API is not available to this account).
	// Sending again could duplicate the notice, so it is recorded as unknown for an
	// operator instead; the workflow neither resends nor falls back.
	ErrTypeOutcomeUnknown = "OutcomeUnknown"
	// ErrTypeRateLimited: the provider asked to slow down; the activity is retried
	// after the delay it gave.
	ErrTypeRateLimited = "RateLimited"
	// ErrTypeWithheld: the invoice left the reminding states (handed off, paid,
	// cancelled, written off, disputed) before the notice could go, or the workflow
	// withdrew it; nothing was sent and nothing should be.
	ErrTypeWithheld = "Withheld"
)

// NoticeRequest asks for one reminder to be sent on one channel. The notice key
// (invoice, step, channel) makes it idempotent across retries, worker crashes and
// continue-as-new.
type NoticeRequest struct {
	InvoiceID  string         `json:"invoice_id"`
	CustomerID string         `json:"customer_id"`
	Step       string         `json:"step"`
	Channel    policy.Channel `json:"channel"`
	Template   string         `json:"template"`
	// To is the email address or E.164 number.
	To           string    `json:"to"`
	CustomerName string    `json:"customer_name"`
	Locale       string    `json:"locale,omitempty"`
	Currency     string    `json:"currency"`
	Balance      int64     `json:"balance_minor"`
	DueDate      string    `json:"due_date"`
	PaymentURL   string    `json:"payment_url,omitempty"`
	ScheduledAt  time.Time `json:"scheduled_at"`
	// NotAfter is when the policy hands the invoice off (its escalation): the notice
	// is not sent from then on, however long its retries took. Zero: no hand-off.
	NotAfter time.Time `json:"not_after,omitzero"`
	// Terms are the policy's late fee and interest, which the message states.
	Terms templates.Terms `json:"terms,omitzero"`
}

// Key is the notice's business key: the same invoice, step and channel is one notice.
func (r NoticeRequest) Key() string {
	return r.InvoiceID + "/" + r.Step + "/" + string(r.Channel)
}

// NoticeResult reports a sent notice.
type NoticeResult struct {
	ProviderID string    `json:"provider_id"`
	SentAt     time.Time `json:"sent_at"`
	// AlreadySent is true when the ledger (or the provider, on reconciliation) showed
	// the notice had been sent by an earlier attempt; nothing was sent this time.
	AlreadySent bool `json:"already_sent"`
}

// PaymentRecord is an applied payment for the ledger.
type PaymentRecord struct {
	InvoiceID    string    `json:"invoice_id"`
	PaymentID    string    `json:"payment_id"`
	Currency     string    `json:"currency"`
	Amount       int64     `json:"amount_minor"`
	Applied      int64     `json:"applied_minor"`
	Credit       int64     `json:"credit_minor"`
	BalanceAfter int64     `json:"balance_after_minor"`
	PaidAt       time.Time `json:"paid_at"`
	AppliedAt    time.Time `json:"applied_at"`
	// Status, when set ("paid"), is recorded with the payment in one transaction.
	Status string `json:"status,omitempty"`
}

// EscalationRequest hands an invoice off to an agency or to legal.
type EscalationRequest struct {
	InvoiceID  string                  `json:"invoice_id"`
	CustomerID string                  `json:"customer_id"`
	To         policy.EscalationTarget `json:"to"`
	Currency   string                  `json:"currency"`
	Balance    int64                   `json:"balance_minor"`
	DueDate    string                  `json:"due_date"`
	At         time.Time               `json:"at"`
	// SetStatus also records the status "escalated", in the same transaction.
	SetStatus bool `json:"set_status,omitempty"`
}

// StatusRecord is an invoice status change for the ledger.
type StatusRecord struct {
	InvoiceID string    `json:"invoice_id"`
	Status    string    `json:"status"`
	Balance   int64     `json:"balance_minor"`
	At        time.Time `json:"at"`
}

// EventRecord is a lifecycle event (dispute, promise, plan, pause, approval, refund,
// adjustment, cancel, write-off, ...) with the invoice's status and balance after it
// and the money change it made, for the ledger. It is the workflow's own type: the
// ledger's row may change without changing what histories hold.
type EventRecord struct {
	InvoiceID string `json:"invoice_id"`
	// EventKey is unique per invoice; the workflow derives it so retries repeat it.
	EventKey string `json:"event_key"`
	// Kind is one of collection's event kinds (dispute_opened, promise_broken, ...).
	Kind    string         `json:"kind"`
	Reason  string         `json:"reason,omitempty"`
	Actor   string         `json:"actor,omitempty"`
	Details map[string]any `json:"details,omitempty"`
	At      time.Time      `json:"at"`
	// Status and Balance are the invoice's after the event.
	Status  string `json:"status"`
	Balance int64  `json:"balance_minor"`
	// Adjustment is the money change the event made, if any.
	Adjustment *Adjustment `json:"adjustment,omitempty"`
	// PolicyID and PolicyVersion, when set, are the policy the invoice runs under
	// from now on (a policy_changed event).
	PolicyID      string `json:"policy_id,omitempty"`
	PolicyVersion int    `json:"policy_version,omitempty"`
	// DueDate (YYYY-MM-DD), when set, is the invoice's new due date.
	DueDate string `json:"due_date,omitempty"`
}

// Adjustment is the money change of an EventRecord.
type Adjustment struct {
	AdjustmentID string `json:"adjustment_id"`
	// Kind: refund, chargeback, adjustment, credit_note, write_off, void, late_fee,
	// interest, discount or compensation.
	Kind     string `json:"kind"`
	Currency string `json:"currency"`
	// Amount is the effect on the balance (positive re-opens or raises it); Credit the
	// effect on the customer's credit.
	Amount       int64     `json:"amount_minor"`
	Credit       int64     `json:"credit_minor"`
	BalanceAfter int64     `json:"balance_after_minor"`
	PaymentID    string    `json:"payment_id,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	Actor        string    `json:"actor,omitempty"`
	At           time.Time `json:"at"`
}

// ContactCapRequest asks whether one reminder may reach the customer now, under the
// policy's per-customer daily cap (policy.Contact.MaxPerCustomerPerDay) across all of
// the customer's invoices. The workflow calls ActivityReserveContact right before
// sending a reminder whose policy sets the cap (skip the call when it is 0).
type ContactCapRequest struct {
	CustomerID string `json:"customer_id"`
	InvoiceID  string `json:"invoice_id"`
	// Step is the policy step's name: the contact is "<invoice>/<step>", one contact
	// whichever channel carries it.
	Step string `json:"step"`
	// Timezone is the customer's IANA zone: the cap counts the customer's local day.
	Timezone string `json:"timezone"`
	// At is when the reminder goes out (workflow.Now at the send).
	At time.Time `json:"at"`
	// MaxPerDay is policy.Contact.MaxPerCustomerPerDay (at least 1).
	MaxPerDay int `json:"max_per_day"`
}

// ChannelOrderRequest asks for the customer's order of the message channels. The
// workflow calls ActivityChannelOrder at a reminder whose step offers more than one
// channel the customer can be reached on.
type ChannelOrderRequest struct {
	CustomerID string `json:"customer_id"`
}

// ChannelOrderResult answers a ChannelOrderRequest: the channels most wanted first,
// empty when the customer never chose (the step's order holds).
type ChannelOrderResult struct {
	Order []policy.Channel `json:"channel_order,omitempty"`
}

// ContactCapResult answers a ContactCapRequest.
type ContactCapResult struct {
	// Allowed: send now. The slot is held; a retry or a fallback channel of the same
	// step is allowed again without taking another.
	Allowed bool `json:"allowed"`
	// LocalDay is the customer's day that was counted ("2026-12-24").
	LocalDay string `json:"local_day"`
	// Count is how many contacts the customer holds that day (this one included when
	// allowed).
	Count int `json:"count"`
	// NotBefore, when not allowed, is the start of the customer's next local day: the
	// workflow moves the reminder to collection.AfterDailyCap(policy, invoice, At) (the
	// first allowed contact moment from then), records the move with its reason, and
	// asks again then.
	NotBefore time.Time `json:"not_before,omitzero"`
}

// LetterRequest asks for one dunning letter, exactly once per key (invoice, step).
type LetterRequest struct {
	InvoiceID    string             `json:"invoice_id"`
	CustomerID   string             `json:"customer_id"`
	CustomerName string             `json:"customer_name"`
	To           collection.Address `json:"to"`
	Step         string             `json:"step"`
	Template     string             `json:"template"`
	Locale       string             `json:"locale,omitempty"`
	// Timezone is the customer's: the letter is dated the day ScheduledAt falls on
	// there.
	Timezone    string    `json:"timezone"`
	ScheduledAt time.Time `json:"scheduled_at"`
	Currency    string    `json:"currency"`
	// Amounts in minor units: as issued, fees and interest booked, due now.
	Original   int64  `json:"original_minor"`
	Fees       int64  `json:"fees_minor"`
	Interest   int64  `json:"interest_minor"`
	Balance    int64  `json:"balance_minor"`
	DueDate    string `json:"due_date"`
	PaymentURL string `json:"payment_url,omitempty"`
	// NotAfter is the policy's hand-off time (see NoticeRequest.NotAfter).
	NotAfter time.Time       `json:"not_after,omitzero"`
	Terms    templates.Terms `json:"terms,omitzero"`
}

// Key is the letter's business key: one letter per invoice and step.
func (r LetterRequest) Key() string { return r.InvoiceID + "/" + r.Step + "/letter" }

// Letter outcomes.
const (
	// LetterSent: the print-and-mail provider took it (ProviderID is its letter id).
	LetterSent = "sent"
	// LetterToPrint: no provider is configured; it waits in the letter outbox for an
	// operator to print and mail (GET /v1/letters?status=to_print).
	LetterToPrint = "to_print"
)

// LetterResult is what became of a letter.
type LetterResult struct {
	// LetterID is the letter's id in the ledger (GET /v1/letters/{id}/pdf).
	LetterID   int64     `json:"letter_id"`
	Status     string    `json:"status"`
	ProviderID string    `json:"provider_id,omitempty"`
	SentAt     time.Time `json:"sent_at"`
	// AlreadySent: an earlier attempt had handed it over; nothing was sent now.
	AlreadySent bool `json:"already_sent,omitempty"`
}

// Reference names the letter on the invoice's notice: the provider's letter id, or
// "letter:<id>" for a letter in the outbox.
func (r LetterResult) Reference() string {
	if r.ProviderID != "" {
		return r.ProviderID
	}
	return "letter:" + strconv.FormatInt(r.LetterID, 10)
}
