package webhooks

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	stripeSecret    = "whsec_test_stripe_secret_one"
	stripeSecretOld = "whsec_test_stripe_secret_old"
)

var (
	stdSecret    = "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef01234567"))
	stdSecretOld = "whsec_" + base64.StdEncoding.EncodeToString([]byte("old-old-old-old-old-old-old-old!"))
)

func TestStripeVerify(t *testing.T) {
	v, err := NewStripeVerifier([]string{stripeSecret, stripeSecretOld})
	require.NoError(t, err)
	body := []byte(`{"id":"evt_1"}`)
	now := time.Now()

	require.NoError(t, v.Verify(body, SignStripe(body, stripeSecret, now)))
	require.NoError(t, v.Verify(body, SignStripe(body, stripeSecretOld, now)), "the second secret (rotation) is accepted")
	// Stripe sends both signatures during a rotation; one matching is enough.
	both := SignStripe(body, "whsec_unknown_secret_x", now) + "," + strings.SplitN(SignStripe(body, stripeSecret, now), ",", 2)[1]
	require.NoError(t, v.Verify(body, both))

	for name, tc := range map[string]struct{ header, reason string }{
		"missing":      {"", "missing"},
		"malformed":    {"garbage", "malformed"},
		"stale":        {SignStripe(body, stripeSecret, now.Add(-6*time.Minute)), "tolerance"},
		"wrong secret": {SignStripe(body, "whsec_someone_elses_secret", now), "no signature matches"},
		"forged body":  {SignStripe([]byte(`{"id":"evt_2"}`), stripeSecret, now), "no signature matches"},
	} {
		err := v.Verify(body, tc.header)
		var se *SignatureError
		require.True(t, errors.As(err, &se), name)
		require.Equal(t, HeaderStripeSignature, se.Header, name)
		require.Contains(t, se.Reason, tc.reason, name)
		require.NotContains(t, err.Error(), "whsec_", "no secret in errors")
	}

	_, err = NewStripeVerifier(nil)
	require.Error(t, err)
	_, err = NewStripeVerifier([]string{"sk_live_nope"})
	require.ErrorContains(t, err, "secret 1")
}

func stdHeaders(t *testing.T, id string, ts time.Time, body []byte, secret string) http.Header {
	t.Helper()
	sig, err := SignStandard(id, ts, body, secret)
	require.NoError(t, err)
	h := http.Header{}
	h.Set(HeaderWebhookID, id)
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderWebhookSignature, sig)
	return h
}

func TestStandardVerify(t *testing.T) {
	v, err := NewStandardVerifier([]string{stdSecret, stdSecretOld})
	require.NoError(t, err)
	body := []byte(`{"type":"payment.succeeded"}`)
	now := time.Now()
	require.NoError(t, v.Verify(body, stdHeaders(t, "msg_1", now, body, stdSecret)))
	require.NoError(t, v.Verify(body, stdHeaders(t, "msg_1", now, body, stdSecretOld)))
	// Several signatures, space-separated; one valid is enough.
	h := stdHeaders(t, "msg_1", now, body, stdSecret)
	h.Set(HeaderWebhookSignature, "v1,Zm9yZ2Vk "+h.Get(HeaderWebhookSignature))
	require.NoError(t, v.Verify(body, h))

	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("someone-else-entirely-123"))
	cases := map[string]struct {
		h      http.Header
		header string
	}{
		"stale":        {stdHeaders(t, "msg_1", now.Add(-6*time.Minute), body, stdSecret), HeaderWebhookTimestamp},
		"future":       {stdHeaders(t, "msg_1", now.Add(6*time.Minute), body, stdSecret), HeaderWebhookTimestamp},
		"wrong secret": {stdHeaders(t, "msg_1", now, body, other), HeaderWebhookSignature},
	}
	forged := stdHeaders(t, "msg_1", now, body, stdSecret)
	forged.Set(HeaderWebhookID, "msg_9")
	cases["forged id"] = struct {
		h      http.Header
		header string
	}{forged, HeaderWebhookSignature}
	for _, name := range []string{HeaderWebhookID, HeaderWebhookTimestamp, HeaderWebhookSignature} {
		h := stdHeaders(t, "msg_1", now, body, stdSecret)
		h.Del(name)
		cases["missing "+name] = struct {
			h      http.Header
			header string
		}{h, name}
	}
	bad := stdHeaders(t, "msg_1", now, body, stdSecret)
	bad.Set(HeaderWebhookTimestamp, "yesterday")
	cases["bad timestamp"] = struct {
		h      http.Header
		header string
	}{bad, HeaderWebhookTimestamp}
	for name, tc := range cases {
		var se *SignatureError
		err := v.Verify(body, tc.h)
		require.True(t, errors.As(err, &se), "%s: %v", name, err)
		require.Equal(t, tc.header, se.Header, name)
	}

	for _, s := range []string{"", "whsec_", "whsec_!!!", "whsec_" + base64.StdEncoding.EncodeToString([]byte("short")), stdSecret[len("whsec_"):]} {
		_, err := NewStandardVerifier([]string{stdSecret, s})
		require.ErrorContains(t, err, "secret 2", s)
	}
}

