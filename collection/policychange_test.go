package collection

import (
	"slices"
	"testing"
	"time"

	"github.com/dunwell/dunwell/policy"
)

func TestCheckChangePolicy(t *testing.T) {
	cur := standardPolicy(t)
	next := standardPolicy(t)
	next.Version = 2
	_, open, paid := openAndPaid()
	runChecks(t, []checkCase[*policy.Policy]{
		{"a new version", open, next, false, okay, "", ""},
		{"the same version", open, cur, false, isConflict, "status", "the invoice already runs under standard v1"},
		{"paid", paid, next, false, isConflict, "status", "the invoice is paid; its policy can no longer change"},
		{"no steps", open, &policy.Policy{ID: "empty", Version: 1}, false, isInvalid, "policy", "has no id or no steps"},
	}, func(st State, next *policy.Policy) (bool, error) { return false, st.CheckChangePolicy(cur, next) })
}

func TestChangePolicy(t *testing.T) {
	inv := testInvoice()
	at := inv.IssuedAt.Add(40 * 24 * time.Hour)
	cur := standardPolicy(t)
	step := func(name string) policy.Step {
		return policy.Step{Name: name, Offset: policy.Offset{Days: 1, InDays: true}, Channels: []policy.Channel{policy.Email}, Template: name}
	}
	// overdue-7 moves before a new step; due-soon is dropped.
	next := &policy.Policy{ID: "firm", Version: 3, Steps: []policy.Step{step("new-first"), step("overdue-1"), step("extra"), step("overdue-7"), step("final")}}
	s := NewState(inv)
	s.Notices = []Notice{{Step: "due-soon", Status: NoticeSent}, {Step: "overdue-1", Status: NoticeSent}}
	s.Skipped = []string{"overdue-7"}
	s.StepsDone = 3
	s.Fallbacks = []Fallback{{Step: 1, Channel: policy.SMS}}
	s.Deferred = &Deferral{Step: 2}
	s.Approval = &ApprovalWait{Step: "overdue-14", StepIndex: 3}
	e := s.ChangePolicy(cur, next, at, "ops", "firmer")
	if s.StepsDone != 4 || !slices.Equal(s.Skipped, []string{"overdue-7", "new-first", "extra"}) {
		t.Fatalf("steps done %d, skipped %v; want 4 and the new steps before a handled one skipped", s.StepsDone, s.Skipped)
	}
	if s.Fallbacks != nil || s.Deferred != nil || s.Approval != nil {
		t.Fatalf("old-step work left: %+v %+v %+v", s.Fallbacks, s.Deferred, s.Approval)
	}
	if e.Key != "policy/firm/3" || e.Kind != EventPolicyChanged || e.Reason != "standard v1 -> firm v3: firmer" || e.By != "ops" {
		t.Fatalf("event %+v", e)
	}

	// An escalation's approval is the invoice's, not a step's: it stays.
	s = NewState(inv)
	s.Approval = &ApprovalWait{}
	s.ChangePolicy(cur, next, at, "ops", "")
	if s.Approval == nil || s.StepsDone != 0 {
		t.Fatalf("escalation approval dropped or steps done %d", s.StepsDone)
	}
}
