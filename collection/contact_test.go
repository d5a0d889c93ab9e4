package collection

import (
	"strings"
	"testing"
	"time"

	"github.com/dunwell/dunwell/policy"
)

func TestNextAllowedContact(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	inv := testInvoice()
	inv.Customer.Locale = "en-US"
	p := standardPolicy(t)
	p.Contact = &policy.Contact{Hours: "08:00-21:00", Weekdays: []string{"mon", "tue", "wed", "thu", "fri", "sat"},
		HolidayCalendar: "customer", Holidays: []string{"2026-12-24"}}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		at     time.Time
		want   time.Time
		reason string
	}{
		{"inside the window", time.Date(2026, 12, 2, 10, 0, 0, 0, ny), time.Date(2026, 12, 2, 10, 0, 0, 0, ny), ""},
		{"before opening", time.Date(2026, 12, 2, 6, 30, 0, 0, ny), time.Date(2026, 12, 2, 8, 0, 0, 0, ny), "outside contact hours"},
		{"at closing", time.Date(2026, 12, 2, 21, 0, 0, 0, ny), time.Date(2026, 12, 3, 8, 0, 0, 0, ny), "outside contact hours"},
		{"sunday", time.Date(2026, 12, 6, 10, 0, 0, 0, ny), time.Date(2026, 12, 7, 8, 0, 0, 0, ny), "Sunday"},
		{"saturday night to monday", time.Date(2026, 12, 5, 22, 0, 0, 0, ny), time.Date(2026, 12, 7, 8, 0, 0, 0, ny), "outside contact hours"},
		{"christmas (US public holiday)", time.Date(2026, 12, 25, 10, 0, 0, 0, ny), time.Date(2026, 12, 26, 8, 0, 0, 0, ny), "holiday"},
		{"the policy's own holiday", time.Date(2026, 12, 24, 9, 0, 0, 0, ny), time.Date(2026, 12, 26, 8, 0, 0, 0, ny), "holiday"},
		{"thanksgiving", time.Date(2026, 11, 26, 12, 0, 0, 0, ny), time.Date(2026, 11, 27, 8, 0, 0, 0, ny), "holiday"},
		{"DST ends overnight: 08:00 stays local", time.Date(2026, 11, 1, 5, 0, 0, 0, ny), time.Date(2026, 11, 2, 8, 0, 0, 0, ny), "Sunday"},
	}
	for _, c := range cases {
		got, reason := NextAllowedContact(p, inv, c.at)
		if !got.Equal(c.want) {
			t.Errorf("%s: %v -> %v, want %v", c.name, c.at, got.In(ny), c.want)
		}
		if c.reason == "" && reason != "" || c.reason != "" && !strings.Contains(reason, c.reason) {
			t.Errorf("%s: reason %q, want one mentioning %q", c.name, reason, c.reason)
		}
	}
}

func TestDefaultWindowAndAnyTime(t *testing.T) {
	inv := testInvoice()
	p := standardPolicy(t) // no contact section: 08:00-21:00 every day
	late := time.Date(2026, 12, 2, 23, 30, 0, 0, inv.Location())
	if got, _ := NextAllowedContact(p, inv, late); !got.Equal(time.Date(2026, 12, 3, 8, 0, 0, 0, inv.Location())) {
		t.Errorf("default window: %v", got)
	}
	p.Contact = &policy.Contact{Hours: "00:00-24:00"}
	if got, reason := NextAllowedContact(p, inv, late); !got.Equal(late) || reason != "" {
		t.Errorf("any time: %v %q", got, reason)
	}
}

func TestNextMovesRemindersIntoTheContactWindow(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	p, inv := standardPolicy(t), testInvoice()
	p.SendAt = "07:00"
	s := NewState(inv)
	a := Next(p, inv, &s, inv.IssuedAt)
	if a.Kind != ActionRemind || !a.At.Equal(time.Date(2026, 11, 28, 8, 0, 0, 0, ny)) || a.MovedFrom.IsZero() || a.MoveReason == "" {
		t.Fatalf("reminder at 07:00 not moved to 08:00: %+v", a)
	}
	if !a.MovedFrom.Equal(time.Date(2026, 11, 28, 7, 0, 0, 0, ny)) {
		t.Fatalf("the move does not keep the policy's time 07:00: %+v", a)
	}
}

func TestContactValidation(t *testing.T) {
	p := &policy.Policy{ID: "x", Version: 1, Steps: []policy.Step{{Name: "a", Offset: mustOffset(t, "+1d"), Channels: []policy.Channel{policy.Email}, Template: "t"}},
		Contact: &policy.Contact{Hours: "21:00-08:00", Weekdays: []string{"mon", "funday", "mon"}, Holidays: []string{"xmas"}, HolidayCalendar: "ZZ"}}
	err := p.Validate()
	if err == nil {
		t.Fatal("want error")
	}
	for _, f := range []string{"contact.hours", "contact.weekdays[1]", "contact.weekdays[2]", "contact.holidays[0]", "contact.holiday_calendar"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error does not name %s: %v", f, err)
		}
	}
}

func TestCustomerCountry(t *testing.T) {
	for locale, want := range map[string]string{"en-US": "US", "en_gb": "GB", "de": "", "zh-Hant-TW": "TW", "": "", "x": "", "es-419": ""} {
		c := Customer{Locale: locale}
		if got := c.Country(); got != want {
			t.Errorf("Country(%q) = %q, want %q", locale, got, want)
		}
	}
}

func TestWeeklyCapDelaysTheThirdReminder(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	p, inv := standardPolicy(t), testInvoice()
	p.Contact = &policy.Contact{MaxPerInvoicePerWeek: 2}
	s := NewState(inv)
	s.Status, s.StepsDone = StatusOverdue, 2
	// Two reminders in the last week: Dec 2 and Dec 7; overdue-7 is planned for Dec 8.
	s.Notices = []Notice{
		{Step: "due-soon", Status: NoticeSent, SentAt: time.Date(2026, 12, 2, 10, 0, 0, 0, ny)},
		{Step: "overdue-1", Status: NoticeSent, SentAt: time.Date(2026, 12, 7, 10, 0, 0, 0, ny)},
	}
	a := Next(p, inv, &s, time.Date(2026, 12, 8, 9, 0, 0, 0, ny))
	if a.Kind != ActionRemind || !a.At.Equal(time.Date(2026, 12, 9, 10, 0, 0, 0, ny)) {
		t.Fatalf("third reminder in a week = %+v, want it held until Dec 9 10:00 (a week after Dec 2)", a)
	}
	if !strings.Contains(a.MoveReason, "at most 2 reminders") || a.MovedFrom.IsZero() {
		t.Fatalf("the move is not explained: %+v", a)
	}
}
