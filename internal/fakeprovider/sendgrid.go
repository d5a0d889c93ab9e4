package fakeprovider

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sgMail is the subset of the Mail Send v3 body the fake reads; unknown fields are
// accepted and ignored, as SendGrid does for most of them.
type sgMail struct {
	From             *sgAddress          `json:"from"`
	ReplyTo          *sgAddress          `json:"reply_to"`
	Subject          string              `json:"subject"`
	Personalizations []sgPersonalization `json:"personalizations"`
	Content          []sgContent         `json:"content"`
	TemplateID       string              `json:"template_id"`
	CustomArgs       map[string]string   `json:"custom_args"`
	Attachments      []sgAttachment      `json:"attachments"`
}

// sgAttachment is one attachment of a mail: base64 content, its type and filename.
type sgAttachment struct {
	Content     string `json:"content"`
	Type        string `json:"type"`
	Filename    string `json:"filename"`
	Disposition string `json:"disposition"`
}

type sgPersonalization struct {
	To         []sgAddress       `json:"to"`
	CC         []sgAddress       `json:"cc"`
	BCC        []sgAddress       `json:"bcc"`
	Subject    string            `json:"subject"`
	CustomArgs map[string]string `json:"custom_args"`
	// DynamicTemplateData fills a dynamic template (template_id d-...).
	DynamicTemplateData map[string]any `json:"dynamic_template_data"`
}

type sgAddress struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

type sgContent struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// sgError is one entry of SendGrid's {"errors":[...]} body.
type sgError struct {
	Message string  `json:"message"`
	Field   *string `json:"field"`
	Help    *string `json:"help"`
}

// emailRE is a pragmatic address check: something@domain.tld, no spaces or brackets.
var emailRE = regexp.MustCompile(`^[^\s@<>()\[\],;:"\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$`)

func validEmail(a string) bool {
	at := strings.LastIndexByte(a, '@')
	return len(a) <= 320 && at > 0 && at <= 64 && emailRE.MatchString(a)
}

func sgField(s string) *string { return &s }

func writeSendGridErrors(w http.ResponseWriter, status int, errs ...sgError) {
	writeJSON(w, status, map[string]any{"errors": errs})
}

// sendGridAuth checks the bearer token and answers 401 like SendGrid when it is
// missing or wrong.
func (s *Server) sendGridAuth(w http.ResponseWriter, r *http.Request) bool {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		writeSendGridErrors(w, http.StatusUnauthorized, sgError{Message: "authorization required"})
		return false
	}
	if s.sgKey != "" && key != s.sgKey {
		writeSendGridErrors(w, http.StatusUnauthorized, sgError{Message: "The provided authorization grant is invalid, expired, or revoked"})
		return false
	}
	return true
}

// sendGridFault answers an injected error fault; it reports whether it answered.
func sendGridFault(w http.ResponseWriter, f *Fault, recipientField string) bool {
	switch f.Kind {
	case FaultRateLimit:
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		w.Header().Set("X-RateLimit-Limit", "600")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Duration(f.RetryAfter)*time.Second).Unix(), 10))
		writeSendGridErrors(w, http.StatusTooManyRequests, sgError{Message: "too many requests"})
	case FaultServerError:
		writeSendGridErrors(w, http.StatusInternalServerError, sgError{Message: "internal server error"})
	case FaultUnavailable:
		writeSendGridErrors(w, http.StatusServiceUnavailable, sgError{Message: "service unavailable"})
	case FaultInvalidRecipient:
		writeSendGridErrors(w, http.StatusBadRequest, sgError{Message: "Does not contain a valid address.", Field: sgField(recipientField)})
	default:
		return false
	}
	return true
}

