package webhooks

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/money"
)

// A Stripe Checkout Session made on the customer's portal pays one or several
// invoices. Its metadata is the contract between the portal, which writes it
// (portal.Checkout), and the webhook, which reads it (ParseStripeEvents):
//
//	dunwell_customer_id   the customer whose link made it
//	dunwell_link_id       the portal link's id
//	dunwell_invoices      how many invoices it pays (1 to MaxCheckoutInvoices)
//	dunwell_invoice_<i>   the i-th invoice's id (i from 1)
//	dunwell_amount_<i>    what it pays of that invoice, in minor units of the currency
//
// Each invoice's amount is its own line item too, but an event does not carry the line
// items, so the metadata says it. Stripe allows 50 metadata keys: 3 + 2 per invoice.
const (
	CheckoutMetaCustomer = "dunwell_customer_id"
	CheckoutMetaLink     = "dunwell_link_id"
	CheckoutMetaCount    = "dunwell_invoices"
	// MaxCheckoutInvoices bounds the invoices of one session (Stripe's 50 metadata keys).
	MaxCheckoutInvoices = 20
)

// CheckoutMetaInvoice is the metadata key of the i-th invoice's id (i from 1).
func CheckoutMetaInvoice(i int) string { return "dunwell_invoice_" + strconv.Itoa(i) }

// CheckoutMetaAmount is the metadata key of the i-th invoice's amount in minor units.
func CheckoutMetaAmount(i int) string { return "dunwell_amount_" + strconv.Itoa(i) }

// CheckoutPaymentID is the payment id of what session pays of invoice: the session and
// the invoice, so that every event about the session (checkout.session.completed,
// checkout.session.async_payment_succeeded, a redelivery) applies it once. An id that
// would be longer than collection.IDPattern allows takes a hash of the invoice id.
func CheckoutPaymentID(session, invoice string) string {
	id := session + ":" + invoice
	if collection.IDPattern.MatchString(id) {
		return id
	}
	sum := sha256.Sum256([]byte(invoice))
	return session + ":" + hex.EncodeToString(sum[:8])
}

// PortalPayment says that a payment came from a Checkout Session made on the
// customer's portal: who made it, through which link.
type PortalPayment struct {
	CustomerID string `json:"customer_id"`
	LinkID     int64  `json:"link_id"`
	SessionID  string `json:"session_id"`
}

// stripeCheckoutSession is the part of a Checkout Session that Dunwell reads.
type stripeCheckoutSession struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	Mode          string            `json:"mode"`
	Status        string            `json:"status"`
	PaymentStatus string            `json:"payment_status"`
	Currency      string            `json:"currency"`
	AmountTotal   *int64            `json:"amount_total"`
	Metadata      map[string]string `json:"metadata"`
}

// ParseStripeEvents maps a verified Stripe event body onto the events it makes: one
// for every event ParseStripe reads, and one payment per invoice for a Checkout
// Session made on the customer's portal:
//
//	checkout.session.completed                 paid: one payment per invoice of its metadata;
//	                                           unpaid (a payment method that settles later):
//	                                           *Ignored, the next event says when it has
//	checkout.session.async_payment_succeeded   the same payments, when the money has arrived
//
// Each payment's id is CheckoutPaymentID(session, invoice), and each event's ID the
// Stripe event id and the invoice ("evt_...:INV-1"), so every event is stored and
// applied once per invoice, and a session reported twice pays once. A session without
// Dunwell's metadata (made elsewhere on the same Stripe account) is *Ignored; metadata
// that does not add up to the session's amount is a FieldError.
func ParseStripeEvents(body []byte) ([]Event, error) {
	var ev stripeEvent
	if bad := strictJSON(body, &ev); bad != nil {
		return nil, bad
	}
	switch ev.Type {
	case "checkout.session.completed", "checkout.session.async_payment_succeeded":
		return parseCheckout(&ev)
	}
	one, err := ParseStripe(body)
	if err != nil {
		return nil, err
	}
	return []Event{one}, nil
}

