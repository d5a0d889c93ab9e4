package notify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/internal/fakeprovider"
	"github.com/dunwell/dunwell/notify"
)

func TestSendSMSLandsInOutbox(t *testing.T) {
	t.Parallel()
	fp, base := newFake(t, fakeprovider.Options{})
	tw := newTwilio(t, base, func(c *notify.TwilioConfig) { c.StatusCallbackURL = "https://dunwell.test/twilio/status" })

	r, err := tw.SendSMS(testCtx(t), notify.SMS{Key: "INV-7/first/sms", To: "+15551234567", Body: "INV-7 is overdue: pay at https://pay.test/7"})
	require.NoError(t, err)
	require.Regexp(t, `^SM[0-9a-f]{32}$`, r.ProviderID)
	require.Equal(t, "queued", r.Status)

	out := fp.Outbox()
	require.Len(t, out, 1)
	m := out[0]
	require.Equal(t, fakeprovider.Twilio, m.Provider)
	require.Equal(t, r.ProviderID, m.ID)
	require.Equal(t, testAccount, m.AccountSID)
	require.Equal(t, "+15551234567", m.To)
	require.Equal(t, fromNumber, m.From)
	require.Equal(t, "INV-7 is overdue: pay at https://pay.test/7", m.Text)
	require.Equal(t, "https://dunwell.test/twilio/status?notice_key=INV-7%2Ffirst%2Fsms", m.StatusCallback)
}

func TestFindSMS(t *testing.T) {
	t.Parallel()
	_, base := newFake(t, fakeprovider.Options{})
	tw := newTwilio(t, base)
	ctx := testCtx(t)
	before := time.Now().Add(-time.Minute)
	msg := notify.SMS{Key: "INV-7/first/sms", To: "+15551234567", Body: "INV-7 is overdue. Reply STOP to opt out. 1.50 USD"}

	sent, err := tw.SendSMS(ctx, msg)
	require.NoError(t, err)
	_, err = tw.SendSMS(ctx, notify.SMS{To: "+15557654321", Body: msg.Body})
	require.NoError(t, err)

	got, found, err := tw.FindSMS(ctx, msg, before)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, sent.ProviderID, got.ProviderID)

	for name, probe := range map[string]notify.SMS{
		"other body":      {To: msg.To, Body: msg.Body + "!"},
		"other recipient": {To: "+15550000000", Body: msg.Body},
	} {
		_, found, err := tw.FindSMS(ctx, probe, before)
		require.NoError(t, err, name)
		require.False(t, found, name)
	}
	_, found, err = tw.FindSMS(ctx, msg, time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.False(t, found, "sent before since")

	// Another sender's identical message is not ours.
	other := newTwilio(t, base, func(c *notify.TwilioConfig) { c.FromNumber = "+15005550007" })
	_, found, err = other.FindSMS(ctx, msg, before)
	require.NoError(t, err)
	require.False(t, found)
}

func TestSMSThroughMessagingService(t *testing.T) {
	t.Parallel()
	fp, base := newFake(t, fakeprovider.Options{})
	tw := newTwilio(t, base, func(c *notify.TwilioConfig) { c.FromNumber, c.MessagingServiceSID = "", testService })
	ctx := testCtx(t)
	msg := notify.SMS{To: "+15551234567", Body: "hello"}

	r, err := tw.SendSMS(ctx, msg)
	require.NoError(t, err)
	require.Equal(t, "accepted", r.Status)
	require.Equal(t, testService, fp.Outbox()[0].MessagingServiceSID)
	require.Empty(t, fp.Outbox()[0].From)

	got, found, err := tw.FindSMS(ctx, msg, time.Time{})
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, r.ProviderID, got.ProviderID)

	// A message from a plain number is not the service's.
	_, err = newTwilio(t, base).SendSMS(ctx, notify.SMS{To: "+15557777777", Body: "hello"})
	require.NoError(t, err)
	_, found, err = tw.FindSMS(ctx, notify.SMS{To: "+15557777777", Body: "hello"}, time.Time{})
	require.NoError(t, err)
	require.False(t, found)
}

func TestSendSMSErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		fault      *fakeprovider.Fault
		opts       fakeprovider.Options
		to         string
		token      string
		kind       notify.Kind
		status     int
		code       int
		retryAfter time.Duration
	}{
		{name: "rate limited", fault: &fakeprovider.Fault{Kind: fakeprovider.FaultRateLimit, RetryAfter: 9}, kind: notify.KindTransient, status: 429, code: 20429, retryAfter: 9 * time.Second},
		{name: "server error", fault: &fakeprovider.Fault{Kind: fakeprovider.FaultServerError}, kind: notify.KindTransient, status: 500, code: 20500},
		{name: "unavailable", fault: &fakeprovider.Fault{Kind: fakeprovider.FaultUnavailable}, kind: notify.KindTransient, status: 503, code: 20503},
		{name: "invalid recipient fault", fault: &fakeprovider.Fault{Kind: fakeprovider.FaultInvalidRecipient, To: "+15551234567"}, kind: notify.KindRecipientInvalid, status: 400, code: 21211},
		{name: "not E.164", to: "5551234567", kind: notify.KindRecipientInvalid, status: 400, code: 21211},
		{name: "configured invalid", to: "+15005550001", opts: fakeprovider.Options{Invalid: []string{"+15005550001"}}, kind: notify.KindRecipientInvalid, status: 400, code: 21211},
		{name: "wrong token", token: "wrong", kind: notify.KindConfig, status: 401, code: 20003},
		{name: "to is from", to: fromNumber, kind: notify.KindBadRequest, status: 400, code: 21266},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fp, base := newFake(t, tc.opts)
			if tc.fault != nil {
				_, err := fp.Inject(*tc.fault)
				require.NoError(t, err)
			}
			tw := newTwilio(t, base, func(c *notify.TwilioConfig) {
				if tc.token != "" {
					c.AuthToken = tc.token
				}
			})
			to := "+15551234567"
			if tc.to != "" {
				to = tc.to
			}
			_, err := tw.SendSMS(testCtx(t), notify.SMS{Key: "k", To: to, Body: "hello"})
			e := requireKind(t, err, tc.kind)
			require.Equal(t, notify.ProviderTwilio, e.Provider)
			require.Equal(t, tc.status, e.StatusCode)
			require.Equal(t, tc.code, e.Code)
			require.Equal(t, tc.retryAfter, notify.RetryAfter(err))
			require.Empty(t, fp.Outbox())
		})
	}
}