func (s *Server) sendGridMailSend(w http.ResponseWriter, r *http.Request) {
	if !s.sendGridAuth(w, r) {
		return
	}
	body, err := readBody(w, r)
	if err == nil && strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		body, err = gunzip(body)
	}
	var m sgMail
	if err == nil {
		err = json.Unmarshal(body, &m)
	}
	if err != nil {
		writeSendGridErrors(w, http.StatusBadRequest, sgError{Message: "Bad Request"})
		return
	}
	if errs := s.validateMail(&m); len(errs) > 0 {
		writeSendGridErrors(w, http.StatusBadRequest, errs...)
		return
	}
	msgs := s.sendGridMessages(&m)
	tos := make([]string, len(msgs))
	for i, msg := range msgs {
		tos[i] = msg.To
	}
	f := s.takeFault(SendGrid, OpSend, tos)
	if f != nil && sendGridFault(w, f, "personalizations.0.to.0.email") {
		return
	}
	if f != nil && f.Kind == FaultStall && !s.hold(r.Context(), Message{Provider: SendGrid, To: tos[0]}) {
		return // the client went away before the provider took the message
	}

	xid := sendGridMessageID()
	s.mu.Lock()
	for i := range msgs {
		msgs[i].ID = xid
		msgs[i].ActivityID = fmt.Sprintf("%s.filterdrecv-fake-%d.0", xid, i)
		msgs[i] = s.recordLocked(msgs[i])
	}
	s.mu.Unlock()
	s.reportMail(msgs)
	if f != nil && f.Kind == FaultHold && !s.hold(r.Context(), msgs[0]) {
		return
	}
	w.Header().Set("X-Message-Id", xid)
	w.WriteHeader(http.StatusAccepted)
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("opening gzip body: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxBody))
	if err != nil {
		return nil, fmt.Errorf("reading gzip body: %w", err)
	}
	return out, nil
}

// validateMail applies the Mail Send checks SendGrid reports as 400s, including
// configured invalid recipients.
func (s *Server) validateMail(m *sgMail) []sgError {
	var errs []sgError
	add := func(field, msg string) { errs = append(errs, sgError{Message: msg, Field: sgField(field)}) }
	if m.From == nil || !validEmail(m.From.Email) {
		add("from.email", "The from email does not contain a valid address.")
	}
	if len(m.Personalizations) == 0 {
		add("personalizations", "The personalizations field is required and must have at least one personalization.")
	}
	everySubject := len(m.Personalizations) > 0
	for i, p := range m.Personalizations {
		if len(p.To) == 0 {
			add(fmt.Sprintf("personalizations.%d.to", i), "The to array is required for all personalization objects, and must have at least one email object with a valid email address.")
		}
		for _, l := range []struct {
			kind string
			list []sgAddress
		}{{"to", p.To}, {"cc", p.CC}, {"bcc", p.BCC}} {
			for j, a := range l.list {
				if !validEmail(a.Email) || s.isInvalid(a.Email) {
					add(fmt.Sprintf("personalizations.%d.%s.%d.email", i, l.kind, j), "Does not contain a valid address.")
				}
			}
		}
		if p.Subject == "" {
			everySubject = false
		}
	}
	if m.TemplateID == "" {
		if m.Subject == "" && !everySubject {
			add("subject", "The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.")
		}
		if len(m.Content) == 0 {
			add("content", "Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block. We typically suggest both text/plain and text/html blocks are included, but only one block is required.")
		}
	}
	for i, a := range m.Attachments {
		if a.Content == "" {
			add(fmt.Sprintf("attachments.%d.content", i), "The attachment content is required.")
		} else if _, err := base64.StdEncoding.DecodeString(a.Content); err != nil {
			add(fmt.Sprintf("attachments.%d.content", i), "The attachment content must be base64 encoded.")
		}
		if a.Filename == "" {
			add(fmt.Sprintf("attachments.%d.filename", i), "The attachment filename is required.")
		}
		if a.Disposition != "" && a.Disposition != "attachment" && a.Disposition != "inline" {
			add(fmt.Sprintf("attachments.%d.disposition", i), "The disposition must be attachment or inline.")
		}
	}
	for i, c := range m.Content {
		if c.Type == "" || c.Value == "" {
			add(fmt.Sprintf("content.%d", i), "The content type and value are required and must be at least one character.")
		}
		htmlOK := i == 0 || i == 1 && m.Content[0].Type == "text/plain"
		if c.Type == "text/plain" && i != 0 || c.Type == "text/html" && !htmlOK {
			add("content", "If present, text/plain must be first, followed by text/html, followed by any other content.")
		}
	}
	return errs
}

