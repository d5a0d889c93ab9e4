package reports

import (
	"math"
	"strings"
	"time"

	"github.com/goodsign/monday"
	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"

	"github.com/dunwell/dunwell/money"
)

// Figures for people: the /reports page shows counts with thousands separators,
// rates as percentages, money with its currency's symbol and digits, and dates, in
// the viewer's language (golang.org/x/text for numbers and currencies, monday for
// month names). The API and the CLI keep the machine-readable values.

// Format renders figures in one language. The zero value is not usable: use
// FormatFor.
type Format struct {
	// Tag is the language the figures are written in.
	Tag    language.Tag
	locale monday.Locale
	p      *message.Printer
}

// formatLocales are the languages Format writes, English (US) first: the default.
var formatLocales = func() []monday.Locale {
	out := []monday.Locale{monday.LocaleEnUS}
	for _, l := range monday.ListLocales() {
		if l != monday.LocaleEnUS {
			out = append(out, l)
		}
	}
	return out
}()

var formatMatcher = func() language.Matcher {
	tags := make([]language.Tag, len(formatLocales))
	for i, l := range formatLocales {
		tags[i] = language.Make(strings.ReplaceAll(string(l), "_", "-"))
	}
	return language.NewMatcher(tags)
}()

// FormatFor picks the language for the preferences given, best first, each a
// language tag or an Accept-Language header ("de-CH, de;q=0.9, en;q=0.5"); the
// first that matches a known language wins, and English (US) is the default.
func FormatFor(prefs ...string) Format {
	for _, pref := range prefs {
		tags, _, err := language.ParseAcceptLanguage(pref)
		if err != nil {
			continue
		}
		for _, tag := range tags {
			if _, i, conf := formatMatcher.Match(tag); conf > language.Low {
				// Numbers follow the viewer's own tag (de-CH writes 1’234.50), month
				// names the matched locale.
				return Format{Tag: tag, locale: formatLocales[i], p: message.NewPrinter(tag)}
			}
		}
	}
	return Format{Tag: language.AmericanEnglish, locale: monday.LocaleEnUS, p: message.NewPrinter(language.AmericanEnglish)}
}

// Lang is the language tag, for the page's lang attribute.
func (f Format) Lang() string { return f.Tag.String() }

// Count writes a whole number with the language's digit grouping ("12,345").
func (f Format) Count(n int64) string { return f.p.Sprint(number.Decimal(n)) }

// Money writes an amount with its currency's symbol and number of digits
// ("$ 1,234.50", "¥ 1,250", "KWD 1.250").
func (f Format) Money(m Money) string {
	unit, err := currency.ParseISO(m.Currency)
	exp, expErr := money.Exponent(m.Currency)
	if err != nil || expErr != nil {
		return m.String() + " " + m.Currency
	}
	return f.p.Sprint(currency.Symbol(unit.Amount(float64(m.Minor) / math.Pow10(exp))))
}

// Percent writes a fraction as a percentage with up to one decimal ("33.3%"), or
// "–" for null.
func (f Format) Percent(v *float64) string {
	if v == nil {
		return "–"
	}
	return f.p.Sprint(number.Percent(*v, number.MaxFractionDigits(1)))
}

// Number writes a figure (days, an index) with up to places decimals, or "–" for null.
func (f Format) Number(v *float64, places int) string {
	if v == nil {
		return "–"
	}
	return f.p.Sprint(number.Decimal(*v, number.MaxFractionDigits(places)))
}

// Date writes a calendar date in the language's medium form ("Mar 05, 2026",
// "05.03.2026").
func (f Format) Date(d time.Time) string {
	return monday.Format(d, monday.MediumFormatsByLocale[f.locale], f.locale)
}

// DateText writes a YYYY-MM-DD date as Date does; anything else stays as it is.
func (f Format) DateText(s string) string {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	return f.Date(d)
}

// Month writes a month and its year ("Mar 2026", "mars 2026").
func (f Format) Month(d time.Time) string { return monday.Format(d, "Jan 2006", f.locale) }

// MonthShort writes a month's abbreviated name ("Mar", "mars").
func (f Format) MonthShort(d time.Time) string { return monday.Format(d, "Jan", f.locale) }
