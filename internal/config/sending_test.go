package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
)

func TestSendingSettings(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"DATABASE_URL": "postgres://u@localhost/db", "DUNWELL_CODEC_KEYS": testKeys}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}

	c, err := load(env(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.SendGrid.RatePerSecond != DefaultSendGridRate || c.Twilio.RatePerSecond != DefaultTwilioRate ||
		c.PublicURL != "" || c.Twilio.StatusCallbackURL != "" || c.SendGrid.WebhookPublicKey != "" {
		t.Errorf("sending defaults: %+v %+v %q", c.SendGrid, c.Twilio, c.PublicURL)
	}

	c, err = load(env(with("DUNWELL_PUBLIC_URL", "https://dunwell.example.com/", "SENDGRID_RATE_PER_SECOND", "2.5",
		"TWILIO_RATE_PER_SECOND", "30", "SENDGRID_WEBHOOK_PUBLIC_KEY", base64.StdEncoding.EncodeToString(der))))
	if err != nil {
		t.Fatal(err)
	}
	if c.PublicURL != "https://dunwell.example.com" || c.Twilio.StatusCallbackURL != "https://dunwell.example.com/v1/webhooks/twilio" {
		t.Errorf("public URL %q, callback %q", c.PublicURL, c.Twilio.StatusCallbackURL)
	}
	if c.SendGrid.RatePerSecond != 2.5 || c.Twilio.RatePerSecond != 30 {
		t.Errorf("rates %v %v", c.SendGrid.RatePerSecond, c.Twilio.RatePerSecond)
	}
	c, err = load(env(with("DUNWELL_PUBLIC_URL", "https://a.example", "TWILIO_STATUS_CALLBACK_URL", "https://b.example/cb")))
	if err != nil || c.Twilio.StatusCallbackURL != "https://b.example/cb" {
		t.Errorf("an explicit callback URL wins: %v %q", err, c.Twilio.StatusCallbackURL)
	}

	_, err = load(env(with("DUNWELL_PUBLIC_URL", "dunwell.example.com?x=1", "SENDGRID_RATE_PER_SECOND", "0",
		"TWILIO_RATE_PER_SECOND", "fast", "SENDGRID_WEBHOOK_PUBLIC_KEY", "bm90IGEga2V5", "TWILIO_STATUS_CALLBACK_URL", "/relative")))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, name := range []string{"DUNWELL_PUBLIC_URL", "SENDGRID_RATE_PER_SECOND", "TWILIO_RATE_PER_SECOND", "SENDGRID_WEBHOOK_PUBLIC_KEY", "TWILIO_STATUS_CALLBACK_URL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	for _, bad := range []string{"NaN", "-1", "1e9", "Inf"} {
		if _, err := load(env(with("TWILIO_RATE_PER_SECOND", bad))); err == nil {
			t.Errorf("rate %q accepted", bad)
		}
	}
}

func TestSendGridTemplateIDs(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://u@localhost/db", "DUNWELL_CODEC_KEYS": testKeys}
	base["SENDGRID_TEMPLATE_IDS"] = " overdue = d-0123456789abcdef0123456789abcdef ,final_notice=d-fedcba9876543210fedcba9876543210"
	c, err := load(env(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.SendGrid.TemplateIDs["overdue"] != "d-0123456789abcdef0123456789abcdef" || len(c.SendGrid.TemplateIDs) != 2 {
		t.Errorf("template ids = %v", c.SendGrid.TemplateIDs)
	}
	for _, bad := range []string{"overdue", "nope=d-0123456789abcdef0123456789abcdef", "overdue=t-123", "overdue=d-0123"} {
		base["SENDGRID_TEMPLATE_IDS"] = bad
		if _, err := load(env(base)); err == nil || !strings.Contains(err.Error(), "SENDGRID_TEMPLATE_IDS") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
