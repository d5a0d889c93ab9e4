package webhooks

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// From API version 2025-03-31 an invoice.paid names no PaymentIntent, and its
// PaymentIntent no invoice: the invoice's id must not become a payment id of its own,
// or the same money is applied twice (in_... and pi_...).
func TestParseStripeInvoicePaidFromAPIVersion20250331(t *testing.T) {
	const invoice = `{"id":"in_1","object":"invoice","amount_paid":1000,"currency":"usd","metadata":{"invoice_id":"INV-1"}%s}`
	parse := func(version, extra string) Event {
		t.Helper()
		ev, err := ParseStripe(stripeVersioned("invoice.paid", version, fmt.Sprintf(invoice, extra)))
		require.NoError(t, err)
		require.Equal(t, "in_1", ev.StripeInvoiceID)
		require.Equal(t, "INV-1", ev.InvoiceID)
		return ev
	}
	// Without its payments: a statement that moves no money.
	for _, v := range []string{"2025-03-31.basil", "2025-09-30.clover", "2026-05-27.dahlia"} {
		ev := parse(v, "")
		require.Equal(t, KindPaymentTotal, ev.Kind, v)
		require.Equal(t, "in_1", ev.PaymentID)
		require.Equal(t, int64(1000), ev.Amount)
	}
	// With its payments included, one of them paid: that payment, by its id.
	ev := parse("2025-03-31.basil", `,"payments":{"object":"list","data":[
		{"id":"inpay_0","amount_paid":null,"status":"canceled","payment":{"type":"payment_intent","payment_intent":"pi_0"}},
		{"id":"inpay_1","amount_paid":1000,"status":"paid","payment":{"type":"payment_intent","payment_intent":{"id":"pi_1","object":"payment_intent"}}}]}`)
	require.Equal(t, KindPayment, ev.Kind)
	require.Equal(t, "pi_1", ev.PaymentID)
	require.Equal(t, int64(1000), ev.Amount)
	ev = parse("", `,"payments":{"data":[{"id":"inpay_1","amount_paid":700,"status":"paid","payment":{"type":"charge","charge":"ch_1"}}]}`)
	require.Equal(t, KindPayment, ev.Kind, "payments included and no version: the new shape")
	require.Equal(t, "ch_1", ev.PaymentID)
	require.Equal(t, int64(700), ev.Amount)
	// Several paid payments: each is reported by its own event; the invoice states the total.
	ev = parse("2025-03-31.basil", `,"payments":{"data":[
		{"id":"inpay_1","amount_paid":400,"status":"paid","payment":{"type":"payment_intent","payment_intent":"pi_1"}},
		{"id":"inpay_2","amount_paid":600,"status":"paid","payment":{"type":"payment_intent","payment_intent":"pi_2"}}]}`)
	require.Equal(t, KindPaymentTotal, ev.Kind)
	require.Equal(t, int64(1000), ev.Amount)

	// Before 2025-03-31: the PaymentIntent, else the invoice itself (paid out of band).
	ev = parse("2024-06-20", `,"payment_intent":"pi_9"`)
	require.Equal(t, KindPayment, ev.Kind)
	require.Equal(t, "pi_9", ev.PaymentID)
	ev = parse("2024-06-20", `,"payment_intent":null,"paid_out_of_band":true`)
	require.Equal(t, KindPayment, ev.Kind)
	require.Equal(t, "in_1", ev.PaymentID)

	_, err := ParseStripe(stripeVersioned("invoice.paid", "2025-03-31.basil", `{"id":"in_1","amount_paid":1000,"currency":"usd","metadata":{"invoice_id":"INV-1"},
		"payments":{"data":[{"status":"paid","payment":{"payment_intent":"pi 1"}}]}}`))
	var fe FieldError
	require.ErrorAs(t, err, &fe)
	require.Contains(t, fe, "data.object.payments.data[0].payment")
	_, err = ParseStripe(stripeVersioned("invoice.paid", "2025-03-31.basil", `{"id":"in_1","amount_paid":1000,"currency":"usd"}`))
	_, isIgnored := IsIgnored(err)
	require.True(t, isIgnored, "not a Dunwell invoice: %v", err)
}

func TestParseStripeInvoicePaymentPaid(t *testing.T) {
	const obj = `{"id":"inpay_1","object":"invoice_payment","amount_paid":1000,"amount_requested":1000,"currency":"eur","invoice":"in_1","is_default":true,
		"payment":{"type":"payment_intent","payment_intent":"pi_1"},"status":%q,"status_transitions":{"paid_at":1764774245}}`
	ev, err := ParseStripe(stripeVersioned("invoice_payment.paid", "2025-03-31.basil", fmt.Sprintf(obj, "paid")))
	require.NoError(t, err)
	require.Equal(t, KindPayment, ev.Kind)
	require.Equal(t, "pi_1", ev.PaymentID)
	require.Equal(t, "in_1", ev.StripeInvoiceID)
	require.Empty(t, ev.InvoiceID, "found through the Stripe invoice")
	require.Equal(t, "EUR", ev.Currency)
	require.Equal(t, int64(1000), ev.Amount)

	for name, body := range map[string]string{
		"open":           fmt.Sprintf(obj, "open"),
		"payment record": `{"id":"inpay_2","object":"invoice_payment","amount_paid":5,"currency":"usd","invoice":"in_1","payment":{"type":"payment_record","payment_record":"pr_1"},"status":"paid"}`,
		"nothing paid":   `{"id":"inpay_3","object":"invoice_payment","amount_paid":0,"currency":"usd","invoice":"in_1","payment":{"type":"charge","charge":"ch_1"},"status":"paid"}`,
	} {
		_, err := ParseStripe(stripeVersioned("invoice_payment.paid", "2025-03-31.basil", body))
		_, isIgnored := IsIgnored(err)
		require.True(t, isIgnored, "%s: %v", name, err)
	}
	_, err = ParseStripe(stripeVersioned("invoice_payment.paid", "2025-03-31.basil",
		`{"id":"inpay_4","object":"invoice","amount_paid":5,"currency":"usd","payment":{"payment_intent":"pi_1"},"status":"paid"}`))
	var fe FieldError
	require.ErrorAs(t, err, &fe)
	require.Contains(t, fe, "data.object.object")
	require.Contains(t, fe, "data.object.invoice")
}
