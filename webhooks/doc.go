// Package webhooks verifies and parses the payment providers' webhooks: Stripe's
// (Stripe-Signature) and Dunwell's generic payment events signed per the Standard
// Webhooks spec (webhook-id, webhook-timestamp, webhook-signature).
//
// Everything here is pure: it takes bytes and headers and returns a normalized Event
// or an error that names the field; it does no I/O. The API stores what it accepts
// (ledger.StoreWebhookEvent) before it answers 2xx, and the forwarder package applies
// stored events to the invoice workflows.
//
// Money: Stripe sends integer amounts in the currency's smallest unit, which is
// Dunwell's minor unit; the generic format sends decimal strings in major units,
// parsed by package money. Amounts are never floats.
package webhooks
