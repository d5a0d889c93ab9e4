package activities

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/dunwell/dunwell/internal/fakeprovider"
	"github.com/dunwell/dunwell/internal/ledgertest"
	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/notify"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/templates"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// The activity tests run SendNotice against a real PostgreSQL ledger and the fake
// providers through the real SDK clients; only Temporal is the SDK's test environment
// (one attempt per ExecuteActivity: each call below is one retry).
var (
	testPG    *testenv.Postgres
	testStore *ledger.Store
)

const (
	account = "AC0123456789abcdef0123456789abcdef"
	token   = "activities-token"
	sgKey   = "SG.activities"
)

func TestMain(m *testing.M) {
	os.Exit(ledgertest.RunWithStore(m, "activities", func(pg *testenv.Postgres, store *ledger.Store) {
		testPG, testStore = pg, store
	}))
}

var seq atomic.Int64

type rig struct {
	fake *fakeprovider.Server
	acts *Activities
	env  *testsuite.TestActivityEnvironment
}

func newRig(t *testing.T, timeout time.Duration) *rig {
	t.Helper()
	fake := fakeprovider.New(fakeprovider.Options{TwilioAuthToken: token, SendGridAPIKey: sgKey, TwilioInboundURL: "http://127.0.0.1:1/unused"})
	ts := httptest.NewServer(fake)
	t.Cleanup(ts.Close)
	t.Cleanup(fake.Close)
	email, err := notify.NewSendGrid(notify.SendGridConfig{APIKey: sgKey, From: "billing@dunwell.test", BaseURL: ts.URL, Timeout: timeout, Transport: testenv.Transport})
	require.NoError(t, err)
	sms, err := notify.NewTwilio(notify.TwilioConfig{AccountSID: account, AuthToken: token, FromNumber: "+15005550006", BaseURL: ts.URL, Timeout: timeout, Transport: testenv.Transport})
	require.NoError(t, err)
	acts := &Activities{Ledger: testStore, Email: email, SMS: sms}
	env := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	return &rig{fake: fake, acts: acts, env: env}
}

func (r *rig) send(req invoiceapi.NoticeRequest) (invoiceapi.NoticeResult, error) {
	v, err := r.env.ExecuteActivity(r.acts.SendNotice, req)
	if err != nil {
		return invoiceapi.NoticeResult{}, err
	}
	var res invoiceapi.NoticeResult
	return res, v.Get(&res)
}

// request issues an invoice in the ledger and returns a notice request for it.
func request(t *testing.T, ch policy.Channel) invoiceapi.NoticeRequest {
	t.Helper()
	n := seq.Add(1)
	id := fmt.Sprintf("ACT-%d-%d", time.Now().UnixNano(), n)
	sum := sha256.Sum256([]byte(id))
	_, err := testStore.IssueInvoice(context.Background(), ledger.InvoiceRecord{InvoiceID: id, CustomerID: "C-" + id, Currency: "USD",
		AmountDue: 125000, IssuedAt: time.Now().UTC(), DueDate: "2026-12-01", PolicyID: "standard", BodySHA256: sum[:]})
	require.NoError(t, err)
	to := fmt.Sprintf("act-%d@example.com", n)
	if ch == policy.SMS {
		to = fmt.Sprintf("+1415%07d", n)
	}
	return invoiceapi.NoticeRequest{InvoiceID: id, CustomerID: "C-" + id, Step: "first-reminder", Channel: ch, Template: "overdue", To: to,
		CustomerName: "Ada", Locale: "en-US", Currency: "USD", Balance: 125000, DueDate: "2026-12-01",
		PaymentURL: "https://pay.example.com/" + id, ScheduledAt: time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)}
}

func appErr(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var ae *temporal.ApplicationError
	require.True(t, errors.As(err, &ae), "not an application error: %v", err)
	return ae
}

func notice(t *testing.T, key string) ledger.NoticeRow {
	t.Helper()
	n, err := testStore.GetNotice(context.Background(), key)
	require.NoError(t, err)
	return n
}

func TestOptedOutAddressIsNeverSentTo(t *testing.T) {
	t.Parallel()
	r := newRig(t, 5*time.Second)
	ctx := context.Background()
	for _, ch := range []policy.Channel{policy.Email, policy.SMS} {
		req := request(t, ch)
		_, err := testStore.RecordOptOut(ctx, ledger.OptOutChange{EventID: "test:" + req.Key(), Channel: string(ch), Address: req.To,
			OptedOut: true, Source: ledger.SourceStop, At: time.Now().UTC()})
		require.NoError(t, err)
		_, err = r.send(req)
		ae := appErr(t, err)
		require.Equal(t, invoiceapi.ErrTypeRecipientInvalid, ae.Type())
		require.True(t, ae.NonRetryable())
		require.Empty(t, r.fake.OutboxFor(req.To), "nothing sent to an opted-out %s address", ch)
		require.Equal(t, ledger.NoticeFailed, notice(t, req.Key()).Status)
		require.Contains(t, notice(t, req.Key()).Error, "opted out")
	}
}

