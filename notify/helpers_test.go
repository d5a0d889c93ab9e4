package notify_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/internal/fakeprovider"
	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/notify"
)

const (
	testAccount = "AC0123456789abcdef0123456789abcdef"
	testToken   = "secret123"
	testKey     = "SG.test-key"
	testService = "MG0123456789abcdef0123456789abcdef"
	fromNumber  = "+15005550006"
)

// newFake serves a fake SendGrid+Twilio on a free port that only accepts the test
// credentials. Cleanup releases held requests before closing.
func newFake(t *testing.T, opts fakeprovider.Options) (*fakeprovider.Server, string) {
	t.Helper()
	opts.SendGridAPIKey, opts.TwilioAuthToken = testKey, testToken
	fp := fakeprovider.New(opts)
	ts := httptest.NewServer(fp)
	t.Cleanup(ts.Close)
	t.Cleanup(fp.Close) // runs first
	return fp, ts.URL
}

func newSendGrid(t *testing.T, baseURL string, edit ...func(*notify.SendGridConfig)) *notify.SendGridSender {
	t.Helper()
	cfg := notify.SendGridConfig{APIKey: testKey, From: "billing@dunwell.test", FromName: "Dunwell Billing", BaseURL: baseURL, Transport: testenv.Transport}
	for _, e := range edit {
		e(&cfg)
	}
	s, err := notify.NewSendGrid(cfg)
	require.NoError(t, err)
	return s
}

func newTwilio(t *testing.T, baseURL string, edit ...func(*notify.TwilioConfig)) *notify.TwilioSender {
	t.Helper()
	cfg := notify.TwilioConfig{AccountSID: testAccount, AuthToken: testToken, FromNumber: fromNumber, BaseURL: baseURL, Transport: testenv.Transport}
	for _, e := range edit {
		e(&cfg)
	}
	s, err := notify.NewTwilio(cfg)
	require.NoError(t, err)
	return s
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func testEmail(to, key string) notify.Email {
	return notify.Email{
		Key: key, InvoiceID: "INV-7", To: to, ToName: "Ann Example",
		Subject: "Invoice INV-7 is overdue", Text: "Please pay INV-7.", HTML: "<p>Please pay <b>INV-7</b>.</p>",
	}
}

// requireKind checks err is a classified *notify.Error of the given kind.
func requireKind(t *testing.T, err error, kind notify.Kind) *notify.Error {
	t.Helper()
	require.Error(t, err)
	var e *notify.Error
	require.ErrorAs(t, err, &e, "error %v (%T)", err, err)
	require.Equal(t, kind, e.Kind, "error: %v", err)
	require.Equal(t, kind != notify.KindTransient, notify.IsPermanent(err))
	require.Equal(t, kind == notify.KindRecipientInvalid, notify.IsRecipientInvalid(err))
	return e
}
