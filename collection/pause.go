package collection

import (
	"fmt"
	"time"
)

// Pauses: an operator's manual hold of the schedule.

// Pause is an operator's manual hold.
type Pause struct {
	Reason string `json:"reason"`
	Until  *Date  `json:"until,omitempty"`
	// UntilAt is the exact end when the pause named a time; zero means the start of
	// Until in the customer's timezone.
	UntilAt time.Time `json:"until_at,omitzero"`
	Since   time.Time `json:"since"`
	By      string    `json:"by,omitempty"`
}

// endPause ends a pause: the time it lasted shifts every later step (re-anchoring), so
// the customer gets the same spacing after the hold.
func (s *State) endPause(now time.Time) {
	if s.Pause != nil {
		s.Shift += now.Sub(s.Pause.Since)
		s.Pause = nil
	}
}

// CheckPause says whether the invoice may be paused; today is the customer's local
// date.
func (s *State) CheckPause(inv *Invoice, p Pause, now time.Time) error {
	switch s.Status {
	case StatusOpen, StatusOverdue:
	default:
		return conflict(s.Status, "the invoice is %s; only an open or overdue invoice can be paused", s.Status)
	}
	if p.Until != nil && !p.Ends(inv).After(now) {
		return invalid("until", "%s must be in the future", p.Until)
	}
	return nil
}

// PauseDunning holds the schedule.
func (s *State) PauseDunning(p Pause) Event {
	s.Pause = &p
	n := s.countEvents(EventPaused) + 1
	return s.record(Event{Key: fmt.Sprintf("pause/%d", n), Kind: EventPaused, At: p.Since, By: p.By, Reason: p.Reason})
}

// CheckResume says whether the invoice may be resumed.
func (s *State) CheckResume() error {
	if s.Pause == nil {
		return conflict(s.Status, "the invoice is %s, not paused", s.Status)
	}
	return nil
}

// Resume ends the pause; the schedule shifts by the time it lasted.
func (s *State) Resume(at time.Time, by, reason string) Event {
	s.endPause(at)
	n := s.countEvents(EventResumed) + 1
	return s.record(Event{Key: fmt.Sprintf("resume/%d", n), Kind: EventResumed, At: at, By: by, Reason: reason})
}

// PauseEnds is when an until-date pause ends by itself: the start of that day.
func (p *Pause) Ends(inv *Invoice) time.Time {
	switch {
	case !p.UntilAt.IsZero():
		return p.UntilAt
	case p.Until == nil:
		return time.Time{}
	}
	return p.Until.In(inv.Location())
}
