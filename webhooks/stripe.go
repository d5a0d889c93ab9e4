package webhooks

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/money"
)

// stripeEvent is the part of a Stripe Event that Dunwell reads. Own small structs
// rather than stripe-go's types: the parser reads a handful of fields that are the same
// in every API version, and stays pure and fuzzable.
type stripeEvent struct {
	ID         string `json:"id"`
	Object     string `json:"object"`
	Type       string `json:"type"`
	APIVersion string `json:"api_version"`
	Created    int64  `json:"created"`
	Data       struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// expandable is a Stripe field that is an id or, when expanded, an object with one.
type expandable string

func (e *expandable) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*e = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*e = expandable(s)
		return nil
	}
	var obj struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	*e = expandable(obj.ID)
	return nil
}

type stripeObject struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	Amount         *int64            `json:"amount"`
	AmountReceived *int64            `json:"amount_received"`
	AmountCaptured *int64            `json:"amount_captured"`
	AmountRefunded *int64            `json:"amount_refunded"`
	AmountPaid     *int64            `json:"amount_paid"`
	Captured       *bool             `json:"captured"`
	Currency       string            `json:"currency"`
	Metadata       map[string]string `json:"metadata"`
	PaymentIntent  expandable        `json:"payment_intent"`
	Charge         expandable        `json:"charge"`
	Status         string            `json:"status"`
	Reason         string            `json:"reason"`
	Created        int64             `json:"created"`
	Refunds        *struct {
		Data []stripeListedRefund `json:"data"`
	} `json:"refunds"`
	// An Invoice's payments (API versions from 2025-03-31, and only when the
	// payload includes them: event payloads leave them out unless asked).
	Payments *struct {
		Data []stripeInvoicePayment `json:"data"`
	} `json:"payments"`
	// An InvoicePayment's invoice and payment.
	Invoice expandable              `json:"invoice"`
	Payment *stripePaymentOfInvoice `json:"payment"`
}

// stripeInvoicePayment is an InvoicePayment: one payment toward an invoice.
type stripeInvoicePayment struct {
	ID         string                  `json:"id"`
	AmountPaid *int64                  `json:"amount_paid"`
	Status     string                  `json:"status"`
	Payment    *stripePaymentOfInvoice `json:"payment"`
}

// stripePaymentOfInvoice is the payment an InvoicePayment is: a PaymentIntent, or a
// charge without one.
type stripePaymentOfInvoice struct {
	Type          string     `json:"type"`
	PaymentIntent expandable `json:"payment_intent"`
	Charge        expandable `json:"charge"`
}

// id is the payment's id as the payment events name it: the PaymentIntent, else the
// charge; "" for a payment that is neither (an out-of-band payment record).
func (p *stripePaymentOfInvoice) id() string {
	if p == nil {
		return ""
	}
	return cmp.Or(string(p.PaymentIntent), string(p.Charge))
}

// stripeListedRefund is one refund in a charge's refunds list.
type stripeListedRefund struct {
	ID       string `json:"id"`
	Amount   *int64 `json:"amount"`
	Currency string `json:"currency"`
	Status   string `json:"status"`
}

