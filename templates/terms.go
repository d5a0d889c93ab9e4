package templates

import (
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/policy"
)

// Business is who a message comes from: the sender's name, its postal address, the
// reply-to address that reaches a person, and a phone number (optional). The worker
// sets it from the configuration (DUNWELL_BUSINESS_*); an empty field is left out of
// the message.
type Business struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address,omitempty"`
	ReplyTo string `json:"reply_to,omitempty"`
	Phone   string `json:"phone,omitempty"`
}

// Terms are the charges an invoice's policy adds when it stays unpaid, as a message
// states them in words: the late fee, the interest and the grace period before them.
// TermsOf builds them from a policy; they travel inside workflow and activity
// payloads, so they are plain data (JSON round-trips them).
//
// Terms{} (no Policy) means the terms are not known and the message says nothing
// about them; terms with a Policy and neither a late fee nor interest say that no
// late fee or interest is charged.
type Terms struct {
	// Policy is the policy's id ("standard"); messages group invoices by their terms.
	Policy string `json:"policy,omitempty"`
	// FromIssue: charges count from the invoice's issue (anchor "issued"), not from
	// its due date.
	FromIssue bool `json:"from_issue,omitempty"`
	// Grace delays the late fee (and, unless Interest.Start says otherwise, interest).
	Grace policy.Offset `json:"grace,omitzero"`
	// LateFee and Interest are the policy's, copied; nil: none.
	LateFee  *policy.LateFee  `json:"late_fee,omitempty"`
	Interest *policy.Interest `json:"interest,omitempty"`
	// Compensation is the policy's fixed compensation for recovery costs, copied;
	// nil: none.
	Compensation policy.Compensation `json:"compensation,omitempty"`
}

// TermsOf returns the terms of policy p (a copy: the terms never share maps with the
// policy). A nil policy has unknown terms (Terms{}).
func TermsOf(p *policy.Policy) Terms {
	if p == nil {
		return Terms{}
	}
	t := Terms{Policy: p.ID, FromIssue: p.Anchor == policy.AnchorIssued, Grace: p.GracePeriod}
	if f := p.LateFee; f != nil {
		c := *f
		c.Amount = maps.Clone(f.Amount)
		c.Cap = cloneCap(f.Cap)
		t.LateFee = &c
	}
	if in := p.Interest; in != nil {
		c := *in
		if in.Start != nil {
			s := *in.Start
			c.Start = &s
		}
		c.Cap = cloneCap(in.Cap)
		c.Rates = nil // the terms say how the rate is set, not its history
		t.Interest = &c
	}
	// The tiers' slices are shared with the policy: both only ever read them. (No
	// loop over the map: a workflow calls TermsOf.)
	t.Compensation = maps.Clone(p.Compensation)
	return t
}

func cloneCap(c *policy.Cap) *policy.Cap {
	if c == nil {
		return nil
	}
	out := *c
	out.Amount = maps.Clone(c.Amount)
	return &out
}

// Known reports whether the terms came from a policy.
func (t Terms) Known() bool { return t.Policy != "" }

// period is a length of time in one unit, for the "period" template ("5 days").
type period struct {
	N    int64
	Unit string // day, hour, minute, second
}

func periodOf(o policy.Offset) *period {
	if o.IsZero() {
		return nil
	}
	if o.InDays {
		return &period{N: int64(o.Days), Unit: "day"}
	}
	d := o.Exact
	switch {
	case d%time.Hour == 0:
		return &period{N: int64(d / time.Hour), Unit: "hour"}
	case d%time.Minute == 0:
		return &period{N: int64(d / time.Minute), Unit: "minute"}
	default:
		return &period{N: int64(d / time.Second), Unit: "second"}
	}
}

// when is the moment a charge starts, for the "when" template: After the invoice's
// due date (or issue, FromIssue); After nil: at once.
type when struct {
	FromIssue bool
	After     *period
}

// capText is a charge's cap, formatted: a fixed amount in the line's currency, a
// percentage of the invoice, or both (the lower applies).
type capText struct{ Amount, Percent string }

// termsText is one set of terms in the words of a locale, for the "terms" template.
type termsText struct {
	None bool
	// Fee is the late fee ("$25.00", or "2%" with FeePercent); empty: none.
	Fee        string
	FeePercent bool
	FeeWhen    when
	// Every repeats the fee; nil: charged once.
	Every    *period
	FeeCap   capText
	Interest string // annual rate ("8%"); empty: none
	// Reference names the reference rate interest follows ("the European Central
	// Bank's main refinancing rate"), Margin is added to it; FixedWhenLate: one rate
	// for the whole debt, else fixed each half-year. Empty Reference: none.
	Reference     string
	Margin        string
	FixedWhenLate bool
	IntWhen       when
	IntCap        capText
	// Comp is the fixed compensation for recovery costs, tier by tier (the last
	// without Below); empty: none.
	Comp []compTier
}

