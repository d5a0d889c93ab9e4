// Package templates renders reminder messages: an email (subject, text, HTML) or an
// SMS text per policy template name. Rendering happens inside the send activity, never
// in the workflow, so editing a message never affects workflow determinism.
//
// Every message carries the amount due, the due date, the payment link when there is
// one, and an opt-out line.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/dunwell/dunwell/money"
)

//go:embed messages/*.tmpl
var files embed.FS

// Data is what a message may say.
type Data struct {
	CustomerName string
	InvoiceID    string
	Currency     string
	Balance      int64 // minor units
	DueDate      string
	DaysOverdue  int
	PaymentURL   string
}

// Amount formats the balance for people ("1,250.00 USD").
func (d Data) Amount() string {
	plain := money.Format(d.Balance, d.Currency)
	whole, frac, hasFrac := strings.Cut(plain, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return b.String() + " " + d.Currency
}

// Email is a rendered email.
type Email struct{ Subject, Text, HTML string }

var (
	textSet = texttemplate.Must(texttemplate.New("").Option("missingkey=error").ParseFS(files, "messages/*.tmpl"))
	htmlSet = htmltemplate.Must(htmltemplate.New("").Option("missingkey=error").ParseFS(files, "messages/*.tmpl"))
)

// Names lists the templates a policy step may name.
func Names() []string { return []string{"due_soon", "overdue", "overdue_firm", "final_notice"} }

// Known reports whether a template name exists.
func Known(name string) bool {
	return textSet.Lookup(name+".subject") != nil && textSet.Lookup(name+".sms") != nil
}

// RenderEmail renders template name as an email.
func RenderEmail(name string, d Data) (Email, error) {
	if !Known(name) {
		return Email{}, fmt.Errorf("unknown template %q", name)
	}
	var subj, text, html bytes.Buffer
	if err := textSet.ExecuteTemplate(&subj, name+".subject", d); err != nil {
		return Email{}, fmt.Errorf("rendering %s subject: %w", name, err)
	}
	if err := textSet.ExecuteTemplate(&text, name+".text", d); err != nil {
		return Email{}, fmt.Errorf("rendering %s text: %w", name, err)
	}
	if err := htmlSet.ExecuteTemplate(&html, name+".html", d); err != nil {
		return Email{}, fmt.Errorf("rendering %s html: %w", name, err)
	}
	return Email{Subject: strings.TrimSpace(subj.String()), Text: strings.TrimSpace(text.String()), HTML: strings.TrimSpace(html.String())}, nil
}

// RenderSMS renders template name as an SMS text.
func RenderSMS(name string, d Data) (string, error) {
	if !Known(name) {
		return "", fmt.Errorf("unknown template %q", name)
	}
	var b bytes.Buffer
	if err := textSet.ExecuteTemplate(&b, name+".sms", d); err != nil {
		return "", fmt.Errorf("rendering %s sms: %w", name, err)
	}
	return strings.Join(strings.Fields(b.String()), " "), nil
}

// DaysOverdue counts whole days since the due date ended (0 until then). dueDate is
// "YYYY-MM-DD"; days are counted in UTC, which is close enough for a message.
func DaysOverdue(dueDate string, now time.Time) int {
	due, err := time.Parse(time.DateOnly, dueDate)
	if err != nil || !now.After(due) {
		return 0
	}
	return int(now.Sub(due) / (24 * time.Hour))
}
