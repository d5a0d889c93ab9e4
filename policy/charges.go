package policy

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dunwell/dunwell/money"
)

// Charges a policy may add to (or take off) an invoice: a grace period, a late fee,
// interest and an early-payment discount. The arithmetic lives in package collection
// (collection.ComputeCharges); this file is the format and its validation.
//
// Every charge counts from the policy's charge start: the end of the due date in the
// customer's timezone (the first overdue instant) for anchor "due", the issue instant
// for anchor "issued" (fast demo cycles).

// Rate is a percentage held exactly as basis points (1% = 100 bp). It is written
// "1.5%" (or 1.5): at most two decimals, so no float ever touches money.
type Rate int64

// MaxRate is 100%.
const MaxRate Rate = 10_000

var rateRE = regexp.MustCompile(`^(\d{1,3})(?:\.(\d{1,2}))?\s*%?$`)

// ParseRate reads "1.5%", "8%", "0.25%" or "1.5" into basis points.
func ParseRate(s string) (Rate, error) {
	m := rateRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a percentage like \"1.5%%\" (at most two decimals)", s)
	}
	whole, _ := strconv.Atoi(m[1]) // at most 3 digits
	frac := 0
	if m[2] != "" {
		frac, _ = strconv.Atoi(m[2] + strings.Repeat("0", 2-len(m[2])))
	}
	r := Rate(whole*100 + frac)
	if r > MaxRate {
		return 0, fmt.Errorf("%q is more than 100%%", s)
	}
	return r, nil
}

// BasisPoints returns the rate in hundredths of a percent.
func (r Rate) BasisPoints() int64 { return int64(r) }

// String renders the rate as written: "1.5%", "8%", "0.25%".
func (r Rate) String() string {
	s := fmt.Sprintf("%d.%02d", r/100, r%100)
	s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
	return s + "%"
}

// MarshalText implements encoding.TextMarshaler (JSON and YAML).
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Rate) UnmarshalText(b []byte) error {
	v, err := ParseRate(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// UnmarshalYAML accepts the rate as a YAML scalar, quoted or not.
func (r *Rate) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return nodeError(n, "must be a percentage like \"1.5%\"")
	}
	v, err := ParseRate(n.Value)
	if err != nil {
		return nodeError(n, err.Error())
	}
	*r = v
	return nil
}

// MarshalYAML writes the rate as its string form.
func (r Rate) MarshalYAML() (any, error) { return r.String(), nil }

// Amounts is a fixed amount per ISO 4217 currency, in major units as people write
// them: {USD: "25.00", JPY: "3000", KWD: "7.500"}. An amount must not have more
// decimals than its currency allows (it is never rounded).
type Amounts map[string]string

// Minor returns the amount for currency in minor units; false when the currency is
// not listed (or its amount is invalid, which validation reports).
func (a Amounts) Minor(currency string) (int64, bool) {
	s, ok := a[currency]
	if !ok {
		return 0, false
	}
	v, err := money.Parse(s, currency)
	if err != nil {
		return 0, false
	}
	return v, true
}

// Currencies lists the currencies with an amount, sorted.
func (a Amounts) Currencies() []string {
	return slices.Sorted(maps.Keys(a))
}

func (a Amounts) validate(field string, add func(field, format string, args ...any)) {
	for _, cur := range a.Currencies() {
		f := field + "." + cur
		if !money.ValidCurrency(cur) {
			add(f, "%q is not an ISO 4217 currency code like \"USD\"", cur)
			continue
		}
		v, err := money.Parse(a[cur], cur)
		switch {
		case err != nil:
			add(f, "%s", err)
		case v <= 0:
			add(f, "must be greater than zero")
		}
	}
}

// Cap limits a charge's total: a percentage of the invoice's principal, a fixed
// amount per currency, or both (the lower applies).
type Cap struct {
	Percent Rate    `yaml:"percent,omitempty" json:"percent,omitempty"`
	Amount  Amounts `yaml:"amount,omitempty" json:"amount,omitempty"`
}

// Limit returns the cap for an invoice of principal minor units in currency, and
// false when nothing limits it. With both a percent and an amount for the currency,
// the lower applies; a currency without an amount is capped by the percent alone. A
// cap given only as amounts, for a currency it does not list, is 0: an unpriced
// currency is never charged (see Policy.CheckCurrency).
func (c *Cap) Limit(principal int64, currency string) (int64, bool) {
	if c == nil {
		return 0, false
	}
	limit, limited := int64(0), false
	if c.Percent > 0 {
		limit, limited = money.MulDivRound(principal, c.Percent.BasisPoints(), 10_000), true
	}
	if a, ok := c.Amount.Minor(currency); ok {
		if !limited || a < limit {
			limit = a
		}
		limited = true
	} else if len(c.Amount) > 0 && !limited {
		limit, limited = 0, true // unpriced currency: nothing may be charged
	}
	return limit, limited
}

func (c *Cap) validate(field string, add func(field, format string, args ...any)) {
	if c == nil {
		return
	}
	if c.Percent == 0 && len(c.Amount) == 0 {
		add(field, "must give a percent, an amount per currency, or both")
	}
	c.Amount.validate(field+".amount", add)
}

