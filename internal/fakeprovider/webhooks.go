package fakeprovider

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The fake posts what the real providers post back, signed the way they sign it:
//
//   - Twilio status callbacks: for every SMS created with a StatusCallback, "sent"
//     and then "delivered" (or "undelivered", error 30003, for a bouncing number) as
//     a form POST signed with X-Twilio-Signature (HMAC-SHA1 of the URL and the sorted
//     parameters, keyed with the account's auth token).
//   - Twilio inbound messages: Server.InboundSMS (or POST /_fake/twilio/inbound)
//     posts an SMS from a customer to Options.TwilioInboundURL, signed the same way.
//     Like Twilio, a STOP keyword blocks later sends to that number (error 21610)
//     and START, YES or UNSTOP lifts the block.
//   - SendGrid Event Webhook: for every accepted mail, "processed" and then
//     "delivered" (or "bounce" for a bouncing address) to Options.SendGridEventURL,
//     a JSON array with the custom args as top-level fields, signed with ECDSA P-256
//     (X-Twilio-Email-Event-Webhook-Signature over the timestamp and the body).
//     Server.SendGridEvent (or POST /_fake/sendgrid/events) posts any other event
//     (unsubscribe, spamreport, dropped, ...) for the last mail to an address.

// callbackTimeout bounds one post to a webhook.
const callbackTimeout = 5 * time.Second

// Twilio's opt-out and opt-in keywords (single-word messages, any case).
var (
	twilioStopWords  = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
	twilioStartWords = []string{"START", "YES", "UNSTOP"}
)

// NewEventKey returns a new ECDSA P-256 key for signing SendGrid events, and its
// public half as SendGrid shows it (base64 of the DER PKIX encoding).
func NewEventKey() (*ecdsa.PrivateKey, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("fakeprovider: generating an event key: %w", err)
	}
	pub, err := PublicKeyBase64(key)
	return key, pub, err
}

