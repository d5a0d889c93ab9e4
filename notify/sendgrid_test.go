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
	"github.com/dunwell/dunwell/replies"
)

func TestSendEmailLandsInOutbox(t *testing.T) {
	t.Parallel()
	fp, base := newFake(t, fakeprovider.Options{})
	sg := newSendGrid(t, base)
	ctx := testCtx(t)

	r, err := sg.SendEmail(ctx, testEmail("ann@example.com", "INV-7/first/email"))
	require.NoError(t, err)
	require.NotEmpty(t, r.ProviderID)

	out := fp.Outbox()
	require.Len(t, out, 1)
	m := out[0]
	require.Equal(t, fakeprovider.SendGrid, m.Provider)
	require.Equal(t, r.ProviderID, m.ID)
	require.Equal(t, "ann@example.com", m.To)
	require.Equal(t, "Ann Example", m.ToName)
	require.Equal(t, "billing@dunwell.test", m.From)
	require.Equal(t, "Dunwell Billing", m.FromName)
	require.Empty(t, m.ReplyTo)
	require.Equal(t, "Invoice INV-7 is overdue", m.Subject)
	require.Equal(t, "Please pay INV-7.", m.Text)
	require.Equal(t, "<p>Please pay <b>INV-7</b>.</p>", m.HTML)
	require.Equal(t, map[string]string{"notice_key": "INV-7/first/email", "invoice_id": "INV-7"}, m.CustomArgs)
}

func TestSendEmailReplyTo(t *testing.T) {
	t.Parallel()
	fp, base := newFake(t, fakeprovider.Options{})
	sg := newSendGrid(t, base, func(c *notify.SendGridConfig) { c.ReplyTo = "accounts@dunwell.test" })
	_, err := sg.SendEmail(testCtx(t), testEmail("ann@example.com", "INV-7/first/email"))
	require.NoError(t, err)
	require.Equal(t, "accounts+"+replies.Tag("INV-7/first/email")+"@dunwell.test", fp.Outbox()[0].ReplyTo,
		"plus-addressed with the notice's tag, so a reply finds it")
	require.Equal(t, "billing@dunwell.test", fp.Outbox()[0].From)
}

func TestSendEmailHTMLOnly(t *testing.T) {
	t.Parallel()
	fp, base := newFake(t, fakeprovider.Options{})
	m := testEmail("ann@example.com", "k")
	m.Text = ""
	_, err := newSendGrid(t, base).SendEmail(testCtx(t), m)
	require.NoError(t, err)
	require.Equal(t, m.HTML, fp.Outbox()[0].HTML)
}

func TestFindEmail(t *testing.T) {
	t.Parallel()
	_, base := newFake(t, fakeprovider.Options{})
	sg := newSendGrid(t, base)
	ctx := testCtx(t)
	before := time.Now().Add(-time.Minute)

	sent, err := sg.SendEmail(ctx, testEmail("ann@example.com", "INV-7/first/email"))
	require.NoError(t, err)
	_, err = sg.SendEmail(ctx, testEmail("bob@example.com", "INV-8/first/email"))
	require.NoError(t, err)

	got, found, err := sg.FindEmail(ctx, "INV-7/first/email", before)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, sent.ProviderID, got.ProviderID, "the same id SendEmail reported")
	require.Equal(t, "delivered", got.Status)

	_, found, err = sg.FindEmail(ctx, "INV-7/first/email", time.Time{})
	require.NoError(t, err)
	require.True(t, found, "zero since means any time")

	_, found, err = sg.FindEmail(ctx, "INV-9/first/email", before)
	require.NoError(t, err)
	require.False(t, found)

	_, found, err = sg.FindEmail(ctx, "INV-7/first/email", time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.False(t, found, "sent before since")

	_, _, err = sg.FindEmail(ctx, `bad"key`, before)
	requireKind(t, err, notify.KindBadRequest)
}

func TestSendEmailErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		fault      *fakeprovider.Fault
		opts       fakeprovider.Options
		to         string
		key        string
		kind       notify.Kind
		status     int
		retryAfter time.Duration
	}{
		{name: "rate limited", fault: &fakeprovider.Fault{Kind: fakeprovider.FaultRateLimit, RetryAfter: 7}, kind: notify.KindTransient, status: 429, retryAfter: 7 * time.Second},
		{name: "server error", fault: &fakeprovider.Fault{Kind: fakeprovider.FaultServerError}, kind: notify.KindTransient, status: 500},
		{name: "unavailable", fault: &fakeprovider.Fault{Kind: fakeprovider.FaultUnavailable}, kind: notify.KindTransient, status: 503},
		{name: "invalid recipient fault", fault: &fakeprovider.Fault{Kind: fakeprovider.FaultInvalidRecipient}, kind: notify.KindRecipientInvalid, status: 400},
		{name: "malformed address", to: "not-an-address", kind: notify.KindRecipientInvalid, status: 400},
		{name: "configured invalid", to: "gone@example.com", opts: fakeprovider.Options{Invalid: []string{"gone@example.com"}}, kind: notify.KindRecipientInvalid, status: 400},
		{name: "wrong key", key: "SG.wrong", kind: notify.KindConfig, status: 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fp, base := newFake(t, tc.opts)
			if tc.fault != nil {
				_, err := fp.Inject(*tc.fault)
				require.NoError(t, err)
			}
			sg := newSendGrid(t, base, func(c *notify.SendGridConfig) {
				if tc.key != "" {
					c.APIKey = tc.key
				}
			})
			to := "ann@example.com"
			if tc.to != "" {
				to = tc.to
			}
			_, err := sg.SendEmail(testCtx(t), testEmail(to, "k"))
			e := requireKind(t, err, tc.kind)
			require.Equal(t, notify.ProviderSendGrid, e.Provider)
			require.Equal(t, tc.status, e.StatusCode)
			require.Equal(t, tc.retryAfter, notify.RetryAfter(err))
			require.NotEmpty(t, e.Message)
			require.Empty(t, fp.Outbox())
		})
	}
}

func TestSendEmailRejectsIncompleteMessages(t *testing.T) {
	t.Parallel()
	_, base := newFake(t, fakeprovider.Options{})
	sg := newSendGrid(t, base)
	for _, edit := range []func(*notify.Email){
		func(m *notify.Email) { m.Key = "" },
		func(m *notify.Email) { m.Key = "a\nb" },
		func(m *notify.Email) { m.To = " " },
		func(m *notify.Email) { m.Subject = "" },
		func(m *notify.Email) { m.Text, m.HTML = "", "" },
	} {
		m := testEmail("ann@example.com", "k")
		edit(&m)
		_, err := sg.SendEmail(testCtx(t), m)
		requireKind(t, err, notify.KindBadRequest)
	}
}

func TestSendEmailTimeoutIsTransientAndReconcilable(t *testing.T) {
	t.Parallel()
	fp, base := newFake(t, fakeprovider.Options{})
	require.NoError(t, fp.Hold(fakeprovider.SendGrid, ""))
	ctx := testCtx(t)

	// The held response never comes: the short timeout fires after the provider
	// recorded the message, the way a crash or a network cut would look.
	short := newSendGrid(t, base, func(c *notify.SendGridConfig) { c.Timeout = 50 * time.Millisecond })
	_, err := short.SendEmail(ctx, testEmail("ann@example.com", "INV-7/second/email"))
	requireKind(t, err, notify.KindTransient)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// The retry's reconciliation finds the message, so it is not sent twice.
	got, found, err := newSendGrid(t, base).FindEmail(ctx, "INV-7/second/email", time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, fp.Outbox()[0].ID, got.ProviderID)
}

func TestSendEmailHoldThenRelease(t *testing.T) {
	t.Parallel()
	fp, base := newFake(t, fakeprovider.Options{})
	require.NoError(t, fp.Hold(fakeprovider.SendGrid, "ann@example.com"))
	sg := newSendGrid(t, base)
	ctx := testCtx(t)

	type result struct {
		r   notify.Receipt
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := sg.SendEmail(ctx, testEmail("ann@example.com", "INV-7/first/email"))
		done <- result{r, err}
	}()
	held, err := fp.WaitHeld(ctx)
	require.NoError(t, err)

	// Recorded before the response: a lookup during the hold already finds it.
	got, found, err := sg.FindEmail(ctx, "INV-7/first/email", time.Time{})
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, held.ID, got.ProviderID)

	require.Equal(t, 1, fp.Release())
	res := <-done
	require.NoError(t, res.err)
	require.Equal(t, held.ID, res.r.ProviderID)
	require.Len(t, fp.Outbox(), 1)
}

