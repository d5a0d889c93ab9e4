package webhooks

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkoutSession is a Checkout Session object made on the portal, paying the
// invoices and amounts of pairs (id, minor units); total < 0 leaves amount_total out.
func checkoutSession(paymentStatus string, total int64, pairs ...string) string {
	meta := map[string]string{CheckoutMetaCustomer: "C-1", CheckoutMetaLink: "7", CheckoutMetaCount: fmt.Sprint(len(pairs) / 2)}
	for i := 0; i < len(pairs); i += 2 {
		meta[CheckoutMetaInvoice(i/2+1)], meta[CheckoutMetaAmount(i/2+1)] = pairs[i], pairs[i+1]
	}
	obj := map[string]any{"id": "cs_test_1", "object": "checkout.session", "mode": "payment", "status": "complete",
		"payment_status": paymentStatus, "currency": "usd", "metadata": meta, "payment_intent": "pi_9", "client_reference_id": "C-1"}
	if total >= 0 {
		obj["amount_total"] = total
	}
	b, _ := json.Marshal(obj)
	return string(b)
}

func TestParseStripeCheckoutSession(t *testing.T) {
	events, err := ParseStripeEvents(stripeBody("checkout.session.completed", checkoutSession("paid", 1500, "INV-1", "1000", "INV-2", "500")))
	require.NoError(t, err)
	require.Len(t, events, 2)
	for i, want := range []struct {
		inv    string
		amount int64
	}{{"INV-1", 1000}, {"INV-2", 500}} {
		ev := events[i]
		require.Equal(t, KindPayment, ev.Kind)
		require.Equal(t, want.inv, ev.InvoiceID)
		require.Equal(t, want.amount, ev.Amount)
		require.Equal(t, "USD", ev.Currency)
		require.Equal(t, "evt_checkout_session_completed:"+want.inv, ev.ID, "one stored event per invoice")
		require.Equal(t, "cs_test_1:"+want.inv, ev.PaymentID, "the session and the invoice: every event of the session pays once")
		require.Equal(t, &PortalPayment{CustomerID: "C-1", LinkID: 7, SessionID: "cs_test_1"}, ev.Portal)
	}
	// The money of a delayed payment method arrives later: the same payments.
	later, err := ParseStripeEvents(stripeBody("checkout.session.async_payment_succeeded", checkoutSession("paid", 1500, "INV-1", "1000", "INV-2", "500")))
	require.NoError(t, err)
	require.Equal(t, events[0].PaymentID, later[0].PaymentID)
	require.NotEqual(t, events[0].ID, later[0].ID)

	// Not paid yet, or paid with nothing: nothing to store.
	for _, body := range [][]byte{
		stripeBody("checkout.session.completed", checkoutSession("unpaid", 1000, "INV-1", "1000")),
		stripeBody("checkout.session.completed", checkoutSession("no_payment_required", 1000, "INV-1", "1000")),
		stripeBody("checkout.session.completed", `{"id":"cs_other","object":"checkout.session","payment_status":"paid","currency":"usd","metadata":{}}`),
	} {
		_, err := ParseStripeEvents(body)
		_, ok := IsIgnored(err)
		require.True(t, ok, "%s: %v", body, err)
	}

	// Metadata that does not add up, or names an invoice twice or badly: 400.
	for name, c := range map[string]struct {
		obj, field string
	}{
		"total":     {checkoutSession("paid", 1499, "INV-1", "1000", "INV-2", "500"), "data.object.amount_total"},
		"twice":     {checkoutSession("paid", 2000, "INV-1", "1000", "INV-1", "1000"), "data.object.metadata.dunwell_invoice_2"},
		"bad id":    {checkoutSession("paid", 1000, "INV 1", "1000"), "data.object.metadata.dunwell_invoice_1"},
		"zero":      {checkoutSession("paid", 0, "INV-1", "0"), "data.object.metadata.dunwell_amount_1"},
		"not int":   {checkoutSession("paid", -1, "INV-1", "10.00"), "data.object.metadata.dunwell_amount_1"},
		"no status": {checkoutSession("", 1000, "INV-1", "1000"), "data.object.payment_status"},
		"count":     {strings.Replace(checkoutSession("paid", 1000, "INV-1", "1000"), `"dunwell_invoices":"1"`, `"dunwell_invoices":"21"`, 1), "data.object.metadata.dunwell_invoices"},
		"link":      {strings.Replace(checkoutSession("paid", 1000, "INV-1", "1000"), `"dunwell_link_id":"7"`, `"dunwell_link_id":"x"`, 1), "data.object.metadata.dunwell_link_id"},
		"currency":  {strings.Replace(checkoutSession("paid", 1000, "INV-1", "1000"), `"usd"`, `"usdx"`, 1), "data.object.currency"},
	} {
		_, err := ParseStripeEvents(stripeBody("checkout.session.completed", c.obj))
		var fe FieldError
		require.ErrorAs(t, err, &fe, name)
		require.Contains(t, fe, c.field, name)
	}

	// Every other type reads as ParseStripe does.
	events, err = ParseStripeEvents(stripeBody("payment_intent.succeeded", `{"id":"pi_1","amount_received":125000,"currency":"usd","metadata":{"invoice_id":"INV-1"}}`))
	require.NoError(t, err)
	require.Len(t, events, 1)
	require.Equal(t, "pi_1", events[0].PaymentID)
	require.Nil(t, events[0].Portal)
}

func TestCheckoutPaymentIDStaysAnID(t *testing.T) {
	long := strings.Repeat("I", 100)
	id := CheckoutPaymentID("cs_test_"+strings.Repeat("a", 58), long)
	require.Regexp(t, `^cs_test_a+:[0-9a-f]{16}$`, id)
	require.Equal(t, id, CheckoutPaymentID("cs_test_"+strings.Repeat("a", 58), long), "deterministic")
}
