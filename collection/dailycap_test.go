package collection

import (
	"testing"
	"time"

	"github.com/dunwell/dunwell/policy"
)

func TestAfterDailyCap(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	p := &policy.Policy{ID: "x", Version: 1, Contact: &policy.Contact{
		Hours: "09:00-18:00", Weekdays: []string{"mon", "tue", "wed", "thu", "fri"}, HolidayCalendar: "US", MaxPerCustomerPerDay: 2}}
	inv := testInvoice()
	// Refused on Friday 2026-12-18 at 10:00: Saturday and Sunday are not allowed, so
	// Monday 09:00; refused on Thursday 2026-12-24: Christmas, then Saturday, Sunday.
	for _, c := range []struct{ at, want time.Time }{
		{time.Date(2026, 12, 18, 10, 0, 0, 0, ny), time.Date(2026, 12, 21, 9, 0, 0, 0, ny)},
		{time.Date(2026, 12, 24, 17, 59, 0, 0, ny), time.Date(2026, 12, 28, 9, 0, 0, 0, ny)},
		{time.Date(2026, 12, 15, 23, 30, 0, 0, ny), time.Date(2026, 12, 16, 9, 0, 0, 0, ny)},
	} {
		got, why := AfterDailyCap(p, inv, c.at)
		if !got.Equal(c.want) || why != "at most 2 reminders per customer per day" {
			t.Errorf("AfterDailyCap(%s) = %s, %q; want %s", c.at, got.In(ny), why, c.want)
		}
	}
}
