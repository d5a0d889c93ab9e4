package policy

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dunwell/dunwell/money"
)

// Statutory late-payment terms: interest that follows a published reference rate
// (ECB main refinancing rate, Bank of England Bank Rate), fixed per half-year, and a
// fixed compensation tiered by the size of the debt. The rates are data (see
// rates.go); this file is the policy's side of them.

// RefRate is a reference rate held exactly in ten-thousandths of a percent
// (1% = 10 000): central banks publish rates like "3.65%" or "0.1%", and the files
// may give at most four decimals. Never negative: the reference rates the law names
// have not been, and a negative one would need a rule the law does not give.
type RefRate int64

// RefRatePerPercent is one percent as a RefRate.
const RefRatePerPercent RefRate = 10_000

var refRateRE = regexp.MustCompile(`^(-?)(\d{1,3})(?:\.(\d+))?\s*%?$`)

// ParseRefRate reads "2.15%", "0.1", "3.6500%" (at most four decimals, 0% to 100%).
func ParseRefRate(s string) (RefRate, error) {
	m := refRateRE.FindStringSubmatch(strings.TrimSpace(s))
	switch {
	case m == nil:
		return 0, fmt.Errorf("%q is not a percentage like \"2.15%%\"", s)
	case len(m[3]) > 4:
		return 0, fmt.Errorf("%q has %d decimals; a rate has at most 4", s, len(m[3]))
	case m[1] == "-" && strings.Trim(m[2]+m[3], "0") != "":
		return 0, fmt.Errorf("%q is negative; a reference rate must be 0%% or more", s)
	}
	whole, _ := strconv.Atoi(m[2]) // at most 3 digits
	frac, _ := strconv.Atoi(m[3] + strings.Repeat("0", 4-len(m[3])))
	r := RefRate(whole)*RefRatePerPercent + RefRate(frac)
	if r > 100*RefRatePerPercent {
		return 0, fmt.Errorf("%q is more than 100%%", s)
	}
	return r, nil
}

// String renders the rate with the decimals it needs: "2.15%", "0.1%", "8%".
func (r RefRate) String() string {
	s := fmt.Sprintf("%d.%04d", r/RefRatePerPercent, r%RefRatePerPercent)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".") + "%"
}

// FromRate converts a policy Rate (basis points) to a RefRate.
func FromRate(r Rate) RefRate { return RefRate(r) * 100 }

// MarshalText implements encoding.TextMarshaler (JSON and YAML).
func (r RefRate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *RefRate) UnmarshalText(b []byte) error {
	v, err := ParseRefRate(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// UnmarshalYAML accepts the rate as a YAML scalar, quoted or not.
func (r *RefRate) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return nodeError(n, "must be a percentage like \"2.15%\"")
	}
	v, err := ParseRefRate(n.Value)
	if err != nil {
		return nodeError(n, err.Error())
	}
	*r = v
	return nil
}

// MarshalYAML writes the rate as its string form.
func (r RefRate) MarshalYAML() (any, error) { return r.String(), nil }

// HalfYear is a calendar half-year: Half 1 is January to June, 2 July to December.
type HalfYear struct {
	Year, Half int
}

// HalfYearOf returns the half-year of a calendar date.
func HalfYearOf(year int, month time.Month) HalfYear {
	if month <= time.June {
		return HalfYear{year, 1}
	}
	return HalfYear{year, 2}
}

// Start is the half-year's first day (1 January or 1 July), at midnight in loc.
func (h HalfYear) Start(loc *time.Location) time.Time {
	return time.Date(h.Year, time.Month(6*(h.Half-1)+1), 1, 0, 0, 0, 0, loc)
}

// Next is the half-year after h.
func (h HalfYear) Next() HalfYear {
	if h.Half == 1 {
		return HalfYear{h.Year, 2}
	}
	return HalfYear{h.Year + 1, 1}
}

// Before reports whether h comes before o.
func (h HalfYear) Before(o HalfYear) bool {
	return h.Year < o.Year || h.Year == o.Year && h.Half < o.Half
}

// String is "2025-H1".
func (h HalfYear) String() string { return fmt.Sprintf("%04d-H%d", h.Year, h.Half) }

var halfYearRE = regexp.MustCompile(`^(\d{4})-H([12])$`)

// ParseHalfYear reads "2025-H2".
func ParseHalfYear(s string) (HalfYear, error) {
	m := halfYearRE.FindStringSubmatch(s)
	if m == nil {
		return HalfYear{}, fmt.Errorf("%q is not a half-year like \"2025-H2\"", s)
	}
	y, _ := strconv.Atoi(m[1])
	h, _ := strconv.Atoi(m[2])
	return HalfYear{y, h}, nil
}

