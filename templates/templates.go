// Package templates renders reminder messages: an email (subject, text, HTML) or an
// SMS text, per template name (a policy step names one) and locale. Rendering happens
// inside the send activity, never in the workflow, so editing a message never affects
// workflow determinism.
//
// Every message carries the amount due (formatted for the locale and currency), the
// due date, the days overdue, the payment link when there is one, who sends it
// (Business), and an opt-out line; an email also states the terms (the policy's late
// fee and interest in words), how to dispute, and the sender's address. Account
// messages (account.go) do the same for several invoices of one customer at once. Texts live in messages/<language>/*.tmpl: each template NAME defines
// NAME.subject, NAME.body (the paragraph the email says) and NAME.sms; the email's
// text and HTML layouts around the body are in each language's common.tmpl, the lines
// every message shares (terms, dispute, sign-off) in voice.tmpl, and the account
// messages in account.tmpl. A locale
// whose language has no texts uses English.
//
// A rendered text must be the same on every retry of a send (reconciliation with
// Twilio matches on the text), so rendering depends on the request only, never on the
// clock.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode/utf8"

	"github.com/dunwell/dunwell/bank/rf"
)

//go:embed messages/*/*.tmpl
var files embed.FS

// DefaultLanguage is the language of locales without texts of their own.
const DefaultLanguage = "en"

// Data is what a message may say.
type Data struct {
	CustomerName string
	InvoiceID    string
	Currency     string
	Balance      int64  // minor units
	DueDate      string // YYYY-MM-DD
	DaysOverdue  int
	PaymentURL   string
	// PortalURL is the customer's portal page (docs/portal.md); empty: none. The email
	// links it beside the payment page; the SMS carries it instead of the payment
	// page, unless that makes the SMS longer than two segments.
	PortalURL string
	// Locale is the customer's BCP 47 locale ("en-US", "de-DE", "ja-JP"); empty
	// means English with ISO dates and "1,250.00 USD".
	Locale string
	// Business is who sends the message; Terms are the invoice's policy's charges
	// (Terms{}: not stated).
	Business Business
	Terms    Terms
}

// TermsText is the invoice's terms as the "terms" text states them; nil when they
// are not known.
func (d Data) TermsText() *termsText {
	if !d.Terms.Known() {
		return nil
	}
	t := d.Terms.textOf(d.Currency, d.Locale)
	return &t
}

// RFReference is the invoice's ISO 11649 creditor reference in groups of four
// ("RF47 1234 ..."), for a message to ask that a bank transfer quote it: Dunwell then
// matches the transfer to the invoice by itself (docs/bank.md).
func (d Data) RFReference() string { return rf.Format(rf.ForInvoice(d.InvoiceID)) }

// Amount formats the balance for the locale ("$1,250.00", "1.250,00 €", "1,250.00 USD").
func (d Data) Amount() string { return FormatAmount(d.Balance, d.Currency, d.Locale) }

// Due is the due date for the locale ("December 1, 2026", "1. Dezember 2026").
func (d Data) Due() string { return FormatDate(d.DueDate, d.Locale) }

// DueShort is the due date in the locale's short form, for SMS ("12/1/2026").
func (d Data) DueShort() string { return FormatShortDate(d.DueDate, d.Locale) }

// Email is a rendered email.
type Email struct{ Subject, Text, HTML string }

// set is one language's texts, parsed for plain text and for HTML.
type set struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

var sets = mustLoad()

// funcs are the helpers the texts may call.
var funcs = map[string]any{
	// join lists invoice numbers: join ", " .Invoices.
	"join": func(sep string, items []string) string { return strings.Join(items, sep) },
}

func mustLoad() map[string]set {
	langs, err := fs.ReadDir(files, "messages")
	if err != nil {
		panic(err)
	}
	out := map[string]set{}
	for _, l := range langs {
		pattern := path.Join("messages", l.Name(), "*.tmpl")
		out[l.Name()] = set{
			text: texttemplate.Must(texttemplate.New("").Option("missingkey=error").Funcs(funcs).ParseFS(files, pattern)),
			html: htmltemplate.Must(htmltemplate.New("").Option("missingkey=error").Funcs(funcs).ParseFS(files, pattern)),
		}
	}
	if _, ok := out[DefaultLanguage]; !ok {
		panic("templates: no " + DefaultLanguage + " texts")
	}
	return out
}

// Names lists the templates a policy step may name.
func Names() []string { return []string{"due_soon", "overdue", "overdue_firm", "final_notice"} }

