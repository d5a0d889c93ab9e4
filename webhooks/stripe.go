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
	ID      string `json:"id"`
	Object  string `json:"object"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Data    struct {
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
//	invoice.paid              payment of amount_paid, id = its PaymentIntent (else the invoice)
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
		return stripePayment(out, cmp.Or(string(obj.PaymentIntent), obj.ID), obj.AmountPaid, "data.object.amount_paid")
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