// stripeBody is a Stripe event of type typ about object, on an API version from
// before 2025-03-31.
func stripeBody(typ, object string) []byte { return stripeVersioned(typ, "2024-06-20", object) }

// stripeVersioned is stripeBody on API version version.
func stripeVersioned(typ, version, object string) []byte {
	return []byte(fmt.Sprintf(`{"id":"evt_%s","object":"event","api_version":%q,"created":1764774245,"livemode":false,"type":%q,"data":{"object":%s}}`,
		strings.ReplaceAll(typ, ".", "_"), version, typ, object))
}

func TestParseStripe(t *testing.T) {
	ok := func(typ, obj string) Event {
		t.Helper()
		ev, err := ParseStripe(stripeBody(typ, obj))
		require.NoError(t, err, "%s %s", typ, obj)
		require.Equal(t, SourceStripe, ev.Source)
		require.Equal(t, typ, ev.Type)
		return ev
	}
	ev := ok("payment_intent.succeeded", `{"id":"pi_1","object":"payment_intent","amount":125000,"amount_received":125000,"currency":"usd","metadata":{"invoice_id":"INV-1"},"latest_charge":"ch_1"}`)
	require.Equal(t, Event{Source: SourceStripe, ID: "evt_payment_intent_succeeded", Type: "payment_intent.succeeded", Kind: KindPayment,
		InvoiceID: "INV-1", PaymentID: "pi_1", Currency: "USD", Amount: 125000, At: time.Unix(1764774245, 0).UTC()}, ev)

	ev = ok("charge.succeeded", `{"id":"ch_1","object":"charge","amount":5000,"amount_captured":5000,"captured":true,"currency":"eur","payment_intent":"pi_2","metadata":{"invoice_id":"INV-2"}}`)
	require.Equal(t, "pi_2", ev.PaymentID, "a charge of a PaymentIntent is the same payment as the intent")
	require.Equal(t, int64(5000), ev.Amount)
	ev = ok("charge.succeeded", `{"id":"ch_2","object":"charge","amount":7,"captured":true,"currency":"jpy","payment_intent":{"id":"pi_x","object":"payment_intent"},"metadata":{"invoice_id":"INV-3"}}`)
	require.Equal(t, "pi_x", ev.PaymentID, "an expanded payment_intent")
	require.Equal(t, int64(7), ev.Amount)
	ev = ok("invoice.paid", `{"id":"in_1","object":"invoice","amount_paid":990,"currency":"kwd","metadata":{"invoice_id":"INV-4"}}`)
	require.Equal(t, "in_1", ev.PaymentID)
	require.Equal(t, "KWD", ev.Currency)

	ev = ok("charge.refunded", `{"id":"ch_1","object":"charge","amount":5000,"amount_refunded":3000,"currency":"usd","payment_intent":"pi_2",
		"refunds":{"object":"list","data":[{"id":"re_1","amount":1000,"currency":"usd","status":"succeeded"},{"id":"re_2","amount":2000,"status":"succeeded"},{"id":"re_3","amount":5,"status":"failed"}]}}`)
	require.Equal(t, KindRefund, ev.Kind)
	require.Empty(t, ev.InvoiceID, "found later by payment id")
	require.Equal(t, "pi_2", ev.PaymentID)
	require.Equal(t, []Refund{{"re_1", 1000}, {"re_2", 2000}}, ev.Refunds)
	ev = ok("charge.refunded", `{"id":"ch_9","object":"charge","amount":5000,"amount_refunded":5000,"currency":"usd","payment_intent":null}`)
	require.Equal(t, Event{Source: SourceStripe, ID: "evt_charge_refunded", Type: "charge.refunded", Kind: KindRefundTotal,
		PaymentID: "ch_9", ChargeID: "ch_9", Currency: "USD", Amount: 5000, At: time.Unix(1764774245, 0).UTC()}, ev,
		"a full refund without the list: a statement, no synthetic refund")
	ev = ok("charge.refunded", `{"id":"ch_1","object":"charge","amount":5000,"amount_refunded":1000,"currency":"usd","payment_intent":"pi_2","refunds":{"object":"list","data":[]}}`)
	require.Equal(t, KindRefundTotal, ev.Kind, "a partial refund without the list is stored, not refused")
	require.Equal(t, int64(1000), ev.Amount)
	require.Empty(t, ev.Refunds)
	require.Equal(t, "pi_2", ev.PaymentID)
	// A listed refund still pending has not moved money: the event is the statement,
	// applied by nobody; refund.updated applies the refund once it succeeds.
	ev = ok("charge.refunded", `{"id":"ch_1","object":"charge","amount":5000,"amount_refunded":3000,"currency":"usd","payment_intent":"pi_2",
		"refunds":{"object":"list","data":[{"id":"re_1","amount":1000,"status":"succeeded"},{"id":"re_2","amount":2000,"status":"pending"}]}}`)
	require.Equal(t, KindRefundTotal, ev.Kind, "a pending listed refund is not applied")
	require.Equal(t, int64(3000), ev.Amount)
	require.Empty(t, ev.Refunds)
	require.Equal(t, "ch_1", ev.ChargeID)

	ev = ok("charge.dispute.created", `{"id":"dp_1","object":"dispute","amount":5000,"currency":"usd","charge":"ch_1","payment_intent":"pi_2","reason":"fraudulent","status":"needs_response"}`)
	require.Equal(t, KindChargebackOpened, ev.Kind)
	require.Equal(t, "dp_1", ev.DisputeID)
	require.Equal(t, "pi_2", ev.PaymentID)
	require.False(t, ev.Inquiry)
	ev = ok("charge.dispute.created", `{"id":"dp_2","object":"dispute","amount":5000,"currency":"usd","charge":"ch_7","status":"warning_needs_response"}`)
	require.True(t, ev.Inquiry)
	require.Equal(t, "ch_7", ev.PaymentID)
	for status, outcome := range map[string]Outcome{"won": OutcomeWon, "lost": OutcomeLost, "warning_closed": OutcomeClosed} {
		ev = ok("charge.dispute.closed", `{"id":"dp_1","object":"dispute","amount":5000,"currency":"usd","charge":"ch_1","status":"`+status+`"}`)
		require.Equal(t, outcome, ev.Outcome)
	}

	for _, tc := range []struct{ typ, obj string }{
		{"customer.created", `{"id":"cus_1"}`},
		{"payment_intent.succeeded", `{"id":"pi_1","amount_received":100,"currency":"usd","metadata":{}}`},
		{"charge.succeeded", `{"id":"ch_1","amount":100,"captured":false,"currency":"usd","metadata":{"invoice_id":"I"}}`},
		{"invoice.paid", `{"id":"in_1","amount_paid":0,"currency":"usd","metadata":{"invoice_id":"I"}}`},
		{"charge.refunded", `{"id":"ch_1","amount":5000,"amount_refunded":0,"currency":"usd"}`},
	} {
		_, err := ParseStripe(stripeBody(tc.typ, tc.obj))
		_, isIgnored := IsIgnored(err)
		require.True(t, isIgnored, "%s %s: %v", tc.typ, tc.obj, err)
	}

	for _, tc := range []struct{ body, field string }{
		{``, "body"},
		{`{"id":"evt_1"`, "body"},
		{`[]`, "body"},
		{`{"id":"evt_1","object":"event","type":"charge.succeeded","data":{"object":{}}} x`, "body"},
		{`{"id":"","object":"event","type":"charge.succeeded","data":{"object":{}}}`, "id"},
		{`{"id":"evt_1","object":"charge","type":"charge.succeeded","data":{"object":{}}}`, "object"},
		{`{"id":"evt_1","object":"event","type":7,"data":{}}`, "type"},
		{string(stripeBody("charge.succeeded", `null`)), "data.object"},
		{string(stripeBody("charge.succeeded", `{"id":"ch_1","amount":100,"currency":"usd","metadata":{"invoice_id":"I"}}`)), ""},
		{string(stripeBody("payment_intent.succeeded", `{"id":"pi_1","amount_received":100,"currency":"zzz","metadata":{"invoice_id":"I"}}`)), "data.object.currency"},
		{string(stripeBody("payment_intent.succeeded", `{"id":"pi_1","amount_received":"100","currency":"usd"}`)), "data.object.amount_received"},
		{string(stripeBody("payment_intent.succeeded", `{"id":"pi_1","currency":"usd","metadata":{"invoice_id":"I"}}`)), "data.object.amount_received"},
		{string(stripeBody("payment_intent.succeeded", `{"id":"pi_1","amount_received":100,"currency":"usd","metadata":{"invoice_id":"bad id/"}}`)), "data.object.metadata.invoice_id"},
		{string(stripeBody("charge.refunded", `{"id":"ch_1","amount":5000,"currency":"usd"}`)), "data.object.amount_refunded"},
		{string(stripeBody("charge.refunded", `{"id":"ch_1","amount":5000,"amount_refunded":-1,"currency":"usd"}`)), "data.object.amount_refunded"},
		{string(stripeBody("charge.refunded", `{"id":"ch_1","amount":5000,"amount_refunded":5001,"currency":"usd"}`)), "data.object.amount_refunded"},
		{string(stripeBody("charge.refunded", `{"id":"ch_1","amount_refunded":5,"currency":"usd","payment_intent":"pi 2"}`)), "data.object.payment_intent"},
		{string(stripeBody("charge.refunded", `{"id":"ch_1","currency":"usd","refunds":{"data":[{"id":"re_1","amount":-5}]}}`)), "data.object.refunds.data[0].amount"},
		{string(stripeBody("charge.dispute.closed", `{"id":"dp_1","amount":5,"currency":"usd","charge":"ch_1","status":"needs_response"}`)), "data.object.status"},
		{string(stripeBody("charge.dispute.created", `{"id":"dp_1","amount":5,"currency":"usd"}`)), "data.object.charge"},
	} {
		_, err := ParseStripe([]byte(tc.body))
		var fe FieldError
		if tc.field == "" {
			require.NoError(t, err, tc.body) // a captured charge whose amount_captured is absent
			continue
		}
		require.True(t, errors.As(err, &fe), "%s: %v", tc.body, err)
		require.Contains(t, fe, tc.field, "%s: %v", tc.body, err)
	}
}

