package policies

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/policy"
)

func TestShippedPoliciesAreValid(t *testing.T) {
	set, err := Shipped()
	if err != nil {
		t.Fatal(err)
	}
	std, ok := set.Get("standard")
	if !ok {
		t.Fatal("standard policy missing")
	}
	if len(std.Steps) != 4 || std.Escalation == nil || std.Escalation.To != policy.ToAgency || std.Escalation.After.Days != 30 {
		t.Errorf("standard policy is not -3d/+1d/+7d/+14d with agency at +30d: %+v", std)
	}
	demo, ok := set.Get("demo")
	if !ok || demo.EffectiveAnchor() != policy.AnchorIssued {
		t.Fatal("demo policy missing or not anchored at issue")
	}
	if got := demo.Escalation.After.Exact.Seconds(); got > 70 {
		t.Errorf("demo escalates after %vs, want within about a minute", got)
	}
	if p, err := set.Select(""); err != nil || p.ID != DefaultID {
		t.Errorf("Select(\"\") = %v, %v", p, err)
	}
	if _, err := set.Select("nope"); err == nil {
		t.Error("Select(nope) succeeded")
	}
}

func TestShippedSegmentsAndCharges(t *testing.T) {
	set, err := Shipped()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"standard", "gentle", "strict", "demo"} {
		if _, ok := set.Get(id); !ok {
			t.Errorf("policy %s is not shipped", id)
		}
	}
	for segment, want := range map[string]string{"key-accounts": "gentle", "enterprise": "gentle", "smb": "standard", "high-risk": "strict", "": DefaultID, "other": DefaultID} {
		p, why, err := set.SelectFor("", segment)
		if err != nil || p.ID != want {
			t.Errorf("SelectFor(segment %q) = %v (%s), %v; want %s", segment, p, why, err, want)
		}
	}
	if p, why, _ := set.SelectFor("demo", "key-accounts"); p.ID != "demo" || why != policy.SelectedExplicit {
		t.Errorf("an explicit policy must win over the segment: %s (%s)", p.ID, why)
	}
	// The customer's payment-behaviour band comes after the segment, before the default;
	// it is looked up only when it can matter.
	calls := 0
	band := func(b string, err error) func() (string, error) {
		return func() (string, error) { calls++; return b, err }
	}
	for _, tc := range []struct {
		segment, band, want string
		why                 policy.Selection
		err                 error
	}{
		{"", "at_risk", "strict", policy.SelectedBand, nil},
		{"other", "prompt", "gentle", policy.SelectedBand, nil},
		{"", "new", DefaultID, policy.SelectedDefault, nil},
		{"", "", DefaultID, policy.SelectedDefault, errors.New("ledger down")},
		{"smb", "at_risk", "standard", policy.SelectedSegment, nil},
		{"band:at_risk", "", DefaultID, policy.SelectedDefault, nil}, // a segment cannot pose as a band
	} {
		p, why, err := set.SelectForCustomer("", tc.segment, band(tc.band, tc.err))
		if err != nil || p.ID != tc.want || why != tc.why {
			t.Errorf("SelectForCustomer(segment %q, band %q) = %s (%s), %v; want %s (%s)", tc.segment, tc.band, p.ID, why, err, tc.want, tc.why)
		}
	}
	calls = 0
	if _, _, _ = set.SelectForCustomer("strict", "", band("prompt", nil)); calls != 0 {
		t.Error("the band was looked up for an invoice that names its policy")
	}
	std, _ := set.Get("standard")
	if std.LateFee == nil || std.Interest == nil || std.Escalation.Approval == nil || !std.Escalation.Approval.Required {
		t.Errorf("standard has no late fee, interest or escalation approval: %+v", std)
	}
	gentle, _ := set.Get("gentle")
	for _, st := range gentle.Steps {
		if len(st.Channels) != 1 || st.Channels[0] != policy.Email {
			t.Errorf("gentle step %s is not email only", st.Name)
		}
	}
	if a := gentle.Escalation.Approval; a == nil || !a.Required || a.Default != policy.DecisionReject {
		t.Errorf("gentle must wait for approval before escalating and not escalate by default: %+v", a)
	}
	demo, _ := set.Get("demo")
	if demo.LateFee == nil || demo.GracePeriod.Exact.Seconds() >= demo.Escalation.After.Exact.Seconds() {
		t.Errorf("demo's late fee must show up within its cycle: %+v", demo)
	}
	// The statutory policies price only the currency their law names; every other
	// policy prices any currency.
	only := map[string]string{"eu-b2b": "EUR", "uk-b2b": "GBP"}
	for _, id := range set.IDs() {
		p, _ := set.Get(id)
		for _, cur := range []string{"USD", "EUR", "JPY", "KWD", "GBP"} {
			err := p.CheckCurrency(cur)
			switch want, statutory := only[id]; {
			case err != nil && (!statutory || cur == want):
				t.Errorf("shipped policy %s cannot price %s: %v", id, cur, err)
			case err == nil && statutory && cur != want:
				t.Errorf("shipped policy %s prices %s; want a refusal (its compensation is in %s)", id, cur, want)
			}
		}
	}
}

