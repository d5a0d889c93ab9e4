package fakeprovider

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFaultsFromGo(t *testing.T) {
	t.Parallel()
	s, base := newTestServer(t, Options{})
	ctx := testCtx(t)

	_, err := s.Inject(Fault{Kind: FaultRateLimit, Provider: Twilio, To: "+15550000001", Count: 2, RetryAfter: 7})
	require.NoError(t, err)
	_, err = s.Inject(Fault{Kind: FaultUnavailable, Provider: SendGrid})
	require.NoError(t, err)
	_, err = s.Inject(Fault{Kind: FaultServerError})
	require.NoError(t, err)

	// Another recipient is not affected by the To-restricted fault but takes the
	// provider-wide server error.
	resp := postSMS(t, ctx, base, smsForm("+15550000002", "x"))
	require.Equal(t, 500, resp.status)
	require.Contains(t, resp.body, `"code":20500`)

	for range 2 {
		resp = postSMS(t, ctx, base, smsForm("+15550000001", "x"))
		require.Equal(t, 429, resp.status)
		require.Equal(t, "7", resp.header.Get("Retry-After"))
		require.Contains(t, resp.body, `"code":20429`)
	}
	require.Equal(t, 201, postSMS(t, ctx, base, smsForm("+15550000001", "x")).status)

	resp = postMail(t, ctx, base, mailJSON("a@example.com", "s", "k"))
	require.Equal(t, 503, resp.status)
	require.Contains(t, resp.body, `"errors"`)
	require.Equal(t, 202, postMail(t, ctx, base, mailJSON("a@example.com", "s", "k")).status)
	require.Empty(t, s.Faults())

	_, err = s.Inject(Fault{Kind: FaultInvalidRecipient, Provider: SendGrid})
	require.NoError(t, err)
	resp = postMail(t, ctx, base, mailJSON("a@example.com", "s", "k"))
	require.Equal(t, 400, resp.status)
	require.Contains(t, resp.body, "personalizations.0.to.0.email")

	_, err = s.Inject(Fault{Kind: FaultRateLimit, Op: OpLookup, Provider: SendGrid})
	require.NoError(t, err)
	resp = do(t, ctx, http.MethodGet, base+"/v3/messages", nil, sendGridAuthed)
	require.Equal(t, 429, resp.status)
	require.NotEmpty(t, resp.header.Get("X-RateLimit-Reset"))

	for _, bad := range []Fault{{Kind: "explode"}, {Kind: FaultHold, Provider: "mailgun"}, {Kind: FaultHold, Op: "delete"},
		{Kind: FaultInvalidRecipient, Op: OpLookup}, {Kind: FaultHold, Count: -1}} {
		_, err := s.Inject(bad)
		require.Error(t, err, bad)
	}
	require.Len(t, s.Outbox(), 2, "failed requests are not recorded")
}

func TestHoldRecordsBeforeResponding(t *testing.T) {
	t.Parallel()
	s, base := newTestServer(t, Options{})
	ctx := testCtx(t)
	require.NoError(t, s.Hold(Twilio, "+15550000009"))

	done := async(ctx, http.MethodPost, base+twilioPath, smsForm("+15550000009", "held").Encode(), twilioAuthed)

	held, err := s.WaitHeld(ctx)
	require.NoError(t, err)
	require.Equal(t, "+15550000009", held.To)
	// The provider has the message while the client is still waiting.
	out := s.OutboxFor("+15550000009")
	require.Len(t, out, 1)
	require.Equal(t, held.ID, out[0].ID)
	require.Len(t, s.Held(), 1)

	require.Equal(t, 1, s.Release())
	resp := <-done
	require.Equal(t, 201, resp.status)
	require.Contains(t, resp.body, held.ID)
	require.Empty(t, s.Held())
}

func TestHoldSurvivesClientGoingAway(t *testing.T) {
	t.Parallel()
	s, base := newTestServer(t, Options{})
	ctx := testCtx(t)
	require.NoError(t, s.Hold(SendGrid, ""))

	clientCtx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(clientCtx, http.MethodPost, base+"/v3/mail/send", strings.NewReader(mailJSON("a@example.com", "s", "k")))
		sendGridAuthed(req)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	_, err := s.WaitHeld(ctx)
	require.NoError(t, err)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)

	// The server notices the disconnect and stops holding; the message stays.
	require.Eventually(t, func() bool { return len(s.Held()) == 0 }, testWait, testTick)
	require.Len(t, s.Outbox(), 1)
}