// stripeRefundJSON is a Refund object (refund.created, refund.updated) with status.
func stripeRefundJSON(status, extra string) string {
	return `{"id":"re_1","object":"refund","amount":1500,"balance_transaction":"txn_1","charge":"ch_1","created":1764774245,` +
		`"currency":"usd","metadata":{},"payment_intent":"pi_2","reason":"requested_by_customer","status":"` + status + `"` + extra + `}`
}

func TestParseStripeRefundObject(t *testing.T) {
	for _, typ := range []string{"refund.created", "refund.updated"} {
		ev, err := ParseStripe(stripeBody(typ, stripeRefundJSON("succeeded", "")))
		require.NoError(t, err, typ)
		require.Equal(t, Event{Source: SourceStripe, ID: "evt_" + strings.ReplaceAll(typ, ".", "_"), Type: typ, Kind: KindRefund,
			PaymentID: "pi_2", ChargeID: "ch_1", Currency: "USD", At: time.Unix(1764774245, 0).UTC(),
			Refunds: []Refund{{"re_1", 1500}}}, ev, "the refund's own id, the payment intent as the payment")
	}
	ev, err := ParseStripe(stripeBody("refund.created", `{"id":"re_2","object":"refund","amount":7,"charge":{"id":"ch_7","object":"charge"},
		"payment_intent":null,"currency":"jpy","status":"succeeded","metadata":{"invoice_id":"INV-7"}}`))
	require.NoError(t, err)
	require.Equal(t, "INV-7", ev.InvoiceID, "metadata.invoice_id names the invoice")
	require.Equal(t, "ch_7", ev.PaymentID, "no payment intent: the (expanded) charge is the payment")
	require.Equal(t, []Refund{{"re_2", 7}}, ev.Refunds)

	for _, status := range []string{"pending", "requires_action", "failed", "canceled"} {
		_, err := ParseStripe(stripeBody("refund.created", stripeRefundJSON(status, "")))
		ig, isIgnored := IsIgnored(err)
		require.True(t, isIgnored, "%s: %v", status, err)
		require.Contains(t, ig.Reason, status)
	}

	for _, tc := range []struct{ obj, field string }{
		{`{"id":"re_1","object":"refund","amount":100,"currency":"usd","status":"succeeded"}`, "data.object.charge"},
		{`{"id":"re_1","object":"refund","charge":"ch_1","currency":"usd","status":"succeeded"}`, "data.object.amount"},
		{`{"id":"re_1","object":"refund","amount":0,"charge":"ch_1","currency":"usd","status":"succeeded"}`, "data.object.amount"},
		{`{"id":"re_1","object":"refund","amount":-3,"charge":"ch_1","currency":"usd","status":"succeeded"}`, "data.object.amount"},
		{`{"id":"re_1","object":"refund","amount":1e30,"charge":"ch_1","currency":"usd","status":"succeeded"}`, "data.object.amount"},
		{`{"id":"re_1","object":"refund","amount":"5","charge":"ch_1","currency":"usd","status":"succeeded"}`, "data.object.amount"},
		{`{"id":"re_1","object":"refund","amount":5,"charge":"ch_1","currency":"usd"}`, "data.object.status"},
		{`{"id":"re_1","object":"refund","amount":5,"charge":"ch_1","currency":"usd","status":"done"}`, "data.object.status"},
		{`{"id":"re_1","object":"charge","amount":5,"charge":"ch_1","currency":"usd","status":"succeeded"}`, "data.object.object"},
		{`{"id":"","object":"refund","amount":5,"charge":"ch_1","currency":"usd","status":"succeeded"}`, "data.object.id"},
		{`{"id":"re_1","object":"refund","amount":5,"charge":"ch_1","currency":"xx","status":"succeeded"}`, "data.object.currency"},
		{`{"id":"re_1","object":"refund","amount":5,"charge":"ch 1","currency":"usd","status":"succeeded"}`, "data.object.charge"},
		{`{"id":"re_1","object":"refund","amount":5,"charge":7,"currency":"usd","status":"succeeded"}`, "data.object.charge"},
		{`{"id":"re_1","object":"refund","amount":5,"charge":"ch_1","currency":"usd","status":"succeeded","metadata":{"invoice_id":"no/pe"}}`, "data.object.metadata.invoice_id"},
	} {
		_, err := ParseStripe(stripeBody("refund.created", tc.obj))
		var fe FieldError
		require.True(t, errors.As(err, &fe), "%s: %v", tc.obj, err)
		require.Contains(t, fe, tc.field, "%s: %v", tc.obj, err)
	}
}

