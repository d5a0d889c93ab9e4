package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// DefaultTwilioBaseURL is the real Twilio API.
const DefaultTwilioBaseURL = "https://api.twilio.com"

// findSMSLimit bounds how many recent messages to one recipient FindSMS reads.
const findSMSLimit = 200

var (
	accountSIDRE = regexp.MustCompile(`^AC[0-9A-Za-z]{32}$`)
	serviceSIDRE = regexp.MustCompile(`^MG[0-9A-Za-z]{32}$`)
	// A sender is an E.164 number, a short code or an alphanumeric sender ID.
	senderRE = regexp.MustCompile(`^(\+[1-9][0-9]{1,14}|[0-9]{3,8}|[A-Za-z0-9 ]{1,11})$`)
)

// TwilioConfig configures a TwilioSender.
type TwilioConfig struct {
	// AccountSID (AC...) and AuthToken are the credentials (required).
	AccountSID, AuthToken string
	// FromNumber or MessagingServiceSID (MG...) is the sender; at least one is
	// required. With both, Twilio sends from FromNumber within the service.
	FromNumber, MessagingServiceSID string
	// StatusCallbackURL, if set, receives Twilio's delivery status webhooks, with
	// the notice key added as the query parameter notice_key.
	StatusCallbackURL string
	// BaseURL is the API base URL; empty means DefaultTwilioBaseURL.
	BaseURL string
	// Timeout bounds one call; 0 means DefaultTimeout.
	Timeout time.Duration
	// Transport carries the requests; nil means http.DefaultTransport.
	Transport http.RoundTripper
}

// TwilioSender sends SMS through Twilio's Messages API with twilio-go. It is safe
// for concurrent use.
type TwilioSender struct {
	cfg TwilioConfig
	// target is where requests go; nil leaves twilio-go's own URL (and its
	// TWILIO_EDGE / TWILIO_REGION handling) alone.
	target *url.URL
}

var _ SMSSender = (*TwilioSender)(nil)

// NewTwilio validates cfg and returns a sender.
func NewTwilio(cfg TwilioConfig) (*TwilioSender, error) {
	var errs []error
	if !accountSIDRE.MatchString(cfg.AccountSID) {
		errs = append(errs, fmt.Errorf("twilio: AccountSID %q must be AC followed by 32 letters or digits", cfg.AccountSID))
	}
	if cfg.AuthToken == "" {
		errs = append(errs, errors.New("twilio: AuthToken is required"))
	} else if strings.ContainsFunc(cfg.AuthToken, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		errs = append(errs, errors.New("twilio: AuthToken must not contain spaces or control characters"))
	}
	if cfg.FromNumber == "" && cfg.MessagingServiceSID == "" {
		errs = append(errs, errors.New("twilio: FromNumber or MessagingServiceSID is required"))
	}
	if cfg.FromNumber != "" && !senderRE.MatchString(cfg.FromNumber) {
		errs = append(errs, fmt.Errorf("twilio: FromNumber %q must be an E.164 number (+15551234567), a short code or an alphanumeric sender ID", cfg.FromNumber))
	}
	if cfg.MessagingServiceSID != "" && !serviceSIDRE.MatchString(cfg.MessagingServiceSID) {
		errs = append(errs, fmt.Errorf("twilio: MessagingServiceSID %q must be MG followed by 32 letters or digits", cfg.MessagingServiceSID))
	}
	if cfg.StatusCallbackURL != "" {
		if _, err := parseCallbackURL(cfg.StatusCallbackURL); err != nil {
			errs = append(errs, err)
		}
	}
	base, bad := transportDefaults("twilio", DefaultTwilioBaseURL, &cfg.BaseURL, &cfg.Timeout, &cfg.Transport)
	errs = append(errs, bad...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("notify: twilio config: %w", errors.Join(errs...))
	}
	s := &TwilioSender{cfg: cfg}
	if base.String() != DefaultTwilioBaseURL {
		s.target = base
	}
	return s, nil
}

func parseCallbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("twilio: StatusCallbackURL %q must be an absolute http(s) URL", raw)
	}
	return u, nil
}

// NoticeKeyParam is the query parameter of the status callback URL that carries the
// notice key: Twilio has no field to carry our correlation id, but it calls back the
// exact URL it was given (and signs it), so the key comes back with every status.
const NoticeKeyParam = "notice_key"

// callbackURL is the status callback URL with the notice key added, when there is one.
func callbackURL(base, key string) string {
	if key == "" {
		return base
	}
	u, err := url.Parse(base)
	if err != nil { // validated in NewTwilio
		return base
	}
	q := u.Query()
	q.Set(NoticeKeyParam, key)
	u.RawQuery = q.Encode()
	return u.String()
}

// api returns a Messages API client for one call. twilio-go takes no context, so
// the call's context (with our timeout) rides on a per-call transport; the
// connection pool underneath is shared. The transport also does the basic auth:
// the SDK gets empty credentials, which it accepts and does not send.
func (s *TwilioSender) api(ctx context.Context) (*openapi.ApiService, *callTransport) {
	ct := &callTransport{base: s.cfg.Transport, target: s.target, ctx: ctx, user: s.cfg.AccountSID, pass: s.cfg.AuthToken}
	c := &client.Client{
		Credentials: client.NewCredentials("", ""),
		HTTPClient:  &http.Client{Transport: ct, CheckRedirect: noRedirect},
	}
	c.SetAccountSid(s.cfg.AccountSID)
	return openapi.NewApiServiceWithClient(c), ct
}

// SendSMS sends m from the configured number or messaging service.
func (s *TwilioSender) SendSMS(ctx context.Context, m SMS) (Receipt, error) {
	const op = "send sms"
	switch {
	case strings.TrimSpace(m.To) == "":
		return Receipt{}, &Error{Provider: ProviderTwilio, Op: op, Kind: KindBadRequest, Message: "no recipient number"}
	case strings.TrimSpace(m.Body) == "":
		return Receipt{}, &Error{Provider: ProviderTwilio, Op: op, Kind: KindBadRequest, Message: "no body"}
	}
	params := &openapi.CreateMessageParams{}
	params.SetTo(m.To)
	params.SetBody(m.Body)
	if s.cfg.FromNumber != "" {
		params.SetFrom(s.cfg.FromNumber)
	}
	if s.cfg.MessagingServiceSID != "" {
		params.SetMessagingServiceSid(s.cfg.MessagingServiceSID)
	}
	if s.cfg.StatusCallbackURL != "" {
		params.SetStatusCallback(callbackURL(s.cfg.StatusCallbackURL, m.Key))
	}

	callCtx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	api, ct := s.api(callCtx)
	msg, err := api.CreateMessage(params)
	if err != nil {
		return Receipt{}, s.failed(ctx, op, ct, err)
	}
	if msg.Sid == nil || *msg.Sid == "" {
		// Accepted but unusable: retrying through reconciliation finds it.
		status, _ := ct.last()
		return Receipt{}, &Error{Provider: ProviderTwilio, Op: op, Kind: KindTransient, StatusCode: status,
			Message: "the provider's answer has no message sid"}
	}
	return Receipt{ProviderID: *msg.Sid, Status: deref(msg.Status)}, nil
}