// LateFee is charged when an invoice is still unpaid after the grace period: once,
// or again every Every.
type LateFee struct {
	// Amount is a fixed fee per currency ({USD: "25.00"}); exclusive with Percent.
	Amount Amounts `yaml:"amount,omitempty" json:"amount,omitempty"`
	// Percent is a fee as a percentage of the unpaid principal when it is charged.
	Percent Rate `yaml:"percent,omitempty" json:"percent,omitempty"`
	// Every repeats the fee ("30d", or "+20s" for demo cycles); zero: charged once.
	Every Offset `yaml:"every,omitempty" json:"every,omitzero"`
	// Cap limits the sum of all late fees; required when the fee repeats.
	Cap *Cap `yaml:"cap,omitempty" json:"cap,omitempty"`
}

// Interest is simple annual interest on the unpaid principal, day count actual/365:
// a fixed Rate, or a Reference rate (policies/rates/<reference>.yaml) plus a Margin,
// fixed per half-year, counted per day late (see statutory.go).
type Interest struct {
	// Rate is the annual rate ("8%"); exclusive with Reference.
	Rate Rate `yaml:"rate,omitempty" json:"rate,omitempty"`
	// Reference names a rates file ("ecb_mro", "boe_base"); the annual rate is its
	// rate plus Margin.
	Reference string `yaml:"reference,omitempty" json:"reference,omitempty"`
	// Margin is added to the reference rate ("8%").
	Margin Rate `yaml:"margin,omitempty" json:"margin,omitempty"`
	// Fixing is how the reference rate of a day late is chosen: "half_year" (the
	// default) or "when_late".
	Fixing Fixing `yaml:"fixing,omitempty" json:"fixing,omitempty"`
	// MissingRate is what happens when a needed rate is not in the file: "refuse"
	// (the default) or {fallback: "4%"}.
	MissingRate *MissingRate `yaml:"missing_rate,omitempty" json:"missing_rate,omitempty"`
	// Start is when interest starts, counted from the charge start like the grace
	// period ("0d", "+30d"); unset: when the grace period ends.
	Start *Offset `yaml:"start,omitempty" json:"start,omitempty"`
	// Cap limits the interest in total.
	Cap *Cap `yaml:"cap,omitempty" json:"cap,omitempty"`
	// Rates are the reference rates per half-year, resolved from the rates file when
	// the policy is loaded; they travel in the invoice's policy snapshot.
	Rates *ReferenceRates `yaml:"-" json:"rates,omitempty"`
}

// Discount is an early-payment discount: paying the invoice in full, less the
// discount, within Within of the issue date settles it.
type Discount struct {
	// Percent of the principal taken off.
	Percent Rate `yaml:"percent" json:"percent"`
	// Within is the window after the issue date: "10d" is up to the end of the 10th
	// day after the issue date, in the customer's timezone ("+30s" for demos: exactly
	// that long after the issue instant).
	Within Offset `yaml:"within" json:"within"`
}

// MaxLateFees bounds how many times a recurring late fee is charged on one invoice,
// whatever its cap, so every computation over an invoice's life stays small.
const MaxLateFees = 1000

// validateCharges appends the problems of the grace period, late fee, interest and
// discount.
func (p *Policy) validateCharges(add func(field, format string, args ...any)) {
	if p.GracePeriod.isNegative() {
		add("grace_period", "must not be negative")
	}
	if f := p.LateFee; f != nil {
		switch {
		case len(f.Amount) > 0 && f.Percent > 0:
			add("late_fee", "give either amount or percent, not both")
		case len(f.Amount) == 0 && f.Percent == 0:
			add("late_fee", "must give an amount per currency or a percent")
		}
		f.Amount.validate("late_fee.amount", add)
		if f.Every.isNegative() {
			add("late_fee.every", "must be a positive duration like \"30d\"")
		} else if !f.Every.IsZero() {
			if f.Every.InDays && f.Every.Days < 1 || !f.Every.InDays && f.Every.Exact < minExactEvery {
				add("late_fee.every", "must be at least 1d (or %s for demo cycles)", minExactEvery)
			}
			if f.Cap == nil {
				add("late_fee.cap", "is required when the fee repeats (every)")
			}
		}
		f.Cap.validate("late_fee.cap", add)
	}
	if in := p.Interest; in != nil {
		in.validateReference(add)
		if in.Start != nil && in.Start.isNegative() {
			add("interest.start", "must not be negative")
		}
		in.Cap.validate("interest.cap", add)
	}
	p.Compensation.validate(add)
	if d := p.Discount; d != nil {
		if d.Percent <= 0 || d.Percent >= MaxRate {
			add("early_payment_discount.percent", "must be above 0%% and below 100%%")
		}
		if d.Within.isNegative() || d.Within.IsZero() {
			add("early_payment_discount.within", "must be a positive duration like \"10d\"")
		}
	}
}

// CheckCurrency reports whether the policy can price an invoice in currency: a fixed
// late fee, or a cap given only in amounts, must list it. The API refuses an invoice
// the selected policy cannot price instead of silently charging nothing.
func (p *Policy) CheckCurrency(currency string) error {
	var missing []string
	need := func(field string, a Amounts) {
		if len(a) > 0 {
			if _, ok := a.Minor(currency); !ok {
				missing = append(missing, field)
			}
		}
	}
	if f := p.LateFee; f != nil {
		need("late_fee.amount", f.Amount)
		if f.Cap != nil && f.Cap.Percent == 0 {
			need("late_fee.cap.amount", f.Cap.Amount)
		}
	}
	if in := p.Interest; in != nil && in.Cap != nil && in.Cap.Percent == 0 {
		need("interest.cap.amount", in.Cap.Amount)
	}
	if p.Compensation != nil {
		if _, ok := p.Compensation[currency]; !ok {
			missing = append(missing, "compensation")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("policy %s has no %s amount for %s", p.ID, strings.Join(missing, " or "), currency)
	}
	return nil
}