func TestShippedStatutoryRates(t *testing.T) {
	set, err := Shipped()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		policy string
		half   policy.HalfYear
		want   string // the annual rate: reference + 8%
	}{
		{"eu-b2b", policy.HalfYear{Year: 2022, Half: 2}, "8%"},     // in force on 1 July 2022: 0% (the rise took effect on 27 July)
		{"eu-b2b", policy.HalfYear{Year: 2023, Half: 1}, "10.5%"},  // 2.50% since 21 December 2022
		{"eu-b2b", policy.HalfYear{Year: 2025, Half: 1}, "11.15%"}, // 3.15% since 18 December 2024
		{"eu-b2b", policy.HalfYear{Year: 2025, Half: 2}, "10.15%"}, // 2.15% since 11 June 2025
		{"uk-b2b", policy.HalfYear{Year: 2023, Half: 2}, "13%"},    // 5.00% at the close of 30 June 2023
		{"uk-b2b", policy.HalfYear{Year: 2025, Half: 1}, "12.75%"}, // 4.75% at the close of 31 December 2024
		{"uk-b2b", policy.HalfYear{Year: 2025, Half: 2}, "12.25%"}, // 4.25% at the close of 30 June 2025
	}
	for _, tc := range tests {
		p, _ := set.Get(tc.policy)
		annual, _, _, ok := p.Interest.RateFor(tc.half)
		if !ok || annual.String() != tc.want {
			t.Errorf("%s %s: %s (ok %v), want %s", tc.policy, tc.half, annual, ok, tc.want)
		}
	}
	p, _ := set.Get("eu-b2b")
	if _, _, _, ok := p.Interest.RateFor(policy.HalfYear{Year: 2026, Half: 1}); ok {
		t.Error("eu-b2b has a rate for 2026-H1, after the file's through date")
	}
}

func TestLoadRatesFromPolicyDir(t *testing.T) {
	ref := "id: r\nversion: 1\nsteps:\n  - {name: s, offset: +1d, channels: [email], template: overdue}\ninterest:\n  reference: mine\n  margin: 8%\n"
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("r.yaml", ref)
	// No rates/ beside it: the reference names no file.
	_, err := Load(dir, "r")
	if err == nil || !strings.Contains(err.Error(), "r.yaml: invalid policy: line 6: interest.reference: no rates file rates/mine.yaml (rates files: none)") {
		t.Fatalf("Load without the rates file = %v", err)
	}
	// A bad rates file is reported with its file, line and field.
	write("rates/mine.yaml", "through: 2025-12-31\nrates:\n  - {date: 2025-01-01, rate: 1.12345%}\n")
	_, err = Load(dir, "r")
	if err == nil || !strings.Contains(err.Error(), "rates/mine.yaml: invalid rates file: line 3: rates[0].rate: \"1.12345%\" has 5 decimals") {
		t.Fatalf("Load with a bad rates file = %v", err)
	}
	write("rates/mine.yaml", "through: 2025-12-31\nrates:\n  - {date: 2025-01-01, rate: 1.5%}\n")
	set, err := Load(dir, "r")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := set.Get("r")
	if annual, _, _, ok := p.Interest.RateFor(policy.HalfYear{Year: 2025, Half: 2}); !ok || annual.String() != "9.5%" {
		t.Errorf("POLICY_DIR's own rate: %s %v, want 9.5%%", annual, ok)
	}
}

