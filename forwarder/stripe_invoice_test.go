package forwarder

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/webhooks"
)

// The Stripe API version whose invoice.paid names no PaymentIntent.
const basil = "2025-03-31.basil"

// stripeEvent parses a Stripe event body as the API does before it stores the event.
func stripeEvent(t *testing.T, id, typ, version, object string) webhooks.Event {
	t.Helper()
	body := fmt.Sprintf(`{"id":%q,"object":"event","type":%q,"api_version":%q,"created":1800000000,"data":{"object":%s}}`,
		id, typ, version, object)
	ev, err := webhooks.ParseStripe([]byte(body))
	require.NoError(t, err)
	return ev
}

func (f *fakeWorkflows) paymentIDs(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for p := range f.inv[id].payments {
		out = append(out, p)
	}
	return out
}

// On API versions from 2025-03-31 invoice.paid carries the Stripe invoice's id and no
// PaymentIntent, and the PaymentIntent does not name the invoice. With
// metadata.invoice_id on both, the money is applied once, by the PaymentIntent,
// whichever event arrives first; the invoice.paid is marked applied once the payment
// covers it.
func TestForwardStripeInvoicePaidAndItsPaymentIntentApplyOnceInEitherOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	for _, invoicePaidFirst := range []bool{true, false} {
		inv := fmt.Sprintf("INV-BASIL-%t", invoicePaidFirst)
		h.issue(inv, "USD", 1000, true)
		paid := stripeEvent(t, "evt_in_"+inv, "invoice.paid", basil,
			fmt.Sprintf(`{"id":"in_%[1]s","object":"invoice","amount_paid":1000,"currency":"usd","metadata":{"invoice_id":%[1]q}}`, inv))
		require.Equal(t, webhooks.KindPaymentTotal, paid.Kind)
		pi := stripeEvent(t, "evt_pi_"+inv, "payment_intent.succeeded", basil,
			fmt.Sprintf(`{"id":"pi_%[1]s","object":"payment_intent","amount_received":1000,"currency":"usd","latest_charge":"ch_1","metadata":{"invoice_id":%[1]q}}`, inv))

		if invoicePaidFirst {
			h.store1(paid)
			require.Equal(t, ledger.WaitPayments, h.drainUntil(paid, ledger.WebhookHeld).WaitingFor, "the statement waits for the payment")
			h.store1(pi)
			h.drainUntil(pi, ledger.WebhookApplied)
			h.drainUntil(paid, ledger.WebhookApplied)
		} else {
			h.store1(pi)
			h.drainUntil(pi, ledger.WebhookApplied)
			h.store1(paid)
			h.drainUntil(paid, ledger.WebhookApplied)
		}
		require.Equal(t, []string{"pi_" + inv}, h.wf.paymentIDs(inv), "invoice paid first: %t", invoicePaidFirst)
		require.Zero(t, h.wf.balance(inv))
		got, err := h.store.PaidThroughWebhooks(context.Background(), "stripe", inv)
		require.NoError(t, err)
		require.Equal(t, int64(1000), got, "one payment in the ledger")
	}
}

// A PaymentIntent without metadata.invoice_id (Stripe does not copy the invoice's)
// is ignored; invoice_payment.paid names it and its Stripe invoice, whose invoice.paid
// names the Dunwell invoice: the money is applied once, in either order.
func TestForwardStripeInvoicePaymentPaidLinksThePaymentToTheInvoice(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	for _, invoicePaidFirst := range []bool{true, false} {
		inv := fmt.Sprintf("INV-INPAY-%t", invoicePaidFirst)
		h.issue(inv, "USD", 1000, true)
		paid := stripeEvent(t, "evt_in_"+inv, "invoice.paid", basil,
			fmt.Sprintf(`{"id":"in_%[1]s","object":"invoice","amount_paid":1000,"currency":"usd","metadata":{"invoice_id":%[1]q}}`, inv))
		link := stripeEvent(t, "evt_inpay_"+inv, "invoice_payment.paid", basil,
			fmt.Sprintf(`{"id":"inpay_%[1]s","object":"invoice_payment","amount_paid":1000,"currency":"usd","invoice":"in_%[1]s",`+
				`"payment":{"type":"payment_intent","payment_intent":"pi_%[1]s"},"status":"paid"}`, inv))
		require.Empty(t, link.InvoiceID)

		if invoicePaidFirst {
			h.store1(paid)
			h.drainUntil(paid, ledger.WebhookHeld)
			h.store1(link)
		} else {
			h.store1(link)
			require.Equal(t, ledger.WaitPayment, h.drainUntil(link, ledger.WebhookHeld).WaitingFor, "its invoice is not known yet")
			h.store1(paid)
		}
		e := h.drainUntil(link, ledger.WebhookApplied)
		require.Equal(t, inv, e.InvoiceID, "found through the Stripe invoice")
		h.drainUntil(paid, ledger.WebhookApplied)
		require.Equal(t, []string{"pi_" + inv}, h.wf.paymentIDs(inv))
		require.Zero(t, h.wf.balance(inv))
	}
}

// An invoice.paid that no payment event covers reaches an operator, having moved no
// money.
func TestForwardStripeInvoicePaidNotCoveredIsParkedAfterTheWait(t *testing.T) {
	t.Parallel()
	h, clock := newParkingHarness(t)
	h.stripePaid("INV-PART", "pi_part", 1000, 400)
	paid := stripeEvent(t, "evt_in_part", "invoice.paid", basil,
		`{"id":"in_part","object":"invoice","amount_paid":1000,"currency":"usd","metadata":{"invoice_id":"INV-PART"}}`)
	h.store1(paid)
	require.Equal(t, ledger.WaitPayments, h.drainUntil(paid, ledger.WebhookHeld).WaitingFor)

	h.pastParkAfter(clock, paid)
	e := h.drainUntil(paid, ledger.WebhookParked)
	for _, want := range []string{"not applied after 1h0m0s", "Stripe invoice in_part", "amount_paid 10.00 USD", "add up to 4.00 USD",
		"invoice_payment.paid", "POST /v1/invoices/INV-PART/payments"} {
		require.Contains(t, e.LastError, want)
	}
	require.Equal(t, int64(600), h.wf.balance("INV-PART"), "only the payment that was named moved money")
}
