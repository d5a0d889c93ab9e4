package collection

import (
	"slices"
	"testing"
	"time"

	"github.com/dunwell/dunwell/policy"
)

func TestCheckDecision(t *testing.T) {
	inv := testInvoice()
	s := NewState(inv)
	checkErr(t, s.CheckDecision(), isConflict, "status", "the invoice is open; nothing awaits approval")
	s.RequestApproval(inv.IssuedAt, policy.Approval{Required: true, Default: policy.DecisionReject})
	checkErr(t, s.CheckDecision(), okay, "", "")
}

func TestRequestApproval(t *testing.T) {
	inv := testInvoice()
	at := inv.IssuedAt
	s := NewState(inv)
	e := s.RequestApproval(at, policy.Approval{Required: true, Timeout: policy.Offset{Days: 3, InDays: true}, Default: policy.DecisionApprove})
	w := s.Approval
	if e.Key != "approval/requested" || e.Kind != EventApprovalRequested || s.Status != StatusAwaitingApproval ||
		!w.Deadline.Equal(at.Add(72*time.Hour)) || w.Default != policy.DecisionApprove || w.What() != "the escalation" {
		t.Fatalf("escalation approval: %+v, wait %+v, status %s", e, w, s.Status)
	}

	p := standardPolicy(t)
	p.Steps[2].Approval = true
	s = NewState(inv)
	e = s.RequestStepApproval(p, Action{Kind: ActionRemind, Step: 2, Skip: []string{"overdue-1"}}, at)
	w = s.Approval
	timeout, def := p.Steps[2].ApprovalRules()
	if e.Kind != EventApprovalRequested || e.Key != "approval/overdue-7/requested/0" || w.Step != "overdue-7" || w.StepIndex != 2 ||
		!slices.Equal(w.Skip, []string{"overdue-1"}) || !w.Deadline.Equal(at.Add(timeout)) || w.Default != def || w.What() != "reminder overdue-7" {
		t.Fatalf("step approval: %+v, wait %+v", e, w)
	}
}

func TestDecide(t *testing.T) {
	inv := testInvoice()
	at := inv.IssuedAt.Add(time.Hour)
	p := standardPolicy(t)
	p.Steps[2].Approval = true
	for _, tc := range []struct {
		name     string
		step     bool
		approve  bool
		reason   string
		kind     string
		key      string
		wantWhy  string
		check    func(s *State) bool
		deferred bool
	}{
		{"escalation approved", false, true, "agreed", EventApproved, "approval/approved", "agreed",
			func(s *State) bool { return s.EscalationApproved && !s.EscalationRejected }, false},
		{"escalation rejected", false, false, "", EventRejected, "approval/rejected", "",
			func(s *State) bool { return s.EscalationRejected && !s.EscalationApproved }, false},
		{"step approved", true, true, "", EventApproved, "approval/overdue-7/approved/1", "reminder overdue-7 approved",
			func(s *State) bool { return s.StepApproved("overdue-7") && s.StepsDone == 1 }, false},
		{"step rejected: never sent, with the steps it superseded", true, false, "too harsh", EventRejected, "approval/overdue-7/rejected/1", "too harsh",
			func(s *State) bool {
				return !s.StepApproved("overdue-7") && s.StepsDone == 3 && slices.Equal(s.Skipped, []string{"overdue-1", "overdue-7"}) && s.Deferred == nil
			}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewState(inv)
			s.StepsDone = 1
			if tc.step {
				if tc.deferred {
					s.Deferred = &Deferral{Step: 2, At: at}
				}
				s.RequestStepApproval(p, Action{Kind: ActionRemind, Step: 2, Skip: []string{"overdue-1"}}, inv.IssuedAt)
			} else {
				s.RequestApproval(inv.IssuedAt, policy.Approval{Required: true})
			}
			e := s.Decide(tc.approve, at, "ops", tc.reason)
			if e.Kind != tc.kind || e.Key != tc.key || e.Reason != tc.wantWhy || e.By != "ops" || !e.At.Equal(at) {
				t.Fatalf("event %+v; want %s %s %q", e, tc.kind, tc.key, tc.wantWhy)
			}
			if s.Approval != nil || s.Status == StatusAwaitingApproval || !tc.check(&s) {
				t.Fatalf("state after the decision: %+v", s)
			}
		})
	}
}
