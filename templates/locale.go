package templates

import (
	"fmt"
	"strings"
	"time"

	"github.com/dunwell/dunwell/money"
)

// numberFormat is how a locale writes numbers.
type numberFormat struct {
	decimal, group string
	// symbolAfter puts the currency symbol after the number ("1.250,00 €").
	symbolAfter bool
}

// Locales Dunwell formats for, by language; anything else is formatted like English.
var numberFormats = map[string]numberFormat{
	"en": {decimal: ".", group: ","},
	"ja": {decimal: ".", group: ","},
	"de": {decimal: ",", group: ".", symbolAfter: true},
	"es": {decimal: ",", group: ".", symbolAfter: true},
	"it": {decimal: ",", group: ".", symbolAfter: true},
	"nl": {decimal: ",", group: "."},
	"fr": {decimal: ",", group: "\u202f", symbolAfter: true},
}

// homeCurrency is the currency of a locale's region, written with its symbol; every
// other currency is written with its ISO code, which cannot be mistaken ("$" alone is
// ambiguous to a Canadian reading about US dollars).
var homeCurrency = map[string]string{
	"US": "USD", "GB": "GBP", "JP": "JPY", "CH": "CHF", "CA": "CAD", "AU": "AUD",
	"DE": "EUR", "AT": "EUR", "FR": "EUR", "ES": "EUR", "IT": "EUR", "NL": "EUR", "BE": "EUR",
	"IE": "EUR", "FI": "EUR", "PT": "EUR", "LU": "EUR",
}

var symbols = map[string]string{"USD": "$", "GBP": "£", "EUR": "€", "JPY": "¥", "CHF": "CHF", "CAD": "$", "AUD": "$"}

// splitLocale returns the language and region of a BCP 47 tag like "de-DE" ("de", "DE").
func splitLocale(locale string) (lang, region string) {
	parts := strings.FieldsFunc(locale, func(r rune) bool { return r == '-' || r == '_' })
	if len(parts) == 0 {
		return "", ""
	}
	lang = strings.ToLower(parts[0])
	for _, p := range parts[1:] {
		if len(p) == 2 {
			region = strings.ToUpper(p)
		}
	}
	return lang, region
}

// FormatAmount writes minor units of currency for people reading locale: the home
// currency of the locale's region with its symbol ("$1,250.00" for en-US, "1.250,00 €"
// for de-DE, "¥1,250" for ja-JP), any other currency with its code ("1.250,00 USD").
// Without a locale it is "1,250.00 USD". Integers only: no float ever touches money.
func FormatAmount(minor int64, currency, locale string) string {
	lang, region := splitLocale(locale)
	nf, ok := numberFormats[lang]
	if !ok {
		nf = numberFormats["en"]
	}
	plain := money.Format(minor, currency) // "-1250.00"
	neg := strings.HasPrefix(plain, "-")
	plain = strings.TrimPrefix(plain, "-")
	whole, frac, hasFrac := strings.Cut(plain, ".")
	sign := ""
	if neg {
		sign = "-"
	}
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(nf.group)
		}
		b.WriteRune(r)
	}
	if hasFrac {
		b.WriteString(nf.decimal + frac)
	}
	number := b.String()
	sym, isSym := symbols[currency]
	if !isSym || locale == "" || homeCurrency[region] != currency {
		return sign + number + " " + currency
	}
	if lang == "ja" && currency == "JPY" {
		sym = "￥" // the full-width sign Japanese text uses
	}
	if nf.symbolAfter {
		return sign + number + "\u00a0" + sym
	}
	return sign + sym + number
}

var monthNames = map[string][12]string{
	"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	"de": {"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
}

// dateStyle parses a YYYY-MM-DD date and names how locale writes dates: "ja",
// "de", "en-US" (also bare "en") or "en" (other English); ok is false for other
// languages and unparsable dates, which keep the ISO form.
func dateStyle(date, locale string) (d time.Time, style string, ok bool) {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return d, "", false
	}
	switch lang, region := splitLocale(locale); {
	case lang == "ja", lang == "de":
		return d, lang, true
	case lang == "en" && (region == "US" || region == ""):
		return d, "en-US", true
	case lang == "en":
		return d, "en", true
	}
	return d, "", false
}

// FormatDate writes a YYYY-MM-DD date for people reading locale: "December 1, 2026"
// (en-US), "1 December 2026" (other English), "1. Dezember 2026" (de), "2026年12月1日"
// (ja); other languages and unparsable dates keep the ISO form.
func FormatDate(date, locale string) string {
	d, style, ok := dateStyle(date, locale)
	if !ok {
		return date
	}
	switch style {
	case "ja":
		return fmt.Sprintf("%d年%d月%d日", d.Year(), int(d.Month()), d.Day())
	case "de":
		return fmt.Sprintf("%d. %s %d", d.Day(), monthNames["de"][d.Month()-1], d.Year())
	case "en-US":
		return fmt.Sprintf("%s %d, %d", monthNames["en"][d.Month()-1], d.Day(), d.Year())
	}
	return fmt.Sprintf("%d %s %d", d.Day(), monthNames["en"][d.Month()-1], d.Year())
}

// shortDateLayouts are the short forms for SMS by date style.
var shortDateLayouts = map[string]string{
	"ja":    "2006/01/02",
	"de":    "02.01.2006",
	"en-US": "1/2/2006",
	"en":    "02/01/2006",
}

// FormatShortDate is the short form for SMS: "12/1/2026" (en-US), "01/12/2026"
// (other English), "01.12.2026" (de), "2026/12/01" (ja), else ISO.
func FormatShortDate(date, locale string) string {
	d, style, ok := dateStyle(date, locale)
	if !ok {
		return date
	}
	return d.Format(shortDateLayouts[style])
}
