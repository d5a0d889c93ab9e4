package webhooks

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Source names the webhook an event came through. Event ids are unique per source.
type Source string

// Sources.
const (
	SourceStripe   Source = "stripe"
	SourcePayments Source = "payments"
	// SourceBank: credits of imported bank statements, matched to invoices (bank/,
	// ledger.ImportBankStatement); they reach the forwarder through the same outbox.
	SourceBank Source = "bank"
)

// Actor is who the workflow records as the author of a webhook's events.
func (s Source) Actor() string {
	switch s {
	case SourceStripe:
		return "stripe"
	case SourceBank:
		return "bank-statement"
	}
	return "payments-webhook"
}

// Kind is what a normalized event does to an invoice.
type Kind string

// Kinds.
const (
	// KindPayment: money received (Stripe payment_intent.succeeded, charge.succeeded,
	// invoice.paid, invoice_payment.paid; generic payment.succeeded).
	KindPayment Kind = "payment"
	// KindPaymentTotal: a statement that the Stripe payments of the invoice add up to
	// Amount (Stripe invoice.paid from API version 2025-03-31, which names no
	// payment). It moves no money: the forwarder marks it applied once the payments
	// applied through events that name them cover Amount, and parks it for an
	// operator if they never do.
	KindPaymentTotal Kind = "payment_total"
	// KindRefund: money given back, one or more refunds of one payment (Stripe
	// charge.refunded with its refunds list, refund.created, refund.updated; generic
	// payment.refunded).
	KindRefund Kind = "refund"
	// KindRefundTotal: a statement that the refunds of one payment add up to Amount so
	// far (Stripe charge.refunded without its refunds list). It moves no money: the
	// forwarder marks it applied once the refunds applied to the payment, under their
	// own ids, cover Amount, and parks it for an operator if they never do.
	KindRefundTotal Kind = "refund_total"
	// KindChargebackOpened: the customer disputed the payment with their bank; the
	// money is withdrawn (unless Inquiry) and dunning pauses.
	KindChargebackOpened Kind = "chargeback_opened"
	// KindChargebackClosed: the bank decided; Outcome says how.
	KindChargebackClosed Kind = "chargeback_closed"
)

// Outcome is how a chargeback closed.
type Outcome string

// Chargeback outcomes.
const (
	// OutcomeWon: the merchant won; the withdrawn money comes back.
	OutcomeWon Outcome = "won"
	// OutcomeLost: the customer keeps the money; the balance stays re-opened.
	OutcomeLost Outcome = "lost"
	// OutcomeClosed: an inquiry closed without money moving (Stripe warning_closed).
	OutcomeClosed Outcome = "closed"
)

// Event is a provider's webhook normalized for the forwarder. It holds ids, amounts
// and dates only: no customer data.
type Event struct {
	Source Source `json:"source"`
	// ID is the provider's event id (Stripe evt_..., the generic webhook-id): the
	// store's idempotency key.
	ID   string `json:"id"`
	Type string `json:"type"` // the provider's event type, e.g. "charge.refunded"
	Kind Kind   `json:"kind"`
	// InvoiceID is the Dunwell invoice; empty when the provider did not say (a Stripe
	// refund or dispute), then the forwarder finds it by PaymentID.
	InvoiceID string `json:"invoice_id,omitempty"`
	// PaymentID is the payment's idempotency key in the workflow: for Stripe the
	// PaymentIntent id when there is one (so payment_intent.succeeded and
	// charge.succeeded of one payment are the same payment), else the charge or
	// invoice id.
	PaymentID string `json:"payment_id,omitempty"`
	// ChargeID is the Stripe charge a refund or refund total is of, for the messages
	// an operator reads; PaymentID is what matches it to its payment.
	ChargeID string `json:"charge_id,omitempty"`
	// StripeInvoiceID is the Stripe invoice (in_...) an invoice.paid or
	// invoice_payment.paid is about: what leads the forwarder to the Dunwell invoice
	// when the event does not name it.
	StripeInvoiceID string `json:"stripe_invoice_id,omitempty"`
	Currency        string `json:"currency"`
	// Amount in minor units: the payment, the chargeback's amount, or the refunded
	// total a KindRefundTotal event states.
	Amount int64 `json:"amount_minor,omitempty"`
	// At is when it happened at the provider.
	At time.Time `json:"at"`
	// Refunds of a KindRefund event, each applied once by its id.
	Refunds []Refund `json:"refunds,omitempty"`
	// DisputeID identifies the chargeback (Stripe dp_..., generic chargeback_id).
	DisputeID string `json:"dispute_id,omitempty"`
	// Inquiry: a Stripe inquiry (warning_*): no money moved.
	Inquiry bool    `json:"inquiry,omitempty"`
	Outcome Outcome `json:"outcome,omitempty"`
	Reason  string  `json:"reason,omitempty"`
	// Portal is set on a payment of a Checkout Session made on the customer's portal
	// (see ParseStripeEvents): the forwarder audits it as the customer's.
	Portal *PortalPayment `json:"portal,omitempty"`
}

// Refund is one refund of a payment.
type Refund struct {
	ID     string `json:"id"`
	Amount int64  `json:"amount_minor"`
}

// Total is the sum of the event's refunds.
func (e *Event) Total() int64 {
	var sum int64
	for _, r := range e.Refunds {
		sum += r.Amount
	}
	return sum
}

// FieldError is a malformed or invalid event: the API answers it with 400 naming
// every field.
type FieldError map[string]string

// Error lists the fields and problems, sorted.
func (fe FieldError) Error() string {
	names := make([]string, 0, len(fe))
	for f := range fe {
		names = append(names, f)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, f := range names {
		parts[i] = f + ": " + fe[f]
	}
	return "invalid event: " + strings.Join(parts, "; ")
}

// Ignored is a well-formed, authentic event that Dunwell has nothing to do with (a
// type it does not map, a payment without metadata.invoice_id). The API answers 200
// so that the provider stops sending it, and stores nothing.
type Ignored struct{ Reason string }

func (e *Ignored) Error() string { return "ignored: " + e.Reason }

// IsIgnored reports whether err is an *Ignored and returns it.
func IsIgnored(err error) (*Ignored, bool) {
	var ig *Ignored
	ok := errors.As(err, &ig)
	return ig, ok
}

func ignored(format string, args ...any) error { return &Ignored{Reason: fmt.Sprintf(format, args...)} }
