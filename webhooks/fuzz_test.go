package webhooks

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/money"
)

// The fuzz tests run their seed corpus as part of `go test`; run each longer with
// go test ./webhooks/ -run '^$' -fuzz '^FuzzParseStripe$' -fuzztime 30s (and
// FuzzParseGeneric, FuzzParseTwilio, FuzzParseSendGrid, FuzzVerifySendGrid).

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
		// invoice_payment.paid names the Stripe invoice instead of the Dunwell one.
		if ev.Amount <= 0 || ev.Amount > money.MaxMinor || (ev.InvoiceID == "" && !collection.IDPattern.MatchString(ev.StripeInvoiceID)) {
			t.Fatalf("accepted a bad payment: %+v", ev)
		}
	case KindPaymentTotal:
		if ev.Amount <= 0 || ev.Amount > money.MaxMinor || ev.InvoiceID == "" || ev.PaymentID != ev.StripeInvoiceID {
			t.Fatalf("accepted a bad payment total: %+v", ev)
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
		string(stripeVersioned("invoice.paid", "2025-03-31.basil", `{"id":"in_2","amount_paid":990,"currency":"usd","metadata":{"invoice_id":"INV-6"}}`)),
		string(stripeVersioned("invoice.paid", "2025-03-31.basil", `{"id":"in_3","amount_paid":990,"currency":"usd","metadata":{"invoice_id":"INV-6"},"payments":{"data":[{"amount_paid":990,"status":"paid","payment":{"type":"payment_intent","payment_intent":"pi_3"}}]}}`)),
		string(stripeVersioned("invoice_payment.paid", "2025-03-31.basil", `{"id":"inpay_1","object":"invoice_payment","amount_paid":5,"currency":"usd","invoice":"in_2","payment":{"type":"charge","charge":{"id":"ch_1"}},"status":"paid"}`)),
		`{"id":"evt_1","object":"event","type":"charge.succeeded","data":{"object":{"payment_intent":7}}}`,
		`{"id":"evt_1","object":"event","type":"invoice.paid","data":{"object":{"amount_paid":1e30}}}`,
		string(stripeBody("checkout.session.completed", checkoutSession("paid", 1500, "INV-1", "1000", "INV-2", "500"))),
		string(stripeBody("checkout.session.async_payment_succeeded", checkoutSession("paid", 0, "INV-1", "1000"))),
		string(stripeBody("checkout.session.completed", checkoutSession("unpaid", 1000, "INV-1", "1000"))),
		string(stripeBody("checkout.session.completed", checkoutSession("paid", 100, "INV-1", "1000"))),
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
		events, err := ParseStripeEvents(body)
		if err != nil {
			checkParsed(t, Event{}, err)
			return
		}
		if len(events) == 0 {
			t.Fatalf("no event and no error")
		}
		for _, ev := range events {
			checkParsed(t, ev, nil)
			if ev.Source != SourceStripe || (ev.Portal != nil && (ev.Kind != KindPayment || ev.InvoiceID == "")) {
				t.Fatalf("a bad event: %+v", ev)
			}
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

// checkReport fails unless a delivery report is one the API can apply as it is: a
// known status of a valid notice key or message sid, an opt-out of a plausible
// address with a known source.
func checkReport(t *testing.T, r *Report) {
	t.Helper()
	if r == nil {
		return
	}
	if r.Delivery == nil && r.OptOut == nil {
		t.Fatalf("a report with nothing to apply: %+v", r)
	}
	if d := r.Delivery; d != nil {
		switch d.Status {
		case DeliveryQueued, DeliverySent, DeliveryDelivered, DeliveryBounced, DeliveryDropped, DeliveryUndelivered, DeliveryFailed:
		default:
			t.Fatalf("unknown delivery status: %+v", d)
		}
		if d.NoticeKey == "" && !twilioSIDRE.MatchString(d.MessageID) || d.NoticeKey != "" && !validNoticeKey(d.NoticeKey, r.Channel) {
			t.Fatalf("a delivery report naming no notice of its channel: %+v", d)
		}
	}
	if o := r.OptOut; o != nil {
		switch {
		case o.EventID == "" || len(o.EventID) > 255:
			t.Fatalf("bad opt-out event id: %+v", o)
		case r.Channel == ChannelSMS && !e164RE.MatchString(o.Address):
			t.Fatalf("bad phone number: %+v", o)
		case r.Channel == ChannelEmail && (len(o.Address) > 320 || !strings.Contains(o.Address, "@")):
			t.Fatalf("bad email address: %+v", o)
		case len(o.InvoiceID) > 128:
			t.Fatalf("bad invoice id: %+v", o)
		}
		if o.OptedOut == (o.Source == OptOutStart || o.Source == OptOutResubscribe) {
			t.Fatalf("opt-out direction and source disagree: %+v", o)
		}
	}
}

// checkDeliveryErr fails unless err is nil, a FieldError naming a field, or Ignored.
func checkDeliveryErr(t *testing.T, err error) bool {
	t.Helper()
	var fe FieldError
	switch {
	case err == nil:
		return true
	case errors.As(err, &fe):
		if len(fe) == 0 {
			t.Fatalf("a FieldError without a field")
		}
	default:
		if _, ok := IsIgnored(err); !ok {
			t.Fatalf("an error that is neither a FieldError nor Ignored: %T %v", err, err)
		}
	}
	return false
}

func FuzzParseTwilio(f *testing.F) {
	for _, seed := range []struct{ body, key string }{
		{"MessageSid=SM0123456789abcdef0123456789abcdef&MessageStatus=undelivered&ErrorCode=30003&To=%2B14155550111", "INV-1/first/sms"},
		{"MessageSid=SM0123456789abcdef0123456789abcdef&SmsStatus=failed&ErrorCode=21610&To=%2B14155550111", ""},
		{"MessageSid=SM0123456789abcdef0123456789abcdef&SmsStatus=received&From=%2B14155550114&Body=Stop.", ""},
		{"MessageSid=SM0123456789abcdef0123456789abcdef&From=%2B14155550114&Body=x&OptOutType=START", ""},
		{"MessageSid=SM0123456789abcdef0123456789abcdef&MessageStatus=sent", "INV-1/first/email"},
		{"MessageStatus=delivered&ErrorCode=1e3", ""}, {"%zz", ""}, {"", ""}, {"Body", "a/b/sms"},
	} {
		f.Add([]byte(seed.body), seed.key)
	}
	f.Fuzz(func(t *testing.T, body []byte, key string) {
		cb, err := ParseTwilio(body, url.Values{NoticeKeyParam: {key}})
		if !checkDeliveryErr(t, err) {
			return
		}
		checkReport(t, cb.Report)
		if cb.Report != nil && (cb.Report.Source != SourceTwilio || cb.Report.Channel != ChannelSMS) {
			t.Fatalf("wrong source or channel: %+v", cb.Report)
		}
		if cb.Inbound != (cb.Keyword != "" || cb.Report == nil || cb.Report.Delivery == nil) {
			t.Fatalf("an inbound message with a delivery status, or a status callback with a keyword: %+v", cb)
		}
	})
}

func FuzzParseSendGrid(f *testing.F) {
	for _, seed := range []string{
		`[{"event":"bounce","type":"bounce","email":"a@example.com","timestamp":1800000000,"sg_event_id":"e2","notice_key":"INV-7/first/email","invoice_id":"INV-7"}]`,
		`[{"event":"dropped","reason":"Bounced Address","email":"s@example.com","sg_event_id":"d1"},"x",{"event":"open"}]`,
		`[{"event":"group_resubscribe","email":"a@example.com","timestamp":-1},{"event":"spamreport","email":"b@x","invoice_id":7}]`,
		`[{"event":"delivered","notice_key":"INV-7/first/sms","timestamp":1e30}]`,
		`{"event":"bounce"}`, `[]`, ``, `null`, "[\xff]",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ParseSendGrid(body)
		if !checkDeliveryErr(t, err) {
			return
		}
		if b.Skipped+b.Unused+len(b.Reports) != b.Events {
			t.Fatalf("events do not add up: %+v", b)
		}
		for i := range b.Reports {
			r := &b.Reports[i]
			checkReport(t, r)
			if r.Source != SourceSendGrid || r.Channel != ChannelEmail || (r.Delivery != nil && r.Delivery.MessageID != "") {
				t.Fatalf("wrong source, channel or message id: %+v", r)
			}
		}
	})
}

// FuzzVerifySendGrid: no signature the fuzzer makes up verifies, and none panics the
// verifier (sendgrid-go's helper decodes attacker-controlled base64 and ASN.1).
func FuzzVerifySendGrid(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`[]`), "MEUCIQD", "1800000000")
	f.Add([]byte(`[{"event":"open"}]`), "bm9wZQ==", "x")
	f.Add([]byte{}, "MAYCAQECAQE=", "0") // a well-formed DER signature with r = s = 1
	f.Fuzz(func(t *testing.T, body []byte, sig, ts string) {
		if err := VerifySendGrid(&key.PublicKey, body, sig, ts, time.Unix(1_800_000_000, 0)); err == nil {
			t.Fatalf("a made-up signature verified: %q %q", sig, ts)
		}
	})
}
