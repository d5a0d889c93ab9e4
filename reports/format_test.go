package reports_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/reports"
)

func TestFormatWritesFiguresForPeople(t *testing.T) {
	rate, days, none := 0.33333, 41.333, (*float64)(nil)
	for _, c := range []struct {
		prefs                                     []string
		lang                                      string
		count, usd, jpy, kwd, pct, days, day, mon string
	}{
		{nil, "en-US", "1,234,567", "$ 1,234,567.89", "¥ 1,250", "KWD 1.250", "33.3%", "41.33", "Mar 05, 2026", "Mar 2026"},
		{[]string{"de-DE,de;q=0.9,en;q=0.5"}, "de-DE", "1.234.567", "$ 1.234.567,89", "¥ 1.250", "KWD 1,250", "33,3\u00a0%", "41,33", "05.03.2026", "Mär 2026"},
		{[]string{"", "fr"}, "fr", "1\u00a0234\u00a0567", "$US 1\u00a0234\u00a0567,89", "JPY 1\u00a0250", "KWD 1,250", "33,3\u00a0%", "41,33", "05 mars 2026", "mars 2026"},
		// An unknown language, or a malformed header, falls back to English.
		{[]string{"tlh", "not a tag!!"}, "en-US", "1,234,567", "$ 1,234,567.89", "¥ 1,250", "KWD 1.250", "33.3%", "41.33", "Mar 05, 2026", "Mar 2026"},
	} {
		f := reports.FormatFor(c.prefs...)
		require.Equal(t, c.lang, f.Lang(), "%v", c.prefs)
		require.Equal(t, c.count, f.Count(1234567), c.lang)
		require.Equal(t, c.usd, f.Money(reports.Money{Minor: 123456789, Currency: "USD"}), c.lang)
		require.Equal(t, c.jpy, f.Money(reports.Money{Minor: 1250, Currency: "JPY"}), c.lang)
		require.Equal(t, c.kwd, f.Money(reports.Money{Minor: 1250, Currency: "KWD"}), c.lang)
		require.Equal(t, c.pct, f.Percent(&rate), c.lang)
		require.Equal(t, c.days, f.Number(&days, 2), c.lang)
		require.Equal(t, c.day, f.DateText("2026-03-05"), c.lang)
		require.Equal(t, c.mon, f.Month(date("2026-03-05")), c.lang)
		require.Equal(t, "–", f.Percent(none))
		require.Equal(t, "–", f.Number(none, 2))
	}
}
