package notify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/sendgrid/rest"
	"github.com/sendgrid/sendgrid-go"
	sgmail "github.com/sendgrid/sendgrid-go/helpers/mail"

	"github.com/dunwell/dunwell/replies"
)

// DefaultSendGridBaseURL is the real SendGrid API.
const DefaultSendGridBaseURL = "https://api.sendgrid.com"

// SendGridConfig configures a SendGridSender.
type SendGridConfig struct {
	// APIKey is the SendGrid API key (required).
	APIKey string
	// From is the sender address (required); FromName its display name.
	From, FromName string
	// ReplyTo, when set, is where the recipients' replies go (SendGrid's reply_to): a
	// mailbox a person reads, since every reminder invites a reply to dispute. Its
	// display name is FromName. Each email's reply-to is ReplyTo plus-addressed with
	// the tag of its key (replies.Address: accounts+<tag>@example.com), which the
	// Inbound Parse webhook reads back; the mailbox must accept plus addresses.
	ReplyTo string
	// BaseURL is the API base URL; empty means DefaultSendGridBaseURL.
	BaseURL string
	// Timeout bounds one call; 0 means DefaultTimeout.
	Timeout time.Duration
	// Transport carries the requests; nil means http.DefaultTransport.
	Transport http.RoundTripper
}

// SendGridSender sends email through SendGrid's Mail Send v3 API and finds sent
// mail through the Email Activity API. It is safe for concurrent use.
type SendGridSender struct {
	cfg     SendGridConfig
	baseURL string
	client  *rest.Client
}

var _ EmailSender = (*SendGridSender)(nil)

// NewSendGrid validates cfg and returns a sender.
func NewSendGrid(cfg SendGridConfig) (*SendGridSender, error) {
	var errs []error
	if strings.TrimSpace(cfg.APIKey) == "" {
		errs = append(errs, errors.New("sendgrid: APIKey is required"))
	} else if strings.ContainsFunc(cfg.APIKey, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		errs = append(errs, errors.New("sendgrid: APIKey must not contain spaces or control characters"))
	}
	if cfg.From == "" {
		errs = append(errs, errors.New("sendgrid: From is required"))
	} else if a, err := mail.ParseAddress(cfg.From); err != nil || a.Address != cfg.From {
		errs = append(errs, fmt.Errorf("sendgrid: From %q must be a bare email address like billing@example.com", cfg.From))
	}
	if cfg.ReplyTo != "" {
		if a, err := mail.ParseAddress(cfg.ReplyTo); err != nil || a.Address != cfg.ReplyTo {
			errs = append(errs, fmt.Errorf("sendgrid: ReplyTo %q must be a bare email address like accounts@example.com", cfg.ReplyTo))
		}
	}
	base, bad := transportDefaults("sendgrid", DefaultSendGridBaseURL, &cfg.BaseURL, &cfg.Timeout, &cfg.Transport)
	errs = append(errs, bad...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("notify: sendgrid config: %w", errors.Join(errs...))
	}
	return &SendGridSender{
		cfg:     cfg,
		baseURL: base.String(),
		// No client timeout: each call gets a context deadline instead, so the
		// caller's cancellation and our timeout are told apart.
		client: &rest.Client{HTTPClient: &http.Client{Transport: cfg.Transport, CheckRedirect: noRedirect}},
	}, nil
}