// Languages lists the languages with texts of their own, sorted.
func Languages() []string {
	var out []string
	for l := range sets {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// Known reports whether a template name exists (in English, which every name must
// have; other languages fall back to it name by name).
func Known(name string) bool {
	return hasTemplate(sets[DefaultLanguage], name)
}

func hasTemplate(s set, name string) bool {
	for _, part := range []string{".subject", ".body", ".sms"} {
		if s.text.Lookup(name+part) == nil {
			return false
		}
	}
	return true
}

// setFor returns the texts for a locale's language that have the template, else
// English's.
func setFor(name, locale string) set {
	lang, _ := splitLocale(locale)
	if s, ok := sets[lang]; ok && hasTemplate(s, name) {
		return s
	}
	return sets[DefaultLanguage]
}

// RenderEmail renders template name as an email in d.Locale's language.
func RenderEmail(name string, d Data) (Email, error) {
	if !Known(name) {
		return Email{}, fmt.Errorf("unknown template %q", name)
	}
	s := setFor(name, d.Locale)
	var subj, body, htmlBody, text, html bytes.Buffer
	if err := s.text.ExecuteTemplate(&subj, name+".subject", d); err != nil {
		return Email{}, fmt.Errorf("rendering %s subject: %w", name, err)
	}
	if err := s.text.ExecuteTemplate(&body, name+".body", d); err != nil {
		return Email{}, fmt.Errorf("rendering %s body: %w", name, err)
	}
	if err := s.html.ExecuteTemplate(&htmlBody, name+".body", d); err != nil {
		return Email{}, fmt.Errorf("rendering %s html body: %w", name, err)
	}
	lang, _ := splitLocale(d.Locale)
	if _, ok := sets[lang]; !ok || !hasTemplate(sets[lang], name) {
		lang = DefaultLanguage
	}
	layout := struct {
		Data
		Body string
		// HTMLBody was escaped by html/template when it was rendered.
		HTMLBody htmltemplate.HTML //nolint:gosec // output of html/template
		// Lang is the language of the texts, Subject the rendered subject (the HTML
		// document's title).
		Lang, Subject string
	}{d, strings.TrimSpace(body.String()), htmltemplate.HTML(strings.TrimSpace(htmlBody.String())), lang, oneLine(subj.String())}
	if err := s.text.ExecuteTemplate(&text, "email.text", layout); err != nil {
		return Email{}, fmt.Errorf("rendering %s text: %w", name, err)
	}
	if err := s.html.ExecuteTemplate(&html, "email.html", layout); err != nil {
		return Email{}, fmt.Errorf("rendering %s html: %w", name, err)
	}
	return Email{Subject: oneLine(subj.String()), Text: tidy(text.String()), HTML: tidy(html.String())}, nil
}

// RenderSMS renders template name as an SMS text in d.Locale's language, on one line.
// MeasureSMS tells whether it fits one segment.
func RenderSMS(name string, d Data) (string, error) {
	if !Known(name) {
		return "", fmt.Errorf("unknown template %q", name)
	}
	exec := func(d Data) (string, error) {
		var b bytes.Buffer
		if err := setFor(name, d.Locale).text.ExecuteTemplate(&b, name+".sms", d); err != nil {
			return "", fmt.Errorf("rendering %s sms: %w", name, err)
		}
		return oneLine(b.String()), nil
	}
	if d.PortalURL == "" {
		return exec(d)
	}
	// With the portal's link, within two segments as an account SMS: the business
	// name is cut, then left out; a link that fits none gives way to the payment
	// page's.
	full := d.Business.Name
	for _, keep := range []int{-1, maxSMSName, maxSMSName / 2, 0} {
		if keep >= 0 {
			if utf8.RuneCountInString(full) <= keep {
				continue
			}
			d.Business.Name = ""
			if keep > 0 {
				d.Business.Name = strings.TrimSpace(string([]rune(full)[:keep-1])) + "…"
			}
		}
		text, err := exec(d)
		if err != nil || MeasureSMS(text).Segments <= maxSMSSegments {
			return text, err
		}
	}
	d.PortalURL, d.Business.Name = "", full
	return exec(d)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// DaysOverdue counts whole days since the due date ended (0 until then). dueDate is
// "YYYY-MM-DD"; days are counted in UTC, which is close enough for a message.
func DaysOverdue(dueDate string, now time.Time) int {
	due, err := time.Parse(time.DateOnly, dueDate)
	if err != nil || !now.After(due) {
		return 0
	}
	return int(now.Sub(due) / (24 * time.Hour))
}
