package fakeprovider

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"
	"github.com/stretchr/testify/require"
	twclient "github.com/twilio/twilio-go/client"
)

// receiver records the webhook posts it gets.
type receiver struct {
	mu    sync.Mutex
	posts []post
}

type post struct {
	url    string
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) (*receiver, string) {
	t.Helper()
	rc := &receiver{}
	var base string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.posts = append(rc.posts, post{url: base + r.URL.RequestURI(), header: r.Header.Clone(), body: b})
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	base = ts.URL
	t.Cleanup(ts.Close)
	return rc, ts.URL
}

func (rc *receiver) all() []post {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]post(nil), rc.posts...)
}

// The fake's callbacks verify with the providers' own SDK helpers, so the webhook
// code tested against the fake is tested against the real signature schemes.
func TestStatusCallbacksAndInboundAreSignedLikeTwilio(t *testing.T) {
	rc, rcURL := newReceiver(t)
	s, base := newTestServer(t, Options{TwilioAuthToken: testToken, TwilioInboundURL: rcURL + "/inbound", Bounce: []string{"+14155550199"}})
	ctx := testCtx(t)
	validator := twclient.NewRequestValidator(testToken)

	form := smsForm("+14155550100", "Please pay.")
	form.Set("StatusCallback", rcURL+"/cb?notice_key=INV-1%2Fr1%2Fsms")
	require.Equal(t, http.StatusCreated, postSMS(t, ctx, base, form).status)
	form = smsForm("+14155550199", "Please pay.")
	form.Set("StatusCallback", rcURL+"/cb?notice_key=INV-2%2Fr1%2Fsms")
	require.Equal(t, http.StatusCreated, postSMS(t, ctx, base, form).status)
	require.Eventually(t, func() bool { return len(rc.all()) == 4 }, testWait, testTick)

	statuses := map[string][]string{}
	for _, p := range rc.all() {
		require.True(t, validator.ValidateBody(p.url, p.body, p.header.Get("X-Twilio-Signature")), "signature of %s", p.body)
		require.False(t, validator.ValidateBody(p.url+"x", p.body, p.header.Get("X-Twilio-Signature")))
		v, err := url.ParseQuery(string(p.body))
		require.NoError(t, err)
		u, err := url.Parse(p.url)
		require.NoError(t, err)
		key := u.Query().Get("notice_key")
		statuses[key] = append(statuses[key], v.Get("MessageStatus"))
		if v.Get("MessageStatus") == StatusUndelivered {
			require.Equal(t, "30003", v.Get("ErrorCode"))
		}
	}
	require.Equal(t, []string{"sent", "delivered"}, statuses["INV-1/r1/sms"])
	require.Equal(t, []string{"sent", "undelivered"}, statuses["INV-2/r1/sms"])

	// STOP from the customer: posted signed, and later sends fail with 21610 until START.
	status, err := s.InboundSMS("+14155550100", "", "stop")
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, status)
	in := rc.all()[4]
	require.True(t, validator.ValidateBody(in.url, in.body, in.header.Get("X-Twilio-Signature")))
	v, _ := url.ParseQuery(string(in.body))
	require.Equal(t, "stop", v.Get("Body"))
	require.Equal(t, "+15005550006", v.Get("To"))
	resp := postSMS(t, ctx, base, smsForm("+14155550100", "Again"))
	require.Equal(t, http.StatusBadRequest, resp.status)
	require.Contains(t, resp.body, "21610")
	_, err = s.InboundSMS("+14155550100", "", "START")
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, postSMS(t, ctx, base, smsForm("+14155550100", "Again")).status)

	_, err = s.InboundSMS("not-a-number", "", "STOP")
	require.Error(t, err)
}

