package templates

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dunwell/dunwell/money"
)

// AccountLine is one invoice in a customer's account message.
type AccountLine struct {
	InvoiceID string `json:"invoice_id"`
	Currency  string `json:"currency"`
	// AmountDue includes Fees and Interest; all three in minor units. Fees and
	// Interest are what was charged so far: the message says the amount includes them
	// only when it can (a partly paid invoice may owe less than its charges).
	AmountDue int64 `json:"amount_due_minor"`
	Fees      int64 `json:"fees_minor,omitempty"`
	Interest  int64 `json:"interest_minor,omitempty"`
	// DueDate is YYYY-MM-DD.
	DueDate     string `json:"due_date"`
	DaysOverdue int    `json:"days_overdue"`
	PaymentURL  string `json:"payment_url,omitempty"`
	// Template is the invoice step's template (due_soon, overdue, overdue_firm,
	// final_notice); the message takes the tone of the strongest.
	Template string `json:"template"`
	Terms    Terms  `json:"terms"`
}

// AccountMessage is one message to a customer about several of their invoices.
type AccountMessage struct {
	Business     Business      `json:"business"`
	CustomerName string        `json:"customer_name"`
	Locale       string        `json:"locale,omitempty"`
	Lines        []AccountLine `json:"lines"`
	// PortalURL is the customer's portal page; empty: none (each line's own link).
	PortalURL string `json:"portal_url,omitempty"`
}

// FieldError is an AccountMessage field a message cannot be rendered from: Field is
// its JSON path ("lines[2].currency"), Problem what is wrong with it.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// MaxAccountLines bounds the invoices of one message, so a message stays readable and
// its rendering small.
const MaxAccountLines = 500

// toneRank orders the templates from the mildest to the strongest.
var toneRank = map[string]int{"due_soon": 0, "overdue": 1, "overdue_firm": 2, "final_notice": 3}

var isoDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// Validate reports every field the message cannot be rendered from, joined; each
// is a *FieldError.
func (m AccountMessage) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	if len(m.Lines) == 0 {
		bad("lines", "at least one invoice is required")
	}
	if len(m.Lines) > MaxAccountLines {
		bad("lines", "%d invoices, more than the %d one message may list", len(m.Lines), MaxAccountLines)
	}
	// The customer's name and locale are not checked: whatever the API accepted is
	// rendered (the name on one line), so no customer is left without a message.
	for name, v := range map[string]string{"portal_url": m.PortalURL,
		"business.name": m.Business.Name, "business.address": m.Business.Address, "business.reply_to": m.Business.ReplyTo, "business.phone": m.Business.Phone} {
		if p := textProblem(v); p != "" {
			bad(name, "%s", p)
		}
	}
	if m.PortalURL != "" && !webURL(m.PortalURL) {
		bad("portal_url", "must be an http(s) URL")
	}
	seen := map[string]bool{}
	for i, l := range m.Lines {
		f := func(name string) string { return fmt.Sprintf("lines[%d].%s", i, name) }
		switch {
		case strings.TrimSpace(l.InvoiceID) == "":
			bad(f("invoice_id"), "is required")
		case textProblem(l.InvoiceID) != "":
			bad(f("invoice_id"), "%s", textProblem(l.InvoiceID))
		case seen[l.InvoiceID]:
			bad(f("invoice_id"), "%q is listed twice", l.InvoiceID)
		}
		seen[l.InvoiceID] = true
		if !money.ValidCurrency(l.Currency) {
			bad(f("currency"), "%q is not an ISO 4217 currency code like \"USD\"", l.Currency)
		}
		if l.AmountDue < 0 {
			bad(f("amount_due_minor"), "must not be negative")
		}
		if l.Fees < 0 {
			bad(f("fees_minor"), "must not be negative")
		}
		if l.Interest < 0 {
			bad(f("interest_minor"), "must not be negative")
		}
		if _, err := time.Parse(time.DateOnly, l.DueDate); err != nil || !isoDate.MatchString(l.DueDate) {
			bad(f("due_date"), "%q is not a date like 2026-12-01", l.DueDate)
		}
		if l.DaysOverdue < 0 {
			bad(f("days_overdue"), "must not be negative")
		}
		if l.PaymentURL != "" && (textProblem(l.PaymentURL) != "" || !webURL(l.PaymentURL)) {
			bad(f("payment_url"), "must be an http(s) URL")
		}
		if _, ok := toneRank[l.Template]; !ok {
			bad(f("template"), "%q is not one of %s", l.Template, strings.Join(Names(), ", "))
		}
	}
	if len(errs) == 0 {
		if _, err := totals(m.Lines); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// textProblem says what makes v unfit for a message: invalid UTF-8, control
// characters (a header or SMS must stay one line) or excessive length.
func textProblem(v string) string {
	switch {
	case !utf8.ValidString(v):
		return "is not valid UTF-8"
	case len(v) > 2000:
		return "is longer than 2000 bytes"
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }):
		return "must not contain control characters"
	}
	return ""
}