func TestSendEmailCallerCancellationPropagates(t *testing.T) {
	t.Parallel()
	fp, base := newFake(t, fakeprovider.Options{})
	require.NoError(t, fp.Hold("", ""))
	sg := newSendGrid(t, base)
	ctx, cancel := context.WithCancel(testCtx(t))

	errc := make(chan error, 1)
	go func() {
		_, err := sg.SendEmail(ctx, testEmail("ann@example.com", "k"))
		errc <- err
	}()
	_, err := fp.WaitHeld(testCtx(t))
	require.NoError(t, err)
	cancel()
	err = <-errc
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, notify.IsPermanent(err))
	require.Zero(t, notify.KindOf(err), "cancellation is not a provider verdict")
}

func TestFindEmailErrors(t *testing.T) {
	t.Parallel()
	fp, base := newFake(t, fakeprovider.Options{})
	_, err := fp.Inject(fakeprovider.Fault{Kind: fakeprovider.FaultUnavailable, Op: fakeprovider.OpLookup})
	require.NoError(t, err)
	_, _, err = newSendGrid(t, base).FindEmail(testCtx(t), "k", time.Time{})
	requireKind(t, err, notify.KindTransient)

	_, _, err = newSendGrid(t, base, func(c *notify.SendGridConfig) { c.APIKey = "SG.wrong" }).FindEmail(testCtx(t), "k", time.Time{})
	requireKind(t, err, notify.KindConfig)
}

func TestSendEmailConnectionRefusedIsTransient(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.NotFoundHandler())
	base := ts.URL
	ts.Close() // nothing listens there any more
	_, err := newSendGrid(t, base).SendEmail(testCtx(t), testEmail("ann@example.com", "k"))
	e := requireKind(t, err, notify.KindTransient)
	require.Zero(t, e.StatusCode)
}

func TestSendEmailAttachments(t *testing.T) {
	t.Parallel()
	fp, base := newFake(t, fakeprovider.Options{})
	sg := newSendGrid(t, base)
	m := testEmail("ann@example.com", "statement/C-42/2026-12-01")
	pdf := []byte("%PDF-1.3\n...\n%%EOF\n")
	m.Attachments = []notify.Attachment{{Filename: "statement-C-42-2026-12-01.pdf", Type: "application/pdf", Content: pdf}}
	_, err := sg.SendEmail(testCtx(t), m)
	require.NoError(t, err)
	out := fp.Outbox()
	require.Len(t, out, 1)
	require.Len(t, out[0].Attachments, 1)
	a := out[0].Attachments[0]
	require.Equal(t, "statement-C-42-2026-12-01.pdf", a.Filename)
	require.Equal(t, "application/pdf", a.Type)
	require.Equal(t, len(pdf), a.Size)
	got, err := a.Bytes()
	require.NoError(t, err)
	require.Equal(t, pdf, got)

	for _, bad := range []notify.Attachment{
		{Filename: "", Type: "application/pdf", Content: pdf},
		{Filename: "../x.pdf", Type: "application/pdf", Content: pdf},
		{Filename: "x.pdf", Type: "pdf", Content: pdf},
		{Filename: "x.pdf", Type: "application/pdf"},
		{Filename: "x.pdf", Type: "application/pdf", Content: make([]byte, notify.MaxAttachmentBytes+1)},
	} {
		m.Attachments = []notify.Attachment{bad}
		_, err := sg.SendEmail(testCtx(t), m)
		require.True(t, notify.IsPermanent(err), "%+v: %v", bad.Filename, err)
	}
	require.Len(t, fp.Outbox(), 1, "nothing sent for a bad attachment")
}