func TestSendSMSTimeoutIsTransientAndReconcilable(t *testing.T) {
	t.Parallel()
	fp, base := newFake(t, fakeprovider.Options{})
	require.NoError(t, fp.Hold(fakeprovider.Twilio, "+15551234567"))
	ctx := testCtx(t)
	msg := notify.SMS{Key: "INV-7/first/sms", To: "+15551234567", Body: "INV-7 is overdue."}

	short := newTwilio(t, base, func(c *notify.TwilioConfig) { c.Timeout = 50 * time.Millisecond })
	_, err := short.SendSMS(ctx, msg)
	requireKind(t, err, notify.KindTransient)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	got, found, err := newTwilio(t, base).FindSMS(ctx, msg, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, fp.Outbox()[0].ID, got.ProviderID)
}

func TestSendSMSHoldThenRelease(t *testing.T) {
	t.Parallel()
	fp, base := newFake(t, fakeprovider.Options{})
	require.NoError(t, fp.Hold(fakeprovider.Twilio, ""))
	tw := newTwilio(t, base)
	ctx := testCtx(t)
	msg := notify.SMS{To: "+15551234567", Body: "held"}

	type result struct {
		r   notify.Receipt
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := tw.SendSMS(ctx, msg)
		done <- result{r, err}
	}()
	held, err := fp.WaitHeld(ctx)
	require.NoError(t, err)

	got, found, err := tw.FindSMS(ctx, msg, time.Time{})
	require.NoError(t, err)
	require.True(t, found, "recorded before the response")
	require.Equal(t, held.ID, got.ProviderID)

	fp.Release()
	res := <-done
	require.NoError(t, res.err)
	require.Equal(t, held.ID, res.r.ProviderID)
}

func TestSendSMSCallerCancellationPropagates(t *testing.T) {
	t.Parallel()
	fp, base := newFake(t, fakeprovider.Options{})
	require.NoError(t, fp.Hold("", ""))
	tw := newTwilio(t, base)
	ctx, cancel := context.WithCancel(testCtx(t))
	errc := make(chan error, 1)
	go func() {
		_, err := tw.SendSMS(ctx, notify.SMS{To: "+15551234567", Body: "x"})
		errc <- err
	}()
	_, err := fp.WaitHeld(testCtx(t))
	require.NoError(t, err)
	cancel()
	err = <-errc
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, notify.KindOf(err))
}

func TestFindSMSLookupFault(t *testing.T) {
	t.Parallel()
	fp, base := newFake(t, fakeprovider.Options{})
	_, err := fp.Inject(fakeprovider.Fault{Kind: fakeprovider.FaultRateLimit, Op: fakeprovider.OpLookup, RetryAfter: 2})
	require.NoError(t, err)
	_, _, err = newTwilio(t, base).FindSMS(testCtx(t), notify.SMS{To: "+15551234567", Body: "x"}, time.Time{})
	requireKind(t, err, notify.KindTransient)
	require.Equal(t, 2*time.Second, notify.RetryAfter(err))
}

func TestSendSMSNonJSONErrorIsClassifiedByStatus(t *testing.T) {
	t.Parallel()
	// A proxy in front of Twilio answering HTML: twilio-go cannot decode it, the
	// status still classifies it.
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "4")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>bad gateway</html>"))
	}))
	t.Cleanup(ts.Close)
	_, err := newTwilio(t, ts.URL).SendSMS(testCtx(t), notify.SMS{To: "+15551234567", Body: "x"})
	e := requireKind(t, err, notify.KindTransient)
	require.Equal(t, http.StatusBadGateway, e.StatusCode)
	require.Equal(t, 4*time.Second, e.RetryAfter)
}

func TestSendSMSRejectsIncompleteMessages(t *testing.T) {
	t.Parallel()
	tw := newTwilio(t, "http://127.0.0.1:1")
	_, err := tw.SendSMS(testCtx(t), notify.SMS{To: "", Body: "x"})
	requireKind(t, err, notify.KindBadRequest)
	_, err = tw.SendSMS(testCtx(t), notify.SMS{To: "+15551234567", Body: " "})
	requireKind(t, err, notify.KindBadRequest)
	_, _, err = tw.FindSMS(testCtx(t), notify.SMS{}, time.Time{})
	requireKind(t, err, notify.KindBadRequest)
}
