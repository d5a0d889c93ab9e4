package webhooks

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/internal/fakeprovider"
)

const (
	twilioToken = "twilio-auth-token-for-tests"
	twilioURL   = "https://dunwell.example.com/base/v1/webhooks/twilio?notice_key=INV-1%2Ffirst%2Fsms"
	smsSID      = "SM0123456789abcdef0123456789abcdef"
)

func requireSignatureError(t *testing.T, err error, header, reason string) {
	t.Helper()
	var se *SignatureError
	require.True(t, errors.As(err, &se), "want a SignatureError, got %v", err)
	require.Equal(t, header, se.Header)
	require.Contains(t, se.Reason, reason)
}

func TestVerifyTwilio(t *testing.T) {
	form := url.Values{"MessageSid": {smsSID}, "MessageStatus": {"delivered"}}
	body := []byte(form.Encode())
	require.NoError(t, VerifyTwilio(twilioToken, twilioURL, body, fakeprovider.TwilioSignature(twilioToken, twilioURL, form)))

	for name, tc := range map[string]struct {
		url, sig string
		reason   string
	}{
		"missing":       {twilioURL, "", "missing"},
		"wrong token":   {twilioURL, fakeprovider.TwilioSignature("other", twilioURL, form), "does not match"},
		"other url":     {twilioURL, fakeprovider.TwilioSignature(twilioToken, "https://elsewhere.example.com/v1/webhooks/twilio", form), "does not match"},
		"query dropped": {twilioURL, fakeprovider.TwilioSignature(twilioToken, "https://dunwell.example.com/base/v1/webhooks/twilio", form), "does not match"},
		"other params":  {twilioURL, fakeprovider.TwilioSignature(twilioToken, twilioURL, url.Values{"MessageSid": {smsSID}}), "does not match"},
		"garbage":       {twilioURL, "!!!", "does not match"},
	} {
		t.Run(name, func(t *testing.T) {
			err := VerifyTwilio(twilioToken, tc.url, body, tc.sig)
			requireSignatureError(t, err, HeaderTwilioSignature, tc.reason)
			require.NotContains(t, err.Error(), twilioToken, "no secret in errors")
		})
	}
}

func parseTwilio(t *testing.T, form url.Values, key string) (TwilioCallback, error) {
	t.Helper()
	q := url.Values{}
	if key != "" {
		q.Set(NoticeKeyParam, key)
	}
	return ParseTwilio([]byte(form.Encode()), q)
}

