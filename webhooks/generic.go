package webhooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/money"
)

// GenericEvent is the generic payment event, the body of POST /v1/webhooks/payments
// (see api/openapi.yaml).
type GenericEvent struct {
	Type      string      `json:"type"`
	Timestamp string      `json:"timestamp"`
	Data      GenericData `json:"data"`
}

// GenericData is the data of a generic event; which fields are required depends on
// the type.
type GenericData struct {
	InvoiceID    string `json:"invoice_id,omitempty"`
	PaymentID    string `json:"payment_id,omitempty"`
	RefundID     string `json:"refund_id,omitempty"`
	ChargebackID string `json:"chargeback_id,omitempty"`
	Amount       string `json:"amount,omitempty"`
	Currency     string `json:"currency,omitempty"`
	PaidAt       string `json:"paid_at,omitempty"`
	Outcome      string `json:"outcome,omitempty"`
	Reason       string `json:"reason,omitempty"`
}

// Generic event types.
const (
	TypePaymentSucceeded = "payment.succeeded"
	TypePaymentRefunded  = "payment.refunded"
	TypeChargebackOpened = "chargeback.opened"
	TypeChargebackClosed = "chargeback.closed"
	maxReasonLen         = 200
	maxEventIDLen        = 255
	genericOutcomeWon    = "won"
	genericOutcomeLost   = "lost"
)

// ParseGeneric maps a verified generic event onto an Event. id is the webhook-id
// header (the event's idempotency key). Every problem is reported by field:
//
//	payment.succeeded  invoice_id, payment_id, amount, currency; paid_at optional
//	payment.refunded   refund_id, payment_id, amount, currency; invoice_id optional
//	chargeback.opened  chargeback_id, payment_id, amount, currency; invoice_id, reason optional
//	chargeback.closed  the same and outcome: won or lost
func ParseGeneric(id string, body []byte) (Event, error) {
	fe := FieldError{}
	if !eventIDPattern.MatchString(id) {
		fe[HeaderWebhookID] = fmt.Sprintf("must be 1-%d letters, digits, '.', '_', ':' or '-'", maxEventIDLen)
	}
	var g GenericEvent
	if bad := strictJSON(body, &g); bad != nil {
		for f, p := range bad {
			fe[f] = p
		}
		return Event{}, fe
	}
	out := Event{Source: SourcePayments, ID: id, Type: g.Type}
	kind, ok := genericKinds[g.Type]
	if !ok {
		fe["type"] = "must be payment.succeeded, payment.refunded, chargeback.opened or chargeback.closed"
	}
	out.Kind = kind
	if g.Timestamp == "" {
		fe["timestamp"] = "is required"
	} else if t, err := time.Parse(time.RFC3339, g.Timestamp); err != nil {
		fe["timestamp"] = "must be an RFC 3339 timestamp"
	} else {
		out.At = t.UTC()
	}
	d := &g.Data
	checkID := func(field, v string, required bool) {
		switch {
		case v == "" && required:
			fe["data."+field] = "is required"
		case v != "" && !collection.IDPattern.MatchString(v):
			fe["data."+field] = collection.IDProblem
		}
	}
	checkID("invoice_id", d.InvoiceID, kind == KindPayment)
	checkID("payment_id", d.PaymentID, true)
	checkID("refund_id", d.RefundID, kind == KindRefund)
	checkID("chargeback_id", d.ChargebackID, kind == KindChargebackOpened || kind == KindChargebackClosed)
	out.InvoiceID, out.PaymentID = d.InvoiceID, d.PaymentID
	switch {
	case d.Currency == "":
		fe["data.currency"] = "is required"
	case !money.ValidCurrency(d.Currency):
		fe["data.currency"] = "must be an upper-case ISO 4217 currency code"
	}
	out.Currency = d.Currency
	var amount int64
	if d.Amount == "" {
		fe["data.amount"] = "is required"
	} else if money.ValidCurrency(d.Currency) {
		v, err := money.Parse(d.Amount, d.Currency)
		switch {
		case err != nil:
			fe["data.amount"] = err.Error()
		case v <= 0:
			fe["data.amount"] = "must be greater than zero"
		default:
			amount = v
		}
	}
	if d.PaidAt != "" {
		if t, err := time.Parse(time.RFC3339, d.PaidAt); err != nil {
			fe["data.paid_at"] = "must be an RFC 3339 timestamp"
		} else if kind == KindPayment {
			out.At = t.UTC()
		}
	}
	if !utf8.ValidString(d.Reason) || len(d.Reason) > maxReasonLen {
		fe["data.reason"] = fmt.Sprintf("must be UTF-8 text of at most %d bytes", maxReasonLen)
	}
	out.Reason = d.Reason
	switch kind {
	case KindPayment:
		out.Amount = amount
	case KindRefund:
		out.Refunds = []Refund{{ID: d.RefundID, Amount: amount}}
	case KindChargebackOpened, KindChargebackClosed:
		out.DisputeID, out.Amount = d.ChargebackID, amount
	}
	if kind == KindChargebackClosed {
		switch d.Outcome {
		case genericOutcomeWon:
			out.Outcome = OutcomeWon
		case genericOutcomeLost:
			out.Outcome = OutcomeLost
		case "":
			fe["data.outcome"] = "is required (won or lost)"
		default:
			fe["data.outcome"] = "must be won or lost"
		}
	} else if d.Outcome != "" {
		fe["data.outcome"] = "is only for chargeback.closed"
	}
	if len(fe) > 0 {
		return Event{}, fe
	}
	return out, nil
}

var genericKinds = map[string]Kind{
	TypePaymentSucceeded: KindPayment,
	TypePaymentRefunded:  KindRefund,
	TypeChargebackOpened: KindChargebackOpened,
	TypeChargebackClosed: KindChargebackClosed,
}

// eventIDPattern is what a provider's event id may look like.
var eventIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$`)

func idPattern(s string) bool { return collection.IDPattern.MatchString(s) }

// strictJSON decodes exactly one JSON object into v and names the field of a type
// error. For a *GenericEvent unknown fields are errors too (the format is Dunwell's
// own); Stripe adds fields freely.
func strictJSON(body []byte, v any) FieldError {
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, ok := v.(*GenericEvent); ok {
		dec.DisallowUnknownFields()
	}
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return FieldError{"body": "unexpected data after the JSON object"}
		}
		return nil
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return FieldError{strings.Trim(name, `"`): "is not a known field"}
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return FieldError{typeErr.Field: "must be a JSON " + jsonKind(typeErr.Type.Kind().String())}
	}
	return FieldError{"body": jsonProblem(err)}
}

func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "map", "struct", "ptr":
		return "object"
	case "slice", "array":
		return "array"
	case "bool":
		return "boolean"
	}
	return "number"
}

// jsonProblem describes a decoding error without echoing the input.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "is empty or truncated; expected a JSON object"
	case errors.As(err, &syntax):
		return fmt.Sprintf("malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typeErr):
		return "must be a JSON object"
	}
	return "malformed JSON"
}

func unixOrZero(sec int64) time.Time {
	if sec <= 0 || sec > 1<<40 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// truncate keeps at most n bytes of valid UTF-8.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}
