package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	c, err := load(env(map[string]string{"DATABASE_URL": "postgres://u@localhost/db"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Temporal.Address != "127.0.0.1:7233" || c.Temporal.Namespace != "default" || c.Temporal.TLS != nil {
		t.Errorf("temporal defaults: %+v", c.Temporal)
	}
	if c.ProviderTimeout != 10*time.Second || c.ListenAddr != "127.0.0.1:8080" || c.DefaultPolicy != "standard" {
		t.Errorf("defaults: %+v", c)
	}
	if err := c.RequireProviders(); err == nil || !strings.Contains(err.Error(), "SENDGRID_API_KEY") {
		t.Errorf("missing providers not reported: %v", err)
	}
	c, err = load(env(map[string]string{"DATABASE_URL": "postgres://u@localhost/db", "TEMPORAL_API_KEY": "k"}))
	if err != nil || c.Temporal.TLS == nil {
		t.Errorf("an API key must imply TLS: %v", err)
	}
}

func TestLoadNamesEveryBadVariable(t *testing.T) {
	_, err := load(env(map[string]string{
		"TEMPORAL_ADDRESS": "nohost", "SENDGRID_BASE_URL": "ftp://x", "PROVIDER_TIMEOUT": "soon",
		"LOG_LEVEL": "loud", "LOG_FORMAT": "xml", "TEMPORAL_TLS": "maybe", "LISTEN_ADDR": "8080",
	}))
	if err == nil {
		t.Fatal("want error")
	}
	for _, name := range []string{"TEMPORAL_ADDRESS", "DATABASE_URL", "SENDGRID_BASE_URL", "PROVIDER_TIMEOUT", "LOG_LEVEL", "LOG_FORMAT", "TEMPORAL_TLS", "LISTEN_ADDR"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}