func TestSendRemembersAddressAndTwilioStopIsRecorded(t *testing.T) {
	t.Parallel()
	r := newRig(t, 5*time.Second)
	ctx := context.Background()
	req := request(t, policy.SMS)
	_, err := r.send(req)
	require.NoError(t, err)
	customers, err := testStore.CustomersAt(ctx, "sms", req.To)
	require.NoError(t, err)
	require.Equal(t, []string{req.CustomerID}, customers)

	// The customer texts STOP to Twilio, but Dunwell never hears of it: Twilio
	// refuses the next send with 21610, which is recorded as an opt-out.
	_, _ = r.fake.InboundSMS(req.To, "", "STOP") // the webhook URL is unreachable here
	next := req
	next.Step = "second-reminder"
	_, err = r.send(next)
	require.Equal(t, invoiceapi.ErrTypeRecipientInvalid, appErr(t, err).Type())
	_, out, err := testStore.OptedOut(ctx, "sms", req.To)
	require.NoError(t, err)
	require.True(t, out)
}

// Each failure class of the providers, through the real SDK clients.
func TestFailureClasses(t *testing.T) {
	t.Parallel()
	r := newRig(t, 500*time.Millisecond)

	// 400 invalid recipient: permanent, the workflow falls back.
	req := request(t, policy.Email)
	_, err := r.fake.Inject(fakeprovider.Fault{Kind: fakeprovider.FaultInvalidRecipient, To: req.To})
	require.NoError(t, err)
	_, err = r.send(req)
	require.Equal(t, invoiceapi.ErrTypeRecipientInvalid, appErr(t, err).Type())
	require.True(t, appErr(t, err).NonRetryable())
	require.Equal(t, ledger.NoticeFailed, notice(t, req.Key()).Status)

	// 429 with Retry-After: retried after the provider's delay, then sent once.
	req = request(t, policy.SMS)
	_, err = r.fake.Inject(fakeprovider.Fault{Kind: fakeprovider.FaultRateLimit, To: req.To, RetryAfter: 7})
	require.NoError(t, err)
	_, err = r.send(req)
	ae := appErr(t, err)
	require.Equal(t, invoiceapi.ErrTypeRateLimited, ae.Type())
	require.False(t, ae.NonRetryable())
	require.Equal(t, 7*time.Second, ae.NextRetryDelay())
	res, err := r.send(req)
	require.NoError(t, err)
	require.False(t, res.AlreadySent)
	require.Len(t, r.fake.OutboxFor(req.To), 1)

	// 5xx: retryable; the retry reconciles (nothing at the provider) and sends once.
	req = request(t, policy.Email)
	_, err = r.fake.Inject(fakeprovider.Fault{Kind: fakeprovider.FaultServerError, To: req.To})
	require.NoError(t, err)
	_, err = r.send(req)
	require.Error(t, err)
	require.False(t, isNonRetryable(err))
	_, err = r.send(req)
	require.NoError(t, err)
	require.Len(t, r.fake.OutboxFor(req.To), 1)

	// Timeout after the provider accepted: retryable; the retry finds the message and
	// sends nothing.
	req = request(t, policy.SMS)
	require.NoError(t, r.fake.Hold(fakeprovider.Twilio, req.To))
	_, err = r.send(req)
	require.Error(t, err)
	require.False(t, isNonRetryable(err))
	r.fake.Release()
	res, err = r.send(req)
	require.NoError(t, err)
	require.True(t, res.AlreadySent, "found at the provider by reconciliation")
	require.Len(t, r.fake.OutboxFor(req.To), 1)
	require.Equal(t, ledger.NoticeSent, notice(t, req.Key()).Status)

	// 401 (wrong credentials): permanent, nothing to retry.
	bad, err := notify.NewSendGrid(notify.SendGridConfig{APIKey: "SG.wrong", From: "billing@dunwell.test", BaseURL: serverURL(t, r.fake), Transport: testenv.Transport})
	require.NoError(t, err)
	wrong := &Activities{Ledger: testStore, Email: bad, SMS: r.acts.SMS}
	env := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
	env.RegisterActivity(wrong)
	req = request(t, policy.Email)
	_, err = env.ExecuteActivity(wrong.SendNotice, req)
	require.Equal(t, invoiceapi.ErrTypeBadRequest, appErr(t, err).Type())
	require.True(t, appErr(t, err).NonRetryable())
}

func serverURL(t *testing.T, fake *fakeprovider.Server) string {
	ts := httptest.NewServer(fake)
	t.Cleanup(ts.Close)
	return ts.URL
}

func isNonRetryable(err error) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.NonRetryable()
}

