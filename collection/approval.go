package collection

import (
	"fmt"
	"slices"
	"time"

	"github.com/dunwell/dunwell/policy"
)

// Approvals: an escalation, or a reminder step, that waits for a person's decision.

// ApprovalWait is an escalation, or a reminder step, waiting for a person's decision.
type ApprovalWait struct {
	RequestedAt time.Time `json:"requested_at"`
	Deadline    time.Time `json:"deadline"`
	Default     string    `json:"default"` // policy.DecisionApprove or DecisionReject
	// Step names the reminder step that waits (its index in the policy is StepIndex,
	// and Skip lists the earlier steps it supersedes); empty: the escalation waits.
	Step      string   `json:"step,omitempty"`
	StepIndex int      `json:"step_index,omitempty"`
	Skip      []string `json:"skip,omitempty"`
}

// What says what awaits the decision, for people: "the escalation" or "reminder
// overdue-1".
func (w *ApprovalWait) What() string {
	if w.Step == "" {
		return "the escalation"
	}
	return "reminder " + w.Step
}

// RequestApproval makes the escalation wait for a decision.
func (s *State) RequestApproval(at time.Time, a policy.Approval) Event {
	s.Approval = &ApprovalWait{RequestedAt: at, Deadline: at.Add(a.Timeout.Duration()), Default: a.Default}
	return s.record(Event{Key: "approval/requested", Kind: EventApprovalRequested, At: at, By: "system"})
}

// RequestStepApproval makes reminder step a.Step wait for a decision (see
// policy.Step.Approval); the action's superseded steps are decided with it.
func (s *State) RequestStepApproval(p *policy.Policy, a Action, at time.Time) Event {
	st := p.Steps[a.Step]
	timeout, def := st.ApprovalRules()
	s.Approval = &ApprovalWait{RequestedAt: at, Deadline: at.Add(timeout), Default: def,
		Step: st.Name, StepIndex: a.Step, Skip: a.Skip}
	return s.record(Event{Key: fmt.Sprintf("approval/%s/requested/%d", st.Name, len(s.Events)), Kind: EventApprovalRequested,
		At: at, By: "system", Reason: "reminder " + st.Name + " waits for a person's approval"})
}

// StepApproved reports whether reminder step name was approved and may go out.
func (s *State) StepApproved(name string) bool {
	return slices.Contains(s.ApprovedSteps, name)
}

// CheckDecision says whether an approval decision may be taken now.
func (s *State) CheckDecision() error {
	if s.Approval == nil {
		return conflict(s.Status, "the invoice is %s; nothing awaits approval", s.Status)
	}
	return nil
}

// Decide takes the decision on what awaits approval. For the escalation, approve
// leaves EscalationApproved set for the workflow to escalate at once, and reject keeps
// collecting without a hand-off. For a reminder step, approve lets it go out (at the
// next moment the contact rules allow) and reject means it is never sent: dunning goes
// on with the next step.
func (s *State) Decide(approve bool, at time.Time, by, reason string) Event {
	w := s.Approval
	s.Approval = nil
	if w != nil && w.Step != "" {
		verb, kind := "rejected", EventRejected
		if approve {
			verb, kind = "approved", EventApproved
			s.ApprovedSteps = append(s.ApprovedSteps, w.Step)
		} else if w.StepIndex >= s.StepsDone {
			s.Skipped = append(s.Skipped, w.Skip...)
			s.Skipped = append(s.Skipped, w.Step)
			s.StepsDone = w.StepIndex + 1
			if s.Deferred != nil && s.Deferred.Step <= w.StepIndex {
				s.Deferred = nil
			}
		}
		if reason == "" {
			reason = w.What() + " " + verb
		}
		return s.record(Event{Key: fmt.Sprintf("approval/%s/%s/%d", w.Step, verb, len(s.Events)), Kind: kind, At: at, By: by, Reason: reason})
	}
	if approve {
		s.EscalationApproved = true
		return s.record(Event{Key: "approval/approved", Kind: EventApproved, At: at, By: by, Reason: reason})
	}
	s.EscalationRejected = true
	return s.record(Event{Key: "approval/rejected", Kind: EventRejected, At: at, By: by, Reason: reason})
}
