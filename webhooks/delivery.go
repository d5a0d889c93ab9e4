package webhooks

import (
	"regexp"
	"time"
)

// The delivery providers' callbacks: Twilio's SMS status callbacks and inbound
// messages, SendGrid's Event Webhook. Like the payment webhooks they are verified and
// parsed here, purely; the API applies the Reports they come to.

// Delivery sources.
const (
	SourceTwilio   Source = "twilio"
	SourceSendGrid Source = "sendgrid"
)

// Channels a delivery report is about, named as the ledger names them.
const (
	ChannelSMS   = "sms"
	ChannelEmail = "email"
)

// DeliveryStatus is a notice's delivery status as the ledger names it.
type DeliveryStatus string

// Delivery statuses the providers report.
const (
	DeliveryQueued      DeliveryStatus = "queued"
	DeliverySent        DeliveryStatus = "sent"
	DeliveryDelivered   DeliveryStatus = "delivered"
	DeliveryBounced     DeliveryStatus = "bounced"
	DeliveryDropped     DeliveryStatus = "dropped"
	DeliveryUndelivered DeliveryStatus = "undelivered"
	DeliveryFailed      DeliveryStatus = "failed"
)

// failed reports whether the status is a final failure: the notice did not reach
// the customer and never will.
func (s DeliveryStatus) failed() bool {
	switch s {
	case DeliveryBounced, DeliveryDropped, DeliveryUndelivered, DeliveryFailed:
		return true
	}
	return false
}

// OptOutSource is why an address was opted out (or back in), as the ledger names it.
type OptOutSource string

// Opt-out sources the providers report.
const (
	OptOutStop        OptOutSource = "stop"
	OptOutStart       OptOutSource = "start"
	OptOutInvalid     OptOutSource = "invalid"
	OptOutBounce      OptOutSource = "bounce"
	OptOutDropped     OptOutSource = "dropped"
	OptOutSpamReport  OptOutSource = "spamreport"
	OptOutUnsubscribe OptOutSource = "unsubscribe"
	OptOutResubscribe OptOutSource = "resubscribe"
)

// Report is one provider callback normalized: a notice's delivery status, a change
// of an address's opt-out, or both (a hard bounce is both). At least one is set.
type Report struct {
	Source   Source
	Channel  string // ChannelSMS or ChannelEmail
	Delivery *DeliveryReport
	OptOut   *OptOutReport
}

// DeliveryReport is what the provider says became of one notice.
type DeliveryReport struct {
	// NoticeKey is <invoice>/<step>/<channel>; empty when the callback did not carry
	// it, then the notice is found by MessageID.
	NoticeKey string
	// MessageID is the provider's message id (Twilio's MessageSid), when it has one.
	MessageID string
	Status    DeliveryStatus
	// Error is the provider's reason for a failure, without personal data.
	Error string
	// At is when it happened at the provider; zero when the callback does not say.
	At time.Time
}

// OptOutReport opts an address out of a channel, or back in.
type OptOutReport struct {
	// EventID de-duplicates: "<provider>:<provider event id>".
	EventID  string
	Address  string
	OptedOut bool
	Source   OptOutSource
	// InvoiceID is the invoice the callback names (through its notice key or its
	// custom arguments), whose customer the change concerns; may be empty.
	InvoiceID string
	// At is when it happened at the provider; zero when the callback does not say.
	At time.Time
}

// noticeKeyRE is <invoice>/<step>/<channel>.
var noticeKeyRE = regexp.MustCompile(`^([A-Za-z0-9._:-]{1,128})/([^/\s]{1,128})/(email|sms)$`)

// NoticeInvoice returns the invoice of a notice key, or "" if key is not one.
func NoticeInvoice(key string) string {
	m := noticeKeyRE.FindStringSubmatch(key)
	if m == nil {
		return ""
	}
	return m[1]
}

// messageKeyRE is <customer>/<channel>/<customer-local day>/<batch digest>: one
// message about several invoices of a customer (see accountapi.MessageKey).
var messageKeyRE = regexp.MustCompile(`^([A-Za-z0-9._:-]{1,128})/(email|sms)/(\d{4}-\d{2}-\d{2})/([0-9a-f]{1,64})$`)

// MessageCustomer returns the customer of a message key, or "" if key is not one.
func MessageCustomer(key string) string {
	m := messageKeyRE.FindStringSubmatch(key)
	if m == nil {
		return ""
	}
	return m[1]
}

// validNoticeKey reports whether key names a notice or a customer's message of channel.
func validNoticeKey(key, channel string) bool {
	if m := noticeKeyRE.FindStringSubmatch(key); m != nil {
		return m[3] == channel
	}
	m := messageKeyRE.FindStringSubmatch(key)
	return m != nil && m[2] == channel
}
