// Package webhooks verifies and parses the providers' webhooks: the payment
// providers' (Stripe's, with Stripe-Signature, and Dunwell's generic payment events
// signed per the Standard Webhooks spec) and the delivery providers' (Twilio's SMS
// status callbacks and inbound messages, with X-Twilio-Signature; SendGrid's Event
// Webhook, with its ECDSA signature).
//
// Everything here is pure: it takes bytes, headers and the time and returns a
// normalized Event (payments) or Report (deliveries and opt-outs), or an error that
// names the field; it does no I/O. The API stores a payment Event it accepts
// (ledger.StoreWebhookEvent) before it answers 2xx, and the forwarder package applies
// stored events to the invoice workflows. A delivery Report is applied by the API
// before it answers: it writes the ledger and signals the workflow, both idempotent,
// so the provider's retry of a failed callback repeats it harmlessly.
//
// Money: Stripe sends integer amounts in the currency's smallest unit, which is
// Dunwell's minor unit; the generic format sends decimal strings in major units,
// parsed by package money. Amounts are never floats.
package webhooks
