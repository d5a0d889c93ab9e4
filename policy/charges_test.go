package policy

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestParseRate(t *testing.T) {
	good := map[string]Rate{"1.5%": 150, "8%": 800, "0.25%": 25, "1.5": 150, "100%": 10000, "0%": 0, "12.3 %": 1230, "0.01%": 1}
	for in, want := range good {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "%", "1.555%", "-1%", "101%", "1e2%", "abc", "1,5%", "1000%"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) succeeded, want error", bad)
		}
	}
	for r, want := range map[Rate]string{150: "1.5%", 800: "8%", 25: "0.25%", 1: "0.01%", 10000: "100%", 0: "0%"} {
		if r.String() != want {
			t.Errorf("Rate(%d).String() = %q, want %q", int64(r), r.String(), want)
		}
	}
}

const chargesPolicy = `
id: fees
version: 1
steps:
  - {name: a, offset: +1d, channels: [email], template: t, approval: true}
grace_period: 5d
refund_window: 60d
late_fee:
  percent: 1.5%
  every: 30d
  cap: {percent: 10%, amount: {USD: "100.00"}}
interest:
  rate: 8%
  start: 10d
  cap: {percent: 20%}
early_payment_discount: {percent: 2%, within: 10d}
escalation:
  after: +30d
  to: agency
  approval: {required: true, timeout: 3d, default: reject}
contact:
  max_per_customer_per_day: 2
`

func TestParseChargesAndApprovals(t *testing.T) {
	p, err := Parse("fees.yaml", []byte(chargesPolicy))
	if err != nil {
		t.Fatal(err)
	}
	if p.GracePeriod.Days != 5 || p.RefundWindow.Days != 60 || !p.Steps[0].Approval {
		t.Errorf("grace %v, refund %v, approval %v", p.GracePeriod, p.RefundWindow, p.Steps[0].Approval)
	}
	if f := p.LateFee; f.Percent != 150 || f.Every.Days != 30 || f.Cap.Percent != 1000 || f.Cap.Amount["USD"] != "100.00" {
		t.Errorf("late fee %+v", f)
	}
	if in := p.Interest; in.Rate != 800 || in.Start.Days != 10 || in.Cap.Percent != 2000 {
		t.Errorf("interest %+v", in)
	}
	if d := p.Discount; d.Percent != 200 || d.Within.Days != 10 {
		t.Errorf("discount %+v", d)
	}
	if a := p.Escalation.Approval; !a.Required || a.Timeout.Days != 3 || a.Default != DecisionReject {
		t.Errorf("approval %+v", a)
	}
	if p.Contact.MaxPerCustomerPerDay != 2 {
		t.Errorf("max per customer per day %d", p.Contact.MaxPerCustomerPerDay)
	}
	// The workflow carries the policy as JSON: it must come back the same.
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Policy
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(back)
	if string(b) != string(b2) {
		t.Errorf("JSON round trip changed the policy:\n%s\n%s", b, b2)
	}
	if !strings.Contains(string(b), `"percent":"1.5%"`) || strings.Contains(string(b), "refund_window\":\"+0d") {
		t.Errorf("JSON form: %s", b)
	}
	// And so must YAML.
	y, err := yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse("again.yaml", y); err != nil {
		t.Errorf("re-parsing the marshalled policy: %v\n%s", err, y)
	}
}