// PublicKeyBase64 returns key's public half as SendGrid shows it.
func PublicKeyBase64(key *ecdsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", fmt.Errorf("fakeprovider: encoding the event public key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// ParseEventKey reads a private key written by MarshalEventKey.
func ParseEventKey(b64 string) (*ecdsa.PrivateKey, error) {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("fakeprovider: event key is not base64: %w", err)
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("fakeprovider: event key is not a PKCS #8 key: %w", err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("fakeprovider: event key is a %T, want ECDSA", key)
	}
	return ec, nil
}

// MarshalEventKey encodes a private key for ParseEventKey (base64 PKCS #8).
func MarshalEventKey(key *ecdsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("fakeprovider: encoding the event key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// TwilioSignature computes X-Twilio-Signature for a form POST to fullURL: HMAC-SHA1
// keyed with the auth token over the URL followed by each parameter name and value,
// sorted by name (a repeated name contributes each of its values, in order).
func TwilioSignature(authToken, fullURL string, form url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range form {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, v := range form[k] {
			b.WriteString(k + v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SendGridSignature signs an Event Webhook body as SendGrid does: ECDSA over
// SHA-256(timestamp || body), ASN.1 DER, base64.
func SendGridSignature(key *ecdsa.PrivateKey, timestamp string, body []byte) (string, error) {
	h := sha256.New()
	h.Write([]byte(timestamp))
	h.Write(body)
	sig, err := ecdsa.SignASN1(rand.Reader, key, h.Sum(nil))
	if err != nil {
		return "", fmt.Errorf("fakeprovider: signing events: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// postTwilio posts a signed form to a Twilio webhook URL and returns the status.
func (s *Server) postTwilio(target, authToken string, form url.Values) (int, error) {
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, fmt.Errorf("fakeprovider: twilio webhook %s: %w", target, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", TwilioSignature(authToken, target, form))
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	return s.post(req)
}

func (s *Server) post(req *http.Request) (int, error) {
	client := &http.Client{Timeout: callbackTimeout}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("fakeprovider: posting to %s: %w", req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("fakeprovider: %s answered %s", req.URL.Redacted(), resp.Status)
	}
	return resp.StatusCode, nil
}

// reportSMS posts the status callbacks of a created SMS in the background.
func (s *Server) reportSMS(m Message, authToken string) {
	if m.StatusCallback == "" || authToken == "" {
		return
	}
	s.background(func() {
		statuses := []string{"sent", m.Status}
		for _, st := range statuses {
			form := url.Values{
				"AccountSid": {m.AccountSID}, "ApiVersion": {"2010-04-01"}, "MessageSid": {m.ID}, "SmsSid": {m.ID},
				"MessageStatus": {st}, "SmsStatus": {st}, "To": {m.To}, "From": {m.From},
			}
			if m.MessagingServiceSID != "" {
				form.Set("MessagingServiceSid", m.MessagingServiceSID)
			}
			if st == StatusUndelivered {
				form.Set("ErrorCode", "30003")
			}
			if _, err := s.postTwilio(m.StatusCallback, authToken, form); err != nil {
				s.log.Warn("Fake Twilio status callback failed", "sid", m.ID, "status", st, "err", err)
				return
			}
		}
	})
}

// InboundSMS posts a text from a customer's number (from) to the configured
// sender number (to; empty: the last number the fake sent from to that customer)
// at Options.TwilioInboundURL, signed with Options.TwilioAuthToken, and waits for the
// answer. A STOP keyword blocks later sends to from, START lifts the block.
func (s *Server) InboundSMS(from, to, body string) (int, error) {
	if s.inboundURL == "" || s.twToken == "" {
		return 0, errors.New("fakeprovider: inbound SMS needs Options.TwilioInboundURL and Options.TwilioAuthToken")
	}
	if !e164RE.MatchString(from) {
		return 0, fmt.Errorf("fakeprovider: inbound SMS: from %q is not an E.164 number", from)
	}
	account := ""
	s.mu.Lock()
	for i := len(s.outbox) - 1; i >= 0; i-- {
		if m := s.outbox[i]; m.Provider == Twilio && m.To == from {
			account = m.AccountSID
			if to == "" {
				to = m.From
			}
			break
		}
	}
	word := strings.ToUpper(strings.Trim(strings.TrimSpace(body), ".!"))
	switch {
	case slices.Contains(twilioStopWords, word):
		s.optedOut[from] = true
	case slices.Contains(twilioStartWords, word):
		delete(s.optedOut, from)
	}
	s.mu.Unlock()
	if to == "" {
		to = "+15005550006"
	}
	sid := "SM" + randomHex(16)
	form := url.Values{
		"AccountSid": {account}, "ApiVersion": {"2010-04-01"}, "MessageSid": {sid}, "SmsSid": {sid},
		"SmsMessageSid": {sid}, "SmsStatus": {"received"}, "From": {from}, "To": {to}, "Body": {body},
		"NumMedia": {"0"}, "NumSegments": {"1"},
	}
	s.log.Info("Fake Twilio posting an inbound SMS", "sid", sid)
	return s.postTwilio(s.inboundURL, s.twToken, form)
}

// sgEvent is one SendGrid Event Webhook event; custom args are added as top-level
// fields when it is encoded.
type sgEvent map[string]any

// reportMail posts processed and delivered (or bounce) events of accepted mail.
func (s *Server) reportMail(msgs []Message) {
	if s.eventURL == "" || len(msgs) == 0 {
		return
	}
	var events []sgEvent
	for _, m := range msgs {
		events = append(events, mailEvent(m, "processed", nil))
		if m.Status == StatusNotDelivered {
			events = append(events, mailEvent(m, "bounce", map[string]any{
				"type": "bounce", "status": "5.1.1", "bounce_classification": "Invalid Address",
				"reason": "550 5.1.1 The email account that you tried to reach does not exist."}))
		} else {
			events = append(events, mailEvent(m, "delivered", map[string]any{"response": "250 OK"}))
		}
	}
	s.background(func() {
		if _, err := s.postEvents(events); err != nil {
			s.log.Warn("Fake SendGrid event post failed", "err", err)
		}
	})
}

func mailEvent(m Message, event string, extra map[string]any) sgEvent {
	e := sgEvent{}
	for k, v := range m.CustomArgs {
		e[k] = v
	}
	e["email"] = m.To
	e["event"] = event
	e["timestamp"] = time.Now().Unix()
	e["sg_event_id"] = base64.RawURLEncoding.EncodeToString([]byte(randomHex(12)))
	e["sg_message_id"] = m.ActivityID
	e["smtp-id"] = "<" + m.ID + "@fake.sendgrid>"
	for k, v := range extra {
		e[k] = v
	}
	return e
}

// postEvents signs and posts a batch of events to Options.SendGridEventURL.
func (s *Server) postEvents(events []sgEvent) (int, error) {
	body, err := json.Marshal(events)
	if err != nil {
		return 0, fmt.Errorf("fakeprovider: encoding events: %w", err)
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig, err := SendGridSignature(s.eventKey, ts, body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(http.MethodPost, s.eventURL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("fakeprovider: sendgrid events %s: %w", s.eventURL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Twilio-Email-Event-Webhook-Signature", sig)
	req.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", ts)
	return s.post(req)
}

// SendGridEvent posts one event of the given type (unsubscribe, group_unsubscribe,
// spamreport, bounce, dropped, delivered, ...) about the last mail to address, with
// its custom args, to Options.SendGridEventURL, and waits for the answer.
func (s *Server) SendGridEvent(address, event string) (int, error) {
	if s.eventURL == "" {
		return 0, errors.New("fakeprovider: SendGrid events need Options.SendGridEventURL")
	}
	if event == "" || len(event) > 64 {
		return 0, errors.New("fakeprovider: event type must be 1-64 characters")
	}
	var last *Message
	s.mu.Lock()
	for i := len(s.outbox) - 1; i >= 0; i-- {
		if m := s.outbox[i]; m.Provider == SendGrid && normRecipient(m.To) == normRecipient(address) {
			c := m.clone()
			last = &c
			break
		}
	}
	s.mu.Unlock()
	if last == nil {
		return 0, fmt.Errorf("fakeprovider: no mail was sent to that address")
	}
	extra := map[string]any{}
	switch event {
	case "bounce":
		extra = map[string]any{"type": "bounce", "status": "5.1.1", "reason": "550 5.1.1 user unknown"}
	case "dropped":
		extra = map[string]any{"reason": "Bounced Address"}
	}
	return s.postEvents([]sgEvent{mailEvent(*last, event, extra)})
}

// background runs fn after the configured callback delay, unless the server closes.
func (s *Server) background(fn func()) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.pending.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.pending.Done()
		time.Sleep(s.callbackDelay)
		fn()
	}()
}

// SendGridEventPublicKey returns the public key that verifies the fake's SendGrid
// events, as SendGrid shows it (base64 DER).
func (s *Server) SendGridEventPublicKey() string {
	pub, _ := PublicKeyBase64(s.eventKey) // cannot fail for a P-256 key
	return pub
}

func (s *Server) twilioOptedOut(to string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.optedOut[to]
}