func TestMailEventsAreSignedLikeSendGrid(t *testing.T) {
	rc, rcURL := newReceiver(t)
	s, base := newTestServer(t, Options{SendGridEventURL: rcURL + "/events", Bounce: []string{"gone@example.com"}})
	ctx := testCtx(t)
	pub, err := eventwebhook.ConvertPublicKeyBase64ToECDSA(s.SendGridEventPublicKey())
	require.NoError(t, err)

	require.Equal(t, http.StatusAccepted, postMail(t, ctx, base, mailJSON("ok@example.com", "Hi", "INV-1/r1/email")).status)
	require.Equal(t, http.StatusAccepted, postMail(t, ctx, base, mailJSON("gone@example.com", "Hi", "INV-2/r1/email")).status)
	require.Eventually(t, func() bool { return len(rc.all()) == 2 }, testWait, testTick)
	events := map[string][]string{}
	for _, p := range rc.all() {
		ok, err := eventwebhook.VerifySignature(pub, p.body, p.header.Get(eventwebhook.VerificationHTTPHeader), p.header.Get(eventwebhook.TimestampHTTPHeader))
		require.NoError(t, err)
		require.True(t, ok, "signature of %s", p.body)
		ok, _ = eventwebhook.VerifySignature(pub, append(p.body, ' '), p.header.Get(eventwebhook.VerificationHTTPHeader), p.header.Get(eventwebhook.TimestampHTTPHeader))
		require.False(t, ok)
		var batch []map[string]any
		require.NoError(t, json.Unmarshal(p.body, &batch))
		for _, e := range batch {
			require.NotEmpty(t, e["sg_event_id"])
			events[e["notice_key"].(string)] = append(events[e["notice_key"].(string)], e["event"].(string))
		}
	}
	require.Equal(t, []string{"processed", "delivered"}, events["INV-1/r1/email"])
	require.Equal(t, []string{"processed", "bounce"}, events["INV-2/r1/email"])

	// Any event on demand, over the control API too.
	resp := do(t, ctx, http.MethodPost, base+"/_fake/sendgrid/events", strings.NewReader(`{"email":"OK@example.com","event":"unsubscribe"}`), nil)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	last := rc.all()[2]
	require.Contains(t, string(last.body), `"event":"unsubscribe"`)
	require.Contains(t, string(last.body), `"notice_key":"INV-1/r1/email"`)
	resp = do(t, ctx, http.MethodPost, base+"/_fake/sendgrid/events", strings.NewReader(`{"email":"never@example.com","event":"bounce"}`), nil)
	require.Equal(t, http.StatusBadGateway, resp.status)

	key, err := ParseEventKey(must(MarshalEventKey(s.eventKey)))
	require.NoError(t, err)
	require.True(t, key.Equal(s.eventKey))
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

func TestStallRecordsNothingWhenTheClientGoesAway(t *testing.T) {
	s, base := newTestServer(t, Options{})
	ctx := testCtx(t)
	_, err := s.Inject(Fault{Kind: FaultStall, To: "+14155550100"})
	require.NoError(t, err)
	reqCtx, cancel := context.WithCancel(ctx)
	ch := async(reqCtx, http.MethodPost, base+twilioPath, smsForm("+14155550100", "x").Encode(), twilioAuthed)
	held, err := s.WaitHeld(ctx)
	require.NoError(t, err)
	require.Equal(t, "+14155550100", held.To)
	cancel() // the worker dies
	<-ch
	require.Eventually(t, func() bool { return len(s.Held()) == 0 }, testWait, testTick)
	require.Empty(t, s.Outbox(), "nothing reached the provider")

	_, err = s.Inject(Fault{Kind: FaultStall})
	require.NoError(t, err)
	ch = async(ctx, http.MethodPost, base+"/v3/mail/send", mailJSON("a@example.com", "Hi", "k"), sendGridAuthed)
	_, err = s.WaitHeld(ctx)
	require.NoError(t, err)
	s.Release()
	require.Equal(t, http.StatusAccepted, (<-ch).status, "released: served normally")
	require.Len(t, s.Outbox(), 1)
	_, err = s.Inject(Fault{Kind: FaultStall, Op: OpLookup})
	require.Error(t, err)
}
