package collection

import (
	"fmt"
	"strings"
	"time"

	"github.com/dunwell/dunwell/policy"
)

// maxContactSearchDays bounds the search for an allowed moment; a policy whose rules
// allow no day in a year is invalid input, not a reason to loop forever.
const maxContactSearchDays = 400

// Country returns the customer's country for holiday calendars: the region subtag of
// their BCP 47 locale ("en-US" -> "US", "zh-Hant-TW" -> "TW"); "" when it has none.
// (Parsed by hand: x/text's parser keeps caches that workflow code must not touch.)
func (c *Customer) Country() string {
	parts := strings.FieldsFunc(c.Locale, func(r rune) bool { return r == '-' || r == '_' })
	for _, p := range parts[min(1, len(parts)):] {
		if len(p) == 2 && isASCIILetter(p[0]) && isASCIILetter(p[1]) {
			return strings.ToUpper(p)
		}
	}
	return ""
}

func isASCIILetter(b byte) bool { return (b|0x20) >= 'a' && (b|0x20) <= 'z' }

// NextAllowedContact returns the earliest instant at or after t at which the policy's
// contact rules allow contacting the customer, and why t itself was not allowed ("" if
// it was). Rules apply in the customer's timezone.
func NextAllowedContact(p *policy.Policy, inv *Invoice, t time.Time) (time.Time, string) {
	rules := p.Contact
	loc := inv.Location()
	country := ""
	if rules != nil {
		country = rules.HolidayCalendar
		if country == "customer" {
			country = inv.Customer.Country()
		}
	}
	start, end := rules.Window()
	local := t.In(loc)
	reason := ""
	for i := 0; i < maxContactSearchDays; i++ {
		day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
		why := ""
		switch {
		case !rules.AllowsWeekday(day.Weekday()):
			why = "contact is not allowed on " + day.Weekday().String()
		case rules.IsExtraHoliday(day.Year(), day.Month(), day.Day()),
			policy.IsPublicHoliday(country, day.Year(), day.Month(), day.Day()):
			why = fmt.Sprintf("%s is a holiday", day.Format(time.DateOnly))
		}
		if why == "" {
			open := clockOn(day, start, loc)
			closeAt := clockOn(day, end, loc)
			switch {
			case local.Before(open):
				if reason == "" {
					reason = fmt.Sprintf("outside contact hours %s", hoursLabel(rules))
				}
				return open, reason
			case local.Before(closeAt):
				return local, reason
			default:
				why = fmt.Sprintf("outside contact hours %s", hoursLabel(rules))
			}
		}
		if reason == "" {
			reason = why
		}
		local = day.AddDate(0, 0, 1)
	}
	return t, "" // no allowed day within the search bound: validated policies never get here
}

// weeklyCapAt returns the earliest instant at or after t at which the invoice has sent
// fewer than the policy's per-week cap of reminders in the 7 days before it, and a
// reason when that moves t.
func weeklyCapAt(p *policy.Policy, s *State, t time.Time) (time.Time, string) {
	if p.Contact == nil || p.Contact.MaxPerInvoicePerWeek <= 0 {
		return t, ""
	}
	limit := p.Contact.MaxPerInvoicePerWeek
	var sent []time.Time // in order: notices are appended as they happen
	for _, n := range s.Notices {
		if n.Status == NoticeSent || n.Status == NoticeUnknown {
			sent = append(sent, n.SentAt)
		}
	}
	const week = 7 * 24 * time.Hour
	inWindow := 0
	for _, at := range sent {
		if at.After(t.Add(-week)) {
			inWindow++
		}
	}
	if inWindow < limit {
		return t, ""
	}
	// The (inWindow-limit+1)-th oldest send in the window must age out first.
	var window []time.Time
	for _, at := range sent {
		if at.After(t.Add(-week)) {
			window = append(window, at)
		}
	}
	free := window[inWindow-limit].Add(week)
	return free, fmt.Sprintf("at most %d reminders per invoice in 7 days", limit)
}

// clockOn returns the local wall-clock time d after midnight of day ("24:00" is the
// next midnight). time.Date keeps wall-clock times across DST switches and moves a
// time that falls in a DST gap forward.
func clockOn(day time.Time, d time.Duration, loc *time.Location) time.Time {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	return time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, loc)
}

func hoursLabel(c *policy.Contact) string {
	if c == nil || c.Hours == "" {
		return policy.DefaultContactHours
	}
	return c.Hours
}
