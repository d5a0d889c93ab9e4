package collection

import (
	"testing"
	"time"
)

func TestCheckPause(t *testing.T) {
	inv := testInvoice()
	now := time.Date(2026, 12, 5, 15, 0, 0, 0, time.UTC) // 10:00 in New York
	open := NewState(inv)
	overdue := NewState(inv)
	overdue.PastDue = true
	overdue.DeriveStatus()
	paused := NewState(inv)
	paused.PauseDunning(Pause{Since: now})
	for _, tc := range []struct {
		name  string
		st    State
		p     Pause
		kind  string
		field string
		text  string
	}{
		{"open, no end", open, Pause{}, okay, "", ""},
		{"overdue, until tomorrow", overdue, Pause{Until: &Date{2026, time.December, 6}}, okay, "", ""},
		{"until an hour ahead", open, Pause{UntilAt: now.Add(time.Hour)}, okay, "", ""},
		{"until today: already begun", open, Pause{Until: &Date{2026, time.December, 5}}, isInvalid, "until", "2026-12-05 must be in the future"},
		{"until a time gone", open, Pause{Until: &Date{2026, time.December, 5}, UntilAt: now}, isInvalid, "until", "must be in the future"},
		{"already paused", paused, Pause{}, isConflict, "status", "the invoice is paused; only an open or overdue invoice can be paused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, tc.st.CheckPause(inv, tc.p, now), tc.kind, tc.field, tc.text)
		})
	}
}

func TestPauseAndResume(t *testing.T) {
	inv := testInvoice()
	t0 := inv.IssuedAt
	s := NewState(inv)
	checkErr(t, s.CheckResume(), isConflict, "status", "the invoice is open, not paused")
	e := s.PauseDunning(Pause{Reason: "customer called", Since: t0, By: "ops"})
	if e.Key != "pause/1" || e.Kind != EventPaused || s.Status != StatusPaused || !s.Held() {
		t.Fatalf("paused: %+v, status %s", e, s.Status)
	}
	checkErr(t, s.CheckResume(), okay, "", "")
	e = s.Resume(t0.Add(36*time.Hour), "ops", "called back")
	if e.Key != "resume/1" || e.Kind != EventResumed || s.Pause != nil || s.Status != StatusOpen || s.Shift != 36*time.Hour {
		t.Fatalf("resumed: %+v, status %s, shift %v", e, s.Status, s.Shift)
	}
	s.PauseDunning(Pause{Since: t0.Add(48 * time.Hour)})
	if e = s.Resume(t0.Add(50*time.Hour), "ops", ""); e.Key != "resume/2" || s.Shift != 38*time.Hour {
		t.Fatalf("second resume %s, shift %v", e.Key, s.Shift)
	}
}

func TestPauseEnds(t *testing.T) {
	inv := testInvoice()
	ny, _ := time.LoadLocation("America/New_York")
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		p    Pause
		want time.Time
	}{
		{"open-ended", Pause{}, time.Time{}},
		{"until a date: its start in the customer's zone", Pause{Until: &Date{2026, time.December, 6}}, time.Date(2026, 12, 6, 0, 0, 0, 0, ny)},
		{"until a time", Pause{Until: &Date{2026, time.December, 6}, UntilAt: at}, at},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Ends(inv); !got.Equal(tc.want) {
				t.Fatalf("Ends = %v, want %v", got, tc.want)
			}
		})
	}
}
