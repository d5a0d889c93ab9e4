package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"gopkg.in/yaml.v3"

	"github.com/dunwell/dunwell/internal/fakeprovider"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

const (
	hookToken  = "twilio-auth-token-for-tests"
	hookPublic = "https://dunwell.example.com/base"
)

// signalTemporal records signals; workflows in gone answer NotFound.
type signalTemporal struct {
	client.Client
	mu      sync.Mutex
	signals []recordedSignal
	gone    map[string]bool
}

type recordedSignal struct {
	workflowID, name string
	arg              any
}

func (f *signalTemporal) SignalWorkflow(_ context.Context, id, _, name string, arg any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gone[id] {
		return serviceerror.NewNotFound("workflow not found")
	}
	f.signals = append(f.signals, recordedSignal{id, name, arg})
	return nil
}

// DescribeWorkflowExecution tells a gone workflow (closed) from a running one.
func (f *signalTemporal) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	status := enums.WORKFLOW_EXECUTION_STATUS_RUNNING
	if f.gone[id] {
		status = enums.WORKFLOW_EXECUTION_STATUS_COMPLETED
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Status: status}}, nil
}

func (f *signalTemporal) take() []recordedSignal {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.signals
	f.signals = nil
	return out
}

type hookServer struct {
	*testServer
	signals *signalTemporal
	events  *eventSigner
}

type eventSigner struct{ k *ecdsa.PrivateKey }

func (e *eventSigner) key() *ecdsa.PrivateKey { return e.k }

func newHookServer(t *testing.T) *hookServer {
	t.Helper()
	key, pub, err := fakeprovider.NewEventKey()
	require.NoError(t, err)
	sgKey, err := NewSendGridKey(pub)
	require.NoError(t, err)
	st := &signalTemporal{gone: map[string]bool{}}
	srv := newTestServer(t, testStore, func(s *Server) {
		s.Temporal = st
		s.Delivery = &DeliveryWebhooks{PublicURL: hookPublic, TwilioAuthToken: hookToken, SendGridPublicKey: sgKey}
	})
	return &hookServer{testServer: srv, signals: st, events: &eventSigner{k: key}}
}