// SendEmail sends m. The notice key goes out as custom_args notice_key (and the
// invoice id as invoice_id), which FindEmail looks up later.
func (s *SendGridSender) SendEmail(ctx context.Context, m Email) (Receipt, error) {
	const op = "send email"
	if msg := checkEmail(m); msg != "" {
		return Receipt{}, &Error{Provider: ProviderSendGrid, Op: op, Kind: KindBadRequest, Message: msg}
	}
	body := sgmail.NewV3Mail()
	body.SetFrom(sgmail.NewEmail(s.cfg.FromName, s.cfg.From))
	if s.cfg.ReplyTo != "" {
		// Plus-addressed with the message's tag, so a reply finds its customer
		// (replies.TagOf, the Inbound Parse webhook).
		body.SetReplyTo(sgmail.NewEmail(s.cfg.FromName, replies.Address(s.cfg.ReplyTo, m.Key)))
	}
	body.Subject = m.Subject
	p := sgmail.NewPersonalization()
	p.AddTos(sgmail.NewEmail(m.ToName, m.To))
	if m.TemplateID != "" {
		// A dynamic template renders subject and body from the data; content would
		// conflict with it.
		body.SetTemplateID(m.TemplateID)
		for k, v := range m.TemplateData {
			p.SetDynamicTemplateData(k, v)
		}
	} else {
		// SendGrid requires text/plain before text/html.
		if m.Text != "" {
			body.AddContent(sgmail.NewContent("text/plain", m.Text))
		}
		if m.HTML != "" {
			body.AddContent(sgmail.NewContent("text/html", m.HTML))
		}
	}
	body.AddPersonalizations(p)
	for _, a := range m.Attachments {
		body.AddAttachment(sgmail.NewAttachment().SetFilename(a.Filename).SetType(a.Type).
			SetDisposition("attachment").SetContent(base64.StdEncoding.EncodeToString(a.Content)))
	}
	// SendGrid adds its unsubscribe link to every message; a click comes back as an
	// "unsubscribe" event on the Event Webhook and opts the address out.
	body.SetTrackingSettings(sgmail.NewTrackingSettings().SetSubscriptionTracking(sgmail.NewSubscriptionTrackingSetting().SetEnable(true)))
	body.SetCustomArg("notice_key", m.Key)
	if m.InvoiceID != "" {
		body.SetCustomArg("invoice_id", m.InvoiceID)
	}

	req := sendgrid.GetRequest(s.cfg.APIKey, "/v3/mail/send", s.baseURL)
	req.Method = rest.Post
	req.Body = sgmail.GetRequestBody(body)
	resp, err := s.do(ctx, op, req)
	if err != nil {
		return Receipt{}, err
	}
	return Receipt{ProviderID: http.Header(resp.Headers).Get("X-Message-Id"), Status: "accepted"}, nil
}

func checkEmail(m Email) string {
	switch {
	case !validKey(m.Key):
		return "the notice key is required and must not contain quotes, backslashes or control characters"
	case strings.TrimSpace(m.To) == "":
		return "no recipient address"
	case m.TemplateID != "" && !templateIDRE.MatchString(m.TemplateID):
		return "the template id must be a SendGrid dynamic template id (d- and 32 hex digits)"
	case m.TemplateID != "":
	case strings.TrimSpace(m.Subject) == "":
		return "no subject"
	case m.Text == "" && m.HTML == "":
		return "no body: Text or HTML is required"
	}
	return checkAttachments(m.Attachments)
}

// checkAttachments says what is wrong with attachments, or "".
func checkAttachments(as []Attachment) string {
	total := 0
	for i, a := range as {
		switch {
		case strings.TrimSpace(a.Filename) == "" || len(a.Filename) > 255 ||
			strings.ContainsFunc(a.Filename, func(r rune) bool { return r < ' ' || r == 0x7f || r == '/' || r == '\\' || r == '"' }):
			return fmt.Sprintf("attachment %d: the filename is required, at most 255 bytes, without slashes, quotes or control characters", i)
		case !mediaTypeRE.MatchString(a.Type):
			return fmt.Sprintf("attachment %s: the type must be a media type like application/pdf", a.Filename)
		case len(a.Content) == 0:
			return fmt.Sprintf("attachment %s is empty", a.Filename)
		}
		total += len(a.Content)
	}
	if total > MaxAttachmentBytes {
		return fmt.Sprintf("the attachments are %d bytes together; at most %d", total, MaxAttachmentBytes)
	}
	return ""
}

var mediaTypeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$`)

// FindEmail asks the Email Activity API for a message carrying custom arg
// notice_key = key whose last event is at or after since (zero: any time). The
// Email Activity API is a paid SendGrid add-on; without it this fails with
// KindConfig.
func (s *SendGridSender) FindEmail(ctx context.Context, key string, since time.Time) (Receipt, bool, error) {
	const op = "find email"
	if !validKey(key) {
		return Receipt{}, false, &Error{Provider: ProviderSendGrid, Op: op, Kind: KindBadRequest,
			Message: "the notice key is required and must not contain quotes, backslashes or control characters"}
	}
	query := fmt.Sprintf(`unique_args['notice_key']="%s"`, key)
	if !since.IsZero() {
		// A message's last event is never before it was sent, so this keeps every
		// message sent since then. The upper bound only has to be in the future.
		query += fmt.Sprintf(` AND last_event_time BETWEEN TIMESTAMP "%s" AND TIMESTAMP "%s"`,
			since.UTC().Truncate(time.Second).Format(time.RFC3339), time.Now().UTC().Add(24*time.Hour).Format(time.RFC3339))
	}
	req := sendgrid.GetRequest(s.cfg.APIKey, "/v3/messages", s.baseURL)
	req.Method = rest.Get
	req.QueryParams = map[string]string{"query": query, "limit": "10"}
	resp, err := s.do(ctx, op, req)
	if err != nil {
		return Receipt{}, false, err
	}
	var out struct {
		Messages []struct {
			MsgID  string `json:"msg_id"`
			Status string `json:"status"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		return Receipt{}, false, &Error{Provider: ProviderSendGrid, Op: op, Kind: KindTransient, StatusCode: resp.StatusCode,
			Message: "decoding the activity answer: " + err.Error(), Err: err}
	}
	if len(out.Messages) == 0 {
		return Receipt{}, false, nil
	}
	// The activity msg_id is the X-Message-Id the send returned plus a ".filter..."
	// suffix; report the part SendEmail reported.
	id, _, _ := strings.Cut(out.Messages[0].MsgID, ".")
	return Receipt{ProviderID: id, Status: out.Messages[0].Status}, true, nil
}

// do sends req within the configured timeout and classifies any failure.
func (s *SendGridSender) do(parent context.Context, op string, req rest.Request) (*rest.Response, error) {
	ctx, cancel := context.WithTimeout(parent, s.cfg.Timeout)
	defer cancel()
	resp, err := s.client.SendWithContext(ctx, req)
	if err != nil {
		return nil, requestFailed(parent, ProviderSendGrid, op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, classifySendGrid(op, resp.StatusCode, http.Header(resp.Headers), resp.Body, time.Now())
	}
	return resp, nil
}

// templateIDRE matches a SendGrid dynamic template id.
var templateIDRE = regexp.MustCompile(`^d-[0-9a-f]{32}$`)

// ValidTemplateID reports whether id is a SendGrid dynamic template id.
func ValidTemplateID(id string) bool { return templateIDRE.MatchString(id) }

// recipientField matches SendGrid error fields that point at a recipient address.
var recipientField = regexp.MustCompile(`^personalizations\.\d+\.(to|cc|bcc)(\.\d+(\.email)?)?$`)

// classifySendGrid turns a non-2xx answer into an *Error. A 400 whose errors point
// at a recipient (personalizations.N.to.M.email) is KindRecipientInvalid; other 4xx
// are permanent; 429, 408 and 5xx are transient.
func classifySendGrid(op string, status int, h http.Header, body string, now time.Time) *Error {
	e := &Error{Provider: ProviderSendGrid, Op: op, StatusCode: status, Kind: kindForStatus(status)}
	var parsed struct {
		Errors []struct {
			Message string  `json:"message"`
			Field   *string `json:"field"`
		} `json:"errors"`
	}
	var msgs []string
	recipient := false
	if json.Unmarshal([]byte(body), &parsed) == nil {
		for _, pe := range parsed.Errors {
			msg := pe.Message
			if pe.Field != nil && *pe.Field != "" {
				msg = *pe.Field + ": " + msg
				recipient = recipient || recipientField.MatchString(*pe.Field)
			}
			msgs = append(msgs, msg)
		}
	}
	if len(msgs) == 0 {
		msgs = append(msgs, truncate(strings.TrimSpace(body), 200))
	}
	e.Message = strings.Join(msgs, "; ")
	if e.Kind == KindBadRequest && recipient {
		e.Kind = KindRecipientInvalid
	}
	if e.Kind == KindTransient {
		e.RetryAfter = retryAfter(h, now)
	}
	return e
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