func TestParseTwilioStatus(t *testing.T) {
	status := func(st string, extra ...string) url.Values {
		f := url.Values{"MessageSid": {smsSID}, "MessageStatus": {st}, "SmsStatus": {st}, "To": {"+14155550111"}}
		for i := 0; i < len(extra); i += 2 {
			f.Set(extra[i], extra[i+1])
		}
		return f
	}
	cb, err := parseTwilio(t, status("undelivered", "ErrorCode", "30003"), "INV-1/first/sms")
	require.NoError(t, err)
	require.False(t, cb.Inbound)
	require.Equal(t, &Report{Source: SourceTwilio, Channel: ChannelSMS, Delivery: &DeliveryReport{
		NoticeKey: "INV-1/first/sms", MessageID: smsSID, Status: DeliveryUndelivered, Error: "twilio error 30003"}}, cb.Report)

	// A message about several invoices of a customer is named by its message key.
	cb, err = parseTwilio(t, status("delivered"), "C-1/sms/2026-12-07/0a1b2c3d4e5f")
	require.NoError(t, err)
	require.Equal(t, "C-1/sms/2026-12-07/0a1b2c3d4e5f", cb.Report.Delivery.NoticeKey)
	require.Equal(t, "C-1", MessageCustomer(cb.Report.Delivery.NoticeKey))
	require.Empty(t, MessageCustomer("INV-1/first/sms"))

	// Without notice_key the API finds the notice by the sid; SmsStatus alone counts.
	cb, err = parseTwilio(t, url.Values{"MessageSid": {smsSID}, "SmsStatus": {"sent"}}, "")
	require.NoError(t, err)
	require.Equal(t, &DeliveryReport{MessageID: smsSID, Status: DeliverySent}, cb.Report.Delivery)
	require.Nil(t, cb.Report.OptOut)

	// Error codes that say the number can never get SMS opt it out, on a failure only.
	cb, err = parseTwilio(t, status("failed", "ErrorCode", "21610"), "INV-1/first/sms")
	require.NoError(t, err)
	require.Equal(t, &OptOutReport{EventID: "twilio:" + smsSID + ":21610", Address: "+14155550111", OptedOut: true,
		Source: OptOutStop, InvoiceID: "INV-1"}, cb.Report.OptOut)
	cb, err = parseTwilio(t, status("undelivered", "ErrorCode", "30006"), "")
	require.NoError(t, err)
	require.Equal(t, OptOutInvalid, cb.Report.OptOut.Source)
	require.Empty(t, cb.Report.OptOut.InvoiceID, "found through the notice, by the API")
	cb, err = parseTwilio(t, status("sent", "ErrorCode", "30006"), "")
	require.NoError(t, err)
	require.Nil(t, cb.Report.OptOut, "not a failure")
	cb, err = parseTwilio(t, status("failed", "ErrorCode", "30006", "To", "555"), "")
	require.NoError(t, err)
	require.Nil(t, cb.Report.OptOut, "no number to opt out")
	cb, err = parseTwilio(t, status("delivered", "ErrorCode", "0"), "")
	require.NoError(t, err)
	require.Empty(t, cb.Report.Delivery.Error)

	_, err = parseTwilio(t, status("receiving"), "")
	ig, ok := IsIgnored(err)
	require.True(t, ok, "%v", err)
	require.Contains(t, ig.Reason, `"receiving" is not tracked`)

	for name, tc := range map[string]struct {
		form  url.Values
		key   string
		field string
	}{
		"sid":           {status("delivered", "MessageSid", "nope"), "", "MessageSid"},
		"key":           {status("delivered"), "bad", NoticeKeyParam},
		"email key":     {status("delivered"), "INV-1/first/email", NoticeKeyParam},
		"email message": {status("delivered"), "C-1/email/2026-12-07/0a1b2c", NoticeKeyParam},
		"message day":   {status("delivered"), "C-1/sms/2026-12/0a1b2c", NoticeKeyParam},
		"error code":    {status("failed", "ErrorCode", "x1"), "", "ErrorCode"},
	} {
		_, err := parseTwilio(t, tc.form, tc.key)
		var fe FieldError
		require.True(t, errors.As(err, &fe), name)
		require.Contains(t, fe, tc.field, name)
	}
	_, err = ParseTwilio([]byte("%zz"), nil)
	var fe FieldError
	require.True(t, errors.As(err, &fe))
	require.Contains(t, fe, "body")
}

