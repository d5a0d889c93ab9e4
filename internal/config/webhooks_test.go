package config

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestWebhookSecrets(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://u@localhost/db", "DUNWELL_CODEC_KEYS": testKeys}
	c, err := load(env(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.Webhooks.Stripe != nil || c.Webhooks.Payments != nil || c.Webhooks.ParkAfter != 72*time.Hour {
		t.Errorf("defaults: %+v", c.Webhooks)
	}

	std := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	ok := map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_new_one_123, whsec_old_one_456", "PAYMENTS_WEBHOOK_SECRET": std + "," + std,
		"WEBHOOK_PARK_AFTER": "1h"}
	for k, v := range base {
		ok[k] = v
	}
	c, err = load(env(ok))
	if err != nil {
		t.Fatal(err)
	}
	if c.Webhooks.Stripe == nil || c.Webhooks.Payments == nil || c.Webhooks.ParkAfter != time.Hour {
		t.Errorf("configured: %+v", c.Webhooks)
	}

	bad := map[string]string{"STRIPE_WEBHOOK_SECRET": "sk_live_secretvalue", "PAYMENTS_WEBHOOK_SECRET": std + ",,", "WEBHOOK_PARK_AFTER": "soon"}
	for k, v := range base {
		bad[k] = v
	}
	_, err = load(env(bad))
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"STRIPE_WEBHOOK_SECRET: secret 1", "PAYMENTS_WEBHOOK_SECRET: secret 2", "WEBHOOK_PARK_AFTER"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "sk_live_secretvalue") || strings.Contains(err.Error(), std) {
		t.Errorf("a secret in the error: %v", err)
	}
	bad = map[string]string{"PAYMENTS_WEBHOOK_SECRET": "whsec_c2hvcnQ="}
	for k, v := range base {
		bad[k] = v
	}
	if _, err := load(env(bad)); err == nil || !strings.Contains(err.Error(), "PAYMENTS_WEBHOOK_SECRET: secret 1: must be whsec_ followed by the base64 of 24 to 64") {
		t.Errorf("short key: %v", err)
	}
}
