package config

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// testKeys is a valid DUNWELL_CODEC_KEYS (two keys, "k2" encrypts).
var testKeys = "k2:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32)) +
	",k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))

func TestLoadDefaults(t *testing.T) {
	c, err := load(env(map[string]string{"DATABASE_URL": "postgres://u@localhost/db", "DUNWELL_CODEC_KEYS": testKeys}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Temporal.Address != "127.0.0.1:7233" || c.Temporal.Namespace != "default" || c.Temporal.TLS != nil {
		t.Errorf("temporal defaults: %+v", c.Temporal)
	}
	if c.ProviderTimeout != 10*time.Second || c.ListenAddr != "127.0.0.1:8080" || c.DefaultPolicy != "standard" ||
		c.PortalLinkTTL != 30*24*time.Hour || c.StripeAPIKey != "" {
		t.Errorf("defaults: %+v", c)
	}
	if err := c.RequireProviders(); err == nil || !strings.Contains(err.Error(), "SENDGRID_API_KEY") {
		t.Errorf("missing providers not reported: %v", err)
	}
	if c.CodecKeys.PrimaryID() != "k2" || c.CodecDisabled || len(c.CodecCORSOrigins) != 0 {
		t.Errorf("codec defaults: keys %v, disabled %v, origins %v", c.CodecKeys, c.CodecDisabled, c.CodecCORSOrigins)
	}
	if opts := c.ClientOptions(slog.Default()); opts.DataConverter == nil || opts.FailureConverter == nil {
		t.Error("the client options do not encrypt payloads and failures")
	}
	c, err = load(env(map[string]string{"DATABASE_URL": "postgres://u@localhost/db", "TEMPORAL_API_KEY": "k", "DUNWELL_CODEC_KEYS": testKeys}))
	if err != nil || c.Temporal.TLS == nil {
		t.Errorf("an API key must imply TLS: %v", err)
	}
}

func TestLoadNamesEveryBadVariable(t *testing.T) {
	_, err := load(env(map[string]string{
		"TEMPORAL_ADDRESS": "nohost", "SENDGRID_BASE_URL": "ftp://x", "PROVIDER_TIMEOUT": "soon",
		"LOG_LEVEL": "loud", "LOG_FORMAT": "xml", "TEMPORAL_TLS": "maybe", "LISTEN_ADDR": "8080",
		"DUNWELL_CODEC_CORS_ORIGINS": "*", "DUNWELL_PORTAL_LINK_TTL": "30m", "STRIPE_API_KEY": "pk_live_x",
		"STRIPE_BASE_URL": "stripe",
	}))
	if err == nil {
		t.Fatal("want error")
	}
	for _, name := range []string{"TEMPORAL_ADDRESS", "DATABASE_URL", "SENDGRID_BASE_URL", "PROVIDER_TIMEOUT", "LOG_LEVEL", "LOG_FORMAT", "TEMPORAL_TLS", "LISTEN_ADDR",
		"DUNWELL_CODEC_KEYS", "DUNWELL_CODEC_CORS_ORIGINS", "DUNWELL_PORTAL_LINK_TTL", "STRIPE_API_KEY", "STRIPE_BASE_URL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestCodecKeysAreRequiredUnlessDisabled(t *testing.T) {
	db := "postgres://u@localhost/db"
	_, err := load(env(map[string]string{"DATABASE_URL": db}))
	if err == nil || !strings.Contains(err.Error(), "DUNWELL_CODEC_KEYS: is required") || !strings.Contains(err.Error(), "DUNWELL_CODEC_DISABLED") {
		t.Errorf("missing keys not reported with the way out: %v", err)
	}

	c, err := load(env(map[string]string{"DATABASE_URL": db, "DUNWELL_CODEC_DISABLED": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.CodecDisabled || c.CodecKeys != nil || c.ClientOptions(slog.Default()).DataConverter != nil {
		t.Errorf("disabled codec: %+v", c)
	}
	var logs bytes.Buffer
	c.WarnIfCodecDisabled(slog.New(slog.NewTextHandler(&logs, nil)))
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "DISABLED") {
		t.Errorf("no loud warning: %q", logs.String())
	}

	for _, tc := range []struct{ keys, disabled, want string }{
		{testKeys, "true", "set one, not both"},
		{"", "perhaps", "DUNWELL_CODEC_DISABLED: must be true or false"},
		{"k1:c2hvcnQ=", "", `DUNWELL_CODEC_KEYS: entry 1 (key id "k1"): key must be exactly 32 bytes, got 5`},
		{testKeys + "," + testKeys, "", `DUNWELL_CODEC_KEYS: entry 3: key id "k2" is already entry 1`},
		{"k 1:" + strings.Repeat("A", 44), "", `DUNWELL_CODEC_KEYS: entry 1: key id "k 1"`},
	} {
		_, err := load(env(map[string]string{"DATABASE_URL": db, "DUNWELL_CODEC_KEYS": tc.keys, "DUNWELL_CODEC_DISABLED": tc.disabled}))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("keys %q disabled %q: want %q, got %v", tc.keys, tc.disabled, tc.want, err)
		}
		if err != nil && strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))) {
			t.Errorf("key material in the error: %v", err)
		}
	}
}