// MarshalText implements encoding.TextMarshaler.
func (h HalfYear) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *HalfYear) UnmarshalText(b []byte) error {
	v, err := ParseHalfYear(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// Fixing says how the reference rate of a day late is chosen.
type Fixing string

// Fixings.
const (
	// FixEachHalfYear (the default; Directive 2011/7/EU art. 3(2)): each day late
	// takes the rate of its own half-year, the rate in force on 1 January for
	// January to June and on 1 July for July to December.
	FixEachHalfYear Fixing = "half_year"
	// FixWhenLate (UK, SI 2002/1675 art. 4): one rate for the whole debt, the rate
	// in force at the close of 31 December (or 30 June) immediately before the day
	// interest starts to run.
	FixWhenLate Fixing = "when_late"
)

// MissingRate says what happens when the reference rate a day late needs is not in
// the rates file: refuse (the default) or fall back to a stated reference rate.
type MissingRate struct {
	// Fallback, when set, is the reference rate assumed for a half-year the file does
	// not cover (the margin is added to it). Unset: refuse.
	Fallback *RefRate `yaml:"fallback,omitempty" json:"fallback,omitempty"`
}

// UnmarshalYAML accepts "refuse" or {fallback: "4%"}.
func (m *MissingRate) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value != "refuse" {
			return nodeError(n, "must be \"refuse\" or {fallback: \"4%\"}")
		}
		*m = MissingRate{}
		return nil
	case yaml.MappingNode:
		type plain MissingRate
		var v plain
		if err := n.Decode(&v); err != nil {
			return err
		}
		if v.Fallback == nil {
			return nodeError(n, "must be \"refuse\" or {fallback: \"4%\"}")
		}
		*m = MissingRate(v)
		return nil
	}
	return nodeError(n, "must be \"refuse\" or {fallback: \"4%\"}")
}

// MarshalYAML writes "refuse" or the mapping.
func (m MissingRate) MarshalYAML() (any, error) {
	if m.Fallback == nil {
		return "refuse", nil
	}
	return map[string]string{"fallback": m.Fallback.String()}, nil
}

// HalfYearRate is the reference rate that applies to one half-year, resolved from
// the rates file when the policy is loaded (see Policy.ResolveRates).
type HalfYearRate struct {
	Half HalfYear `json:"half"`
	Rate RefRate  `json:"rate"`
}

// ReferenceRates is what a policy carries of its rates file: the rate of every
// half-year the file covers, and where they came from. It travels in the policy's
// snapshot, so a running invoice never reads a file.
type ReferenceRates struct {
	// File names the rates file ("rates/ecb_mro.yaml").
	File string `json:"file"`
	// Through is the last date the file vouches for (YYYY-MM-DD).
	Through string `json:"through"`
	// Halves are contiguous, in order.
	Halves []HalfYearRate `json:"halves"`
}

// RateFor returns the reference rate of half-year h; false when the file does not
// cover it.
func (r *ReferenceRates) RateFor(h HalfYear) (RefRate, bool) {
	if r == nil {
		return 0, false
	}
	for _, x := range r.Halves {
		if x.Half == h {
			return x.Rate, true
		}
	}
	return 0, false
}

// IsReference reports whether the interest follows a reference rate.
func (in *Interest) IsReference() bool { return in != nil && in.Reference != "" }

// RateFor returns the annual rate (reference + margin) for the days late of
// half-year h, the reference rate used, and whether it is the fallback; ok is false
// when the rate is missing and the policy refuses.
func (in *Interest) RateFor(h HalfYear) (annual, reference RefRate, fallback, ok bool) {
	if !in.IsReference() {
		return FromRate(in.Rate), 0, false, true
	}
	if r, found := in.Rates.RateFor(h); found {
		return r + FromRate(in.Margin), r, false, true
	}
	if in.MissingRate != nil && in.MissingRate.Fallback != nil {
		f := *in.MissingRate.Fallback
		return f + FromRate(in.Margin), f, true, true
	}
	return 0, 0, false, false
}

// EffectiveFixing is the fixing with its default applied.
func (in *Interest) EffectiveFixing() Fixing {
	if in.Fixing == "" {
		return FixEachHalfYear
	}
	return in.Fixing
}