// ParseStripe maps a verified Stripe event body onto an Event:
//
//	payment_intent.succeeded  payment of amount_received, id = the PaymentIntent
//	charge.succeeded          payment of amount_captured, id = its PaymentIntent (else the charge)
//	invoice.paid              payment of amount_paid, id = its PaymentIntent (else the invoice);
//	                          from API version 2025-03-31 see stripeInvoicePaid
//	invoice_payment.paid      payment of amount_paid toward a Stripe invoice, id = its
//	                          PaymentIntent (else its charge)
//	refund.created            a succeeded Refund (re_...) of its payment; pending, failed
//	refund.updated              or canceled ones are *Ignored
//	charge.refunded           with its refunds list: one refund per listed refund (re_...);
//	                          without it (API versions since 2022-11-15): a KindRefundTotal
//	                          statement of amount_refunded, which moves no money
//	charge.dispute.created    chargeback opened (an inquiry, status warning_*, moves no money)
//	charge.dispute.closed     chargeback closed: won, lost, or an inquiry closed
//
// The Dunwell invoice is metadata.invoice_id of the PaymentIntent, Charge, Invoice or
// Refund; refunds and disputes without it are matched to their payment by the
// forwarder. A payment without metadata.invoice_id and every other event type are
// *Ignored; a malformed event is a FieldError.
func ParseStripe(body []byte) (Event, error) {
	var ev stripeEvent
	if bad := strictJSON(body, &ev); bad != nil {
		return Event{}, bad
	}
	fe := FieldError{}
	if !eventIDPattern.MatchString(ev.ID) {
		fe["id"] = "must be the Stripe event id (evt_...)"
	}
	if ev.Object != "event" {
		fe["object"] = `must be "event"`
	}
	if ev.Type == "" {
		fe["type"] = "is required"
	}
	if len(fe) > 0 {
		return Event{}, fe
	}
	kind, mapped := stripeKinds[ev.Type]
	if !mapped {
		return Event{}, ignored("Stripe event type %q is not used by Dunwell", ev.Type)
	}
	var obj stripeObject
	if len(bytes.TrimSpace(ev.Data.Object)) == 0 || bytes.Equal(bytes.TrimSpace(ev.Data.Object), []byte("null")) {
		return Event{}, FieldError{"data.object": "is required"}
	}
	if bad := strictJSON(ev.Data.Object, &obj); bad != nil {
		out := FieldError{}
		for f, p := range bad {
			if f == "body" {
				out["data.object"] = p
			} else {
				out["data.object."+f] = p
			}
		}
		return Event{}, out
	}
	out := Event{Source: SourceStripe, ID: ev.ID, Type: ev.Type, Kind: kind, At: unixOrZero(ev.Created)}
	if !idPattern(obj.ID) {
		fe["data.object.id"] = "is required"
	}
	cur := strings.ToUpper(obj.Currency)
	if !money.ValidCurrency(cur) {
		fe["data.object.currency"] = "must be an ISO 4217 currency code"
	}
	out.Currency = cur
	// The payment ids become the workflow's payment id: checked like any other id.
	if obj.PaymentIntent != "" && !idPattern(string(obj.PaymentIntent)) {
		fe["data.object.payment_intent"] = "must be a Stripe id"
	}
	if obj.Charge != "" && !idPattern(string(obj.Charge)) {
		fe["data.object.charge"] = "must be a Stripe id"
	}
	if id, ok := obj.Metadata["invoice_id"]; ok {
		if !collection.IDPattern.MatchString(id) {
			fe["data.object.metadata.invoice_id"] = collection.IDProblem
		}
		out.InvoiceID = id
	}
	if len(fe) > 0 {
		return Event{}, fe
	}
	switch ev.Type {
	case "payment_intent.succeeded":
		return stripePayment(out, obj.ID, obj.AmountReceived, "data.object.amount_received")
	case "charge.succeeded":
		if obj.Captured != nil && !*obj.Captured {
			return Event{}, ignored("charge %s is authorized, not captured", obj.ID)
		}
		amount := obj.AmountCaptured
		if amount == nil || *amount == 0 {
			amount = obj.Amount
		}
		return stripePayment(out, cmp.Or(string(obj.PaymentIntent), obj.ID), amount, "data.object.amount_captured")
	case "invoice.paid":
		return stripeInvoicePaid(out, &obj, ev.APIVersion)
	case "invoice_payment.paid":
		return stripeInvoicePaymentPaid(out, &obj)
	case "charge.refunded":
		return stripeRefund(out, &obj)
	case "refund.created", "refund.updated":
		return stripeRefundObject(out, &obj)
	default: // charge.dispute.created, charge.dispute.closed
		return stripeDispute(out, &obj)
	}
}

var stripeKinds = map[string]Kind{
	"payment_intent.succeeded": KindPayment,
	"charge.succeeded":         KindPayment,
	"invoice.paid":             KindPayment,
	"invoice_payment.paid":     KindPayment,
	"charge.refunded":          KindRefund,
	"refund.created":           KindRefund,
	"refund.updated":           KindRefund,
	"charge.dispute.created":   KindChargebackOpened,
	"charge.dispute.closed":    KindChargebackClosed,
}