func TestChargeValidationNamesFieldAndLine(t *testing.T) {
	base := "id: x\nversion: 1\nsteps:\n  - {name: a, offset: +1d, channels: [email], template: t}\n"
	cases := []struct{ src, want string }{
		{"grace_period: -1d\n", "line 5: grace_period: must not be negative"},
		{"refund_window: -2d\n", "line 5: refund_window: must not be negative"},
		{"late_fee: {percent: 1%, amount: {USD: \"5.00\"}}\n", "line 5: late_fee: give either amount or percent"},
		{"late_fee: {}\n", "line 5: late_fee: must give an amount per currency or a percent"},
		{"late_fee:\n  amount: {JPY: \"5.5\"}\n", `line 6: late_fee.amount.JPY: "5.5" has 1 decimal places; JPY allows 0`},
		{"late_fee:\n  amount: {KWD: \"5.0001\"}\n", "late_fee.amount.KWD: \"5.0001\" has 4 decimal places; KWD allows 3"},
		{"late_fee:\n  amount: {EURO: \"5\"}\n", `late_fee.amount.EURO: "EURO" is not an ISO 4217 currency`},
		{"late_fee:\n  percent: 1%\n  every: 30d\n", "line 5: late_fee.cap: is required when the fee repeats"},
		{"late_fee:\n  percent: 1%\n  every: 5s\n  cap: {percent: 5%}\n", "line 7: late_fee.every: must be at least 1d (or 10s for demo cycles)"},
		{"late_fee:\n  percent: 1%\n  every: 0d\n", ""},
		{"late_fee:\n  percent: 1.234%\n", `line 6: late_fee.percent: "1.234%" is not a percentage`},
		{"late_fee:\n  percent: [1]\n", `line 6: late_fee.percent: must be a percentage`},
		{"interest: {rate: 0%}\n", "line 5: interest.rate: must be an annual percentage above 0"},
		{"interest:\n  rate: 5%\n  start: -1d\n", "line 7: interest.start: must not be negative"},
		{"interest:\n  rate: 5%\n  cap: {}\n", "line 7: interest.cap: must give a percent"},
		{"early_payment_discount: {percent: 2%}\n", "early_payment_discount.within: must be a positive duration"},
		{"early_payment_discount: {percent: 100%, within: 10d}\n", "early_payment_discount.percent: must be above 0% and below 100%"},
		{"escalation: {after: +30d, to: agency, approval: {required: true}}\n", "escalation.approval.timeout: must be a positive duration"},
		{"escalation:\n  after: +30d\n  to: agency\n  approval: {required: true, timeout: 1d, default: maybe}\n", `line 8: escalation.approval.default: must be "approve" or "reject"`},
		{"contact: {max_per_customer_per_day: 99}\n", "contact.max_per_customer_per_day: must be between 0"},
		{"late_fee:\n  percentage: 1%\n", "line 6: late_fee.percentage: unknown field"},
		{"steps2: []\n", "line 5: steps2: unknown field"},
		{"version2: x\n", "version2: unknown field"},
	}
	for _, c := range cases {
		_, err := Parse("p.yaml", []byte(base+c.src))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: unexpected error %v", c.src, err)
		case c.want != "" && err == nil:
			t.Errorf("%q: no error, want %q", c.src, c.want)
		case c.want != "" && !strings.Contains(err.Error(), c.want):
			t.Errorf("%q:\n got %v\nwant %q", c.src, err, c.want)
		case c.want != "" && !strings.HasPrefix(err.Error(), "p.yaml: invalid policy: "):
			t.Errorf("%q: error %q does not name the file", c.src, err)
		}
	}
}

func TestDecodeErrorsNameEveryField(t *testing.T) {
	src := "id: x\nversion: abc\nstepz: []\nsteps:\n  - name: a\n    offset: soon\n    channels: email\n    template: t\nlate_fee: {percent: 200%}\n"
	_, err := Parse("bad.yaml", []byte(src))
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{
		`line 2: version: "abc" is not a whole number`,
		"line 3: stepz: unknown field",
		`line 6: steps[0].offset: "soon" is not an offset`,
		`line 7: steps[0].channels: "email" is not a list`,
		`line 9: late_fee.percent: "200%" is more than 100%`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	for src, want := range map[string]string{
		"":                    "(file): is empty",
		"- a\n":               "line 1: (document): must be a mapping",
		"id: [":               "line 1: (yaml): did not find expected node content",
		"id: x\n---\nid: y\n": "line 2: (file): must hold one YAML document",
		"id: x\nid: y\n":      `mapping key "id" already defined`,
	} {
		_, err := Parse("f.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want %q", src, err, want)
		}
	}
}

func TestCheckCurrency(t *testing.T) {
	p, err := Parse("fees.yaml", []byte(chargesPolicy))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckCurrency("JPY"); err != nil {
		t.Errorf("a percent fee with a percent cap prices every currency: %v", err)
	}
	p.LateFee = &LateFee{Amount: Amounts{"USD": "25.00"}}
	if err := p.CheckCurrency("USD"); err != nil {
		t.Error(err)
	}
	if err := p.CheckCurrency("EUR"); err == nil || !strings.Contains(err.Error(), "late_fee.amount") {
		t.Errorf("CheckCurrency(EUR) = %v, want an error naming late_fee.amount", err)
	}
}

func TestCapLimit(t *testing.T) {
	c := &Cap{Percent: 1000, Amount: Amounts{"USD": "100.00"}}
	for _, tc := range []struct {
		principal int64
		cur       string
		want      int64
	}{
		{50_000, "USD", 5_000},   // 10% of 500.00 < 100.00
		{500_000, "USD", 10_000}, // 100.00 < 10% of 5000.00
		{500_000, "EUR", 50_000}, // no EUR amount: the percent alone
		{1_005, "JPY", 101},      // 100.5 yen rounds half up
		{1_004, "JPY", 100},      // 100.4 yen rounds down
	} {
		got, ok := c.Limit(tc.principal, tc.cur)
		if !ok || got != tc.want {
			t.Errorf("Limit(%d %s) = %d, %v; want %d", tc.principal, tc.cur, got, ok, tc.want)
		}
	}
	onlyAmount := &Cap{Amount: Amounts{"USD": "100.00"}}
	if got, ok := onlyAmount.Limit(1, "EUR"); !ok || got != 0 {
		t.Errorf("amount-only cap in an unlisted currency = %d, %v; want 0 (never charged)", got, ok)
	}
	if _, ok := (*Cap)(nil).Limit(1, "USD"); ok {
		t.Error("nil cap limits")
	}
}

