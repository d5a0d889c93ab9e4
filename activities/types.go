// Package activities holds Dunwell's side effects: email through SendGrid, SMS through
// Twilio, the PostgreSQL ledger and the escalation hand-off. Activities is a struct
// holding its clients; the worker registers a pointer to it.
package activities

import (
	"time"

	"github.com/dunwell/dunwell/policy"
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
