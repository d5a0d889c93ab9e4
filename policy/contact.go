package policy

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Contact is when a customer may be contacted, in their own timezone. A reminder that
// falls outside is moved to the next allowed moment, never dropped.
type Contact struct {
	// Hours is the daily window "HH:MM-HH:MM" (end exclusive; "24:00" is the end of the
	// day). Default 08:00-21:00.
	Hours string `yaml:"hours,omitempty" json:"hours,omitempty"`
	// Weekdays allowed ("mon".."sun"). Default every day.
	Weekdays []string `yaml:"weekdays,omitempty" json:"weekdays,omitempty"`
	// Holidays are extra dates ("2026-12-24") on which nobody is contacted.
	Holidays []string `yaml:"holidays,omitempty" json:"holidays,omitempty"`
	// HolidayCalendar adds a country's public holidays: an ISO 3166 code ("US", "GB",
	// "DE", ...), or "customer" for the country of the customer's locale ("en-US" -> US).
	HolidayCalendar string `yaml:"holiday_calendar,omitempty" json:"holiday_calendar,omitempty"`
	// MaxPerInvoicePerWeek caps the reminders one invoice sends in any 7 days; a
	// reminder beyond it waits until the oldest of those is a week old. 0: no cap.
	MaxPerInvoicePerWeek int `yaml:"max_per_invoice_per_week,omitempty" json:"max_per_invoice_per_week,omitempty"`
	// MaxPerCustomerPerDay caps the reminders one customer receives in a local
	// calendar day across all their invoices; a reminder beyond it waits for the next
	// allowed moment of a later day. Decided by an activity that reads the ledger
	// (activities.ReserveContact), so the workflow stays deterministic. 0: no cap.
	MaxPerCustomerPerDay int `yaml:"max_per_customer_per_day,omitempty" json:"max_per_customer_per_day,omitempty"`
	// MaxPerCustomerPerWeek caps the messages one customer receives in any 7 days
	// across all their invoices, for policies that consolidate (the customer's account
	// workflow counts them); a reminder beyond it waits until the oldest of those is a
	// week old. 0: no cap.
	MaxPerCustomerPerWeek int `yaml:"max_per_customer_per_week,omitempty" json:"max_per_customer_per_week,omitempty"`
}

// DefaultContactHours is the legal window most jurisdictions allow.
const DefaultContactHours = "08:00-21:00"

var hoursRE = regexp.MustCompile(`^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$`)

var weekdayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Window returns the daily window as offsets from local midnight.
func (c *Contact) Window() (start, end time.Duration) {
	h := DefaultContactHours
	if c != nil && c.Hours != "" {
		h = c.Hours
	}
	m := hoursRE.FindStringSubmatch(h)
	if m == nil {
		return 8 * time.Hour, 21 * time.Hour // validated away; the safe default
	}
	at := func(hh, mm string) time.Duration {
		a, _ := strconv.Atoi(hh)
		b, _ := strconv.Atoi(mm)
		return time.Duration(a)*time.Hour + time.Duration(b)*time.Minute
	}
	return at(m[1], m[2]), at(m[3], m[4])
}

// AllowsWeekday reports whether contact is allowed on that day of the week.
func (c *Contact) AllowsWeekday(d time.Weekday) bool {
	if c == nil || len(c.Weekdays) == 0 {
		return true
	}
	for _, w := range c.Weekdays {
		if weekdayNames[strings.ToLower(w)] == d {
			return true
		}
	}
	return false
}

// IsExtraHoliday reports whether the date is one of the policy's own holidays.
func (c *Contact) IsExtraHoliday(year int, month time.Month, day int) bool {
	if c == nil {
		return false
	}
	s := fmt.Sprintf("%04d-%02d-%02d", year, int(month), day)
	for _, h := range c.Holidays {
		if h == s {
			return true
		}
	}
	return false
}

// validate appends the contact section's problems.
func (c *Contact) validate(add func(field, format string, args ...any)) {
	if c == nil {
		return
	}
	if c.Hours != "" {
		if !hoursRE.MatchString(c.Hours) {
			add("contact.hours", "must be a local window like \"08:00-21:00\"")
		} else if s, e := c.Window(); e <= s {
			add("contact.hours", "the window %s must end after it starts", c.Hours)
		}
	}
	seen := map[string]bool{}
	for i, w := range c.Weekdays {
		lw := strings.ToLower(w)
		if _, ok := weekdayNames[lw]; !ok {
			add(fmt.Sprintf("contact.weekdays[%d]", i), "%q is not one of mon, tue, wed, thu, fri, sat, sun", w)
		} else if seen[lw] {
			add(fmt.Sprintf("contact.weekdays[%d]", i), "%q is listed twice", w)
		}
		seen[lw] = true
	}
	for i, h := range c.Holidays {
		if _, err := time.Parse(time.DateOnly, h); err != nil {
			add(fmt.Sprintf("contact.holidays[%d]", i), "%q is not a date like \"2026-12-24\"", h)
		}
	}
	if c.MaxPerInvoicePerWeek < 0 || c.MaxPerInvoicePerWeek > 50 {
		add("contact.max_per_invoice_per_week", "must be between 0 (no cap) and 50")
	}
	if c.MaxPerCustomerPerDay < 0 || c.MaxPerCustomerPerDay > 50 {
		add("contact.max_per_customer_per_day", "must be between 0 (no cap) and 50")
	}
	if c.MaxPerCustomerPerWeek < 0 || c.MaxPerCustomerPerWeek > 100 {
		add("contact.max_per_customer_per_week", "must be between 0 (no cap) and 100")
	}
	if cal := c.HolidayCalendar; cal != "" && cal != "customer" && !KnownHolidayCalendar(cal) {
		add("contact.holiday_calendar", "%q is not a supported country (%s) or \"customer\"", cal, strings.Join(HolidayCalendars(), ", "))
	}
}
