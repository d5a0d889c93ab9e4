package collection

import (
	"fmt"
	"time"
)

// Due date changes: moving the due date of an invoice not yet handed off.

// CheckChangeDueDate says whether the due date may move to d.
func (s *State) CheckChangeDueDate(inv *Invoice, d Date) error {
	switch {
	case s.Status.Terminal():
		return conflict(s.Status, "the invoice is %s; its due date can no longer change", s.Status)
	case s.Escalation != nil:
		return conflict(s.Status, "the invoice was handed off to %s; its due date can no longer change", s.Escalation.To)
	case d == inv.DueDate:
		return invalid("due_date", "is already %s", d)
	case d.Before(DateOf(inv.IssuedAt.In(inv.Location()))):
		return invalid("due_date", "%s is before the issue date", d)
	}
	return nil
}

// ChangeDueDate moves inv's due date to d and re-derives the status: an invoice whose
// new due date is still ahead is no longer overdue.
func (s *State) ChangeDueDate(inv *Invoice, d Date, at time.Time, by, reason string) Event {
	old := inv.DueDate
	inv.DueDate = d
	s.PastDue = !at.Before(inv.DueEnd())
	if s.Status == StatusOverdue || s.Status == StatusOpen {
		s.Status = StatusOpen // DeriveStatus in record sets the right one
	}
	n := s.countEvents(EventDueDateChanged) + 1
	return s.record(Event{Key: fmt.Sprintf("due-date/%d", n), Kind: EventDueDateChanged, At: at, By: by,
		Reason: fmt.Sprintf("%s -> %s: %s", old, d, reason)})
}
