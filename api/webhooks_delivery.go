package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"
	twclient "github.com/twilio/twilio-go/client"

	"github.com/dunwell/dunwell/internal/config"
	"github.com/dunwell/dunwell/internal/metrics"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/notify"
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

// Event Webhook timestamps older than this are refused as stale. SendGrid retries a
// failed post for up to 72 hours; a replay within the window is harmless because
// every event is de-duplicated by its sg_event_id and delivery statuses never regress.
const (
	sendGridMaxAge  = 72*time.Hour + time.Hour
	sendGridMaxSkew = 5 * time.Minute
)

// Twilio's opt-out, opt-in and help keywords: a single-word message, any case.
var (
	smsStopWords  = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true, "OPTOUT": true, "REVOKE": true}
	smsStartWords = map[string]bool{"START": true, "YES": true, "UNSTOP": true}
	smsHelpWords  = map[string]bool{"HELP": true, "INFO": true}
)

var (
	twilioSIDRE = regexp.MustCompile(`^[A-Z]{2}[0-9a-fA-F]{32}$`)
	e164RE      = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	// noticeKeyRE is <invoice>/<step>/<channel>.
	noticeKeyRE = regexp.MustCompile(`^([A-Za-z0-9._:-]{1,128})/([^/\s]{1,128})/(email|sms)$`)
)

// Twilio message statuses → the ledger's delivery statuses.
var twilioStatuses = map[string]ledger.DeliveryStatus{
	"accepted": ledger.DeliveryQueued, "scheduled": ledger.DeliveryQueued, "queued": ledger.DeliveryQueued,
	"sending": ledger.DeliverySent, "sent": ledger.DeliverySent,
	"delivered": ledger.DeliveryDelivered, "read": ledger.DeliveryDelivered,
	"undelivered": ledger.DeliveryUndelivered, "failed": ledger.DeliveryFailed, "canceled": ledger.DeliveryFailed,
}

// Twilio error codes in a status callback that say the number can never get SMS:
// the recipient replied STOP (21610), or the number is not a mobile (30006) or does
// not exist (30005). They opt the number out like an email hard bounce.
var twilioOptOutCodes = map[string]ledger.OptOutSource{
	"21610": ledger.SourceStop, "30005": ledger.SourceInvalid, "30006": ledger.SourceInvalid,
}

// webhookResult answers an accepted webhook.
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
// synonyms), signed with X-Twilio-Signature.
func (s *Server) twilioWebhook(w http.ResponseWriter, r *http.Request) {
	d := s.Delivery
	if d == nil || d.PublicURL == "" || d.TwilioAuthToken == "" {
		s.Logger.Error("Twilio webhook is not configured (DUNWELL_PUBLIC_URL, TWILIO_AUTH_TOKEN); refusing")
		writeError(w, http.StatusServiceUnavailable, "the Twilio webhook is not configured", nil)
		return
	}
	body, ok := readWebhookBody(w, r)
	if !ok {
		return
	}
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" {
		metrics.WebhookEvent("twilio", "bad_signature")
		writeError(w, http.StatusUnauthorized, "missing X-Twilio-Signature", nil)
		return
	}
	validator := twclient.NewRequestValidator(d.TwilioAuthToken)
	if !validator.ValidateBody(d.PublicURL+r.URL.RequestURI(), body, sig) {
		s.Logger.Warn("Twilio webhook: invalid signature", "path", r.URL.Path)
		metrics.WebhookEvent("twilio", "bad_signature")
		writeError(w, http.StatusUnauthorized, "invalid X-Twilio-Signature", nil)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeError(w, http.StatusBadRequest, "the body is not form-encoded: "+err.Error(), nil)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	status := form.Get("MessageStatus")
	if status == "" {
		status = form.Get("SmsStatus")
	}
	if status != "" && status != "received" {
		s.twilioStatus(ctx, w, r, form, status)
		return
	}
	s.twilioInbound(ctx, w, r, form)
}

