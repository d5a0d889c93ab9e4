package collection

import (
	"fmt"
	"time"

	"github.com/dunwell/dunwell/policy"
)

// Policy changes: moving an open invoice to another policy mid-collection.

// CheckChangePolicy says whether the invoice may move to policy next.
func (s *State) CheckChangePolicy(cur, next *policy.Policy) error {
	if s.Status.Terminal() {
		return conflict(s.Status, "the invoice is %s; its policy can no longer change", s.Status)
	}
	if next.ID == cur.ID && next.Version == cur.Version {
		return conflict(s.Status, "the invoice already runs under %s v%d", cur.ID, cur.Version)
	}
	// The caller loaded next from validated policy files (policy.Validate iterates
	// maps, which a workflow must not); this only refuses an empty one.
	if next.ID == "" || len(next.Steps) == 0 {
		return invalid("policy", "has no id or no steps")
	}
	return nil
}

// ChangePolicy moves the state to policy next: steps carry over by name, so no step
// already sent or skipped is sent again, and the schedule resumes after the last step
// handled under the old policy. A pending fallback or deferral of an old step is
// dropped (its step index means nothing in the new policy).
func (s *State) ChangePolicy(cur, next *policy.Policy, at time.Time, by, reason string) Event {
	handled := map[string]bool{}
	for _, n := range s.Notices {
		handled[n.Step] = true
	}
	for _, name := range s.Skipped {
		handled[name] = true
	}
	done := 0
	for i, st := range next.Steps {
		if handled[st.Name] {
			done = i + 1
		}
	}
	for _, st := range next.Steps[:done] {
		if !handled[st.Name] {
			s.Skipped = append(s.Skipped, st.Name) // before a handled step: never sent late
		}
	}
	s.StepsDone = done
	s.Fallbacks, s.Deferred = nil, nil
	if s.Approval != nil && s.Approval.Step != "" {
		s.Approval = nil // the new policy's schedule decides again whether a step waits
	}
	return s.record(Event{Key: fmt.Sprintf("policy/%s/%d", next.ID, next.Version), Kind: EventPolicyChanged, At: at, By: by,
		Reason: fmt.Sprintf("%s v%d -> %s v%d: %s", cur.ID, cur.Version, next.ID, next.Version, reason)})
}