// compTier is one tier of the compensation, formatted.
type compTier struct{ Below, Amount string }

// referenceNames are the words for the shipped reference rates; another name is
// written as it is in the policy.
var referenceNames = map[string]string{
	"ecb_mro":  "the European Central Bank's main refinancing rate",
	"boe_base": "the Bank of England base rate",
}

// textOf formats terms for an invoice in currency, read in locale.
func (t Terms) textOf(currency, locale string) termsText {
	grace := when{FromIssue: t.FromIssue, After: periodOf(t.Grace)}
	out := termsText{FeeWhen: grace, IntWhen: grace}
	if f := t.LateFee; f != nil {
		switch {
		case f.Percent > 0:
			out.Fee, out.FeePercent = formatRate(f.Percent, locale), true
		default:
			if v, ok := f.Amount.Minor(currency); ok {
				out.Fee = FormatAmount(v, currency, locale)
			}
		}
		if out.Fee != "" {
			out.Every = periodOf(f.Every)
			out.FeeCap = capOf(f.Cap, currency, locale)
		}
	}
	if in := t.Interest; in != nil && (in.Rate > 0 || in.IsReference()) {
		if in.IsReference() {
			out.Reference, out.Margin = referenceNames[in.Reference], formatRate(in.Margin, locale)
			if out.Reference == "" {
				out.Reference = "the reference rate " + in.Reference
			}
			out.FixedWhenLate = in.EffectiveFixing() == policy.FixWhenLate
		} else {
			out.Interest = formatRate(in.Rate, locale)
		}
		if in.Start != nil {
			out.IntWhen = when{FromIssue: t.FromIssue, After: periodOf(*in.Start)}
		}
		out.IntCap = capOf(in.Cap, currency, locale)
	}
	for _, tier := range t.Compensation[currency] {
		amount, err := money.Parse(tier.Amount, currency)
		if err != nil {
			out.Comp = nil // validated away; never state a wrong sum
			break
		}
		ct := compTier{Amount: FormatAmount(amount, currency, locale)}
		if tier.Below != "" {
			below, err := money.Parse(tier.Below, currency)
			if err != nil {
				out.Comp = nil
				break
			}
			ct.Below = FormatAmount(below, currency, locale)
		}
		out.Comp = append(out.Comp, ct)
	}
	out.None = out.Fee == "" && out.Interest == "" && out.Reference == "" && len(out.Comp) == 0
	return out
}

func capOf(c *policy.Cap, currency, locale string) capText {
	if c == nil {
		return capText{}
	}
	var out capText
	if c.Percent > 0 {
		out.Percent = formatRate(c.Percent, locale)
	}
	if v, ok := c.Amount.Minor(currency); ok {
		out.Amount = FormatAmount(v, currency, locale)
	}
	return out
}

// formatRate writes a percentage for locale: "1.5%" in English and Japanese,
// "1,5 %" in German.
func formatRate(r policy.Rate, locale string) string {
	s := strings.TrimSuffix(r.String(), "%")
	lang, _ := splitLocale(locale)
	nf, ok := numberFormats[lang]
	if !ok {
		nf = numberFormats["en"]
	}
	s = strings.Replace(s, ".", nf.decimal, 1)
	if nf.symbolAfter || lang == "nl" {
		return s + "\u00a0%"
	}
	return s + "%"
}

// String is a short description for logs and previews ("standard: late fee 2%").
func (t Terms) String() string {
	if !t.Known() {
		return "unknown terms"
	}
	var parts []string
	if f := t.LateFee; f != nil {
		if f.Percent > 0 {
			parts = append(parts, "late fee "+f.Percent.String())
		} else {
			parts = append(parts, fmt.Sprintf("late fee %v", f.Amount))
		}
	}
	if in := t.Interest; in.IsReference() {
		parts = append(parts, fmt.Sprintf("interest %s + %s a year", in.Reference, in.Margin))
	} else if in != nil {
		parts = append(parts, "interest "+in.Rate.String()+" a year")
	}
	if c := t.Compensation; c != nil {
		parts = append(parts, "compensation in "+strings.Join(c.Currencies(), ", "))
	}
	if len(parts) == 0 {
		parts = append(parts, "no late fee or interest")
	}
	return t.Policy + ": " + strings.Join(parts, ", ")
}
