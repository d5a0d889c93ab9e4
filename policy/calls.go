package policy

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
}