// FuzzParse: no input makes Parse panic, and every error names the source.
func FuzzParse(f *testing.F) {
	f.Add([]byte(chargesPolicy))
	f.Add([]byte("id: x\nversion: 1\nsteps:\n  - {name: a, offset: +1d, channels: [email], template: t}\n"))
	f.Add([]byte("id: [\n"))
	f.Add([]byte("- a\n"))
	f.Add([]byte(""))
	f.Add([]byte("late_fee: {percent: 200%, amount: {USD: \"1.001\"}}\ninterest: {rate: x, start: []}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("contact: {hours: \"24:00-08:00\", weekdays: [mon, mon], holidays: [x]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if p == nil {
			t.Fatal("nil policy without an error")
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("parsed policy does not validate: %v", err)
		}
	})
}

func TestStepApprovalAndVersionValidation(t *testing.T) {
	cases := []struct{ src, want string }{
		{"id: x\nversion: 1.5\nsteps:\n  - {name: a, offset: +1d, channels: [email], template: t}\n", "line 2: version: must be a positive integer"},
		{"id: x\nversion: 2\nsteps:\n  - {name: a, offset: +1d, channels: [email], template: t, approval: true}\n", ""},
		{"id: x\nversion: 2\nsteps:\n  - {name: a, offset: +1d, channels: [email], template: t, approval: true, approval_timeout: 4h, approval_default: approve}\n", ""},
		{"id: x\nversion: 2\nsteps:\n  - {name: a, offset: +1d, channels: [email], template: t, approval: true, approval_timeout: -1d}\n", "line 4: steps[0].approval_timeout: must be a positive duration"},
		{"id: x\nversion: 2\nsteps:\n  - {name: a, offset: +1d, channels: [email], template: t, approval_timeout: 1d}\n", "steps[0].approval_timeout: applies only to a step with approval: true"},
		{"id: x\nversion: 2\nsteps:\n  - {name: a, offset: +1d, channels: [email], template: t, approval: true, approval_default: maybe}\n", `steps[0].approval_default: must be "approve" or "reject"`},
		{"id: x\nversion: 2\nsteps:\n  - {name: a, offset: +1d, channels: [email], template: t, approval_default: approve}\n", "steps[0].approval_default: applies only to a step with approval: true"},
		// Every integer field, not only the version: the decoder would truncate 1.5 to 1.
		{"id: x\nversion: 1\ncontact:\n  max_per_customer_per_day: 1.5\n  max_per_invoice_per_week: 2\nsteps:\n  - {name: a, offset: +1d, channels: [email], template: t}\n", "line 4: contact.max_per_customer_per_day: must be a whole number"},
		{"id: x\nversion: 1\ncontact:\n  max_per_invoice_per_week: 2.0\nsteps:\n  - {name: a, offset: +1d, channels: [email], template: t}\n", "line 4: contact.max_per_invoice_per_week: must be a whole number"},
	}
	for _, c := range cases {
		p, err := Parse("p.yaml", []byte(c.src))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: unexpected error %v", c.src, err)
		case c.want != "" && err == nil:
			t.Errorf("%q: no error (version %d), want %q", c.src, p.Version, c.want)
		case c.want != "" && !strings.Contains(err.Error(), c.want):
			t.Errorf("%q:\n got %v\nwant %q", c.src, err, c.want)
		}
	}
	p, err := Parse("p.yaml", []byte(cases[2].src))
	if err != nil {
		t.Fatal(err)
	}
	if timeout, def := p.Steps[0].ApprovalRules(); timeout != 4*time.Hour || def != DecisionApprove {
		t.Errorf("ApprovalRules = %s, %s; want 4h, approve", timeout, def)
	}
	p, _ = Parse("p.yaml", []byte(cases[1].src))
	if timeout, def := p.Steps[0].ApprovalRules(); timeout != DefaultStepApprovalTimeout || def != DecisionReject {
		t.Errorf("default ApprovalRules = %s, %s; want 48h, reject", timeout, def)
	}
}

func TestEffectiveApprovalTimeout(t *testing.T) {
	if got := (Step{}).EffectiveApprovalTimeout(); got.String() != "+2d" || got.Duration() != DefaultStepApprovalTimeout {
		t.Errorf("default = %s (%s); want +2d (%s)", got, got.Duration(), DefaultStepApprovalTimeout)
	}
	set := Offset{Exact: 4 * time.Hour}
	if got := (Step{ApprovalTimeout: set}).EffectiveApprovalTimeout(); got != set {
		t.Errorf("set = %s; want %s", got, set)
	}
}
