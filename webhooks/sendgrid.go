package webhooks

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"
)

// SendGrid's Event Webhook signature headers.
const (
	HeaderSendGridSignature = eventwebhook.VerificationHTTPHeader
	HeaderSendGridTimestamp = eventwebhook.TimestampHTTPHeader
)

// Event Webhook timestamps older than SendGridMaxAge are refused as stale. SendGrid
// retries a failed post for up to 72 hours; a replay within the window is harmless
// because every event is de-duplicated by its sg_event_id and delivery statuses never
// regress.
const (
	SendGridMaxAge  = 72*time.Hour + time.Hour
	SendGridMaxSkew = 5 * time.Minute
)

// VerifySendGrid checks the Event Webhook's ECDSA signature with sendgrid-go's
// eventwebhook helper, and that its timestamp is neither stale nor in the future as
// of now.
func VerifySendGrid(key *ecdsa.PublicKey, body []byte, signature, timestamp string, now time.Time) error {
	switch {
	case signature == "":
		return &SignatureError{Header: HeaderSendGridSignature, Reason: "header is missing"}
	case timestamp == "":
		return &SignatureError{Header: HeaderSendGridTimestamp, Reason: "header is missing"}
	}
	if valid, err := eventwebhook.VerifySignature(key, body, signature, timestamp); err != nil || !valid {
		return &SignatureError{Header: HeaderSendGridSignature, Reason: "does not verify with the configured public key"}
	}
	unix, err := strconv.ParseInt(timestamp, 10, 64)
	if age := now.Sub(time.Unix(unix, 0)); err != nil || age > SendGridMaxAge || age < -SendGridMaxSkew {
		return &SignatureError{Header: HeaderSendGridTimestamp, Reason: "is stale or malformed"}
	}
	return nil
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

// SendGridBatch is a verified Event Webhook post parsed.
type SendGridBatch struct {
	// Events counts the array's items; Skipped those that are not events Dunwell can
	// read (the rest of the batch stands: a 4xx would make SendGrid retry the whole
	// batch for days); Unused those with nothing to do (processed, open, ...).
	Events, Skipped, Unused int
	// Reports are the events to apply, in order.
	Reports []Report
}

// Reasons of a dropped event that mean the address is on SendGrid's suppression list
// (others, like "Invalid SMTPAPI header", are about the request, not the address).
var suppressedReasons = map[string]bool{"bounced address": true, "unsubscribed address": true, "spam reporting address": true, "invalid": true}

// ParseSendGrid reads a verified batch of Event Webhook events. delivered, bounce and
// dropped report the notice's delivery status (named by the notice_key custom
// argument); a hard bounce, a suppression drop, spamreport and unsubscribe opt the
// address out; a group resubscribe opts it back in. A body that is not a JSON array
// is a FieldError.
func ParseSendGrid(body []byte) (SendGridBatch, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return SendGridBatch{}, FieldError{"body": "must be a JSON array of events"}
	}
	b := SendGridBatch{Events: len(raw)}
	for _, item := range raw {
		var e sgEvent
		if err := json.Unmarshal(item, &e); err != nil || e.Event == "" {
			b.Skipped++
			continue
		}
		if e.EventID == "" {
			sum := sha256.Sum256(item)
			e.EventID = "h" + hex.EncodeToString(sum[:16])
		}
		if r, ok := sendGridReport(e); ok {
			b.Reports = append(b.Reports, r)
		} else {
			b.Unused++
		}
	}
	return b, nil
}

// sendGridReport maps one event; false when it has nothing to apply.
func sendGridReport(e sgEvent) (Report, bool) {
	var at time.Time
	if e.Timestamp > 0 && e.Timestamp < 1<<40 {
		at = time.Unix(e.Timestamp, 0).UTC()
	}
	key := e.NoticeKey
	if !validNoticeKey(key, ChannelEmail) {
		key = ""
	}
	var (
		delivery DeliveryStatus
		optOut   OptOutSource
		optIn    bool
	)
	reason := strings.ToLower(strings.TrimSpace(e.Reason))
	switch e.Event {
	case "delivered":
		delivery = DeliveryDelivered
	case "bounce":
		delivery = DeliveryBounced
		if e.Type != "blocked" { // "blocked" is a soft bounce: the address exists
			optOut = OptOutBounce
		}
	case "dropped":
		delivery = DeliveryDropped
		if suppressedReasons[reason] {
			optOut = OptOutDropped
		}
	case "spamreport":
		optOut = OptOutSpamReport
	case "unsubscribe", "group_unsubscribe":
		optOut = OptOutUnsubscribe
	case "group_resubscribe":
		optIn = true
	default: // processed, deferred, open, click: nothing to do
		return Report{}, false
	}
	r := Report{Source: SourceSendGrid, Channel: ChannelEmail}
	if delivery != "" && key != "" {
		d := &DeliveryReport{NoticeKey: key, Status: delivery, At: at}
		if delivery.failed() {
			d.Error = "sendgrid " + e.Event
			if e.Type != "" {
				d.Error += " (" + truncate(e.Type, 32) + ")"
			}
		}
		r.Delivery = d
	}
	email := strings.TrimSpace(e.Email)
	if (optOut != "" || optIn) && email != "" && len(email) <= 320 && strings.Contains(email, "@") {
		o := &OptOutReport{EventID: "sendgrid:" + truncate(e.EventID, 200), Address: email, OptedOut: !optIn, Source: optOut, At: at}
		if optIn {
			o.Source = OptOutResubscribe
		}
		if key != "" {
			o.InvoiceID = NoticeInvoice(key)
		} else if e.InvoiceID != "" && len(e.InvoiceID) <= 128 {
			o.InvoiceID = e.InvoiceID
		}
		r.OptOut = o
	}
	return r, r.Delivery != nil || r.OptOut != nil
}