func genericBody(typ string, data string) []byte {
	return []byte(fmt.Sprintf(`{"type":%q,"timestamp":"2026-12-03T15:04:05Z","data":%s}`, typ, data))
}

func TestParseGeneric(t *testing.T) {
	ev, err := ParseGeneric("msg_1", genericBody("payment.succeeded",
		`{"invoice_id":"INV-1001","payment_id":"pay_123","amount":"1250.00","currency":"USD","paid_at":"2026-12-03T15:04:00Z"}`))
	require.NoError(t, err)
	require.Equal(t, Event{Source: SourcePayments, ID: "msg_1", Type: "payment.succeeded", Kind: KindPayment, InvoiceID: "INV-1001",
		PaymentID: "pay_123", Currency: "USD", Amount: 125000, At: time.Date(2026, 12, 3, 15, 4, 0, 0, time.UTC)}, ev)

	ev, err = ParseGeneric("msg_2", genericBody("payment.refunded", `{"refund_id":"re_1","payment_id":"pay_123","amount":"10","currency":"JPY"}`))
	require.NoError(t, err)
	require.Equal(t, []Refund{{"re_1", 10}}, ev.Refunds)
	require.Empty(t, ev.InvoiceID)

	ev, err = ParseGeneric("msg_3", genericBody("chargeback.opened", `{"chargeback_id":"cb_1","payment_id":"pay_123","amount":"1.500","currency":"KWD","reason":"fraud"}`))
	require.NoError(t, err)
	require.Equal(t, int64(1500), ev.Amount)
	require.Equal(t, "cb_1", ev.DisputeID)
	ev, err = ParseGeneric("msg_4", genericBody("chargeback.closed", `{"chargeback_id":"cb_1","payment_id":"pay_123","amount":"1.500","currency":"KWD","outcome":"won"}`))
	require.NoError(t, err)
	require.Equal(t, OutcomeWon, ev.Outcome)

	for _, tc := range []struct {
		id, body string
		fields   []string
	}{
		{"msg_1", `{}`, []string{"type", "timestamp", "data.payment_id", "data.currency", "data.amount"}},
		{"", string(genericBody("payment.succeeded", `{"invoice_id":"I","payment_id":"p","amount":"1.00","currency":"USD"}`)), []string{HeaderWebhookID}},
		{"m", string(genericBody("payment.succeeded", `{"payment_id":"p","amount":"1.001","currency":"USD"}`)), []string{"data.invoice_id", "data.amount"}},
		{"m", string(genericBody("payment.succeeded", `{"invoice_id":"I","payment_id":"p","amount":"0","currency":"usd"}`)), []string{"data.currency"}},
		{"m", string(genericBody("payment.succeeded", `{"invoice_id":"I","payment_id":"p","amount":"0","currency":"USD","paid_at":"now"}`)), []string{"data.amount", "data.paid_at"}},
		{"m", string(genericBody("payment.succeeded", `{"invoice_id":"I","payment_id":"p","amount":12.5,"currency":"USD"}`)), []string{"data.amount"}},
		{"m", string(genericBody("payment.succeeded", `{"invoice_id":"I","payment_id":"p","amount":"1","currency":"USD","surprise":1}`)), []string{"surprise"}},
		{"m", string(genericBody("payment.refunded", `{"payment_id":"p","amount":"1","currency":"USD"}`)), []string{"data.refund_id"}},
		{"m", string(genericBody("chargeback.closed", `{"chargeback_id":"c","payment_id":"p","amount":"1","currency":"USD","outcome":"maybe"}`)), []string{"data.outcome"}},
		{"m", string(genericBody("chargeback.opened", `{"chargeback_id":"c","payment_id":"p","amount":"1","currency":"USD","outcome":"won"}`)), []string{"data.outcome"}},
		{"m", string(genericBody("payment.failed", `{"invoice_id":"I","payment_id":"p","amount":"1","currency":"USD"}`)), []string{"type"}},
		{"m", `{"type":"payment.succeeded"} {}`, []string{"body"}},
		{"m", `not json`, []string{"body"}},
	} {
		_, err := ParseGeneric(tc.id, []byte(tc.body))
		var fe FieldError
		require.True(t, errors.As(err, &fe), "%s: %v", tc.body, err)
		for _, f := range tc.fields {
			require.Contains(t, fe, f, "%s: %v", tc.body, err)
		}
	}
}