// twilio posts a form signed for the public URL (as Twilio calls it behind a proxy).
func (h *hookServer) twilio(t *testing.T, query string, form url.Values, sign func(string, url.Values) string) answer {
	t.Helper()
	path := "/v1/webhooks/twilio" + query
	req, err := http.NewRequest(http.MethodPost, h.URL+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sign == nil {
		sign = func(u string, f url.Values) string { return fakeprovider.TwilioSignature(hookToken, u, f) }
	}
	if sig := sign(hookPublic+path, form); sig != "" {
		req.Header.Set("X-Twilio-Signature", sig)
	}
	return do(t, req)
}

func (h *hookServer) sendgrid(t *testing.T, body string, ts time.Time, mutate func(*http.Request)) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.URL+"/v1/webhooks/sendgrid", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	stamp := strconv.FormatInt(ts.Unix(), 10)
	sig, err := fakeprovider.SendGridSignature(h.events.key(), stamp, []byte(body))
	require.NoError(t, err)
	req.Header.Set("X-Twilio-Email-Event-Webhook-Signature", sig)
	req.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", stamp)
	if mutate != nil {
		mutate(req)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{code: resp.StatusCode, header: resp.Header, body: b}
}

// sentNotice issues an invoice for customer and records a sent notice on channel.
func sentNotice(t *testing.T, customer, channel, address, providerID string) (invoiceID, key string) {
	t.Helper()
	ctx := context.Background()
	invoiceID = uid("INV")
	sum := sha256.Sum256([]byte(invoiceID))
	_, err := testStore.IssueInvoice(ctx, ledger.InvoiceRecord{InvoiceID: invoiceID, CustomerID: customer, Currency: "USD",
		AmountDue: 1000, IssuedAt: time.Now().UTC(), DueDate: "2026-12-01", PolicyID: "standard", BodySHA256: sum[:]})
	require.NoError(t, err)
	key = invoiceID + "/first-reminder/" + channel
	_, err = testStore.ClaimNotice(ctx, ledger.NoticeClaim{Key: key, InvoiceID: invoiceID, Step: "first-reminder", Channel: channel})
	require.NoError(t, err)
	require.NoError(t, testStore.RememberAddress(ctx, channel, address, customer))
	require.NoError(t, testStore.CompleteNotice(ctx, key, ledger.NoticeSent, providerID, "", time.Now().UTC()))
	return invoiceID, key
}

// sentSMS records an SMS notice sent to phone for a new customer and returns its
// message sid, its invoice, its notice key and the callback query that names the key.
func sentSMS(t *testing.T, phone string) (msid, invoiceID, key, query string) {
	t.Helper()
	msid = sid()
	invoiceID, key = sentNotice(t, uid("C"), "sms", phone, msid)
	return msid, invoiceID, key, "?notice_key=" + url.QueryEscape(key)
}

func sid() string { return fmt.Sprintf("SM%032x", time.Now().UnixNano()) }

func statusForm(sid, status, to string) url.Values {
	return url.Values{"MessageSid": {sid}, "MessageStatus": {status}, "SmsStatus": {status}, "To": {to},
		"From": {"+15005550006"}, "AccountSid": {"AC00000000000000000000000000000000"}}
}

func TestTwilioWebhookRefusesForgedAndMissingSignatures(t *testing.T) {
	t.Parallel()
	h := newHookServer(t)
	msid, _, key, q := sentSMS(t, "+14155550111")
	form := statusForm(msid, "undelivered", "+14155550111")

	for name, sign := range map[string]func(string, url.Values) string{
		"missing":     func(string, url.Values) string { return "" },
		"wrong token": func(u string, f url.Values) string { return fakeprovider.TwilioSignature("other", u, f) },
		"other url": func(_ string, f url.Values) string {
			return fakeprovider.TwilioSignature(hookToken, h.URL+"/v1/webhooks/twilio"+q, f)
		},
		"other params": func(u string, _ url.Values) string {
			return fakeprovider.TwilioSignature(hookToken, u, statusForm(msid, "delivered", "+1"))
		},
		"garbage": func(string, url.Values) string { return "!!!" },
		"query dropped": func(_ string, f url.Values) string {
			return fakeprovider.TwilioSignature(hookToken, hookPublic+"/v1/webhooks/twilio", f)
		},
	} {
		a := h.twilio(t, q, form, sign)
		require.Equal(t, http.StatusUnauthorized, a.code, name)
		require.NotEmpty(t, a.errorText(t), name)
	}
	_, err := testStore.GetDelivery(context.Background(), key)
	require.ErrorIs(t, err, ledger.ErrNotFound, "nothing was stored")
	require.Empty(t, h.signals.take())

	// Not configured: 503, fail closed.
	bare := newTestServer(t, testStore)
	a := call(t, bare, http.MethodPost, "/v1/webhooks/twilio", form.Encode())
	require.Equal(t, http.StatusServiceUnavailable, a.code)
	a = call(t, bare, http.MethodPost, "/v1/webhooks/sendgrid", "[]")
	require.Equal(t, http.StatusServiceUnavailable, a.code)
}

func TestTwilioStatusCallbacksRecordDeliveryAndSignal(t *testing.T) {
	t.Parallel()
	h := newHookServer(t)
	msid, inv, key, q := sentSMS(t, "+14155550112")

	a := h.twilio(t, q, statusForm(msid, "sent", "+14155550112"), nil)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.Empty(t, h.signals.take(), "a non-final status is not signalled")

	form := statusForm(msid, "undelivered", "+14155550112")
	form.Set("ErrorCode", "30003")
	a = h.twilio(t, q, form, nil)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.JSONEq(t, `{"status":"recorded"}`, string(a.body))
	d, err := testStore.GetDelivery(context.Background(), key)
	require.NoError(t, err)
	require.Equal(t, ledger.DeliveryUndelivered, d.Status)
	require.Equal(t, "twilio error 30003", d.Error)
	sigs := h.signals.take()
	require.Len(t, sigs, 1)
	require.Equal(t, invoiceapi.WorkflowID(inv), sigs[0].workflowID)
	require.Equal(t, invoiceapi.SignalDelivery, sigs[0].name)
	in := sigs[0].arg.(invoiceapi.DeliveryInput)
	require.Equal(t, key, in.NoticeKey)
	require.Equal(t, "undelivered", in.Status)

	// A retry of the same callback is signalled again (the first signal may have
	// been lost), a later "delivered" never overrides the final failure.
	a = h.twilio(t, q, form, nil)
	require.JSONEq(t, `{"status":"unchanged"}`, string(a.body))
	require.Len(t, h.signals.take(), 1)
	a = h.twilio(t, q, statusForm(msid, "delivered", "+14155550112"), nil)
	require.Equal(t, http.StatusOK, a.code)
	require.Contains(t, string(a.body), `"ignored"`)
	require.Empty(t, h.signals.take())

	// Without notice_key the message sid finds the notice; an unknown sid is ignored.
	msid2, _, key2, _ := sentSMS(t, "+14155550113")
	a = h.twilio(t, "", statusForm(msid2, "delivered", "+14155550113"), nil)
	require.JSONEq(t, `{"status":"recorded"}`, string(a.body))
	d, err = testStore.GetDelivery(context.Background(), key2)
	require.NoError(t, err)
	require.Equal(t, ledger.DeliveryDelivered, d.Status)
	a = h.twilio(t, "", statusForm(sid(), "delivered", "+1"), nil)
	require.Equal(t, http.StatusOK, a.code)
	require.Contains(t, string(a.body), "ignored")

	// Bad input names the field.
	a = h.twilio(t, "", statusForm("nope", "delivered", "+1"), nil)
	require.Equal(t, http.StatusBadRequest, a.code)
	require.Contains(t, string(a.body), "MessageSid")
	a = h.twilio(t, "?notice_key=bad", statusForm(sid(), "delivered", "+1"), nil)
	require.Equal(t, http.StatusBadRequest, a.code)
	require.Contains(t, string(a.body), "notice_key")
}

func TestTwilioStopStartHelp(t *testing.T) {
	t.Parallel()
	h := newHookServer(t)
	ctx := context.Background()
	customer, phone := uid("C"), "+14155550114"
	inv1, _ := sentNotice(t, customer, "sms", phone, sid())
	inv2, _ := sentNotice(t, customer, "email", "x@example.com", "sg-1")
	closed, _ := sentNotice(t, customer, "email", "x@example.com", "sg-2")
	require.NoError(t, testStore.SetInvoiceStatus(ctx, closed, ledger.StatusPaid, 0, time.Now().UTC()))
	h.signals.gone[invoiceapi.WorkflowID(inv2)] = true // a workflow already gone is skipped

	inbound := func(body string, extra ...string) answer {
		f := url.Values{"MessageSid": {sid()}, "From": {phone}, "To": {"+15005550006"}, "Body": {body}, "SmsStatus": {"received"}}
		for i := 0; i < len(extra); i += 2 {
			f.Set(extra[i], extra[i+1])
		}
		return h.twilio(t, "", f, nil)
	}
	a := inbound(" Stop. ")
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.Contains(t, a.header.Get("Content-Type"), "text/xml")
	require.Contains(t, string(a.body), "<Response>")
	o, out, err := testStore.OptedOut(ctx, ledger.ChannelSMS, phone)
	require.NoError(t, err)
	require.True(t, out)
	require.Equal(t, ledger.SourceStop, o.Source)
	sigs := h.signals.take()
	require.Len(t, sigs, 1, "the customer's open invoices are told; closed and gone ones are not")
	require.Equal(t, invoiceapi.WorkflowID(inv1), sigs[0].workflowID)
	require.Equal(t, invoiceapi.SignalOptOut, sigs[0].name)
	require.Equal(t, invoiceapi.OptOutInput{Channel: "sms", Address: phone, Source: "stop"}, sigs[0].arg)

	for _, body := range []string{"HELP", "info", "stop please", "Thanks!"} {
		a = inbound(body)
		require.Equal(t, http.StatusOK, a.code)
	}
	_, out, _ = testStore.OptedOut(ctx, ledger.ChannelSMS, phone)
	require.True(t, out, "HELP and other texts change nothing")
	require.Empty(t, h.signals.take())

	a = inbound("yes")
	require.Equal(t, http.StatusOK, a.code)
	_, out, _ = testStore.OptedOut(ctx, ledger.ChannelSMS, phone)
	require.False(t, out, "YES opts back in")
	a = inbound("whatever", "OptOutType", "STOP") // Advanced Opt-Out names the class
	require.Equal(t, http.StatusOK, a.code)
	_, out, _ = testStore.OptedOut(ctx, ledger.ChannelSMS, phone)
	require.True(t, out)

	a = h.twilio(t, "", url.Values{"MessageSid": {sid()}, "From": {"555"}, "Body": {"STOP"}}, nil)
	require.Equal(t, http.StatusBadRequest, a.code)
	require.Contains(t, string(a.body), `"From"`)
}

func TestSendGridEventsRecordBouncesAndOptOuts(t *testing.T) {
	t.Parallel()
	h := newHookServer(t)
	ctx := context.Background()
	customer := uid("C")
	email := strings.ToLower(uid("ada")) + "@example.com"
	inv, key := sentNotice(t, customer, "email", email, "sg-x")
	now := time.Now()

	events := fmt.Sprintf(`[
		{"event":"processed","email":%q,"timestamp":%d,"sg_event_id":"e1","notice_key":%q,"invoice_id":%q},
		{"event":"bounce","type":"bounce","email":%q,"timestamp":%d,"sg_event_id":"e2","notice_key":%q,"invoice_id":%q},
		"not an object",
		{"event":"open","email":%q,"timestamp":%d,"sg_event_id":"e3"}
	]`, email, now.Unix(), key, inv, email, now.Unix(), key, inv, email, now.Unix())
	a := h.sendgrid(t, events, now, nil)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	var res sendGridResult
	require.NoError(t, json.Unmarshal(a.body, &res))
	require.Equal(t, sendGridResult{Events: 4, Applied: 1, Ignored: 2, Skipped: 1}, res)

	d, err := testStore.GetDelivery(ctx, key)
	require.NoError(t, err)
	require.Equal(t, ledger.DeliveryBounced, d.Status)
	o, out, err := testStore.OptedOut(ctx, ledger.ChannelEmail, strings.ToUpper(email))
	require.NoError(t, err)
	require.True(t, out, "a hard bounce opts the address out")
	require.Equal(t, ledger.SourceBounce, o.Source)
	require.Equal(t, customer, o.CustomerID)
	sigs := h.signals.take()
	require.Len(t, sigs, 2)
	require.Equal(t, invoiceapi.SignalDelivery, sigs[0].name)
	require.Equal(t, "bounced", sigs[0].arg.(invoiceapi.DeliveryInput).Status)
	require.Equal(t, invoiceapi.SignalOptOut, sigs[1].name)
	require.Equal(t, invoiceapi.OptOutInput{Channel: "email", Address: email, Source: "bounce"}, sigs[1].arg)

	// The same batch again (SendGrid retries): idempotent.
	a = h.sendgrid(t, events, now, nil)
	require.Equal(t, http.StatusOK, a.code)
	d2, err := testStore.GetDelivery(ctx, key)
	require.NoError(t, err)
	require.Equal(t, d.UpdatedAt, d2.UpdatedAt)
	h.signals.take()

	// Resubscribe, then an unsubscribe for another address of the customer by invoice id.
	a = h.sendgrid(t, fmt.Sprintf(`[{"event":"group_resubscribe","email":%q,"timestamp":%d,"sg_event_id":"e4"}]`, email, now.Unix()+1), now, nil)
	require.Equal(t, http.StatusOK, a.code)
	_, out, _ = testStore.OptedOut(ctx, ledger.ChannelEmail, email)
	require.False(t, out)
	other := strings.ToLower(uid("bob")) + "@example.com"
	a = h.sendgrid(t, fmt.Sprintf(`[{"event":"spamreport","email":%q,"timestamp":%d,"sg_event_id":"e5","invoice_id":%q}]`, other, now.Unix(), inv), now, nil)
	require.Equal(t, http.StatusOK, a.code)
	o, out, _ = testStore.OptedOut(ctx, ledger.ChannelEmail, other)
	require.True(t, out)
	require.Equal(t, customer, o.CustomerID)
	require.Equal(t, ledger.SourceSpamReport, o.Source)
}

func TestSendGridWebhookRefusesForgedStaleAndMalformed(t *testing.T) {
	t.Parallel()
	h := newHookServer(t)
	email := strings.ToLower(uid("eve")) + "@example.com"
	body := fmt.Sprintf(`[{"event":"unsubscribe","email":%q,"timestamp":%d,"sg_event_id":"x1"}]`, email, time.Now().Unix())
	now := time.Now()
	cases := map[string]func(*http.Request){
		"no signature": func(r *http.Request) { r.Header.Del("X-Twilio-Email-Event-Webhook-Signature") },
		"no timestamp": func(r *http.Request) { r.Header.Del("X-Twilio-Email-Event-Webhook-Timestamp") },
		"other timestamp": func(r *http.Request) {
			r.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", strconv.FormatInt(now.Unix()+1, 10))
		},
		"garbage signature": func(r *http.Request) { r.Header.Set("X-Twilio-Email-Event-Webhook-Signature", "bm9wZQ==") },
		"not base64":        func(r *http.Request) { r.Header.Set("X-Twilio-Email-Event-Webhook-Signature", "%%%") },
	}
	for name, mutate := range cases {
		a := h.sendgrid(t, body, now, mutate)
		require.Equal(t, http.StatusUnauthorized, a.code, name)
		require.NotEmpty(t, a.errorText(t))
	}
	// Signed by another key.
	other := newHookServer(t)
	req, _ := http.NewRequest(http.MethodPost, h.URL+"/v1/webhooks/sendgrid", strings.NewReader(body))
	stamp := strconv.FormatInt(now.Unix(), 10)
	sig, _ := fakeprovider.SendGridSignature(other.events.key(), stamp, []byte(body))
	req.Header.Set("X-Twilio-Email-Event-Webhook-Signature", sig)
	req.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", stamp)
	require.Equal(t, http.StatusUnauthorized, do(t, req).code)
	// Stale and future timestamps, correctly signed.
	require.Equal(t, http.StatusUnauthorized, h.sendgrid(t, body, now.Add(-80*time.Hour), nil).code)
	require.Equal(t, http.StatusUnauthorized, h.sendgrid(t, body, now.Add(time.Hour), nil).code)
	_, out, err := testStore.OptedOut(context.Background(), ledger.ChannelEmail, email)
	require.NoError(t, err)
	require.False(t, out, "nothing changed")

	a := h.sendgrid(t, `{"event":"bounce"}`, now, nil)
	require.Equal(t, http.StatusBadRequest, a.code)
	require.NotEmpty(t, a.errorText(t))
}

func TestSendGridDropsOptOutOnlySuppressedAddresses(t *testing.T) {
	t.Parallel()
	h := newHookServer(t)
	ctx := context.Background()
	now := time.Now()
	suppressed, other := strings.ToLower(uid("sup"))+"@example.com", strings.ToLower(uid("hdr"))+"@example.com"
	_, key := sentNotice(t, uid("C"), "email", other, "sg-y")
	a := h.sendgrid(t, fmt.Sprintf(`[
		{"event":"dropped","reason":"Bounced Address","email":%q,"timestamp":%d,"sg_event_id":"d1"},
		{"event":"dropped","reason":"Invalid SMTPAPI header","email":%q,"timestamp":%d,"sg_event_id":"d2","notice_key":%q}
	]`, suppressed, now.Unix(), other, now.Unix(), key), now, nil)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	_, out, err := testStore.OptedOut(ctx, ledger.ChannelEmail, suppressed)
	require.NoError(t, err)
	require.True(t, out)
	_, out, err = testStore.OptedOut(ctx, ledger.ChannelEmail, other)
	require.NoError(t, err)
	require.False(t, out, "a drop about the request is not about the address")
	d, err := testStore.GetDelivery(ctx, key)
	require.NoError(t, err)
	require.Equal(t, ledger.DeliveryDropped, d.Status)
}

func TestOpenAPIDocumentsTheDeliveryWebhooks(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("openapi.yaml")
	require.NoError(t, err)
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal(data, &doc))
	require.Contains(t, doc.Paths["/v1/webhooks/twilio"], "post")
	require.Contains(t, doc.Paths["/v1/webhooks/sendgrid"], "post")
}

