// Package notify sends Dunwell's reminders: email through SendGrid and SMS through
// Twilio, with the official Go SDKs. Every failure is returned as an *Error that
// says whether retrying can help (see Kind), and both senders can ask the provider
// whether a message was already accepted, so a retry after a crash or a timeout
// does not send the same reminder twice.
package notify

import (
	"context"
	"time"
)

// Email is one reminder email.
type Email struct {
	// Key is the notice's business key; it travels as the custom arg notice_key and
	// is what FindEmail looks up. Required; it must not contain quotes, backslashes
	// or control characters.
	Key string
	// InvoiceID, if set, travels as the custom arg invoice_id.
	InvoiceID string
	// To is the recipient address, ToName its display name (optional).
	To, ToName string
	Subject    string
	// Text and HTML are the bodies; at least one is required unless TemplateID is set.
	Text, HTML string
	// TemplateID, if set, is a SendGrid dynamic template (d-...) that renders the
	// message from TemplateData instead of Subject, Text and HTML.
	TemplateID   string
	TemplateData map[string]any
	// Attachments are files sent with the message (a statement's PDF).
	Attachments []Attachment
}

// Attachment is one file attached to an email.
type Attachment struct {
	// Filename is the name the recipient sees ("statement-C-42.pdf"); Type its media
	// type ("application/pdf").
	Filename, Type string
	Content        []byte
}

// MaxAttachmentBytes bounds the attachments of one email together (SendGrid takes
// up to 30 MB per message, base64 included).
const MaxAttachmentBytes = 10 << 20

// SMS is one reminder text message.
type SMS struct {
	// Key is the notice's business key. Twilio has no field to carry it, so it is
	// not sent; FindSMS matches on To, sender and Body instead.
	Key string
	// To is the recipient in E.164 (+15551234567).
	To   string
	Body string
}

// Receipt is the provider's acknowledgement of an accepted message.
type Receipt struct {
	// ProviderID is SendGrid's X-Message-Id or Twilio's message SID.
	ProviderID string
	// Status is the provider's status for the message when known ("queued",
	// "delivered", ...).
	Status string
}

// EmailSender sends email.
type EmailSender interface {
	// SendEmail hands m to the provider. Errors are *Error (or ctx's error).
	SendEmail(ctx context.Context, m Email) (Receipt, error)
	// FindEmail asks the provider whether a message with this notice key was
	// accepted at or after since (reconciliation after a crash or a timeout).
	FindEmail(ctx context.Context, key string, since time.Time) (Receipt, bool, error)
}

// SMSSender sends text messages.
type SMSSender interface {
	// SendSMS hands m to the provider. Errors are *Error (or ctx's error).
	SendSMS(ctx context.Context, m SMS) (Receipt, error)
	// FindSMS asks the provider whether a message with exactly m's To and Body was
	// sent from the configured sender at or after since.
	FindSMS(ctx context.Context, m SMS, since time.Time) (Receipt, bool, error)
}

// DefaultTimeout bounds one provider call when the config sets no Timeout.
const DefaultTimeout = 10 * time.Second
