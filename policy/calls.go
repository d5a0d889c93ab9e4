package policy

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Calls are the compliance rules for calls a policy's collectors make (issue 20,
// docs/collectors.md). They are on by default: a policy without a calls section gets
// DefaultCalls. The pure decisions that apply them are collection.NextCallAt.
type Calls struct {
	// MaxPerInvoicePerWeek caps the call attempts about one invoice in any 7 days
	// (default 7).
	MaxPerInvoicePerWeek int `yaml:"max_per_invoice_per_week,omitempty" json:"max_per_invoice_per_week,omitempty"`
	// QuietDaysAfterConversation: no call within this many days after a conversation
	// with the customer (an outcome reached, promised, disputed or refused; default 7).
	QuietDaysAfterConversation int `yaml:"quiet_days_after_conversation,omitempty" json:"quiet_days_after_conversation,omitempty"`
	// VoicemailScript is what a collector may say on a voicemail, shown on every call
	// task: a limited-content message that names the business and a call-back number
	// and nothing else (not the debt, not the invoice), so it tells a third party who
	// hears it nothing. Its only placeholders are {business} and {phone}
	// (DUNWELL_BUSINESS_NAME, DUNWELL_BUSINESS_PHONE); empty: DefaultVoicemailScript.
	VoicemailScript string `yaml:"voicemail_script,omitempty" json:"voicemail_script,omitempty"`
}

// DefaultVoicemailScript is the voicemail script of a policy that sets none.
const DefaultVoicemailScript = "Hello, this is {business}. Please call us back at {phone}. Thank you."

// maxVoicemailScript bounds a voicemail script, in characters.
const maxVoicemailScript = 300

var placeholderRE = regexp.MustCompile(`\{[^}]*\}`)

// Voicemail returns the policy's voicemail script with its default.
func (p *Policy) Voicemail() string {
	if p.Calls != nil && p.Calls.VoicemailScript != "" {
		return p.Calls.VoicemailScript
	}
	return DefaultVoicemailScript
}

// RenderVoicemail fills a voicemail script's placeholders.
func RenderVoicemail(script, business, phone string) string {
	return strings.NewReplacer("{business}", business, "{phone}", phone).Replace(script)
}

// Defaults of Calls.
const (
	DefaultCallsPerInvoicePerWeek     = 7
	DefaultCallQuietDaysAfterTalking  = 7
	maxCallsPerInvoicePerWeek         = 50
	maxCallQuietDaysAfterConversation = 90
)

// CallRules returns the policy's call rules with their defaults applied.
func (p *Policy) CallRules() Calls {
	c := Calls{MaxPerInvoicePerWeek: DefaultCallsPerInvoicePerWeek, QuietDaysAfterConversation: DefaultCallQuietDaysAfterTalking}
	if p.Calls != nil {
		if p.Calls.MaxPerInvoicePerWeek > 0 {
			c.MaxPerInvoicePerWeek = p.Calls.MaxPerInvoicePerWeek
		}
		if p.Calls.QuietDaysAfterConversation > 0 {
			c.QuietDaysAfterConversation = p.Calls.QuietDaysAfterConversation
		}
	}
	return c
}

func (c *Calls) validate(add func(field, format string, args ...any)) {
	if c == nil {
		return
	}
	if c.MaxPerInvoicePerWeek < 0 || c.MaxPerInvoicePerWeek > maxCallsPerInvoicePerWeek {
		add("calls.max_per_invoice_per_week", "must be from 1 to %d (0 or absent: %d)", maxCallsPerInvoicePerWeek, DefaultCallsPerInvoicePerWeek)
	}
	if c.QuietDaysAfterConversation < 0 || c.QuietDaysAfterConversation > maxCallQuietDaysAfterConversation {
		add("calls.quiet_days_after_conversation", "must be from 1 to %d (0 or absent: %d)", maxCallQuietDaysAfterConversation, DefaultCallQuietDaysAfterTalking)
	}
	if v := c.VoicemailScript; v != "" {
		switch {
		case utf8.RuneCountInString(v) > maxVoicemailScript || !utf8.ValidString(v):
			add("calls.voicemail_script", "must be text of at most %d characters", maxVoicemailScript)
		case !strings.Contains(v, "{phone}"):
			add("calls.voicemail_script", "must give the call-back number, {phone}")
		}
		for _, ph := range placeholderRE.FindAllString(v, -1) {
			if ph != "{business}" && ph != "{phone}" {
				add("calls.voicemail_script", "%s is not allowed: a voicemail names only {business} and {phone}", ph)
				break
			}
		}
	}
}
