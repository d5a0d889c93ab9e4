package api

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"

	"github.com/dunwell/dunwell/internal/config"
	"github.com/dunwell/dunwell/internal/metrics"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/webhooks"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// DeliveryWebhooks configures POST /v1/webhooks/twilio and POST /v1/webhooks/sendgrid.
// They are not behind API keys: each provider signs its requests, and a request
// without a valid signature is answered 401 and changes nothing. A webhook whose
// settings are missing answers 503 (fail closed).
type DeliveryWebhooks struct {
	// PublicURL is the base URL Twilio calls (DUNWELL_PUBLIC_URL), e.g.
	// https://dunwell.example.com. Twilio signs the full URL it called, which behind
	// a proxy is not what this server sees, so it is configured, never guessed.
	PublicURL string
	// TwilioAuthToken is the key of X-Twilio-Signature (TWILIO_AUTH_TOKEN).
	TwilioAuthToken string
	// SendGridPublicKey verifies the Event Webhook's ECDSA signature
	// (SENDGRID_WEBHOOK_PUBLIC_KEY, see NewSendGridKey).
	SendGridPublicKey *ecdsa.PublicKey
}

// NewSendGridKey parses the Event Webhook verification key as SendGrid shows it
// (base64 DER) with sendgrid-go's helper, after checking it is an ECDSA key (the
// helper panics on any other kind).
func NewSendGridKey(b64 string) (*ecdsa.PublicKey, error) {
	if err := config.CheckECDSAPublicKey(b64); err != nil {
		return nil, fmt.Errorf("the SendGrid verification key %w", err)
	}
	return eventwebhook.ConvertPublicKeyBase64ToECDSA(b64)
}

