package webhooks

import (
	"errors"
	"testing"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/money"
)

// The fuzz tests run their seed corpus as part of `go test`; run them longer with
// go test ./webhooks/ -run '^$' -fuzz FuzzParseStripe -fuzztime 30s.

// checkParsed fails unless a parser's answer is a valid Event, a FieldError naming at
// least one field (the API's 400), or an Ignored (200, nothing stored).
func checkParsed(t *testing.T, ev Event, err error) {
	t.Helper()
	var fe FieldError
	switch {
	case err == nil:
	case errors.As(err, &fe):
		if len(fe) == 0 {
			t.Fatalf("a FieldError without a field")
		}
		return
	default:
		if _, ok := IsIgnored(err); !ok {
			t.Fatalf("an error that is neither a FieldError nor Ignored: %T %v", err, err)
		}
		return
	}
	if !eventIDPattern.MatchString(ev.ID) || !money.ValidCurrency(ev.Currency) || ev.PaymentID == "" || !collection.IDPattern.MatchString(ev.PaymentID) {
		t.Fatalf("accepted an invalid event: %+v", ev)
	}
	if ev.InvoiceID != "" && !collection.IDPattern.MatchString(ev.InvoiceID) {
		t.Fatalf("accepted a bad invoice id: %+v", ev)
	}
	switch ev.Kind {
	case KindPayment:
		if ev.Amount <= 0 || ev.Amount > money.MaxMinor || ev.InvoiceID == "" {
			t.Fatalf("accepted a bad payment: %+v", ev)
		}
	case KindRefund:
		if len(ev.Refunds) == 0 {
			t.Fatalf("a refund event without refunds: %+v", ev)
		}
		for _, r := range ev.Refunds {
			if r.Amount <= 0 || r.Amount > money.MaxMinor || !collection.IDPattern.MatchString(r.ID) {
				t.Fatalf("accepted a bad refund: %+v", ev)
			}
		}
	case KindRefundTotal:
		if ev.Amount <= 0 || ev.Amount > money.MaxMinor || len(ev.Refunds) != 0 {
			t.Fatalf("accepted a bad refund total: %+v", ev)
		}
	case KindChargebackOpened, KindChargebackClosed:
		if ev.Amount < 0 || ev.Amount > money.MaxMinor || !collection.IDPattern.MatchString(ev.DisputeID) {
			t.Fatalf("accepted a bad chargeback: %+v", ev)
		}
		if (ev.Kind == KindChargebackClosed) != (ev.Outcome != "") {
			t.Fatalf("outcome on the wrong kind: %+v", ev)
		}
	default:
		t.Fatalf("unknown kind: %+v", ev)
	}
}

func FuzzParseStripe(f *testing.F) {
	for _, seed := range []string{
		string(stripeBody("payment_intent.succeeded", `{"id":"pi_1","amount_received":125000,"currency":"usd","metadata":{"invoice_id":"INV-1"}}`)),
		string(stripeBody("charge.succeeded", `{"id":"ch_1","amount":5000,"amount_captured":5000,"captured":true,"currency":"eur","payment_intent":{"id":"pi_2"},"metadata":{"invoice_id":"INV-2"}}`)),
		string(stripeBody("invoice.paid", `{"id":"in_1","amount_paid":990,"currency":"kwd","metadata":{"invoice_id":"INV-4"}}`)),
		string(stripeBody("charge.refunded", `{"id":"ch_1","amount":5000,"amount_refunded":3000,"currency":"usd","refunds":{"data":[{"id":"re_1","amount":1000},{"id":"re_2","amount":2000,"status":"failed"}]}}`)),
		string(stripeBody("charge.refunded", `{"id":"ch_9","amount":5000,"amount_refunded":5000,"currency":"usd"}`)),
		string(stripeBody("charge.refunded", `{"id":"ch_8","amount":5000,"amount_refunded":1200,"currency":"usd","payment_intent":"pi_8","refunds":{"data":[]}}`)),
		string(stripeBody("refund.created", `{"id":"re_1","object":"refund","amount":1000,"charge":"ch_1","payment_intent":"pi_1","currency":"usd","status":"succeeded","metadata":{}}`)),
		string(stripeBody("refund.updated", `{"id":"re_2","object":"refund","amount":5,"charge":{"id":"ch_2"},"payment_intent":null,"currency":"jpy","status":"succeeded","metadata":{"invoice_id":"INV-5"}}`)),
		string(stripeBody("refund.created", `{"id":"re_3","object":"refund","amount":1000,"charge":"ch_1","currency":"usd","status":"pending"}`)),
		string(stripeBody("refund.updated", `{"id":"re_4","object":"refund","amount":0,"currency":"usd","status":"failed"}`)),
		string(stripeBody("charge.dispute.created", `{"id":"dp_1","amount":5000,"currency":"usd","charge":"ch_1","status":"warning_needs_response"}`)),
		string(stripeBody("charge.dispute.closed", `{"id":"dp_1","amount":5000,"currency":"usd","charge":{"id":"ch_1"},"status":"won"}`)),
		string(stripeBody("customer.created", `{}`)),
		`{"id":"evt_1","object":"event","type":"charge.succeeded","data":{"object":{"payment_intent":7}}}`,
		`{"id":"evt_1","object":"event","type":"invoice.paid","data":{"object":{"amount_paid":1e30}}}`,
		``, `null`, `[]`, `{"data":null}`, "\xff\xfe",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseStripe(body)
		checkParsed(t, ev, err)
		if err == nil && ev.Source != SourceStripe {
			t.Fatalf("wrong source: %+v", ev)
		}
	})
}

func FuzzParseGeneric(f *testing.F) {
	for _, seed := range []struct{ id, body string }{
		{"msg_1", string(genericBody("payment.succeeded", `{"invoice_id":"INV-1001","payment_id":"pay_123","amount":"1250.00","currency":"USD","paid_at":"2026-12-03T15:04:00Z"}`))},
		{"msg_2", string(genericBody("payment.refunded", `{"refund_id":"re_1","payment_id":"pay_123","amount":"10","currency":"JPY"}`))},
		{"msg_3", string(genericBody("chargeback.opened", `{"chargeback_id":"cb_1","payment_id":"p","amount":"1.500","currency":"KWD","reason":"fraud"}`))},
		{"msg_4", string(genericBody("chargeback.closed", `{"chargeback_id":"cb_1","payment_id":"p","amount":"1.50","currency":"EUR","outcome":"lost"}`))},
		{"msg_5", string(genericBody("payment.succeeded", `{"invoice_id":"I","payment_id":"p","amount":"99999999999999999999","currency":"USD"}`))},
		{"", `{}`}, {"m", `{"type":null,"data":[]}`}, {"m", "\x00"}, {"-", `{"type":"payment.succeeded","data":{"amount":1}}`},
	} {
		f.Add(seed.id, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, id string, body []byte) {
		ev, err := ParseGeneric(id, body)
		checkParsed(t, ev, err)
		if err == nil && (ev.Source != SourcePayments || ev.ID != id) {
			t.Fatalf("wrong source or id: %+v", ev)
		}
	})
}
