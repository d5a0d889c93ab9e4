package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRefRate(t *testing.T) {
	good := map[string]RefRate{"2.15%": 21_500, "0.1": 1_000, "3.6500%": 36_500, "0%": 0, "-0.00%": 0, "0.0001%": 1, "100%": 1_000_000, "4.5 %": 45_000}
	for in, want := range good {
		if got, err := ParseRefRate(in); err != nil || got != want {
			t.Errorf("ParseRefRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"2.15001%": "at most 4", "-0.5%": "negative", "101%": "more than 100%", "": "not a percentage",
		"1,5%": "not a percentage", "1e2": "not a percentage",
	}
	for in, want := range bad {
		if _, err := ParseRefRate(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRefRate(%q) = %v, want an error saying %q", in, err, want)
		}
	}
	for r, want := range map[RefRate]string{21_500: "2.15%", 1_000: "0.1%", 80_000: "8%", 1: "0.0001%", 0: "0%"} {
		if r.String() != want {
			t.Errorf("RefRate(%d) = %q, want %q", int64(r), r.String(), want)
		}
	}
}

const ratesFile = `# test rates
through: 2025-09-30
rates:
  - {date: 2024-12-18, rate: 3.15%}
  - {date: 2025-02-05, rate: 2.90%}
  - {date: 2025-06-11, rate: 2.15%}
`

func TestRateTableHalves(t *testing.T) {
	tb, err := ParseRates("rates/x.yaml", "x", []byte(ratesFile))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		fixing Fixing
		want   []HalfYearRate
	}{
		// The rate in force on 1 January / 1 July; 2024-H2 started before the first
		// change, 2026-H1 after through: neither is covered.
		{FixEachHalfYear, []HalfYearRate{{HalfYear{2025, 1}, 31_500}, {HalfYear{2025, 2}, 21_500}}},
		// The rate at the close of 31 December / 30 June before.
		{FixWhenLate, []HalfYearRate{{HalfYear{2025, 1}, 31_500}, {HalfYear{2025, 2}, 21_500}}},
	}
	for _, tc := range tests {
		got := tb.Halves(tc.fixing)
		if len(got) != len(tc.want) {
			t.Fatalf("%s: halves %v, want %v", tc.fixing, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: halves[%d] = %v, want %v", tc.fixing, i, got[i], tc.want[i])
			}
		}
	}
	// A change that takes effect on 1 July counts for that half-year under
	// half_year (in force on 1 July), not under when_late (the close of 30 June).
	edge := "through: 2025-12-31\nrates:\n  - {date: 2025-01-01, rate: 1%}\n  - {date: 2025-07-01, rate: 2%}\n"
	tb, err = ParseRates("rates/e.yaml", "e", []byte(edge))
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := (&ReferenceRates{Halves: tb.Halves(FixEachHalfYear)}).RateFor(HalfYear{2025, 2}); r != 2*RefRatePerPercent {
		t.Errorf("half_year 2025-H2 = %s, want 2%%", r)
	}
	if r, _ := (&ReferenceRates{Halves: tb.Halves(FixWhenLate)}).RateFor(HalfYear{2025, 2}); r != RefRatePerPercent {
		t.Errorf("when_late 2025-H2 = %s, want 1%%", r)
	}
}

func TestParseRatesRefusesBadInput(t *testing.T) {
	tests := []struct {
		name, data string
		want       []string // "line: field: problem fragment"
	}{
		{"out of order", "through: 2025-12-31\nrates:\n  - {date: 2025-06-11, rate: 2.15%}\n  - {date: 2025-02-05, rate: 2.90%}\n",
			[]string{"line 4: rates[1].date: 2025-02-05 must come after the previous entry's 2025-06-11"}},
		{"same date twice", "through: 2025-12-31\nrates:\n  - {date: 2025-06-11, rate: 2.15%}\n  - {date: 2025-06-11, rate: 2.90%}\n",
			[]string{"line 4: rates[1].date"}},
		{"five decimals", "through: 2025-12-31\nrates:\n  - {date: 2025-06-11, rate: 2.15001%}\n",
			[]string{"line 3: rates[0].rate: \"2.15001%\" has 5 decimals; a rate has at most 4"}},
		{"negative", "through: 2025-12-31\nrates:\n  - {date: 2025-06-11, rate: -0.5%}\n",
			[]string{"line 3: rates[0].rate: \"-0.5%\" is negative"}},
		{"bad date", "through: 2025-12-31\nrates:\n  - {date: 2025-13-01, rate: 1%}\n",
			[]string{"line 3: rates[0].date: \"2025-13-01\" is not a date"}},
		{"no through", "rates:\n  - {date: 2025-06-11, rate: 2.15%}\n", []string{"through: is required"}},
		{"through before last", "through: 2025-01-01\nrates:\n  - {date: 2025-06-11, rate: 2.15%}\n",
			[]string{"line 1: through: 2025-01-01 is before the last change"}},
		{"no rates", "through: 2025-01-01\n", []string{"rates: must list at least one"}},
		{"rate missing", "through: 2025-12-31\nrates:\n  - {date: 2025-06-11}\n", []string{"line 3: rates[0].rate: is required"}},
		{"unknown field", "through: 2025-12-31\nrate:\n  - {date: 2025-06-11, rate: 1%}\n", []string{"line 2: rate: unknown field"}},
		{"empty", "", []string{"(file): is empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRates("rates/x.yaml", "x", []byte(tc.data))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if !strings.HasPrefix(err.Error(), "rates/x.yaml: ") {
				t.Errorf("error %q does not name the file", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

const statutoryPolicy = `id: s
version: 1
steps:
  - {name: a, offset: +1d, channels: [email], template: t}
interest:
  reference: x
  margin: 8%
`

func TestReferenceInterestAndCompensationValidation(t *testing.T) {
	tests := []struct {
		name, extra string
		interest    string // replaces the interest block when set
		want        []string
	}{
		{"tiers not ordered", "compensation:\n  GBP:\n    - {below: \"10000.00\", amount: \"70.00\"}\n    - {below: \"1000.00\", amount: \"40.00\"}\n    - {amount: \"100.00\"}\n", "",
			[]string{"line 11: compensation.GBP[1].below: 1000.00 must be above the previous tier's 10000.00"}},
		{"no catch-all", "compensation:\n  GBP:\n    - {below: \"1000.00\", amount: \"40.00\"}\n", "",
			[]string{"line 10: compensation.GBP[0].below: the last tier must have no below"}},
		{"catch-all not last", "compensation:\n  GBP:\n    - {amount: \"40.00\"}\n    - {below: \"1000.00\", amount: \"70.00\"}\n", "",
			[]string{"compensation.GBP[0].below: only the last tier may omit below", "compensation.GBP[1].below: the last tier must have no below"}},
		{"currency with no tier", "compensation:\n  EUR: []\n", "", []string{"line 9: compensation.EUR: must list at least one tier"}},
		{"not a currency", "compensation:\n  EURO:\n    - {amount: \"40\"}\n", "", []string{"compensation.EURO: \"EURO\" is not an ISO 4217"}},
		{"too many decimals", "compensation:\n  JPY:\n    - {amount: \"40.5\"}\n", "", []string{"compensation.JPY[0].amount: \"40.5\" has 1 decimal places; JPY allows 0"}},
		{"rate and reference", "", "interest:\n  rate: 8%\n  reference: x\n  margin: 8%\n", []string{"interest.rate: give either rate or reference"}},
		{"margin without reference", "", "interest:\n  rate: 8%\n  margin: 8%\n", []string{"interest.margin: applies only with a reference rate"}},
		{"bad reference name", "", "interest:\n  reference: ECB MRO\n  margin: 8%\n", []string{"interest.reference: must name a rates file"}},
		{"bad fixing", "", "interest:\n  reference: x\n  margin: 8%\n  fixing: daily\n", []string{"interest.fixing: must be \"half_year\" or \"when_late\""}},
		{"bad missing_rate", "", "interest:\n  reference: x\n  margin: 8%\n  missing_rate: zero\n", []string{"line 8: interest.missing_rate: must be \"refuse\" or {fallback"}},
		{"negative fallback", "", "interest:\n  reference: x\n  margin: 8%\n  missing_rate: {fallback: -1%}\n", []string{"interest.missing_rate.fallback: \"-1%\" is negative"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := statutoryPolicy
			if tc.interest != "" {
				src = src[:strings.Index(src, "interest:")] + tc.interest
			}
			_, err := Parse("s.yaml", []byte(src+tc.extra))
			if err == nil {
				t.Fatal("parsed; want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestCompensationTiers(t *testing.T) {
	src := statutoryPolicy + "compensation:\n  GBP:\n    - {below: 1000.00, amount: 40.00}\n    - {below: 10000.00, amount: 70.00}\n    - {amount: 100.00}\n  JPY:\n    - {amount: \"6000\"}\n"
	p, err := Parse("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		debt     int64
		currency string
		want     int64
		ok       bool
	}{
		{1, "GBP", 4000, true},
		{99_999, "GBP", 4000, true},
		{100_000, "GBP", 7000, true}, // GBP 1,000 or more
		{999_999, "GBP", 7000, true},
		{1_000_000, "GBP", 10000, true}, // GBP 10,000 or more
		{5, "JPY", 6000, true},
		{100, "EUR", 0, false},
	}
	for _, tc := range tests {
		got, ok := p.Compensation.For(tc.debt, tc.currency)
		if got != tc.want || ok != tc.ok {
			t.Errorf("For(%d %s) = %d, %v; want %d, %v", tc.debt, tc.currency, got, ok, tc.want, tc.ok)
		}
	}
	if err := p.CheckCurrency("EUR"); err == nil || !strings.Contains(err.Error(), "compensation") {
		t.Errorf("CheckCurrency(EUR) = %v, want a refusal naming compensation", err)
	}
	if err := p.CheckCurrency("GBP"); err != nil {
		t.Errorf("CheckCurrency(GBP) = %v", err)
	}
}

func TestResolveRates(t *testing.T) {
	tb, err := ParseRates("rates/x.yaml", "x", []byte(ratesFile))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("s.yaml", []byte(statutoryPolicy+"  missing_rate: {fallback: 4%}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var ve *ValidationError
	if err := p.ResolveRates(map[string]*RateTable{"y": tb}); !errors.As(err, &ve) || ve.Fields[0].Field != "interest.reference" ||
		!strings.Contains(ve.Fields[0].Problem, "no rates file rates/x.yaml (rates files: y)") {
		t.Fatalf("ResolveRates without the file = %v", err)
	}
	if err := p.ResolveRates(map[string]*RateTable{"x": tb}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		half         HalfYear
		annual, ref  RefRate
		fallback, ok bool
	}{
		{HalfYear{2025, 1}, 111_500, 31_500, false, true},
		{HalfYear{2025, 2}, 101_500, 21_500, false, true},
		{HalfYear{2026, 1}, 120_000, 40_000, true, true}, // after through: the fallback
	}
	for _, tc := range tests {
		annual, ref, fb, ok := p.Interest.RateFor(tc.half)
		if annual != tc.annual || ref != tc.ref || fb != tc.fallback || ok != tc.ok {
			t.Errorf("RateFor(%s) = %s %s %v %v; want %s %s %v %v", tc.half, annual, ref, fb, ok, tc.annual, tc.ref, tc.fallback, tc.ok)
		}
	}
	p.Interest.MissingRate = nil
	if _, _, _, ok := p.Interest.RateFor(HalfYear{2026, 1}); ok {
		t.Error("RateFor(2026-H1) without a fallback is ok; want refused")
	}
}
