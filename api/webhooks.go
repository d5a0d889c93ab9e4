package api

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dunwell/dunwell/internal/metrics"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/webhooks"
)

// Webhooks configures the payment webhooks. They are not behind API keys: the
// provider's signature authenticates them. A nil verifier answers its endpoint 503
// (not configured), never unauthenticated access.
type Webhooks struct {
	// Stripe verifies POST /v1/webhooks/stripe (STRIPE_WEBHOOK_SECRET).
	Stripe *webhooks.StripeVerifier
	// Payments verifies POST /v1/webhooks/payments (PAYMENTS_WEBHOOK_SECRET).
	Payments *webhooks.StandardVerifier
	// Stored, if set, is called after an event is stored (the forwarder's Wake).
	Stored func()
}

// WebhookResponse answers an accepted, duplicate or ignored webhook.
type WebhookResponse struct {
	// Status: "accepted" (stored now), "duplicate" (stored before) or "ignored"
	// (authentic but nothing for Dunwell; nothing stored).
	Status  string `json:"status"`
	Source  string `json:"source"`
	EventID string `json:"event_id,omitempty"`
	// InvoiceIDs are the invoices a Stripe Checkout Session made on the portal pays:
	// its event is stored as one payment per invoice.
	InvoiceIDs []string `json:"invoice_ids,omitempty"`
	Reason     string   `json:"reason,omitempty"`
}

// stripeWebhook serves POST /v1/webhooks/stripe.
func (s *Server) stripeWebhook(w http.ResponseWriter, r *http.Request) {
	v := s.Webhooks.Stripe
	s.receiveWebhook(w, r, webhooks.SourceStripe, v != nil, "STRIPE_WEBHOOK_SECRET",
		func(body []byte) error { return v.Verify(body, r.Header.Get(webhooks.HeaderStripeSignature)) },
		webhooks.ParseStripeEvents)
}

// paymentsWebhook serves POST /v1/webhooks/payments: generic payment events signed per
// the Standard Webhooks spec (see openapi.yaml).
func (s *Server) paymentsWebhook(w http.ResponseWriter, r *http.Request) {
	v := s.Webhooks.Payments
	s.receiveWebhook(w, r, webhooks.SourcePayments, v != nil, "PAYMENTS_WEBHOOK_SECRET",
		func(body []byte) error { return v.Verify(body, r.Header) },
		func(body []byte) ([]webhooks.Event, error) {
			ev, err := webhooks.ParseGeneric(r.Header.Get(webhooks.HeaderWebhookID), body)
			return []webhooks.Event{ev}, err
		})
}

// receiveWebhook reads the body, verifies its signature (401 and nothing stored if it
// fails), parses it and stores the events it makes (one, or one per invoice of a
// Stripe Checkout Session).
func (s *Server) receiveWebhook(w http.ResponseWriter, r *http.Request, src webhooks.Source, configured bool, variable string,
	verify func([]byte) error, parse func([]byte) ([]webhooks.Event, error)) {
	if !configured {
		s.webhookNotConfigured(w, r, variable)
		return
	}
	body, ok := readWebhookBody(w, r)
	if !ok {
		return
	}
	if err := verify(body); err != nil {
		s.badSignature(w, r, err)
		return
	}
	events, err := parse(body)
	s.acceptWebhook(w, r, src, body, events, err)
}

// readWebhookBody reads the raw body, which the signature covers byte for byte. It is
// bounded by limitBody.
func readWebhookBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", tooLarge.Limit), nil)
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "reading the request body failed", nil)
		return nil, false
	}
	return body, true
}