func TestParseTwilioInbound(t *testing.T) {
	inbound := func(body string, extra ...string) (TwilioCallback, error) {
		f := url.Values{"MessageSid": {smsSID}, "From": {" +14155550114 "}, "Body": {body}, "SmsStatus": {"received"}}
		for i := 0; i < len(extra); i += 2 {
			f.Set(extra[i], extra[i+1])
		}
		return parseTwilio(t, f, "")
	}
	for body, want := range map[string]string{
		" Stop. ": "STOP", "unsubscribe": "STOP", "STOPALL!": "STOP", "yes": "START", "Unstop": "START",
		"HELP": "HELP", "info": "HELP", "stop please": "", "Thanks!": "", "": "",
	} {
		cb, err := inbound(body)
		require.NoError(t, err, body)
		require.True(t, cb.Inbound)
		require.Equal(t, want, cb.Keyword, body)
		switch want {
		case "STOP":
			require.Equal(t, &Report{Source: SourceTwilio, Channel: ChannelSMS, OptOut: &OptOutReport{
				EventID: "twilio:" + smsSID, Address: "+14155550114", OptedOut: true, Source: OptOutStop}}, cb.Report, body)
		case "START":
			require.Equal(t, &OptOutReport{EventID: "twilio:" + smsSID, Address: "+14155550114", Source: OptOutStart}, cb.Report.OptOut, body)
		default:
			require.Nil(t, cb.Report, "%q changes nothing", body)
		}
	}
	cb, err := inbound("whatever", "OptOutType", "stop") // Advanced Opt-Out names the class
	require.NoError(t, err)
	require.Equal(t, "STOP", cb.Keyword)

	_, err = parseTwilio(t, url.Values{"MessageSid": {"x"}, "From": {"555"}}, "")
	var fe FieldError
	require.True(t, errors.As(err, &fe))
	require.Len(t, fe, 3)
	for _, field := range []string{"Body", "From", "MessageSid"} {
		require.Contains(t, fe, field)
	}
}

func sendGridKey(t testing.TB) (*ecdsa.PrivateKey, *ecdsa.PublicKey) {
	t.Helper()
	key, _, err := fakeprovider.NewEventKey()
	require.NoError(t, err)
	return key, &key.PublicKey
}

func TestVerifySendGrid(t *testing.T) {
	key, pub := sendGridKey(t)
	other, _ := sendGridKey(t)
	body := []byte(`[{"event":"delivered"}]`)
	now := time.Unix(1_800_000_000, 0)
	sign := func(k *ecdsa.PrivateKey, at time.Time) (string, string) {
		ts := strconv.FormatInt(at.Unix(), 10)
		sig, err := fakeprovider.SendGridSignature(k, ts, body)
		require.NoError(t, err)
		return sig, ts
	}
	sig, ts := sign(key, now)
	require.NoError(t, VerifySendGrid(pub, body, sig, ts, now))
	sig2, ts2 := sign(key, now.Add(-72*time.Hour))
	require.NoError(t, VerifySendGrid(pub, body, sig2, ts2, now), "a retry within SendGrid's 72 hours")

	stale, staleTS := sign(key, now.Add(-SendGridMaxAge-time.Minute))
	future, futureTS := sign(key, now.Add(SendGridMaxSkew+time.Minute))
	forged, forgedTS := sign(other, now)
	for name, tc := range map[string]struct{ sig, ts, header, reason string }{
		"no signature":    {"", ts, HeaderSendGridSignature, "missing"},
		"no timestamp":    {sig, "", HeaderSendGridTimestamp, "missing"},
		"other timestamp": {sig, strconv.FormatInt(now.Unix()+1, 10), HeaderSendGridSignature, "does not verify"},
		"garbage":         {"bm9wZQ==", ts, HeaderSendGridSignature, "does not verify"},
		"not base64":      {"%%%", ts, HeaderSendGridSignature, "does not verify"},
		"other key":       {forged, forgedTS, HeaderSendGridSignature, "does not verify"},
		"stale":           {stale, staleTS, HeaderSendGridTimestamp, "stale"},
		"future":          {future, futureTS, HeaderSendGridTimestamp, "stale"},
	} {
		t.Run(name, func(t *testing.T) {
			requireSignatureError(t, VerifySendGrid(pub, body, tc.sig, tc.ts, now), tc.header, tc.reason)
		})
	}
	bad := []byte(`[{"event":"bounce"}]`)
	requireSignatureError(t, VerifySendGrid(pub, bad, sig, ts, now), HeaderSendGridSignature, "does not verify")
}