// sendGridMessages turns a valid mail into one outbox message per "to" recipient,
// which is how the Email Activity API lists them.
func (s *Server) sendGridMessages(m *sgMail) []Message {
	var text, html string
	for _, c := range m.Content {
		switch {
		case c.Type == "text/plain" && text == "":
			text = c.Value
		case c.Type == "text/html" && html == "":
			html = c.Value
		}
	}
	var attachments []Attachment
	for _, a := range m.Attachments {
		b, _ := base64.StdEncoding.DecodeString(a.Content) // validated
		attachments = append(attachments, Attachment{Filename: a.Filename, Type: a.Type, Size: len(b), Content: a.Content})
	}
	now := time.Now().UTC()
	var out []Message
	replyTo := ""
	if m.ReplyTo != nil {
		replyTo = m.ReplyTo.Email
	}
	for _, p := range m.Personalizations {
		args := maps.Clone(m.CustomArgs)
		if len(p.CustomArgs) > 0 {
			if args == nil {
				args = map[string]string{}
			}
			maps.Copy(args, p.CustomArgs)
		}
		subject := m.Subject
		if p.Subject != "" {
			subject = p.Subject
		}
		for _, to := range p.To {
			out = append(out, Message{
				Provider: SendGrid, To: to.Email, ToName: to.Name, From: m.From.Email, FromName: m.From.Name, ReplyTo: replyTo,
				Subject: subject, Text: text, HTML: html, CustomArgs: maps.Clone(args), Received: now,
				TemplateID: m.TemplateID, TemplateData: maps.Clone(p.DynamicTemplateData),
				Attachments: slices.Clone(attachments),
			})
		}
	}
	return out
}

// sgActivity is one message of the Email Activity API's answer.
type sgActivity struct {
	FromEmail     string `json:"from_email"`
	MsgID         string `json:"msg_id"`
	Subject       string `json:"subject"`
	ToEmail       string `json:"to_email"`
	Status        string `json:"status"`
	OpensCount    int    `json:"opens_count"`
	ClicksCount   int    `json:"clicks_count"`
	LastEventTime string `json:"last_event_time"`
}

func (s *Server) sendGridActivity(w http.ResponseWriter, r *http.Request) {
	if !s.sendGridAuth(w, r) {
		return
	}
	q := r.URL.Query()
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeSendGridErrors(w, http.StatusBadRequest, sgError{Message: "limit must be an integer between 1 and 1000", Field: sgField("limit")})
			return
		}
		limit = n
	}
	match, err := parseActivityQuery(q.Get("query"))
	if err != nil {
		writeSendGridErrors(w, http.StatusBadRequest, sgError{Message: "invalid query: " + err.Error(), Field: sgField("query")})
		return
	}
	if f := s.takeFault(SendGrid, OpLookup, nil); f != nil {
		if sendGridFault(w, f, "query") {
			return
		}
		if f.Kind == FaultHold && !s.hold(r.Context(), Message{Provider: SendGrid}) {
			return
		}
	}
	s.mu.Lock()
	found := s.selectLocked(func(m Message) bool { return m.Provider == SendGrid && match(m) })
	s.mu.Unlock()
	slices.Reverse(found) // newest first
	out := []sgActivity{}
	for _, m := range found[:min(limit, len(found))] {
		out = append(out, sgActivity{
			FromEmail: m.From, MsgID: m.ActivityID, Subject: m.Subject, ToEmail: m.To,
			Status: m.Status, LastEventTime: m.Received.Format(time.RFC3339),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out})
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