func stripePayment(out Event, paymentID string, amount *int64, field string) (Event, error) {
	if out.InvoiceID == "" {
		return Event{}, ignored("%s has no metadata.invoice_id: not a Dunwell invoice", paymentID)
	}
	return stripeAmount(out, paymentID, amount, field)
}

// stripeAmount sets a payment's id and amount; a payment of nothing is *Ignored.
func stripeAmount(out Event, paymentID string, amount *int64, field string) (Event, error) {
	if amount == nil {
		return Event{}, FieldError{field: "is required"}
	}
	if *amount <= 0 {
		return Event{}, ignored("%s moved no money", paymentID)
	}
	if *amount > money.MaxMinor {
		return Event{}, FieldError{field: "is too large"}
	}
	out.PaymentID, out.Amount = paymentID, *amount
	return out, nil
}

// stripeBasil is the first API version whose Invoice has no payment_intent and whose
// PaymentIntent and Charge no invoice (2025-03-31.basil): one invoice may be paid by
// several payments, listed in its payments.
const stripeBasil = "2025-03-31"

// stripeInvoicePaid maps invoice.paid. Before API version 2025-03-31 the invoice names
// its PaymentIntent, and the payment takes that id, so payment_intent.succeeded and
// charge.succeeded of the same money are the same payment; an invoice paid without
// one (out of band, from the customer's balance) is a payment by the invoice's own id.
//
// From 2025-03-31 the invoice names no payment, and its PaymentIntent does not name
// the invoice: with metadata.invoice_id on both, taking the invoice's id for the
// payment would apply the same money twice, once as in_... and once as pi_.... So:
//   - an invoice whose payload includes its payments, exactly one of them paid, is a
//     payment by that payment's id (its PaymentIntent, else its charge);
//   - any other is KindPaymentTotal, a statement that the Stripe payments of the
//     Dunwell invoice add up to amount_paid. It moves no money: the money comes
//     through the events that name the payment (payment_intent.succeeded,
//     charge.succeeded, invoice_payment.paid), whichever arrives first. The forwarder
//     marks it applied once they cover it and parks it for an operator if they
//     never do, as it does a refund total.
func stripeInvoicePaid(out Event, obj *stripeObject, version string) (Event, error) {
	out.StripeInvoiceID = obj.ID
	if obj.PaymentIntent != "" || (version != "" && version < stripeBasil) || (version == "" && obj.Payments == nil) {
		return stripePayment(out, cmp.Or(string(obj.PaymentIntent), obj.ID), obj.AmountPaid, "data.object.amount_paid")
	}
	var paid []stripeInvoicePayment
	if obj.Payments != nil {
		for i, p := range obj.Payments.Data {
			field := fmt.Sprintf("data.object.payments.data[%d]", i)
			if p.Status != "paid" {
				continue
			}
			if id := p.Payment.id(); id != "" && !idPattern(id) {
				return Event{}, FieldError{field + ".payment": "must name a Stripe PaymentIntent or charge"}
			}
			paid = append(paid, p)
		}
	}
	if len(paid) == 1 && paid[0].Payment.id() != "" {
		return stripePayment(out, paid[0].Payment.id(), paid[0].AmountPaid, "data.object.payments.data.amount_paid")
	}
	ev, err := stripePayment(out, obj.ID, obj.AmountPaid, "data.object.amount_paid")
	if err != nil {
		return Event{}, err
	}
	ev.Kind = KindPaymentTotal
	return ev, nil
}