func TestWaitHeldHonoursContext(t *testing.T) {
	t.Parallel()
	s := New(Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.WaitHeld(ctx)
	require.ErrorIs(t, err, context.Canceled)
}

func TestCloseReleasesAndStopsHolding(t *testing.T) {
	t.Parallel()
	s, base := newTestServer(t, Options{})
	ctx := testCtx(t)
	require.NoError(t, s.Hold("", ""))
	done := async(ctx, http.MethodPost, base+"/v3/mail/send", mailJSON("a@example.com", "s", "k"), sendGridAuthed)
	_, err := s.WaitHeld(ctx)
	require.NoError(t, err)
	s.Close()
	require.Equal(t, 202, (<-done).status)

	require.NoError(t, s.Hold("", ""))
	require.Equal(t, 202, postMail(t, ctx, base, mailJSON("a@example.com", "s", "k")).status, "a closed server holds nothing")
}

func TestControlAPI(t *testing.T) {
	t.Parallel()
	s, base := newTestServer(t, Options{})
	ctx := testCtx(t)
	ctl := func(method, path, body string) response {
		var r *strings.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		if r == nil {
			return do(t, ctx, method, base+path, nil, nil)
		}
		return do(t, ctx, method, base+path, r, nil)
	}

	resp := ctl(http.MethodPost, "/_fake/faults", `{"kind":"rate_limit","provider":"sendgrid","to":"a@example.com","retry_after":3}`)
	require.Equal(t, 201, resp.status, resp.body)
	var f Fault
	resp.json(t, &f)
	require.Equal(t, 1, f.Count)
	require.Equal(t, OpSend, f.Op)
	require.NotZero(t, f.ID)
	require.Contains(t, ctl(http.MethodGet, "/_fake/faults", "").body, `"rate_limit"`)
	resp = postMail(t, ctx, base, mailJSON("a@example.com", "s", "k"))
	require.Equal(t, 429, resp.status)
	require.Equal(t, "3", resp.header.Get("Retry-After"))

	require.Equal(t, 400, ctl(http.MethodPost, "/_fake/faults", `{"kind":"meteor"}`).status)
	require.Equal(t, 400, ctl(http.MethodPost, "/_fake/faults", `{`).status)
	require.Equal(t, 201, ctl(http.MethodPost, "/_fake/faults", `{"kind":"server_error"}`).status)
	require.Equal(t, 204, ctl(http.MethodDelete, "/_fake/faults", "").status)
	require.Empty(t, s.Faults())

	resp = ctl(http.MethodPut, "/_fake/recipients", `{"invalid":["+15005550001"],"bounce":["B@example.com"]}`)
	require.Equal(t, 200, resp.status, resp.body)
	require.JSONEq(t, `{"invalid":["+15005550001"],"bounce":["b@example.com"]}`, resp.body)
	require.Equal(t, 400, postSMS(t, ctx, base, smsForm("+15005550001", "x")).status)
	require.Equal(t, 400, ctl(http.MethodPut, "/_fake/recipients", `[]`).status)

	require.Equal(t, 202, postMail(t, ctx, base, mailJSON("b@example.com", "s", "k")).status)
	require.Equal(t, 201, postSMS(t, ctx, base, smsForm("+15550000001", "x")).status)
	var out struct{ Messages []Message }
	ctl(http.MethodGet, "/_fake/outbox", "").json(t, &out)
	require.Len(t, out.Messages, 2)
	require.Equal(t, StatusNotDelivered, out.Messages[0].Status)
	ctl(http.MethodGet, "/_fake/outbox?"+url.Values{"to": {"+15550000001"}}.Encode(), "").json(t, &out)
	require.Len(t, out.Messages, 1)
	ctl(http.MethodGet, "/_fake/outbox?provider=sendgrid", "").json(t, &out)
	require.Len(t, out.Messages, 1)
	require.Equal(t, SendGrid, out.Messages[0].Provider)

	// Hold over HTTP: inject, wait (long poll), inspect, release.
	require.Equal(t, 201, ctl(http.MethodPost, "/_fake/faults", `{"kind":"hold","provider":"twilio"}`).status)
	done := async(ctx, http.MethodPost, base+twilioPath, smsForm("+15550000002", "held").Encode(), twilioAuthed)
	resp = ctl(http.MethodGet, "/_fake/held/wait?timeout=20s", "")
	require.Equal(t, 200, resp.status, resp.body)
	var held Message
	resp.json(t, &held)
	require.Equal(t, "+15550000002", held.To)
	require.Contains(t, ctl(http.MethodGet, "/_fake/held", "").body, held.ID)
	require.JSONEq(t, `{"released":1}`, ctl(http.MethodPost, "/_fake/release", "").body)
	require.Equal(t, 201, (<-done).status)
	require.Equal(t, 400, ctl(http.MethodGet, "/_fake/held/wait?timeout=forever", "").status)

	require.Equal(t, 204, ctl(http.MethodDelete, "/_fake/outbox", "").status)
	require.Empty(t, s.Outbox())
	require.Equal(t, 201, postSMS(t, ctx, base, smsForm("+15550000003", "x")).status)
	require.Equal(t, 204, ctl(http.MethodPost, "/_fake/reset", "").status)
	require.Empty(t, s.Outbox())
	invalid, bounce := s.Recipients()
	require.Empty(t, invalid)
	require.Empty(t, bounce)
	require.JSONEq(t, `{"invalid":[],"bounce":[]}`, ctl(http.MethodGet, "/_fake/recipients", "").body)
	require.Equal(t, http.StatusMethodNotAllowed, ctl(http.MethodPatch, "/_fake/outbox", "").status)
}

func TestWaitHeldOverHTTPTimesOut(t *testing.T) {
	t.Parallel()
	_, base := newTestServer(t, Options{})
	resp := do(t, testCtx(t), http.MethodGet, base+"/_fake/held/wait?timeout=1ms", nil, nil)
	require.Equal(t, http.StatusGatewayTimeout, resp.status)
	require.Contains(t, resp.body, "deadline")
}

func TestOutboxPageEscapes(t *testing.T) {
	t.Parallel()
	_, base := newTestServer(t, Options{})
	ctx := testCtx(t)
	empty := do(t, ctx, http.MethodGet, base+"/", nil, nil)
	require.Equal(t, 200, empty.status)
	require.Contains(t, empty.body, "Nothing sent yet")

	require.Equal(t, 202, postMail(t, ctx, base, mailJSON("a@example.com", `<script>alert("x")</script>`, `k"><img src=x>`)).status)
	require.Equal(t, 201, postSMS(t, ctx, base, smsForm("+15550000001", "<b>bold</b> & more")).status)
	resp := do(t, ctx, http.MethodGet, base+"/", nil, nil)
	require.Equal(t, 200, resp.status)
	require.Equal(t, "text/html; charset=utf-8", resp.header.Get("Content-Type"))
	require.NotContains(t, resp.body, "<script>")
	require.NotContains(t, resp.body, "<img")
	require.NotContains(t, resp.body, "<b>bold")
	require.Contains(t, resp.body, "&lt;script&gt;")
	require.Contains(t, resp.body, "&lt;b&gt;bold&lt;/b&gt; &amp; more")
	require.Equal(t, 404, do(t, ctx, http.MethodGet, base+"/nope", nil, nil).status)
}

func TestStartAndShutdown(t *testing.T) {
	t.Parallel()
	s, base, err := Start("127.0.0.1:0", Options{})
	require.NoError(t, err)
	ctx := testCtx(t)
	require.Equal(t, 202, postMail(t, ctx, base, mailJSON("a@example.com", "s", "k")).status)
	require.NoError(t, s.Shutdown(ctx))
	_, err = http.Get(base + "/")
	require.Error(t, err)

	_, _, err = Start("256.0.0.1:bad", Options{})
	require.Error(t, err)
	require.False(t, errors.Is(err, context.Canceled))
}