// TestCollectorRules: the collectors mapping of segments.yaml names a segment's
// collector, else its band's; no rule, no collector; a band is read only when a band
// rule exists.
func TestCollectorRules(t *testing.T) {
	dir := t.TempDir()
	good := "id: a\nversion: 1\nsteps:\n  - {name: s, offset: +1d, channels: [email], template: overdue}\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(good), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "segments.yaml"),
		[]byte("segments:\n  vip: a\ncollectors:\n  vip: ada\n  band:at_risk: grace\n"), 0o600))
	set, err := Load(dir, "a")
	require.NoError(t, err)
	require.Equal(t, policy.Collectors{"vip": "ada", "band:at_risk": "grace"}, set.Collectors())
	band := func(b string) func() (string, error) { return func() (string, error) { return b, nil } }
	for _, c := range []struct {
		segment, band, collector, rule string
		ok                             bool
	}{
		{"vip", "at_risk", "ada", "segment:vip", true},
		{"smb", "at_risk", "grace", "band:at_risk", true},
		{"smb", "prompt", "", "", false},
		{"", "", "", "", false},
	} {
		collector, rule, ok := set.CollectorFor(c.segment, band(c.band))
		require.Equal(t, []any{c.collector, c.rule, c.ok}, []any{collector, rule, ok}, "segment %q band %q", c.segment, c.band)
	}
	_, _, ok := set.CollectorFor("smb", nil)
	require.False(t, ok, "no band function: no band rule")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "segments.yaml"), []byte("collectors:\n  vip: ada\n"), 0o600))
	set, err = Load(dir, "a")
	require.NoError(t, err)
	_, _, ok = set.CollectorFor("smb", func() (string, error) { panic("the band is read only when a band rule exists") })
	require.False(t, ok)
}

func TestLoadReportsBadFilesPrecisely(t *testing.T) {
	good := "id: a\nversion: 1\nsteps:\n  - {name: s, offset: +1d, channels: [email], template: overdue}\n"
	cases := map[string]struct {
		files map[string]string
		want  string
	}{
		"unknown template": {map[string]string{"a.yaml": "id: a\nversion: 1\nsteps:\n  - name: s\n    offset: +1d\n    channels: [email]\n    template: nope\n"},
			`a.yaml: invalid policy: line 7: steps[0].template: unknown template "nope"`},
		"segment to an unknown policy": {map[string]string{"a.yaml": good, "segments.yaml": "segments:\n  vip: a\n  smb: missing\n"},
			`segments.yaml: invalid policy: line 3: segments.smb: unknown policy "missing" (known: a)`},
		"misspelt segments key": {map[string]string{"a.yaml": good, "segments.yaml": "segment:\n  vip: a\n"},
			`segments.yaml: invalid policy: line 1: segment: unknown field`},
		"bad policy id in segments": {map[string]string{"a.yaml": good, "segments.yaml": "segments:\n  vip: Not An Id\n"},
			`line 2: segments.vip: "Not An Id" is not a policy id`},
		"bad collector name": {map[string]string{"a.yaml": good, "segments.yaml": "segments:\n  vip: a\ncollectors:\n  vip: ada\n  smb: 9 lives\n"},
			`segments.yaml: invalid policy: line 5: collectors.smb: "9 lives" is not a collector's API key name`},
		"bare band key for a collector": {map[string]string{"a.yaml": good, "segments.yaml": "collectors:\n  'band:': ada\n"},
			`line 2: collectors.band:: a band key names its band, like band:at_risk`},
		"collectors not a mapping": {map[string]string{"a.yaml": good, "segments.yaml": "collectors: [ada]\n"},
			`segments.yaml: invalid policy: line 1`},
	}
	for name, c := range cases {
		dir := t.TempDir()
		for f, body := range c.files {
			if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		_, err := Load(dir, "a")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Load = %v, want %q", name, err, c.want)
		}
	}
}