// stripeInvoicePaymentPaid maps invoice_payment.paid (API versions from 2025-03-31): one
// payment toward a Stripe invoice. It names the payment and the invoice, not the
// Dunwell invoice (an InvoicePayment has no metadata): the forwarder finds that
// through the payment's own event or the invoice's invoice.paid. A payment that is
// not a PaymentIntent or a charge (an out-of-band payment record) is *Ignored: the
// invoice.paid statement it is part of reaches an operator if nothing else covers it.
func stripeInvoicePaymentPaid(out Event, obj *stripeObject) (Event, error) {
	fe := FieldError{}
	if obj.Object != "" && obj.Object != "invoice_payment" {
		fe["data.object.object"] = `must be "invoice_payment"`
	}
	if !idPattern(string(obj.Invoice)) {
		fe["data.object.invoice"] = "must be the Stripe invoice id"
	}
	id := obj.Payment.id()
	if id != "" && !idPattern(id) {
		fe["data.object.payment"] = "must name a Stripe PaymentIntent or charge"
	}
	if len(fe) > 0 {
		return Event{}, fe
	}
	switch {
	case obj.Status != "paid":
		return Event{}, ignored("invoice payment %s is %s, not paid", obj.ID, cmp.Or(obj.Status, "without a status"))
	case id == "":
		return Event{}, ignored("invoice payment %s is not a PaymentIntent or a charge", obj.ID)
	}
	out.StripeInvoiceID = string(obj.Invoice)
	// Without metadata.invoice_id it is not ignored: the Stripe invoice leads to it.
	return stripeAmount(out, id, obj.AmountPaid, "data.object.amount_paid")
}

// stripeRefund maps charge.refunded. With the charge's refunds list (API versions
// before 2022-11-15, or an endpoint that still gets it) each listed refund is applied
// by its id, the same re_... id refund.created carries, so the two dedupe.
//
// Without the list only the cumulative amount_refunded is known, and a refund cannot
// be told from the earlier ones it adds to. The event becomes a KindRefundTotal
// statement instead ("refunds of this payment add up to amount_refunded"), stored and
// checked by the forwarder against the refunds applied through refund.created (or by
// an operator); it never applies money, so it cannot count a refund twice. That holds
// for a full refund too: a synthetic refund "<charge>:refunded" would be counted again
// when refund.created reports the same refund under its re_ id. Events already stored
// in that form are applied as they were stored.
//
// A list with a refund still pending (or requires_action) is read as the statement
// too: like refund.created, a listed refund is applied only once its money has
// moved, and the statement waits for the refunds that cover it.
func stripeRefund(out Event, obj *stripeObject) (Event, error) {
	out.PaymentID = cmp.Or(string(obj.PaymentIntent), obj.ID)
	out.ChargeID = obj.ID
	if obj.Refunds != nil && len(obj.Refunds.Data) > 0 && !slices.ContainsFunc(obj.Refunds.Data, func(r stripeListedRefund) bool { return refundPending(r.Status) }) {
		return stripeListedRefunds(out, obj)
	}
	switch {
	case obj.AmountRefunded == nil:
		return Event{}, FieldError{"data.object.amount_refunded": "is required when the refunds list is absent"}
	case *obj.AmountRefunded < 0 || *obj.AmountRefunded > money.MaxMinor:
		return Event{}, FieldError{"data.object.amount_refunded": "must be a non-negative integer of minor units"}
	case obj.Amount != nil && *obj.AmountRefunded > *obj.Amount:
		return Event{}, FieldError{"data.object.amount_refunded": "is more than the charge's amount"}
	case *obj.AmountRefunded == 0:
		return Event{}, ignored("charge %s has nothing refunded", obj.ID)
	}
	out.Kind, out.Amount = KindRefundTotal, *obj.AmountRefunded
	return out, nil
}

// stripeListedRefunds reads the refunds listed on a charge.refunded.
func stripeListedRefunds(out Event, obj *stripeObject) (Event, error) {
	for i, r := range obj.Refunds.Data {
		field := fmt.Sprintf("data.object.refunds.data[%d]", i)
		switch {
		case !idPattern(r.ID):
			return Event{}, FieldError{field + ".id": "is required"}
		case r.Amount == nil || *r.Amount <= 0 || *r.Amount > money.MaxMinor:
			return Event{}, FieldError{field + ".amount": "must be a positive integer of minor units"}
		case r.Currency != "" && !strings.EqualFold(r.Currency, out.Currency):
			return Event{}, FieldError{field + ".currency": "differs from the charge's"}
		case r.Status == "failed" || r.Status == "canceled":
			continue // no money moved
		}
		out.Refunds = append(out.Refunds, Refund{ID: r.ID, Amount: *r.Amount})
	}
	if len(out.Refunds) == 0 {
		return Event{}, ignored("charge %s lists no refund that moved money", obj.ID)
	}
	return out, nil
}

