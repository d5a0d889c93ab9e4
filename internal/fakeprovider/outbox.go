package fakeprovider

import (
	"encoding/base64"
	"maps"
	"slices"
	"time"
)

// Delivery statuses the lookup APIs report for an outbox message.
const (
	StatusDelivered    = "delivered"
	StatusNotDelivered = "not_delivered" // SendGrid's word for a bounce
	StatusUndelivered  = "undelivered"   // Twilio's
)

// Message is one accepted message: one recipient of a SendGrid mail, or one Twilio
// SMS.
type Message struct {
	// Seq orders the outbox; it starts at 1.
	Seq      int64    `json:"seq"`
	Provider Provider `json:"provider"`
	// ID is what the client got back: SendGrid's X-Message-Id, or Twilio's SM sid.
	ID string `json:"id"`
	// ActivityID is SendGrid's msg_id in the Email Activity API: ID plus a suffix.
	ActivityID string `json:"activity_id,omitempty"`
	AccountSID string `json:"account_sid,omitempty"`
	To         string `json:"to"`
	ToName     string `json:"to_name,omitempty"`
	From       string `json:"from,omitempty"`
	FromName   string `json:"from_name,omitempty"`
	// ReplyTo is an email's reply_to address.
	ReplyTo string `json:"reply_to,omitempty"`
	Subject string `json:"subject,omitempty"`
	// Text is the text/plain part of an email, or an SMS body.
	Text string `json:"text,omitempty"`
	HTML string `json:"html,omitempty"`
	// CustomArgs are SendGrid custom_args (top level merged with the personalization).
	CustomArgs map[string]string `json:"custom_args,omitempty"`
	// TemplateID and TemplateData are a SendGrid dynamic template and its data.
	TemplateID   string         `json:"template_id,omitempty"`
	TemplateData map[string]any `json:"template_data,omitempty"`
	// Attachments are a SendGrid mail's files.
	Attachments         []Attachment `json:"attachments,omitempty"`
	StatusCallback      string       `json:"status_callback,omitempty"`
	MessagingServiceSID string       `json:"messaging_service_sid,omitempty"`
	// IdempotencyKey is a letter's Idempotency-Key header: a second create with it
	// answers the first letter.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// Letter is set for a letter (Provider Print); its PDF is Attachments[0].
	Letter *LetterDetails `json:"letter,omitempty"`
	// Status is the delivery status the lookup APIs report.
	Status   string    `json:"status"`
	Received time.Time `json:"received"`
}

// Attachment is one file of a SendGrid mail, as sent: Content is its base64.
type Attachment struct {
	Filename string `json:"filename"`
	Type     string `json:"type"`
	Size     int    `json:"size"` // decoded bytes
	Content  string `json:"content"`
}

// Bytes returns the attachment's decoded content.
func (a Attachment) Bytes() ([]byte, error) { return base64.StdEncoding.DecodeString(a.Content) }

// clone returns a copy that shares no maps with m.
func (m Message) clone() Message {
	m.CustomArgs = maps.Clone(m.CustomArgs)
	m.TemplateData = maps.Clone(m.TemplateData)
	m.Attachments = slices.Clone(m.Attachments)
	if m.Letter != nil {
		d := *m.Letter
		m.Letter = &d
	}
	return m
}

// record appends m to the outbox, assigning its sequence number and status; the
// caller holds s.mu.
func (s *Server) recordLocked(m Message) Message {
	s.seq++
	m.Seq = s.seq
	m.Status = StatusDelivered
	if s.bounce[normRecipient(m.To)] {
		m.Status = StatusNotDelivered
		if m.Provider == Twilio {
			m.Status = StatusUndelivered
		}
	}
	s.outbox = append(s.outbox, m)
	s.log.Info("Fake provider accepted a message", "provider", m.Provider, "id", m.ID, "to", m.To, "subject", m.Subject)
	return m.clone()
}

// Outbox returns every accepted message, oldest first.
func (s *Server) Outbox() []Message {
	return s.OutboxFor("")
}

// OutboxFor returns the accepted messages to one recipient (all of them when to is
// empty), oldest first.
func (s *Server) OutboxFor(to string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.selectLocked(func(m Message) bool { return to == "" || normRecipient(m.To) == normRecipient(to) })
}

// ClearOutbox forgets every accepted message.
func (s *Server) ClearOutbox() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outbox = nil
}

// selectLocked returns copies of the outbox messages keep accepts, oldest first; the
// caller holds s.mu.
func (s *Server) selectLocked(keep func(Message) bool) []Message {
	out := []Message{}
	for _, m := range s.outbox {
		if keep(m) {
			out = append(out, m.clone())
		}
	}
	return out
}

// SetInvalid replaces the recipients rejected at send time as invalid.
func (s *Server) SetInvalid(recipients ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invalid = recipientSet(recipients)
}

// SetBounce replaces the recipients that are accepted but reported undelivered.
func (s *Server) SetBounce(recipients ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bounce = recipientSet(recipients)
}

// Recipients returns the configured invalid and bouncing recipients, sorted.
func (s *Server) Recipients() (invalid, bounce []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.invalid)), slices.Sorted(maps.Keys(s.bounce))
}

func (s *Server) isInvalid(recipient string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.invalid[normRecipient(recipient)]
}
