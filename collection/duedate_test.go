package collection

import (
	"testing"
	"time"
)

func TestCheckChangeDueDate(t *testing.T) {
	inv, open, paid := openAndPaid() // issued 2026-11-01 (New York), due 2026-12-01
	escalated := NewState(inv)
	escalated.Escalation = &Escalation{To: "agency"}
	escalated.DeriveStatus()
	runChecks(t, []checkCase[Date]{
		{"later", open, Date{2026, time.December, 15}, false, okay, "", ""},
		{"earlier, on the issue date", open, Date{2026, time.November, 1}, false, okay, "", ""},
		{"unchanged", open, Date{2026, time.December, 1}, false, isInvalid, "due_date", "is already 2026-12-01"},
		{"before issue", open, Date{2026, time.October, 31}, false, isInvalid, "due_date", "2026-10-31 is before the issue date"},
		{"handed off", escalated, Date{2026, time.December, 15}, false, isConflict, "status", "the invoice was handed off to agency; its due date can no longer change"},
		{"paid", paid, Date{2026, time.December, 15}, false, isConflict, "status", "the invoice is paid; its due date can no longer change"},
	}, func(st State, d Date) (bool, error) { return false, st.CheckChangeDueDate(inv, d) })
}

func TestChangeDueDate(t *testing.T) {
	at := time.Date(2026, 12, 5, 15, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		start  Status
		d      Date
		want   Status
		past   bool
		reason string
	}{
		{"overdue, moved ahead: open again", StatusOverdue, Date{2026, time.December, 20}, StatusOpen, false, "2026-12-01 -> 2026-12-20: agreed"},
		{"open, moved into the past: overdue", StatusOpen, Date{2026, time.December, 2}, StatusOverdue, true, "2026-12-01 -> 2026-12-02: agreed"},
		{"a hold stays", StatusPromised, Date{2026, time.December, 20}, StatusPromised, false, "2026-12-01 -> 2026-12-20: agreed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := testInvoice()
			s := NewState(inv)
			s.Status, s.PastDue = tc.start, tc.start == StatusOverdue
			if tc.start == StatusPromised {
				s.Promise = &Promise{}
			}
			e := s.ChangeDueDate(inv, tc.d, at, "ops", "agreed")
			if inv.DueDate != tc.d || s.Status != tc.want || s.PastDue != tc.past {
				t.Fatalf("due %s status %s past due %v; want %s %s %v", inv.DueDate, s.Status, s.PastDue, tc.d, tc.want, tc.past)
			}
			if e.Key != "due-date/1" || e.Kind != EventDueDateChanged || e.Reason != tc.reason {
				t.Fatalf("event %+v", e)
			}
		})
	}
}
