package policies

import (
	"testing"

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