// The three crash windows of one send, each replayed as the retry that follows it.
func TestCrashWindowsSendExactlyOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t, 5*time.Second)
	ctx := context.Background()

	// Before the provider call: claimed, nothing sent. The retry sends once.
	req := request(t, policy.SMS)
	_, err := testStore.ClaimNotice(ctx, ledger.NoticeClaim{Key: req.Key(), InvoiceID: req.InvoiceID, Step: req.Step, Channel: "sms"})
	require.NoError(t, err)
	res, err := r.send(req)
	require.NoError(t, err)
	require.False(t, res.AlreadySent)
	require.Len(t, r.fake.OutboxFor(req.To), 1)

	// After the provider accepted, before the ledger write: claimed and sent, the row
	// still 'sending'. The retry finds it at the provider and sends nothing.
	for _, ch := range []policy.Channel{policy.Email, policy.SMS} {
		req = request(t, ch)
		_, err = testStore.ClaimNotice(ctx, ledger.NoticeClaim{Key: req.Key(), InvoiceID: req.InvoiceID, Step: req.Step, Channel: string(ch)})
		require.NoError(t, err)
		msg, err := render(req, r.acts.Business, "")
		require.NoError(t, err)
		_, err = r.acts.send(ctx, r.acts.noticeOutbound(req, msg, "")) // the crashed attempt's call
		require.NoError(t, err)
		res, err = r.send(req)
		require.NoError(t, err)
		require.True(t, res.AlreadySent, ch)
		require.Len(t, r.fake.OutboxFor(req.To), 1, ch)
		require.Equal(t, ledger.NoticeSent, notice(t, req.Key()).Status)
	}

	// After the ledger write, before Temporal heard of it: the retry returns the
	// stored result.
	first, err := r.send(req)
	require.NoError(t, err)
	require.True(t, first.AlreadySent)
	require.Len(t, r.fake.OutboxFor(req.To), 1)
}

func TestEmailNamesTheBusinessAndTheTerms(t *testing.T) {
	t.Parallel()
	r := newRig(t, 5*time.Second)
	r.acts.Business = templates.Business{Name: "Acme Supplies", Address: "1 Main St, Springfield", ReplyTo: "ar@acme.example", Phone: "+1 555 0100"}
	req := request(t, policy.Email)
	req.Terms = templates.TermsOf(&policy.Policy{ID: "strict", LateFee: &policy.LateFee{Percent: 500}, Interest: &policy.Interest{Rate: 1200}})
	_, err := r.send(req)
	require.NoError(t, err)
	out := r.fake.OutboxFor(req.To)
	require.Len(t, out, 1)
	for _, want := range []string{"Acme Supplies", "1 Main St, Springfield", "ar@acme.example", "call us on +1 555 0100",
		"A late fee of 5% of the unpaid amount is charged once the invoice is overdue.", "Interest of 12% a year"} {
		require.Contains(t, out[0].Text, want)
	}
	require.Contains(t, out[0].HTML, "Acme Supplies")

	sms := request(t, policy.SMS)
	_, err = r.send(sms)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(r.fake.OutboxFor(sms.To)[0].Text, "Acme Supplies: "), r.fake.OutboxFor(sms.To)[0].Text)
}

func TestDynamicTemplateEmail(t *testing.T) {
	t.Parallel()
	r := newRig(t, 5*time.Second)
	id := "d-0123456789abcdef0123456789abcdef"
	r.acts.EmailTemplateIDs = map[string]string{"overdue": id}
	req := request(t, policy.Email)
	_, err := r.send(req)
	require.NoError(t, err)
	out := r.fake.OutboxFor(req.To)
	require.Len(t, out, 1)
	m := out[0]
	require.Equal(t, id, m.TemplateID)
	require.Empty(t, m.Text, "SendGrid renders the body")
	require.Equal(t, "$1,250.00", m.TemplateData["amount"])
	require.Equal(t, "December 1, 2026", m.TemplateData["due_date"])
	require.EqualValues(t, 7, m.TemplateData["days_overdue"])
	require.Equal(t, req.Key(), m.CustomArgs["notice_key"], "reconciliation still finds it by key")

	// The middle crash window with a dynamic template: found at the provider by key.
	req = request(t, policy.Email)
	_, err = testStore.ClaimNotice(context.Background(), ledger.NoticeClaim{Key: req.Key(), InvoiceID: req.InvoiceID, Step: req.Step, Channel: "email"})
	require.NoError(t, err)
	msg, err := render(req, r.acts.Business, "")
	require.NoError(t, err)
	_, err = r.acts.send(context.Background(), r.acts.noticeOutbound(req, msg, ""))
	require.NoError(t, err)
	res, err := r.send(req)
	require.NoError(t, err)
	require.True(t, res.AlreadySent)
	require.Len(t, r.fake.OutboxFor(req.To), 1)
}