func TestParseSendGrid(t *testing.T) {
	const (
		email = "ada@example.com"
		key   = "INV-7/first-reminder/email"
		ts    = 1_800_000_000
	)
	at := time.Unix(ts, 0).UTC()
	b, err := ParseSendGrid([]byte(fmt.Sprintf(`[
		{"event":"processed","email":%[1]q,"timestamp":%[3]d,"sg_event_id":"e1","notice_key":%[2]q},
		{"event":"bounce","type":"bounce","email":%[1]q,"timestamp":%[3]d,"sg_event_id":"e2","notice_key":%[2]q,"invoice_id":"INV-7"},
		"not an object",
		{"event":"open","email":%[1]q,"timestamp":%[3]d,"sg_event_id":"e3"},
		{"event":"bounce","type":"blocked","reason":"450 try later","email":%[1]q,"sg_event_id":"e4","notice_key":%[2]q},
		{"event":"dropped","reason":"Bounced Address","email":"sup@example.com","timestamp":%[3]d,"sg_event_id":"d1"},
		{"event":"dropped","reason":"Invalid SMTPAPI header","email":"hdr@example.com","timestamp":%[3]d,"sg_event_id":"d2","notice_key":%[2]q},
		{"event":"spamreport","email":"bob@example.com","timestamp":%[3]d,"sg_event_id":"e5","invoice_id":"INV-7"},
		{"event":"group_resubscribe","email":%[1]q,"timestamp":%[3]d},
		{"event":"unsubscribe","email":"not an address","sg_event_id":"e6"},
		{"event":"delivered","email":%[1]q,"notice_key":"INV-7/first-reminder/sms"},
		{"email":%[1]q}
	]`, email, key, ts)))
	require.NoError(t, err)
	require.Equal(t, 12, b.Events)
	require.Equal(t, 2, b.Skipped, "a string and an object without event")
	require.Equal(t, 4, b.Unused, "processed, open, an unsubscribe without an address, a delivery without an email notice key")
	require.Len(t, b.Reports, 6)

	require.Equal(t, Report{Source: SourceSendGrid, Channel: ChannelEmail,
		Delivery: &DeliveryReport{NoticeKey: key, Status: DeliveryBounced, Error: "sendgrid bounce (bounce)", At: at},
		OptOut:   &OptOutReport{EventID: "sendgrid:e2", Address: email, OptedOut: true, Source: OptOutBounce, InvoiceID: "INV-7", At: at},
	}, b.Reports[0])
	// A soft bounce has no timestamp (the API uses now) and opts nobody out.
	require.Equal(t, &DeliveryReport{NoticeKey: key, Status: DeliveryBounced, Error: "sendgrid bounce (blocked)"}, b.Reports[1].Delivery)
	require.Nil(t, b.Reports[1].OptOut)
	// A drop of a suppressed address opts it out; one about the request does not.
	require.Nil(t, b.Reports[2].Delivery)
	require.Equal(t, OptOutDropped, b.Reports[2].OptOut.Source)
	require.Equal(t, DeliveryDropped, b.Reports[3].Delivery.Status)
	require.Nil(t, b.Reports[3].OptOut)
	require.Equal(t, &OptOutReport{EventID: "sendgrid:e5", Address: "bob@example.com", OptedOut: true, Source: OptOutSpamReport, InvoiceID: "INV-7", At: at}, b.Reports[4].OptOut)
	// Without sg_event_id the event's hash de-duplicates it.
	o := b.Reports[5].OptOut
	require.False(t, o.OptedOut)
	require.Equal(t, OptOutResubscribe, o.Source)
	require.Regexp(t, `^sendgrid:h[0-9a-f]{32}$`, o.EventID)

	for _, body := range []string{`{"event":"bounce"}`, ``, `[`, `null,`} {
		_, err := ParseSendGrid([]byte(body))
		var fe FieldError
		require.True(t, errors.As(err, &fe), body)
		require.Contains(t, fe, "body")
	}
	b, err = ParseSendGrid([]byte(`[]`))
	require.NoError(t, err)
	require.Zero(t, b.Events)
}