// A status callback of one SMS about several invoices names the customer's message: it
// is recorded on each covered invoice's notice and each invoice's workflow hears of it,
// so a failure falls back per invoice. An unknown message is ignored.
func TestTwilioStatusCallbackOfAMessageReachesEveryInvoice(t *testing.T) {
	t.Parallel()
	h := newHookServer(t)
	ctx := context.Background()
	customer, phone, msid := uid("C"), "+14155550197", sid()
	var invoices []string
	claim := ledger.MessageClaim{CustomerID: customer, Channel: "sms", WindowDay: "2026-12-07"}
	claim.Key = customer + "/sms/2026-12-07/0a1b2c3d4e5f"
	for range 2 {
		id := uid("INV")
		sum := sha256.Sum256([]byte(id))
		_, err := testStore.IssueInvoice(ctx, ledger.InvoiceRecord{InvoiceID: id, CustomerID: customer, Currency: "USD",
			AmountDue: 1000, IssuedAt: time.Now().UTC(), DueDate: "2026-12-01", PolicyID: "demo", BodySHA256: sum[:]})
		require.NoError(t, err)
		invoices = append(invoices, id)
		claim.Lines = append(claim.Lines, ledger.MessageLine{InvoiceID: id, Step: "second-reminder"})
	}
	m, err := testStore.ClaimMessage(ctx, claim)
	require.NoError(t, err)
	require.Len(t, m.Covered, 2)
	require.NoError(t, testStore.RememberAddress(ctx, "sms", phone, customer))
	require.NoError(t, testStore.CompleteMessage(ctx, claim.Key, ledger.MessageSent, msid, "", time.Now().UTC()))

	form := statusForm(msid, "undelivered", phone)
	form.Set("ErrorCode", "30003")
	a := h.twilio(t, "?notice_key="+url.QueryEscape(claim.Key), form, nil)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.JSONEq(t, `{"status":"recorded"}`, string(a.body))
	sigs := h.signals.take()
	require.Len(t, sigs, 2, "one delivery signal per covered invoice")
	for i, id := range invoices {
		key := id + "/second-reminder/sms"
		d, err := testStore.GetDelivery(ctx, key)
		require.NoError(t, err)
		require.Equal(t, ledger.DeliveryUndelivered, d.Status)
		require.Contains(t, []string{sigs[0].workflowID, sigs[1].workflowID}, invoiceapi.WorkflowID(id), "invoice %d", i)
	}

	a = h.twilio(t, "?notice_key="+url.QueryEscape(customer+"/sms/2026-12-07/ffff"), statusForm(sid(), "delivered", phone), nil)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.Contains(t, string(a.body), "unknown message")
	a = h.twilio(t, "?notice_key="+url.QueryEscape(customer+"/email/2026-12-07/ffff"), statusForm(sid(), "delivered", phone), nil)
	require.Equal(t, http.StatusBadRequest, a.code, "an email message's key on an SMS callback")
}