// badSignature answers 401 for a request that does not prove its sender. The reason
// names the header and never a secret.
func (s *Server) badSignature(w http.ResponseWriter, r *http.Request, err error) {
	var se *webhooks.SignatureError
	fields := map[string]string{}
	if errors.As(err, &se) {
		fields[se.Header] = se.Reason
	}
	s.Logger.Warn("Webhook refused: bad signature", "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err.Error())
	metrics.WebhookEvent(strings.TrimPrefix(r.URL.Path, "/v1/webhooks/"), "bad_signature")
	writeError(w, http.StatusUnauthorized, "invalid webhook signature; nothing was stored", fields)
}

func (s *Server) webhookNotConfigured(w http.ResponseWriter, r *http.Request, variable string) {
	s.Logger.Error("Webhook refused: no secret configured", "path", r.URL.Path, "variable", variable)
	writeError(w, http.StatusServiceUnavailable, "this webhook is not configured", nil)
}

// acceptWebhook stores a verified, parsed event (all the events one delivery makes,
// together) and answers 200 only once they are stored: a failure to store is a 5xx,
// so the provider delivers it again.
func (s *Server) acceptWebhook(w http.ResponseWriter, r *http.Request, src webhooks.Source, body []byte, events []webhooks.Event, err error) {
	var fe webhooks.FieldError
	if ig, ok := webhooks.IsIgnored(err); ok {
		s.Logger.Info("Webhook ignored", "source", src, "reason", ig.Reason)
		metrics.WebhookEvent(string(src), "ignored")
		writeJSON(w, http.StatusOK, WebhookResponse{Status: "ignored", Source: string(src), Reason: ig.Reason})
		return
	}
	if errors.As(err, &fe) {
		metrics.WebhookEvent(string(src), "invalid")
		writeError(w, http.StatusBadRequest, fe.Error(), fe)
		return
	}
	if err != nil { // the parsers return only the two above
		s.fail(w, r, "parsing the event", err)
		return
	}
	sum := sha256.Sum256(body)
	rows := make([]ledger.NewWebhookEvent, 0, len(events))
	for _, ev := range events {
		raw, err := json.Marshal(ev)
		if err != nil {
			s.fail(w, r, "encoding the event", err)
			return
		}
		rows = append(rows, ledger.NewWebhookEvent{
			Source: string(ev.Source), EventID: ev.ID, EventType: ev.Type, Kind: string(ev.Kind), InvoiceID: ev.InvoiceID,
			PaymentID: ev.PaymentID, DisputeID: ev.DisputeID, Currency: ev.Currency, Amount: ev.Amount, Event: raw, BodySHA256: sum[:],
		})
	}
	ev := events[0]
	eventID := ev.ID
	if ev.Portal != nil { // one row per invoice: "<event id>:<invoice id>"
		eventID = strings.TrimSuffix(ev.ID, ":"+ev.InvoiceID)
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	stored, err := s.Ledger.StoreWebhookEvents(ctx, rows)
	switch {
	case errors.Is(err, ledger.ErrWebhookConflict):
		writeError(w, http.StatusConflict, "event "+eventID+" was already received with a different body", map[string]string{"id": "is already used"})
		return
	case err != nil:
		s.fail(w, r, "storing the event", err)
		return
	}
	resp := WebhookResponse{Status: "accepted", Source: string(src), EventID: eventID}
	if len(events) > 1 || ev.Portal != nil {
		for _, e := range events {
			resp.InvoiceIDs = append(resp.InvoiceIDs, e.InvoiceID)
		}
	}
	if !stored {
		resp.Status = "duplicate"
	} else if s.Webhooks.Stored != nil {
		s.Webhooks.Stored()
	}
	metrics.WebhookEvent(string(src), resp.Status)
	s.Logger.Info("Webhook stored", "source", src, "event_id", eventID, "type", ev.Type, "invoice_id", ev.InvoiceID, "events", len(events), "new", stored)
	writeJSON(w, http.StatusOK, resp)
}

// WebhookEventView is one stored webhook event as GET /v1/webhooks/events lists it.
type WebhookEventView struct {
	ID        int64  `json:"id"`
	Source    string `json:"source"`
	EventID   string `json:"event_id"`
	Type      string `json:"type"`
	Kind      string `json:"kind"`
	InvoiceID string `json:"invoice_id,omitempty"`
	PaymentID string `json:"payment_id,omitempty"`
	DisputeID string `json:"dispute_id,omitempty"`
	Currency  string `json:"currency"`
	// Amount of a payment or chargeback; Refunds of a refund event.
	Amount        string     `json:"amount,omitempty"`
	Refunds       []string   `json:"refunds,omitempty"`
	Status        string     `json:"status"`
	WaitingFor    string     `json:"waiting_for,omitempty"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	ReceivedAt    time.Time  `json:"received_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
}

// WebhookEventsResponse answers GET /v1/webhooks/events.
type WebhookEventsResponse struct {
	Events []WebhookEventView `json:"events"`
}

const maxListLimit = 500

// listWebhookEvents serves GET /v1/webhooks/events?status=parked,held&limit=100:
// the events an operator must look at (parked) or that wait (held), oldest first.
func (s *Server) listWebhookEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fields := map[string]string{}
	var statuses []ledger.WebhookStatus
	for _, st := range strings.Split(cmp.Or(q.Get("status"), "parked"), ",") {
		switch ledger.WebhookStatus(st) {
		case ledger.WebhookParked, ledger.WebhookHeld, ledger.WebhookPending, ledger.WebhookApplied:
			statuses = append(statuses, ledger.WebhookStatus(st))
		default:
			fields["status"] = "must be parked, held, pending or applied (comma-separated)"
		}
	}
	limit, err := strconv.Atoi(cmp.Or(q.Get("limit"), "100"))
	if err != nil || limit < 1 || limit > maxListLimit {
		fields["limit"] = fmt.Sprintf("must be a number from 1 to %d", maxListLimit)
	}
	for name := range q {
		if name != "status" && name != "limit" {
			fields[name] = "is not a known parameter"
		}
	}
	if len(fields) > 0 {
		writeError(w, http.StatusBadRequest, "invalid query", fields)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	events, err := s.Ledger.ListWebhookEvents(ctx, statuses, limit)
	if err != nil {
		s.fail(w, r, "listing webhook events", err)
		return
	}
	out := WebhookEventsResponse{Events: make([]WebhookEventView, 0, len(events))}
	for _, e := range events {
		out.Events = append(out.Events, webhookEventView(e))
	}
	writeJSON(w, http.StatusOK, out)
}

func webhookEventView(e ledger.WebhookEvent) WebhookEventView {
	v := WebhookEventView{ID: e.ID, Source: e.Source, EventID: e.EventID, Type: e.EventType, Kind: e.Kind, InvoiceID: e.InvoiceID,
		PaymentID: e.PaymentID, DisputeID: e.DisputeID, Currency: e.Currency, Status: string(e.Status), WaitingFor: e.WaitingFor,
		Attempts: e.Attempts, LastError: e.LastError, ReceivedAt: e.ReceivedAt}
	if e.Amount > 0 {
		v.Amount = money.Format(e.Amount, e.Currency)
	}
	var ev webhooks.Event
	if json.Unmarshal(e.Event, &ev) == nil {
		for _, r := range ev.Refunds {
			v.Refunds = append(v.Refunds, r.ID+" "+money.Format(r.Amount, e.Currency))
		}
	}
	if e.Status == ledger.WebhookHeld || e.Status == ledger.WebhookPending {
		next := e.NextAttemptAt
		v.NextAttemptAt = &next
	}
	return v
}

// retryWebhookEvent serves POST /v1/webhooks/events/{id}/retry: an operator sends a
// parked event back to the forwarder (after issuing its invoice, say). 404 unless a
// parked event has that id.
func (s *Server) retryWebhookEvent(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, "no parked webhook event "+strconv.Quote(r.PathValue("id")), nil)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	e, err := s.Ledger.RequeueWebhookEvent(ctx, id, func(e ledger.WebhookEvent) ledger.AuditEntry {
		return s.auditEntry(r, http.StatusOK, ledger.AuditEntry{Action: "webhook.retry", Outcome: "requeued", InvoiceID: e.InvoiceID,
			Reason:  "parked " + e.Source + " event " + e.EventID + " sent back to the forwarder",
			Details: map[string]any{"webhook_event": e.ID, "source": e.Source, "event_id": e.EventID}})
	})
	if errors.Is(err, ledger.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no parked webhook event %d", id), nil)
		return
	}
	if err != nil {
		s.fail(w, r, "requeueing the event", err)
		return
	}
	if s.Webhooks.Stored != nil {
		s.Webhooks.Stored()
	}
	writeJSON(w, http.StatusOK, webhookEventView(e))
}