// webURL is the API's test of a payment URL: absolute http(s) with a host.
func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// total is what a customer owes in one currency.
type total struct {
	Currency string
	Minor    int64
	Amount   string // formatted
	Count    int
}

// totals sums the lines per currency, in the order the currencies first appear:
// never across currencies.
func totals(lines []AccountLine) ([]total, error) {
	var out []total
	for i, l := range lines {
		j := slices.IndexFunc(out, func(t total) bool { return t.Currency == l.Currency })
		if j < 0 {
			out = append(out, total{Currency: l.Currency})
			j = len(out) - 1
		}
		if out[j].Minor > math.MaxInt64-l.AmountDue {
			return nil, &FieldError{Field: fmt.Sprintf("lines[%d].amount_due_minor", i), Problem: "the total in " + l.Currency + " overflows"}
		}
		out[j].Minor += l.AmountDue
		out[j].Count++
	}
	return out, nil
}

// accountRow is one line as the templates show it.
type accountRow struct {
	AccountLine
	Amount, FeesAmount, InterestAmount string // formatted; the last two empty when zero
	Due, DueShort                      string
}

// termsGroup is one set of terms and the invoices it applies to.
type termsGroup struct {
	Invoices []string
	Text     termsText
}

// accountView is what the account templates render.
type accountView struct {
	AccountMessage
	// Lang is the language of the texts ("en" for a locale without its own);
	// Subject is the rendered subject (the HTML document's title).
	Lang    string
	Subject string
	Tone    string
	Count   int
	Rows    []accountRow
	Totals  []total
	// Strongest lists the invoices at the message's tone (for "final notice: ...").
	Strongest []string
	// Terms lists each distinct set of terms; AllSameTerms when one set covers every
	// invoice (the message then states it once, without invoice numbers).
	Terms        []termsGroup
	AllSameTerms bool
	// Link is the one link an SMS carries: the portal, else the only line's (or the
	// first line with one).
	Link string
}