// twilioStatus records a status callback for the notice named by the notice_key query
// parameter (see notify.NoticeKeyParam), else by the message sid, and tells the
// invoice's workflow about a final status.
func (s *Server) twilioStatus(ctx context.Context, w http.ResponseWriter, r *http.Request, form url.Values, status string) {
	sid := form.Get("MessageSid")
	fields := map[string]string{}
	if !twilioSIDRE.MatchString(sid) {
		fields["MessageSid"] = "must be a Twilio message sid (SM followed by 32 hex digits)"
	}
	key := r.URL.Query().Get(notify.NoticeKeyParam)
	if key != "" && (!noticeKeyRE.MatchString(key) || !strings.HasSuffix(key, "/"+ledger.ChannelSMS)) {
		fields[notify.NoticeKeyParam] = "must be <invoice>/<step>/sms"
	}
	if len(fields) > 0 {
		metrics.WebhookEvent("twilio", "invalid")
		writeError(w, http.StatusBadRequest, "invalid status callback", fields)
		return
	}
	ds, known := twilioStatuses[status]
	if !known {
		writeJSON(w, http.StatusOK, webhookResult{Status: "ignored", Reason: "status " + strconv.Quote(status) + " is not tracked"})
		return
	}
	if key == "" {
		n, err := s.Ledger.NoticeByProviderID(ctx, ledger.ChannelSMS, sid)
		if errors.Is(err, ledger.ErrNotFound) {
			writeJSON(w, http.StatusOK, webhookResult{Status: "ignored", Reason: "no notice has this message sid"})
			return
		}
		if err != nil {
			s.fail(w, r, "finding the notice", err)
			return
		}
		key = n.Key
	}
	code := strings.TrimSpace(form.Get("ErrorCode"))
	errText := ""
	if code != "" && code != "0" {
		if _, err := strconv.Atoi(code); err != nil {
			writeError(w, http.StatusBadRequest, "invalid status callback", map[string]string{"ErrorCode": "must be a number"})
			return
		}
		errText = "twilio error " + code
	}
	res, err := s.applyDelivery(ctx, ledger.DeliveryUpdate{
		NoticeKey: key, Status: ds, Error: errText, ProviderID: sid, At: s.now().UTC(),
	})
	if err != nil {
		s.fail(w, r, "recording the delivery status", err)
		return
	}
	if src, ok := twilioOptOutCodes[code]; ok && ds.Failed() {
		to := strings.TrimSpace(form.Get("To"))
		if e164RE.MatchString(to) {
			if err := s.applyOptOut(ctx, ledger.OptOutChange{
				EventID: "twilio:" + sid + ":" + code, Channel: ledger.ChannelSMS, Address: to,
				CustomerIDs: s.customerOfNotice(ctx, key), OptedOut: true, Source: src, At: s.now().UTC(),
			}); err != nil {
				s.fail(w, r, "recording the opt-out", err)
				return
			}
		}
	}
	metrics.WebhookEvent("twilio", deliveryOutcome(res.Status))
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

// twilioInbound handles a text from a customer: STOP and its synonyms opt the number
// out of SMS (and tell the customer's open invoices), START and its synonyms opt it
// back in, HELP and anything else change nothing. Twilio's own opt-out handling
// replies to the customer and blocks later sends too; this keeps Dunwell's ledger in
// step with it, across senders.
func (s *Server) twilioInbound(ctx context.Context, w http.ResponseWriter, r *http.Request, form url.Values) {
	sid, from := form.Get("MessageSid"), strings.TrimSpace(form.Get("From"))
	fields := map[string]string{}
	if !twilioSIDRE.MatchString(sid) {
		fields["MessageSid"] = "must be a Twilio message sid"
	}
	if !e164RE.MatchString(from) {
		fields["From"] = "must be an E.164 phone number"
	}
	if _, ok := form["Body"]; !ok {
		fields["Body"] = "is required"
	}
	if len(fields) > 0 {
		metrics.WebhookEvent("twilio", "invalid")
		writeError(w, http.StatusBadRequest, "invalid inbound message", fields)
		return
	}
	var change *ledger.OptOutChange
	switch smsKeyword(form) {
	case "STOP":
		change = &ledger.OptOutChange{OptedOut: true, Source: ledger.SourceStop}
	case "START":
		change = &ledger.OptOutChange{OptedOut: false, Source: ledger.SourceStart}
	}
	if change != nil {
		change.EventID, change.Channel, change.Address, change.At = "twilio:"+sid, ledger.ChannelSMS, from, s.now().UTC()
		if err := s.applyOptOut(ctx, *change); err != nil {
			s.fail(w, r, "recording the opt-out", err)
			return
		}
		metrics.WebhookEvent("twilio", "applied")
	} else {
		metrics.WebhookEvent("twilio", "ignored")
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, twiml)
}

// smsKeyword classifies an inbound message: "STOP", "START", "HELP" or "". Twilio's
// Advanced Opt-Out names the class in OptOutType; otherwise the body must be one
// keyword (surrounding spaces and a trailing full stop or exclamation mark allowed).
func smsKeyword(form url.Values) string {
	switch t := strings.ToUpper(form.Get("OptOutType")); t {
	case "STOP", "START", "HELP":
		return t
	}
	word := strings.ToUpper(strings.TrimRight(strings.TrimSpace(form.Get("Body")), ".!"))
	switch {
	case smsStopWords[word]:
		return "STOP"
	case smsStartWords[word]:
		return "START"
	case smsHelpWords[word]:
		return "HELP"
	}
	return ""
}

// sgEvent is the part of a SendGrid event Dunwell reads; custom args (notice_key,
// invoice_id) arrive as top-level fields.
type sgEvent struct {
	Event     string `json:"event"`
	Email     string `json:"email"`
	Timestamp int64  `json:"timestamp"`
	EventID   string `json:"sg_event_id"`
	MessageID string `json:"sg_message_id"`
	NoticeKey string `json:"notice_key"`
	InvoiceID string `json:"invoice_id"`
	Type      string `json:"type"`   // bounce: "bounce" (hard) or "blocked"
	Reason    string `json:"reason"` // bounce, dropped
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

// Reasons of a dropped event that mean the address is on SendGrid's suppression list
// (others, like "Invalid SMTPAPI header", are about the request, not the address).
var suppressedReasons = map[string]bool{"bounced address": true, "unsubscribed address": true, "spam reporting address": true, "invalid": true}

// sendGridWebhook serves POST /v1/webhooks/sendgrid: a batch of Event Webhook events
// signed with ECDSA (X-Twilio-Email-Event-Webhook-Signature and -Timestamp).
// delivered, bounce and dropped update the notice's delivery status; a hard bounce,
// a suppression drop, spamreport and unsubscribe opt the address out; a group
// resubscribe opts it back in.
func (s *Server) sendGridWebhook(w http.ResponseWriter, r *http.Request) {
	if s.Delivery == nil || s.Delivery.SendGridPublicKey == nil {
		s.Logger.Error("SendGrid webhook is not configured (SENDGRID_WEBHOOK_PUBLIC_KEY); refusing")
		writeError(w, http.StatusServiceUnavailable, "the SendGrid webhook is not configured", nil)
		return
	}
	body, ok := readWebhookBody(w, r)
	if !ok {
		return
	}
	sig, ts := r.Header.Get(eventwebhook.VerificationHTTPHeader), r.Header.Get(eventwebhook.TimestampHTTPHeader)
	if sig == "" || ts == "" {
		metrics.WebhookEvent("sendgrid", "bad_signature")
		writeError(w, http.StatusUnauthorized, "missing "+eventwebhook.VerificationHTTPHeader+" or "+eventwebhook.TimestampHTTPHeader, nil)
		return
	}
	valid, err := eventwebhook.VerifySignature(s.Delivery.SendGridPublicKey, body, sig, ts)
	if err != nil || !valid {
		s.Logger.Warn("SendGrid webhook: invalid signature")
		metrics.WebhookEvent("sendgrid", "bad_signature")
		writeError(w, http.StatusUnauthorized, "invalid "+eventwebhook.VerificationHTTPHeader, nil)
		return
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if age := s.now().Sub(time.Unix(unix, 0)); err != nil || age > sendGridMaxAge || age < -sendGridMaxSkew {
		metrics.WebhookEvent("sendgrid", "bad_signature")
		writeError(w, http.StatusUnauthorized, "stale or malformed "+eventwebhook.TimestampHTTPHeader, nil)
		return
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		writeError(w, http.StatusBadRequest, "the body must be a JSON array of events", nil)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	res := sendGridResult{Events: len(raw)}
	for _, item := range raw {
		var e sgEvent
		if err := json.Unmarshal(item, &e); err != nil || e.Event == "" {
			res.Skipped++
			metrics.WebhookEvent("sendgrid", "invalid")
			continue
		}
		if e.EventID == "" {
			sum := sha256.Sum256(item)
			e.EventID = "h" + hex.EncodeToString(sum[:16])
		}
		applied, err := s.sendGridEvent(ctx, e)
		if err != nil {
			s.fail(w, r, "applying event "+e.Event, err)
			return
		}
		if applied {
			res.Applied++
			metrics.WebhookEvent("sendgrid", "applied")
		} else {
			res.Ignored++
			metrics.WebhookEvent("sendgrid", "ignored")
		}
	}
	if res.Skipped > 0 {
		s.Logger.Warn("SendGrid webhook: skipped unreadable events", "skipped", res.Skipped, "events", res.Events)
	}
	writeJSON(w, http.StatusOK, res)
}

// sendGridEvent applies one event and reports whether it mattered.
func (s *Server) sendGridEvent(ctx context.Context, e sgEvent) (bool, error) {
	at := s.now().UTC()
	if e.Timestamp > 0 && e.Timestamp < 1<<40 {
		at = time.Unix(e.Timestamp, 0).UTC()
	}
	key := e.NoticeKey
	if !noticeKeyRE.MatchString(key) || !strings.HasSuffix(key, "/"+ledger.ChannelEmail) {
		key = ""
	}
	var (
		delivery ledger.DeliveryStatus
		optOut   ledger.OptOutSource
		optIn    bool
	)
	reason := strings.ToLower(strings.TrimSpace(e.Reason))
	switch e.Event {
	case "delivered":
		delivery = ledger.DeliveryDelivered
	case "bounce":
		delivery = ledger.DeliveryBounced
		if e.Type != "blocked" { // "blocked" is a soft bounce: the address exists
			optOut = ledger.SourceBounce
		}
	case "dropped":
		delivery = ledger.DeliveryDropped
		if suppressedReasons[reason] {
			optOut = ledger.SourceDropped
		}
	case "spamreport":
		optOut = ledger.SourceSpamReport
	case "unsubscribe", "group_unsubscribe":
		optOut = ledger.SourceUnsubscribe
	case "group_resubscribe":
		optIn = true
	default: // processed, deferred, open, click: nothing to do
		return false, nil
	}
	applied := false
	if delivery != "" && key != "" {
		errText := ""
		if delivery.Failed() {
			errText = "sendgrid " + e.Event
			if e.Type != "" {
				errText += " (" + truncate(e.Type, 32) + ")"
			}
		}
		res, err := s.applyDelivery(ctx, ledger.DeliveryUpdate{NoticeKey: key, Status: delivery, Error: errText, At: at})
		if err != nil {
			return false, err
		}
		applied = res.Status != "ignored"
	}
	email := strings.TrimSpace(e.Email)
	if (optOut != "" || optIn) && email != "" && len(email) <= 320 && strings.Contains(email, "@") {
		change := ledger.OptOutChange{
			EventID: "sendgrid:" + truncate(e.EventID, 200), Channel: ledger.ChannelEmail, Address: email,
			OptedOut: !optIn, Source: optOut, At: at,
		}
		if optIn {
			change.Source = ledger.SourceResubscribe
		}
		if key != "" {
			change.CustomerIDs = s.customerOfNotice(ctx, key)
		} else if e.InvoiceID != "" {
			change.CustomerIDs = s.customerOfInvoice(ctx, e.InvoiceID)
		}
		if err := s.applyOptOut(ctx, change); err != nil {
			return false, err
		}
		applied = true
	}
	return applied, nil
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

// customerOfNotice returns the customer of the notice's invoice, if it is known.
func (s *Server) customerOfNotice(ctx context.Context, key string) []string {
	m := noticeKeyRE.FindStringSubmatch(key)
	if m == nil {
		return nil
	}
	return s.customerOfInvoice(ctx, m[1])
}

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

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
