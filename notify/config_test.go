package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/internal/fakeprovider"
	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/notify"
)

// badConfig is one edit that makes a good config invalid, and what the error says.
type badConfig[C any] struct {
	edit func(*C)
	want string
}

// requireRejects checks that build refuses each edit of good with an error carrying
// prefix and the case's want.
func requireRejects[C, S any](t *testing.T, good C, build func(C) (S, error), prefix string, cases map[string]badConfig[C]) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := good
			tc.edit(&cfg)
			_, err := build(cfg)
			require.ErrorContains(t, err, prefix)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestNewSendGridValidates(t *testing.T) {
	t.Parallel()
	good := notify.SendGridConfig{APIKey: "SG.x", From: "billing@dunwell.test"}
	_, err := notify.NewSendGrid(good)
	require.NoError(t, err, "defaults fill BaseURL and Timeout")

	requireRejects(t, good, notify.NewSendGrid, "notify: sendgrid config", map[string]badConfig[notify.SendGridConfig]{
		"no key":             {func(c *notify.SendGridConfig) { c.APIKey = " " }, "APIKey is required"},
		"key with newline":   {func(c *notify.SendGridConfig) { c.APIKey = "SG.x\nX-Evil: 1" }, "APIKey must not contain"},
		"no from":            {func(c *notify.SendGridConfig) { c.From = "" }, "From is required"},
		"from with name":     {func(c *notify.SendGridConfig) { c.From = "Billing <billing@dunwell.test>" }, "bare email address"},
		"from not email":     {func(c *notify.SendGridConfig) { c.From = "billing" }, "bare email address"},
		"reply-to with name": {func(c *notify.SendGridConfig) { c.ReplyTo = "Accounts <a@dunwell.test>" }, "ReplyTo \"Accounts <a@dunwell.test>\" must be a bare email address"},
		"relative URL":       {func(c *notify.SendGridConfig) { c.BaseURL = "api.sendgrid.com" }, "must be an http(s) URL"},
		"ftp URL":            {func(c *notify.SendGridConfig) { c.BaseURL = "ftp://x" }, "must be an http(s) URL"},
		"URL with query":     {func(c *notify.SendGridConfig) { c.BaseURL = "http://x/?a=b" }, "must be an http(s) URL"},
		"bad URL":            {func(c *notify.SendGridConfig) { c.BaseURL = "http://[::1" }, "is not a URL"},
		"negative timeout":   {func(c *notify.SendGridConfig) { c.Timeout = -time.Second }, "must not be negative"},
	})

	_, err = notify.NewSendGrid(notify.SendGridConfig{})
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "APIKey") && strings.Contains(err.Error(), "From"), "reports every problem: %v", err)
}

func TestNewTwilioValidates(t *testing.T) {
	t.Parallel()
	good := notify.TwilioConfig{AccountSID: testAccount, AuthToken: testToken, FromNumber: fromNumber}
	_, err := notify.NewTwilio(good)
	require.NoError(t, err)
	for _, edit := range []func(*notify.TwilioConfig){
		func(c *notify.TwilioConfig) { c.FromNumber, c.MessagingServiceSID = "", testService },
		func(c *notify.TwilioConfig) { c.MessagingServiceSID = testService },
		func(c *notify.TwilioConfig) { c.FromNumber = "Dunwell" },
		func(c *notify.TwilioConfig) { c.FromNumber = "12345" },
		func(c *notify.TwilioConfig) { c.BaseURL = "http://127.0.0.1:8025/" },
		// What `make run` uses: twilio-go alone would refuse the hyphens.
		func(c *notify.TwilioConfig) {
			c.AccountSID, c.AuthToken = "AC00000000000000000000000000000000", "local-fake-token"
		},
	} {
		cfg := good
		edit(&cfg)
		_, err := notify.NewTwilio(cfg)
		require.NoError(t, err)
	}

	requireRejects(t, good, notify.NewTwilio, "notify: twilio config", map[string]badConfig[notify.TwilioConfig]{
		"no account":      {func(c *notify.TwilioConfig) { c.AccountSID = "" }, "AccountSID"},
		"bad account":     {func(c *notify.TwilioConfig) { c.AccountSID = "AC123" }, "AccountSID"},
		"no token":        {func(c *notify.TwilioConfig) { c.AuthToken = "" }, "AuthToken"},
		"token spaces":    {func(c *notify.TwilioConfig) { c.AuthToken = "a b" }, "AuthToken"},
		"no sender":       {func(c *notify.TwilioConfig) { c.FromNumber = "" }, "FromNumber or MessagingServiceSID is required"},
		"bad from":        {func(c *notify.TwilioConfig) { c.FromNumber = "555-1234" }, "FromNumber"},
		"bad service":     {func(c *notify.TwilioConfig) { c.MessagingServiceSID = "MG1" }, "MessagingServiceSID"},
		"bad callback":    {func(c *notify.TwilioConfig) { c.StatusCallbackURL = "/status" }, "StatusCallbackURL"},
		"bad base URL":    {func(c *notify.TwilioConfig) { c.BaseURL = "localhost:8025" }, "BaseURL"},
		"neg timeout":     {func(c *notify.TwilioConfig) { c.Timeout = -1 }, "Timeout"},
		"creds in URL":    {func(c *notify.TwilioConfig) { c.BaseURL = "http://u:p@x" }, "without credentials"},
		"fragment in URL": {func(c *notify.TwilioConfig) { c.BaseURL = "http://x#y" }, "BaseURL"},
	})
}

func TestNew(t *testing.T) {
	t.Parallel()
	fp, base := newFake(t, fakeprovider.Options{})
	cfg := notify.Config{
		SendGrid: notify.SendGridConfig{APIKey: testKey, BaseURL: base, From: "billing@dunwell.test", FromName: "Dunwell", Timeout: 5 * time.Second, Transport: testenv.Transport},
		Twilio: notify.TwilioConfig{AccountSID: testAccount, AuthToken: testToken, FromNumber: fromNumber,
			StatusCallbackURL: "https://dunwell.test/status", BaseURL: base, Timeout: 5 * time.Second, Transport: testenv.Transport},
	}
	email, sms, err := notify.New(cfg)
	require.NoError(t, err)
	_, err = email.SendEmail(testCtx(t), testEmail("ann@example.com", "k"))
	require.NoError(t, err)
	_, err = sms.SendSMS(testCtx(t), notify.SMS{To: "+15551234567", Body: "x"})
	require.NoError(t, err)
	require.Len(t, fp.Outbox(), 2)
	require.Equal(t, "https://dunwell.test/status", fp.Outbox()[1].StatusCallback)

	cfg.Twilio.AccountSID = "nope"
	_, _, err = notify.New(cfg)
	require.ErrorContains(t, err, "setting up SMS")
	cfg.SendGrid.From = ""
	_, _, err = notify.New(cfg)
	require.ErrorContains(t, err, "setting up email")
	_, _, err = notify.New(notify.Config{})
	require.Error(t, err)
}