// webhookResult answers an accepted delivery callback.
type webhookResult struct {
	// Status: "recorded", "unchanged" (a repeat) or "ignored" (nothing to do).
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// twiml is the empty TwiML answer to an inbound message: nothing to reply (Twilio
// answers STOP, START and HELP itself).
const twiml = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// twilioWebhook serves POST /v1/webhooks/twilio: message status callbacks (sent,
// delivered, undelivered, failed) and inbound messages (STOP, START, HELP and their
// synonyms), signed with X-Twilio-Signature. webhooks.VerifyTwilio and
// webhooks.ParseTwilio say what it means; this applies it.
func (s *Server) twilioWebhook(w http.ResponseWriter, r *http.Request) {
	d := s.Delivery
	if d == nil || d.PublicURL == "" || d.TwilioAuthToken == "" {
		s.webhookNotConfigured(w, r, "DUNWELL_PUBLIC_URL, TWILIO_AUTH_TOKEN")
		return
	}
	body, ok := readWebhookBody(w, r)
	if !ok {
		return
	}
	if err := webhooks.VerifyTwilio(d.TwilioAuthToken, d.PublicURL+r.URL.RequestURI(), body, r.Header.Get(webhooks.HeaderTwilioSignature)); err != nil {
		s.badSignature(w, r, err)
		return
	}
	cb, err := webhooks.ParseTwilio(body, r.URL.Query())
	if !s.deliveryParsed(w, r, webhooks.SourceTwilio, err) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	res, outcome := webhookResult{Status: "ignored"}, "ignored"
	if cb.Report != nil {
		var applied bool
		if res, applied, err = s.applyReport(ctx, *cb.Report); err != nil {
			s.fail(w, r, "recording the "+reportSubject(*cb.Report), err)
			return
		}
		if outcome = deliveryOutcome(res.Status); cb.Inbound && applied {
			outcome = "applied"
		}
	}
	metrics.WebhookEvent(string(webhooks.SourceTwilio), outcome)
	if cb.Inbound {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, twiml)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// deliveryOutcome names a delivery report's outcome for /metrics.
func deliveryOutcome(status string) string {
	switch status {
	case "recorded":
		return "applied"
	case "unchanged":
		return "duplicate"
	}
	return "ignored"
}

// deliveryParsed answers a callback the parser did not accept (400 naming the
// fields, or 200 ignored) and reports whether there is something to apply.
func (s *Server) deliveryParsed(w http.ResponseWriter, r *http.Request, src webhooks.Source, err error) bool {
	var fe webhooks.FieldError
	switch ig, ignored := webhooks.IsIgnored(err); {
	case err == nil:
		return true
	case ignored:
		metrics.WebhookEvent(string(src), "ignored")
		writeJSON(w, http.StatusOK, webhookResult{Status: "ignored", Reason: ig.Reason})
	case errors.As(err, &fe):
		metrics.WebhookEvent(string(src), "invalid")
		writeError(w, http.StatusBadRequest, fe.Error(), fe)
	default: // the parsers return only the two above
		s.fail(w, r, "parsing the callback", err)
	}
	return false
}

// sendGridResult answers an accepted batch of events.
type sendGridResult struct {
	Events  int `json:"events"`
	Applied int `json:"applied"`
	Ignored int `json:"ignored"`
	// Skipped counts events that were not objects Dunwell can read; the rest of the
	// batch is applied (a 4xx would make SendGrid retry the whole batch for days).
	Skipped int `json:"skipped"`
}

// sendGridWebhook serves POST /v1/webhooks/sendgrid: a batch of Event Webhook events
// signed with ECDSA (X-Twilio-Email-Event-Webhook-Signature and -Timestamp).
// webhooks.VerifySendGrid and webhooks.ParseSendGrid say what they mean; this
// applies them in order.
func (s *Server) sendGridWebhook(w http.ResponseWriter, r *http.Request) {
	if s.Delivery == nil || s.Delivery.SendGridPublicKey == nil {
		s.webhookNotConfigured(w, r, "SENDGRID_WEBHOOK_PUBLIC_KEY")
		return
	}
	body, ok := readWebhookBody(w, r)
	if !ok {
		return
	}
	if err := webhooks.VerifySendGrid(s.Delivery.SendGridPublicKey, body, r.Header.Get(webhooks.HeaderSendGridSignature),
		r.Header.Get(webhooks.HeaderSendGridTimestamp), s.now()); err != nil {
		s.badSignature(w, r, err)
		return
	}
	batch, err := webhooks.ParseSendGrid(body)
	if !s.deliveryParsed(w, r, webhooks.SourceSendGrid, err) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	res := sendGridResult{Events: batch.Events, Skipped: batch.Skipped, Ignored: batch.Unused}
	for _, rep := range batch.Reports {
		_, applied, err := s.applyReport(ctx, rep)
		if err != nil {
			s.fail(w, r, "recording the "+reportSubject(rep), err)
			return
		}
		if applied {
			res.Applied++
		} else {
			res.Ignored++
		}
	}
	for outcome, n := range map[string]int{"invalid": res.Skipped, "ignored": res.Ignored, "applied": res.Applied} {
		for range n {
			metrics.WebhookEvent(string(webhooks.SourceSendGrid), outcome)
		}
	}
	if res.Skipped > 0 {
		s.Logger.Warn("SendGrid webhook: skipped unreadable events", "skipped", res.Skipped, "events", res.Events)
	}
	writeJSON(w, http.StatusOK, res)
}

// reportSubject names what a report records, for error messages.
func reportSubject(rep webhooks.Report) string {
	if rep.Delivery != nil {
		return "delivery status"
	}
	return "opt-out"
}

// applyReport applies a delivery callback: the notice's delivery status first, then
// the opt-out. The answer is the delivery's ("recorded", "unchanged", "ignored"), or
// "recorded" for an opt-out alone; applied says whether either changed or confirmed
// something. A status callback without a notice key finds its notice by the message
// id; an unknown id is ignored, opt-out included.
func (s *Server) applyReport(ctx context.Context, rep webhooks.Report) (res webhookResult, applied bool, err error) {
	res = webhookResult{Status: "recorded"}
	if d := rep.Delivery; d != nil {
		key := d.NoticeKey
		if key == "" {
			n, err := s.Ledger.NoticeByProviderID(ctx, rep.Channel, d.MessageID)
			if errors.Is(err, ledger.ErrNotFound) {
				return webhookResult{Status: "ignored", Reason: "no notice has this message sid"}, false, nil
			}
			if err != nil {
				return webhookResult{}, false, fmt.Errorf("finding the notice: %w", err)
			}
			key = n.Key
		}
		u := ledger.DeliveryUpdate{Status: ledger.DeliveryStatus(d.Status), Error: d.Error, ProviderID: d.MessageID, At: s.at(d.At)}
		if webhooks.MessageCustomer(key) != "" {
			res, err = s.applyMessageDelivery(ctx, key, u)
		} else {
			u.NoticeKey = key
			res, err = s.applyDelivery(ctx, u)
		}
		if err != nil {
			return webhookResult{}, false, err
		}
		applied = res.Status != "ignored"
		if o := rep.OptOut; o != nil && o.InvoiceID == "" {
			o.InvoiceID = webhooks.NoticeInvoice(key)
		}
	}
	if o := rep.OptOut; o != nil {
		customers := s.customerOfInvoice(ctx, o.InvoiceID)
		if d := rep.Delivery; customers == nil && d != nil {
			if c := webhooks.MessageCustomer(d.NoticeKey); c != "" {
				customers = []string{c}
			}
		}
		change := ledger.OptOutChange{EventID: o.EventID, Channel: rep.Channel, Address: o.Address,
			CustomerIDs: customers, OptedOut: o.OptedOut, Source: ledger.OptOutSource(o.Source), At: s.at(o.At)}
		if err := s.applyOptOut(ctx, change); err != nil {
			return webhookResult{}, false, err
		}
		applied = true
	}
	return res, applied, nil
}

// at is when a callback's event happened: what the provider said, else now.
func (s *Server) at(t time.Time) time.Time {
	if t.IsZero() {
		return s.now().UTC()
	}
	return t
}

// applyDelivery records a delivery report and tells the invoice's workflow about a
// final status (also when the ledger already had it: the earlier attempt may have
// failed before the signal). An unknown notice is ignored: the message was not
// Dunwell's, or its invoice is gone.
func (s *Server) applyDelivery(ctx context.Context, u ledger.DeliveryUpdate) (webhookResult, error) {
	d, outcome, err := s.Ledger.RecordDelivery(ctx, u)
	if errors.Is(err, ledger.ErrNotFound) {
		return webhookResult{Status: "ignored", Reason: "unknown notice"}, nil
	}
	if err != nil {
		return webhookResult{}, err
	}
	switch outcome {
	case ledger.DeliveryIgnored:
		return webhookResult{Status: "ignored", Reason: "the notice already has a final status"}, nil
	case ledger.DeliveryUnchanged:
		if !d.Status.Final() {
			return webhookResult{Status: "unchanged"}, nil
		}
	}
	if d.Status.Final() {
		in := invoiceapi.DeliveryInput{NoticeKey: d.NoticeKey, Status: string(d.Status), Error: d.Error, At: d.At.Format(time.RFC3339)}
		if err := signalled(d.InvoiceID, invoiceapi.SignalDelivery, s.invoices().Delivery(ctx, d.InvoiceID, in)); err != nil {
			return webhookResult{}, err
		}
	}
	if outcome == ledger.DeliveryUnchanged {
		return webhookResult{Status: "unchanged"}, nil
	}
	return webhookResult{Status: "recorded"}, nil
}

// applyMessageDelivery records a delivery report of a customer's message (one message
// about several invoices) on the notice of each invoice step it covered, and tells each
// invoice's workflow as applyDelivery does, so a bounce falls back per invoice. An
// unknown message, or one that covered nothing, is ignored.
func (s *Server) applyMessageDelivery(ctx context.Context, messageKey string, u ledger.DeliveryUpdate) (webhookResult, error) {
	keys, err := s.Ledger.NoticesOfMessage(ctx, messageKey)
	if err != nil {
		return webhookResult{}, fmt.Errorf("finding the notices of message %s: %w", messageKey, err)
	}
	if len(keys) == 0 {
		return webhookResult{Status: "ignored", Reason: "unknown message"}, nil
	}
	// The most telling result wins: recorded on any notice, else unchanged, else ignored.
	rank := map[string]int{"ignored": 0, "unchanged": 1, "recorded": 2}
	res := webhookResult{Status: "ignored", Reason: "every notice of the message already has a final status"}
	for _, key := range keys {
		u.NoticeKey = key
		r, err := s.applyDelivery(ctx, u)
		if err != nil {
			return webhookResult{}, err
		}
		if rank[r.Status] > rank[res.Status] {
			res = r
		}
	}
	return res, nil
}

// applyOptOut records an opt-out (or opt-in) and tells every open invoice of the
// customers known at the address (the opt-out or opt-in signal); SendNotice checks the
// ledger before every send either way.
func (s *Server) applyOptOut(ctx context.Context, c ledger.OptOutChange) error {
	res, err := s.Ledger.RecordOptOut(ctx, c)
	if err != nil {
		return err
	}
	s.Logger.Info("Opt-out recorded", "channel", c.Channel, "source", c.Source, "opted_out", c.OptedOut,
		"customers", len(res.CustomerIDs), "duplicate", res.Duplicate)
	invoices, err := s.Ledger.OpenInvoicesOf(ctx, res.CustomerIDs)
	if err != nil {
		return err
	}
	in := invoiceapi.OptOutInput{Channel: c.Channel, Address: ledger.NormalizeAddress(c.Channel, c.Address), Source: string(c.Source)}
	name, signal := invoiceapi.SignalOptOut, s.invoices().OptOut
	if !c.OptedOut {
		name, signal = invoiceapi.SignalOptIn, s.invoices().OptIn
	}
	for _, id := range invoices {
		if err := signalled(id, name, signal(ctx, id, in)); err != nil {
			return err
		}
	}
	return nil
}

// signalled is the outcome of signalling name to an invoice's workflow: a workflow
// that is gone (closed, or never started) has nothing to be told.
func signalled(invoiceID, name string, err error) error {
	if err == nil || errors.Is(err, invoiceapi.ErrNotFound) || errors.Is(err, invoiceapi.ErrClosed) {
		return nil
	}
	return fmt.Errorf("signalling %s to invoice %s: %w", name, invoiceID, err)
}

// customerOfInvoice returns the customer of the invoice, if it is known.
func (s *Server) customerOfInvoice(ctx context.Context, invoiceID string) []string {
	if invoiceID == "" || len(invoiceID) > 128 {
		return nil
	}
	id, err := s.Ledger.CustomerOf(ctx, invoiceID)
	if err != nil {
		return nil // unknown invoice: the address's known customers still apply
	}
	return []string{id}
}