// FindSMS lists the recent messages to m.To from the configured sender and returns
// the newest one with exactly m.Body created at or after since. Messages Twilio
// reports as failed or canceled never left Twilio and do not count.
//
// It filters on date_created client-side rather than with DateSent: a message
// still queued at Twilio has no date_sent yet, and that is exactly the case after
// a crash right after sending.
func (s *TwilioSender) FindSMS(ctx context.Context, m SMS, since time.Time) (Receipt, bool, error) {
	const op = "find sms"
	if strings.TrimSpace(m.To) == "" {
		return Receipt{}, false, &Error{Provider: ProviderTwilio, Op: op, Kind: KindBadRequest, Message: "no recipient number"}
	}
	params := &openapi.ListMessageParams{}
	params.SetTo(m.To)
	if s.cfg.FromNumber != "" {
		params.SetFrom(s.cfg.FromNumber)
	}
	params.SetPageSize(50)
	params.SetLimit(findSMSLimit)

	callCtx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	api, ct := s.api(callCtx)
	msgs, err := api.ListMessage(params)
	if err != nil {
		return Receipt{}, false, s.failed(ctx, op, ct, err)
	}
	// Twilio's dates have whole seconds.
	since = since.Truncate(time.Second)
	for _, msg := range msgs {
		if deref(msg.Body) != m.Body || deref(msg.Sid) == "" {
			continue
		}
		if s.cfg.FromNumber == "" && deref(msg.MessagingServiceSid) != s.cfg.MessagingServiceSID {
			continue
		}
		if st := deref(msg.Status); st == "failed" || st == "canceled" {
			continue
		}
		created, err := time.Parse(time.RFC1123Z, deref(msg.DateCreated))
		if err != nil || created.Before(since) {
			continue
		}
		return Receipt{ProviderID: *msg.Sid, Status: deref(msg.Status)}, true, nil
	}
	return Receipt{}, false, nil
}

// failed classifies an error from twilio-go.
func (s *TwilioSender) failed(parent context.Context, op string, ct *callTransport, err error) error {
	status, header := ct.last()
	var rest *client.TwilioRestError
	if errors.As(err, &rest) {
		if rest.Status != 0 {
			status = rest.Status
		}
		return classifyTwilio(op, status, rest.Code, rest.Message, header, err, time.Now())
	}
	if status == 0 || parent.Err() != nil {
		// No answer at all: network failure, timeout or cancellation.
		return requestFailed(parent, ProviderTwilio, op, err)
	}
	// An answer twilio-go could not decode (an HTML 502 from a proxy, a truncated
	// body): classify by status.
	return classifyTwilio(op, status, 0, err.Error(), header, err, time.Now())
}

// Twilio error codes that mean the recipient can never get the message.
var twilioRecipientCodes = map[int]bool{
	21211: true, // invalid 'To' phone number
	21217: true, // phone number does not appear to be valid
	21265: true, // 'To' number cannot be a short code
	21407: true, // this phone number type does not support SMS
	21408: true, // permission to send to this region is not enabled
	21421: true, // phone number is invalid
	21610: true, // recipient unsubscribed (replied STOP)
	21612: true, // cannot route to this number
	21614: true, // 'To' number is not a valid mobile number
}

// Twilio error codes that mean our sender configuration is wrong.
var twilioConfigCodes = map[int]bool{
	20003: true, // authentication failed
	21212: true, // invalid 'From' number
	21606: true, // 'From' number is not SMS-capable for this account
	21659: true, // 'From' is not a Twilio number
	21701: true, // messaging service not found
}

// classifyTwilio turns a Twilio error answer into an *Error: recipient codes are
// KindRecipientInvalid, sender/credential codes and 401/403/404 KindConfig, 429,
// 408 and 5xx transient, any other 4xx KindBadRequest.
func classifyTwilio(op string, status, code int, msg string, h http.Header, cause error, now time.Time) *Error {
	e := &Error{Provider: ProviderTwilio, Op: op, StatusCode: status, Code: code, Message: msg, Err: cause, Kind: kindForStatus(status)}
	switch {
	case code == 20429 || e.Kind == KindTransient:
		e.Kind = KindTransient
		e.RetryAfter = retryAfter(h, now)
	case twilioRecipientCodes[code]:
		e.Kind = KindRecipientInvalid
	case twilioConfigCodes[code]:
		e.Kind = KindConfig
	}
	return e
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
