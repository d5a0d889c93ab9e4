package config

import (
	"strings"
	"testing"
)

func TestLettersConfig(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://u@localhost/db", "DUNWELL_CODEC_KEYS": testKeys}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	c, err := load(env(base))
	if err != nil || c.Print.URL != "" || !c.Bank.IsZero() {
		t.Fatalf("no provider and no bank by default: %+v %v", c.Print, err)
	}
	c, err = load(env(with("DUNWELL_PRINT_URL", "http://127.0.0.1:8025/", "DUNWELL_PRINT_KEY", "k", "DUNWELL_PRINT_FROM", "adr_dunwell",
		"DUNWELL_PRINT_COLOR", "true", "DUNWELL_BANK_IBAN", "DE89 3704 0044 0532 0130 00", "DUNWELL_BANK_BIC", "COBADEFFXXX")))
	if err != nil {
		t.Fatal(err)
	}
	if c.Print != (Print{URL: "http://127.0.0.1:8025", APIKey: "k", From: "adr_dunwell", Color: true}) || c.Bank.IBAN != "DE89370400440532013000" {
		t.Errorf("print %+v bank %+v", c.Print, c.Bank)
	}
	_, err = load(env(with("DUNWELL_PRINT_URL", "ftp://x", "DUNWELL_PRINT_FROM", "home", "DUNWELL_PRINT_COLOR", "blue",
		"DUNWELL_BANK_IBAN", "DE00 1234", "DUNWELL_BANK_BIC", "X")))
	for _, want := range []string{"DUNWELL_PRINT_URL: must be an http(s)", "DUNWELL_PRINT_KEY: is required", "DUNWELL_PRINT_FROM: must be",
		"DUNWELL_PRINT_COLOR: must be true or false", "DUNWELL_BANK_IBAN: ", "DUNWELL_BANK_BIC: "} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	_, err = load(env(with("DUNWELL_PRINT_KEY", "k")))
	if err == nil || !strings.Contains(err.Error(), "DUNWELL_PRINT_URL: is required") {
		t.Errorf("a key without a URL: %v", err)
	}
}