func viewOf(m AccountMessage) (accountView, error) {
	if err := m.Validate(); err != nil {
		return accountView{}, err
	}
	m.CustomerName = strings.Join(strings.FieldsFunc(m.CustomerName, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	v := accountView{AccountMessage: m, Count: len(m.Lines), Tone: "due_soon", Link: m.PortalURL, Lang: accountLang(m.Locale)}
	for _, l := range m.Lines {
		if toneRank[l.Template] > toneRank[v.Tone] {
			v.Tone = l.Template
		}
	}
	known := 0
	for _, l := range m.Lines {
		r := accountRow{AccountLine: l, Amount: FormatAmount(l.AmountDue, l.Currency, m.Locale),
			Due: FormatDate(l.DueDate, m.Locale), DueShort: FormatShortDate(l.DueDate, m.Locale)}
		if l.Fees <= l.AmountDue && l.Interest <= l.AmountDue-l.Fees {
			if l.Fees > 0 {
				r.FeesAmount = FormatAmount(l.Fees, l.Currency, m.Locale)
			}
			if l.Interest > 0 {
				r.InterestAmount = FormatAmount(l.Interest, l.Currency, m.Locale)
			}
		}
		v.Rows = append(v.Rows, r)
		if l.Template == v.Tone {
			v.Strongest = append(v.Strongest, l.InvoiceID)
		}
		if v.Link == "" {
			v.Link = l.PaymentURL
		}
		if !l.Terms.Known() {
			continue
		}
		known++
		t := l.Terms.textOf(l.Currency, m.Locale)
		if i := slices.IndexFunc(v.Terms, func(g termsGroup) bool { return reflect.DeepEqual(g.Text, t) }); i >= 0 {
			v.Terms[i].Invoices = append(v.Terms[i].Invoices, l.InvoiceID)
		} else {
			v.Terms = append(v.Terms, termsGroup{Invoices: []string{l.InvoiceID}, Text: t})
		}
	}
	v.AllSameTerms = len(v.Terms) == 1 && known == len(m.Lines)
	ts, err := totals(m.Lines)
	if err != nil {
		return accountView{}, err
	}
	for i := range ts {
		ts[i].Amount = FormatAmount(ts[i].Minor, ts[i].Currency, m.Locale)
	}
	v.Totals = ts
	return v, nil
}

// accountLang is the language whose texts an account message in locale uses.
func accountLang(locale string) string {
	lang, _ := splitLocale(locale)
	if s, ok := sets[lang]; ok && s.text.Lookup("account.sms") != nil {
		return lang
	}
	return DefaultLanguage
}

// accountSet returns the texts of locale's language when it has the account
// templates, else English's.
func accountSet(locale string) set { return sets[accountLang(locale)] }

// RenderAccountEmail renders one email about every invoice of m: a subject in the
// tone of the strongest line's template, a text body and an HTML body with a table of
// the invoices and one total per currency. It states who sends it, the terms of each
// invoice, how to dispute, the portal link (when m.PortalURL is set) and the opt-out.
// An invalid m is an error made of *FieldError.
func RenderAccountEmail(m AccountMessage) (Email, error) {
	v, err := viewOf(m)
	if err != nil {
		return Email{}, err
	}
	s := accountSet(m.Locale)
	var subj, text, html bytes.Buffer
	if err := s.text.ExecuteTemplate(&subj, "account.subject", v); err != nil {
		return Email{}, fmt.Errorf("rendering account subject: %w", err)
	}
	v.Subject = oneLine(subj.String())
	if err := s.text.ExecuteTemplate(&text, "account.text", v); err != nil {
		return Email{}, fmt.Errorf("rendering account text: %w", err)
	}
	if err := s.html.ExecuteTemplate(&html, "account.html", v); err != nil {
		return Email{}, fmt.Errorf("rendering account html: %w", err)
	}
	return Email{Subject: oneLine(subj.String()), Text: tidy(text.String()), HTML: tidy(html.String())}, nil
}

// smsVariants are the account SMS texts from the fullest to the shortest; the
// renderer sends the first that fits in two segments.
var smsVariants = []string{"account.sms.full", "account.sms.link", "account.sms.short", "account.sms.min"}

// maxSMSSegments is how long an account SMS may be.
const maxSMSSegments = 2

// maxSMSName is where a long business name is cut first when nothing else makes the
// SMS fit (then at half of it, then it is left out).
const maxSMSName = 24

// RenderAccountSMS renders one SMS about every invoice of m: who sends it, how many
// invoices and the total per currency, a link (the portal, else one invoice's) and
// the opt-out, within two segments (see MeasureSMS). Longer texts are shortened:
// first the invoice list goes, then the phone number, then the totals (only the number
// of currencies stays), then the business name is cut and at last left out; only a
// link too long for two segments is dropped. The opt-out always stays.
func RenderAccountSMS(m AccountMessage) (string, error) {
	v, err := viewOf(m)
	if err != nil {
		return "", err
	}
	s := accountSet(m.Locale)
	full := v.Business.Name
	for _, keep := range []int{-1, maxSMSName, maxSMSName / 2, 0} {
		if keep >= 0 {
			if utf8.RuneCountInString(full) <= keep {
				continue
			}
			v.Business.Name = ""
			if keep > 0 {
				v.Business.Name = strings.TrimSpace(string([]rune(full)[:keep-1])) + "…"
			}
		}
		for _, name := range smsVariants {
			text, err := execSMS(s, name, v)
			if err != nil {
				return "", err
			}
			if MeasureSMS(text).Segments <= maxSMSSegments {
				return text, nil
			}
		}
	}
	// Only a link too long for any SMS gets here: send the shortest text without it.
	v.Link = ""
	return execSMS(s, "account.sms.min", v)
}

func execSMS(s set, name string, v accountView) (string, error) {
	var b bytes.Buffer
	if err := s.text.ExecuteTemplate(&b, name, v); err != nil {
		return "", fmt.Errorf("rendering %s: %w", name, err)
	}
	return oneLine(b.String()), nil
}

var blankLines = regexp.MustCompile(`\n{3,}`)

// tidy trims each line's trailing spaces and keeps at most one blank line in a row.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.TrimSpace(blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}
