package collection

import (
	"testing"
	"time"

	"github.com/dunwell/dunwell/policy"
)

func TestNextReminderAt(t *testing.T) {
	p, inv := standardPolicy(t), testInvoice()
	ny, _ := time.LoadLocation("America/New_York")
	at := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 10, 0, 0, 0, ny) }
	for _, tc := range []struct {
		name string
		edit func(s *State)
		now  time.Time
		want time.Time
	}{
		{name: "a new invoice: its first step", now: inv.IssuedAt, want: at(time.November, 28)},
		{name: "open, before the overdue transition: the reminder behind it", edit: func(s *State) { s.StepsDone = 1 },
			now: at(time.November, 29), want: at(time.December, 2)},
		{name: "an owed fallback is not a policy reminder", edit: func(s *State) {
			s.StepsDone, s.Status = 2, StatusOverdue
			s.Fallbacks = []Fallback{{Step: 1, Channel: policy.SMS}}
		}, now: at(time.December, 3), want: at(time.December, 8)},
		{name: "deferred by the contact budget: the deferral", edit: func(s *State) {
			s.StepsDone, s.Status = 1, StatusOverdue
			s.Deferred = &Deferral{Step: 1, At: at(time.December, 3), Reason: "cap"}
		}, now: at(time.December, 2), want: at(time.December, 3)},
		{name: "disputed: none", edit: func(s *State) { s.Dispute = &Dispute{ID: "d"} }, now: inv.IssuedAt},
		{name: "every step done: none (the escalation is not a reminder)", edit: func(s *State) { s.StepsDone, s.Status = 4, StatusOverdue },
			now: at(time.December, 20)},
		{name: "paid: none", edit: func(s *State) { s.Status, s.Balance = StatusPaid, 0 }, now: inv.IssuedAt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewState(inv)
			if tc.edit != nil {
				tc.edit(&s)
			}
			if got := NextReminderAt(p, inv, &s, tc.now); !got.Equal(tc.want) {
				t.Fatalf("NextReminderAt = %s, want %s", got, tc.want)
			}
		})
	}
}
