package webhooks

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	twclient "github.com/twilio/twilio-go/client"
)

// HeaderTwilioSignature signs Twilio's webhooks.
const HeaderTwilioSignature = "X-Twilio-Signature"

// NoticeKeyParam is the query parameter of a status callback URL that carries the
// notice key; the sender adds it (notify.NoticeKeyParam, the same name: a test holds
// the two together, since notify's configuration imports this package).
const NoticeKeyParam = "notice_key"

// VerifyTwilio checks X-Twilio-Signature with twilio-go's RequestValidator. fullURL is
// the URL Twilio called, as it knows it: the configured public base URL and the
// request URI, query included (Twilio signs the URL it was given, which behind a
// proxy is not what the server sees).
func VerifyTwilio(authToken, fullURL string, body []byte, signature string) error {
	if signature == "" {
		return &SignatureError{Header: HeaderTwilioSignature, Reason: "header is missing"}
	}
	v := twclient.NewRequestValidator(authToken)
	if !v.ValidateBody(fullURL, body, signature) {
		return &SignatureError{Header: HeaderTwilioSignature, Reason: "does not match the request and the auth token"}
	}
	return nil
}

// TwilioCallback is a verified Twilio webhook parsed.
type TwilioCallback struct {
	// Inbound: a message from a customer (STOP, START, HELP, anything else); else a
	// status callback of a message Dunwell sent.
	Inbound bool
	// Keyword classifies an inbound message: "STOP", "START", "HELP" or "".
	Keyword string
	// Report is what to apply; nil when there is nothing to do (HELP, any other
	// text).
	Report *Report
}

var (
	twilioSIDRE = regexp.MustCompile(`^[A-Z]{2}[0-9a-fA-F]{32}$`)
	e164RE      = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
)

// Twilio message statuses → delivery statuses.
var twilioStatuses = map[string]DeliveryStatus{
	"accepted": DeliveryQueued, "scheduled": DeliveryQueued, "queued": DeliveryQueued,
	"sending": DeliverySent, "sent": DeliverySent,
	"delivered": DeliveryDelivered, "read": DeliveryDelivered,
	"undelivered": DeliveryUndelivered, "failed": DeliveryFailed, "canceled": DeliveryFailed,
}

// Twilio error codes in a status callback that say the number can never get SMS:
// the recipient replied STOP (21610), or the number is not a mobile (30006) or does
// not exist (30005). They opt the number out like an email hard bounce.
var twilioOptOutCodes = map[string]OptOutSource{
	"21610": OptOutStop, "30005": OptOutInvalid, "30006": OptOutInvalid,
}

// Twilio's opt-out, opt-in and help keywords: a single-word message, any case.
var (
	smsStopWords  = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true, "OPTOUT": true, "REVOKE": true}
	smsStartWords = map[string]bool{"START": true, "YES": true, "UNSTOP": true}
	smsHelpWords  = map[string]bool{"HELP": true, "INFO": true}
)

// ParseTwilio reads a verified Twilio webhook: its form body and the query of the URL
// Twilio called (NoticeKeyParam).
//
// A status callback (MessageStatus or SmsStatus other than "received") reports the
// notice's delivery status, and opts the number out when its error code says it can
// never receive SMS. An inbound message opts the number out (STOP and its synonyms,
// or Advanced Opt-Out's OptOutType) or back in (START, YES, UNSTOP). A status Dunwell
// does not track is *Ignored; a malformed callback is a FieldError.
func ParseTwilio(body []byte, query url.Values) (TwilioCallback, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return TwilioCallback{}, FieldError{"body": "is not form-encoded"}
	}
	status := form.Get("MessageStatus")
	if status == "" {
		status = form.Get("SmsStatus")
	}
	if status != "" && status != "received" {
		return twilioStatus(form, query.Get(NoticeKeyParam), status)
	}
	return twilioInbound(form)
}

func twilioStatus(form url.Values, key, status string) (TwilioCallback, error) {
	sid := form.Get("MessageSid")
	fe := FieldError{}
	if !twilioSIDRE.MatchString(sid) {
		fe["MessageSid"] = "must be a Twilio message sid (SM followed by 32 hex digits)"
	}
	if key != "" && !validNoticeKey(key, ChannelSMS) {
		fe[NoticeKeyParam] = "must be <invoice>/<step>/sms or <customer>/sms/<day>/<message>"
	}
	if len(fe) > 0 {
		return TwilioCallback{}, fe
	}
	ds, known := twilioStatuses[status]
	if !known {
		return TwilioCallback{}, ignored("status %s is not tracked", strconv.Quote(status))
	}
	code := strings.TrimSpace(form.Get("ErrorCode"))
	if code == "0" {
		code = ""
	}
	if _, err := strconv.Atoi(code); code != "" && err != nil {
		return TwilioCallback{}, FieldError{"ErrorCode": "must be a number"}
	}
	rep := &Report{Source: SourceTwilio, Channel: ChannelSMS, Delivery: &DeliveryReport{NoticeKey: key, MessageID: sid, Status: ds}}
	if code != "" {
		rep.Delivery.Error = "twilio error " + code
	}
	if src, ok := twilioOptOutCodes[code]; ok && ds.failed() {
		if to := strings.TrimSpace(form.Get("To")); e164RE.MatchString(to) {
			rep.OptOut = &OptOutReport{EventID: "twilio:" + sid + ":" + code, Address: to, OptedOut: true, Source: src,
				InvoiceID: NoticeInvoice(key)}
		}
	}
	return TwilioCallback{Report: rep}, nil
}

// twilioInbound reads a text from a customer. Twilio's own opt-out handling replies
// to the customer and blocks later sends too; the report keeps Dunwell's ledger in
// step with it, across senders.
func twilioInbound(form url.Values) (TwilioCallback, error) {
	sid, from := form.Get("MessageSid"), strings.TrimSpace(form.Get("From"))
	fe := FieldError{}
	if !twilioSIDRE.MatchString(sid) {
		fe["MessageSid"] = "must be a Twilio message sid"
	}
	if !e164RE.MatchString(from) {
		fe["From"] = "must be an E.164 phone number"
	}
	if _, ok := form["Body"]; !ok {
		fe["Body"] = "is required"
	}
	if len(fe) > 0 {
		return TwilioCallback{}, fe
	}
	out := TwilioCallback{Inbound: true, Keyword: smsKeyword(form)}
	change := &OptOutReport{EventID: "twilio:" + sid, Address: from}
	switch out.Keyword {
	case "STOP":
		change.OptedOut, change.Source = true, OptOutStop
	case "START":
		change.OptedOut, change.Source = false, OptOutStart
	default:
		return out, nil
	}
	out.Report = &Report{Source: SourceTwilio, Channel: ChannelSMS, OptOut: change}
	return out, nil
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
