package policy

import (
	"sort"
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/ca"
	"github.com/rickar/cal/v2/de"
	"github.com/rickar/cal/v2/es"
	"github.com/rickar/cal/v2/fr"
	"github.com/rickar/cal/v2/gb"
	"github.com/rickar/cal/v2/ie"
	"github.com/rickar/cal/v2/it"
	"github.com/rickar/cal/v2/nl"
	"github.com/rickar/cal/v2/nz"
	"github.com/rickar/cal/v2/us"
)

// Public holidays come from github.com/rickar/cal, a maintained holiday library that
// computes each year's dates (fixed, weekday-based and Easter-based, with observed
// days), so no yearly data file needs updating here.
var holidayCalendars = map[string][]*cal.Holiday{
	"CA": ca.Holidays, "DE": de.Holidays, "ES": es.Holidays,
	"FR": fr.Holidays, "GB": gb.Holidays, "IE": ie.Holidays, "IT": it.Holidays,
	"NL": nl.Holidays, "NZ": nz.Holidays, "US": us.Holidays,
}

// KnownHolidayCalendar reports whether country has a holiday calendar.
func KnownHolidayCalendar(country string) bool {
	_, ok := holidayCalendars[country]
	return ok
}

// HolidayCalendars lists the supported countries, sorted.
func HolidayCalendars() []string {
	out := make([]string, 0, len(holidayCalendars))
	for k := range holidayCalendars {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// IsPublicHoliday reports whether the local date is a public holiday (actual or
// observed) in country. An unknown country has none.
func IsPublicHoliday(country string, year int, month time.Month, day int) bool {
	hs, ok := holidayCalendars[country]
	if !ok {
		return false
	}
	for _, h := range hs {
		actual, observed := h.Calc(year)
		for _, d := range []time.Time{actual, observed} {
			if !d.IsZero() && d.Year() == year && d.Month() == month && d.Day() == day {
				return true
			}
		}
	}
	return false
}