// refundPending reports whether a Stripe refund in this status may still succeed or
// fail: its money has not surely moved, so it is not applied yet.
func refundPending(status string) bool { return status == "pending" || status == "requires_action" }

// refundStatuses are a Stripe Refund's statuses.
var refundStatuses = map[string]bool{"pending": true, "requires_action": true, "succeeded": true, "failed": true, "canceled": true}

// stripeRefundObject maps refund.created and refund.updated, whose object is a Refund.
// Its id (re_...) is the refund id, as in a charge.refunded that lists it, so every
// event reporting one refund applies it once. Its invoice is metadata.invoice_id of
// the Refund, else the forwarder finds it by the payment: the PaymentIntent, else the
// charge, the same payment id the payment events used.
//
// Only a succeeded refund is applied. A pending (or requires_action) one is answered
// ignored and not stored, rather than stored and held: Stripe sends refund.updated
// whenever the status changes, so the succeeded refund arrives as an event of its own
// and is applied then, and a refund that ends failed or canceled leaves nothing behind
// to undo. Failed and canceled refunds moved no money and are ignored too. Should the
// succeeded update never come, the charge.refunded statement of the same refund
// (KindRefundTotal) is parked for an operator, so the refund is not silently lost.
func stripeRefundObject(out Event, obj *stripeObject) (Event, error) {
	out.PaymentID = cmp.Or(string(obj.PaymentIntent), string(obj.Charge))
	out.ChargeID = string(obj.Charge)
	fe := FieldError{}
	if obj.Object != "" && obj.Object != "refund" {
		fe["data.object.object"] = `must be "refund"`
	}
	if out.PaymentID == "" {
		fe["data.object.charge"] = "is required (or data.object.payment_intent): the payment refunded"
	}
	if obj.Amount == nil || *obj.Amount <= 0 || *obj.Amount > money.MaxMinor {
		fe["data.object.amount"] = "must be a positive integer of minor units"
	}
	switch {
	case obj.Status == "":
		fe["data.object.status"] = "is required"
	case !refundStatuses[obj.Status]:
		fe["data.object.status"] = "must be pending, requires_action, succeeded, failed or canceled"
	}
	if len(fe) > 0 {
		return Event{}, fe
	}
	switch {
	case obj.Status == "failed" || obj.Status == "canceled":
		return Event{}, ignored("refund %s is %s: no money moved", obj.ID, obj.Status)
	case refundPending(obj.Status):
		return Event{}, ignored("refund %s is %s: it is applied when refund.updated reports it succeeded", obj.ID, obj.Status)
	}
	out.Refunds = []Refund{{ID: obj.ID, Amount: *obj.Amount}}
	return out, nil
}

func stripeDispute(out Event, obj *stripeObject) (Event, error) {
	out.DisputeID = obj.ID
	out.PaymentID = cmp.Or(string(obj.PaymentIntent), string(obj.Charge))
	out.Reason = truncate(obj.Reason, maxReasonLen)
	out.Inquiry = strings.HasPrefix(obj.Status, "warning_")
	fe := FieldError{}
	if !idPattern(out.PaymentID) {
		fe["data.object.charge"] = "is required"
	}
	if obj.Amount == nil || *obj.Amount < 0 || *obj.Amount > money.MaxMinor {
		fe["data.object.amount"] = "must be a non-negative integer of minor units"
	} else {
		out.Amount = *obj.Amount
	}
	if out.Kind == KindChargebackClosed {
		switch obj.Status {
		case "won":
			out.Outcome = OutcomeWon
		case "lost":
			out.Outcome = OutcomeLost
		case "warning_closed":
			out.Outcome = OutcomeClosed
		default:
			fe["data.object.status"] = "must be won, lost or warning_closed on a closed dispute"
		}
	}
	if len(fe) > 0 {
		return Event{}, fe
	}
	return out, nil
}