func parseCheckout(ev *stripeEvent) ([]Event, error) {
	fe := FieldError{}
	if !eventIDPattern.MatchString(ev.ID) || len(ev.ID) > 120 {
		fe["id"] = "must be the Stripe event id (evt_...)"
	}
	if ev.Object != "event" {
		fe["object"] = `must be "event"`
	}
	var s stripeCheckoutSession
	if len(ev.Data.Object) == 0 || string(ev.Data.Object) == "null" {
		fe["data.object"] = "is required"
	} else if bad := strictJSON(ev.Data.Object, &s); bad != nil {
		for f, p := range bad {
			if f == "body" {
				fe["data.object"] = p
			} else {
				fe["data.object."+f] = p
			}
		}
	}
	if len(fe) > 0 {
		return nil, fe
	}
	if _, ours := s.Metadata[CheckoutMetaCount]; !ours {
		return nil, ignored("checkout session %s has no %s: not made on Dunwell's portal", s.ID, CheckoutMetaCount)
	}
	if s.Object != "checkout.session" {
		fe["data.object.object"] = `must be "checkout.session"`
	}
	if !idPattern(s.ID) || len(s.ID) > 80 {
		fe["data.object.id"] = "must be the Checkout Session id (cs_...)"
	}
	cur := strings.ToUpper(s.Currency)
	if !money.ValidCurrency(cur) {
		fe["data.object.currency"] = "must be an ISO 4217 currency code"
	}
	if s.Mode != "" && s.Mode != "payment" {
		fe["data.object.mode"] = `must be "payment"`
	}
	customer := s.Metadata[CheckoutMetaCustomer]
	if !collection.IDPattern.MatchString(customer) {
		fe["data.object.metadata."+CheckoutMetaCustomer] = collection.IDProblem
	}
	link, err := strconv.ParseInt(s.Metadata[CheckoutMetaLink], 10, 64)
	if err != nil || link <= 0 {
		fe["data.object.metadata."+CheckoutMetaLink] = "must be the portal link's id (a positive integer)"
	}
	n, err := strconv.Atoi(s.Metadata[CheckoutMetaCount])
	if err != nil || n < 1 || n > MaxCheckoutInvoices {
		fe["data.object.metadata."+CheckoutMetaCount] = fmt.Sprintf("must be a number from 1 to %d", MaxCheckoutInvoices)
	}
	if len(fe) > 0 {
		return nil, fe
	}
	out := make([]Event, 0, n)
	seen := map[string]bool{}
	var total int64
	for i := 1; i <= n; i++ {
		inv := s.Metadata[CheckoutMetaInvoice(i)]
		field := "data.object.metadata."
		switch {
		case !collection.IDPattern.MatchString(inv):
			fe[field+CheckoutMetaInvoice(i)] = collection.IDProblem
			continue
		case seen[inv]:
			fe[field+CheckoutMetaInvoice(i)] = "names an invoice already listed"
			continue
		}
		seen[inv] = true
		amount, err := strconv.ParseInt(s.Metadata[CheckoutMetaAmount(i)], 10, 64)
		if err != nil || amount <= 0 || amount > money.MaxMinor {
			fe[field+CheckoutMetaAmount(i)] = "must be a positive integer of minor units"
			continue
		}
		total += amount
		out = append(out, Event{Source: SourceStripe, ID: ev.ID + ":" + inv, Type: ev.Type, Kind: KindPayment,
			InvoiceID: inv, PaymentID: CheckoutPaymentID(s.ID, inv), Currency: cur, Amount: amount, At: unixOrZero(ev.Created),
			Portal: &PortalPayment{CustomerID: customer, LinkID: link, SessionID: s.ID}})
	}
	if len(fe) == 0 && s.AmountTotal != nil && *s.AmountTotal != total {
		fe["data.object.amount_total"] = fmt.Sprintf("is %d but the invoices' amounts in the metadata add up to %d", *s.AmountTotal, total)
	}
	if len(fe) > 0 {
		return nil, fe
	}
	switch {
	case s.PaymentStatus == "paid":
		return out, nil
	case s.PaymentStatus == "unpaid" && ev.Type == "checkout.session.completed":
		return nil, ignored("checkout session %s is complete but not paid yet: checkout.session.async_payment_succeeded applies it", s.ID)
	case s.PaymentStatus == "":
		return nil, FieldError{"data.object.payment_status": "is required"}
	}
	return nil, ignored("checkout session %s has payment_status %s: no money moved", s.ID, strconv.Quote(s.PaymentStatus))
}