// Describe says the interest in words: "ECB main refinancing rate (ecb_mro) + 8%,
// fixed per half-year".
func (in *Interest) Describe() string {
	if !in.IsReference() {
		return in.Rate.String() + " a year"
	}
	s := fmt.Sprintf("the %s reference rate + %s a year", in.Reference, in.Margin)
	if in.EffectiveFixing() == FixWhenLate {
		return s + ", at the rate in force when the invoice became late"
	}
	return s + ", the reference rate fixed per half-year (in force on 1 January / 1 July)"
}

func (in *Interest) validateReference(add func(field, format string, args ...any)) {
	if in.Reference == "" {
		if in.Rate <= 0 {
			add("interest.rate", "must be an annual percentage above 0 like \"8%%\" (or give reference and margin)")
		}
		if in.Margin != 0 {
			add("interest.margin", "applies only with a reference rate (interest.reference)")
		}
		if in.Fixing != "" {
			add("interest.fixing", "applies only with a reference rate (interest.reference)")
		}
		if in.MissingRate != nil {
			add("interest.missing_rate", "applies only with a reference rate (interest.reference)")
		}
		return
	}
	if in.Rate != 0 {
		add("interest.rate", "give either rate or reference and margin, not both")
	}
	if !idRE.MatchString(in.Reference) {
		add("interest.reference", "must name a rates file like \"ecb_mro\" (policies/rates/ecb_mro.yaml)")
	}
	switch in.Fixing {
	case "", FixEachHalfYear, FixWhenLate:
	default:
		add("interest.fixing", "must be %q or %q", FixEachHalfYear, FixWhenLate)
	}
}

// Tier is one step of a compensation scale: Amount when the debt is below Below
// (major units); the last tier has no Below and catches every larger debt.
type Tier struct {
	Below  string `yaml:"below,omitempty" json:"below,omitempty"`
	Amount string `yaml:"amount" json:"amount"`
}

// Compensation is a fixed sum for recovery costs, per currency, tiered by the debt:
// {GBP: [{below: "1000.00", amount: "40.00"}, ..., {amount: "100.00"}]}. It is charged
// once, when the late fees would start (charge start + grace period).
type Compensation map[string][]Tier

// Currencies lists the currencies with a scale, sorted.
func (c Compensation) Currencies() []string { return slices.Sorted(maps.Keys(c)) }

// For returns the compensation for a debt of debt minor units in currency; false
// when the currency has no scale (or it is invalid, which validation reports).
func (c Compensation) For(debt int64, currency string) (int64, bool) {
	tiers, ok := c[currency]
	if !ok || len(tiers) == 0 {
		return 0, false
	}
	for _, t := range tiers {
		if t.Below != "" {
			below, err := money.Parse(t.Below, currency)
			if err != nil {
				return 0, false
			}
			if debt >= below {
				continue
			}
		}
		amount, err := money.Parse(t.Amount, currency)
		return amount, err == nil
	}
	return 0, false // no catch-all: validation refuses such a scale
}

func (c Compensation) validate(add func(field, format string, args ...any)) {
	if c == nil {
		return
	}
	if len(c) == 0 {
		add("compensation", "must list a scale for at least one currency, like {EUR: [{amount: \"40.00\"}]}")
	}
	for _, cur := range c.Currencies() {
		f := "compensation." + cur
		if !money.ValidCurrency(cur) {
			add(f, "%q is not an ISO 4217 currency code like \"EUR\"", cur)
			continue
		}
		tiers := c[cur]
		if len(tiers) == 0 {
			add(f, "must list at least one tier; the last one, without below, catches every debt")
			continue
		}
		var prev int64
		for i, t := range tiers {
			tf := fmt.Sprintf("%s[%d]", f, i)
			last := i == len(tiers)-1
			switch v, err := money.Parse(t.Amount, cur); {
			case t.Amount == "":
				add(tf+".amount", "is required")
			case err != nil:
				add(tf+".amount", "%s", err)
			case v <= 0:
				add(tf+".amount", "must be greater than zero")
			}
			switch {
			case last && t.Below != "":
				add(tf+".below", "the last tier must have no below: it catches every larger debt (add a final {amount: ...})")
			case !last && t.Below == "":
				add(tf+".below", "only the last tier may omit below (the catch-all comes last)")
			case !last:
				v, err := money.Parse(t.Below, cur)
				switch {
				case err != nil:
					add(tf+".below", "%s", err)
				case v <= 0:
					add(tf+".below", "must be greater than zero")
				case i > 0 && v <= prev:
					add(tf+".below", "%s must be above the previous tier's %s (tiers go from the smallest debt up)", t.Below, tiers[i-1].Below)
				}
				prev = v
			}
		}
	}
}
