package config

import (
	"strings"
	"testing"

	"github.com/dunwell/dunwell/templates"
)

func TestBusinessIdentity(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://u@localhost/db", "DUNWELL_CODEC_KEYS": testKeys}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	c, err := load(env(with(map[string]string{
		EnvBusinessName: "Acme Supplies", EnvBusinessAddress: "1 Main St, Springfield, IL 62701",
		EnvReplyTo: "ar@acme.example", EnvBusinessPhone: "+1 (555) 010-0100",
	})))
	if err != nil {
		t.Fatal(err)
	}
	want := templates.Business{Name: "Acme Supplies", Address: "1 Main St, Springfield, IL 62701", ReplyTo: "ar@acme.example", Phone: "+1 (555) 010-0100"}
	if c.Business != want || c.SendGrid.ReplyTo != want.ReplyTo || c.SendGrid.FromName != want.Name {
		t.Errorf("business %+v, sendgrid %+v", c.Business, c.SendGrid)
	}
	if m := MissingBusiness(c.Business); len(m) != 0 {
		t.Errorf("missing %v", m)
	}
	c, err = load(env(with(map[string]string{EnvBusinessName: "Acme", "EMAIL_FROM_NAME": "Acme Billing"})))
	if err != nil || c.SendGrid.FromName != "Acme Billing" {
		t.Errorf("EMAIL_FROM_NAME should win over the business name: %v %+v", err, c.SendGrid)
	}
	c, err = load(env(base))
	if err != nil || c.SendGrid.FromName != "Dunwell" || c.Business != (templates.Business{}) {
		t.Errorf("defaults: %v %+v %+v", err, c.SendGrid, c.Business)
	}
	if m := strings.Join(MissingBusiness(c.Business), ","); m != "DUNWELL_BUSINESS_NAME,DUNWELL_BUSINESS_ADDRESS,DUNWELL_REPLY_TO" {
		t.Errorf("missing = %s", m)
	}

	for name, c := range map[string]struct{ variable, value, want string }{
		"reply-to with a name": {EnvReplyTo, "Accounts <ar@acme.example>", "must be a bare email address"},
		"reply-to not email":   {EnvReplyTo, "accounts", "must be a bare email address"},
		"phone with letters":   {EnvBusinessPhone, "call-me", "must be a phone number"},
		"phone too long":       {EnvBusinessPhone, "+1 555 010 0100 0100 0100 0100 01", "at most 30"},
		"name too long":        {EnvBusinessName, strings.Repeat("a", 101), "at most 100"},
		"address with newline": {EnvBusinessAddress, "1 Main St\x0bSpringfield", "control characters"},
		"name not UTF-8":       {EnvBusinessName, "Acme \xff", "not valid UTF-8"},
	} {
		_, err := load(env(with(map[string]string{c.variable: c.value})))
		if err == nil || !strings.Contains(err.Error(), c.variable+": ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %s: ...%s", name, err, c.variable, c.want)
		}
	}
}
