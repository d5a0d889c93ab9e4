package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dunwell/dunwell/internal/config"
	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/templates"
)

const templateUsage = `usage: starter template preview -name overdue [-channel email|sms] [-locale de-DE]
       [-currency EUR] [-amount 1250.00] [-due 2026-12-01] [-days-overdue 7]
       [-customer "Ada Lovelace"] [-invoice INV-1001] [-payment-url https://pay.example.com/INV-1001]
       [-policy standard|file.yaml] [-json]
       starter template account [-invoices 3] [-template overdue] [-channel email|sms] [-locale de-DE]
       [-currencies USD,EUR] [-amount 1250.00] [-fees 25.00] [-customer "Ada Lovelace"]
       [-portal-url https://...] [-policy standard|file.yaml] [-json]

preview renders one reminder about one invoice; account renders the one message a customer
gets about several invoices (one line per invoice, totals per currency). Both state the
policy's terms (-policy, a shipped policy or a file; "" for none) and the business from
DUNWELL_BUSINESS_NAME, DUNWELL_BUSINESS_ADDRESS, DUNWELL_REPLY_TO and DUNWELL_BUSINESS_PHONE.

templates: ` + "%s" + `; languages with their own texts: %s (others use English).
An SMS longer than one segment (160 GSM-7 / 70 UCS-2 characters) is flagged.`

// templateCmd serves `starter template preview` and `starter template account`: it
// renders one template for one channel and locale, offline (no API, no database), so a
// finance lead can read a reminder before a policy uses it.
func templateCmd(args []string, out io.Writer) error {
	help := usageError{fmt.Sprintf(templateUsage, strings.Join(templates.Names(), ", "), strings.Join(templates.Languages(), ", "))}
	if len(args) > 0 && args[0] == "account" {
		return accountPreview(args[1:], out, help)
	}
	if len(args) == 0 || args[0] != "preview" {
		return help
	}
	fs := flag.NewFlagSet("template preview", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "template name")
	channel := fs.String("channel", "email", "email or sms")
	d := templates.Data{}
	fs.StringVar(&d.Locale, "locale", "en-US", "customer locale (BCP 47)")
	fs.StringVar(&d.Currency, "currency", "USD", "ISO 4217 currency")
	amount := fs.String("amount", "1250.00", "amount due in major units")
	fs.StringVar(&d.DueDate, "due", time.Now().UTC().Format(time.DateOnly), "due date YYYY-MM-DD")
	fs.IntVar(&d.DaysOverdue, "days-overdue", 7, "days past the due date")
	fs.StringVar(&d.CustomerName, "customer", "Ada Lovelace", "customer name")
	fs.StringVar(&d.InvoiceID, "invoice", "INV-1001", "invoice id")
	fs.StringVar(&d.PaymentURL, "payment-url", "https://pay.example.com/INV-1001", "payment link (empty: none)")
	policyArg := fs.String("policy", "standard", "policy whose terms the message states (shipped id or file; empty: none)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return help
	}
	var problems []string
	d.Business, d.Terms, problems = previewVoice(*policyArg)
	if !templates.Known(*name) {
		problems = append(problems, fmt.Sprintf("-name %q is not a template (%s)", *name, strings.Join(templates.Names(), ", ")))
	}
	if ch := policy.Channel(*channel); !ch.Electronic() {
		problems = append(problems, fmt.Sprintf("-channel %q must be email or sms", *channel))
	}
	if !money.ValidCurrency(d.Currency) {
		problems = append(problems, fmt.Sprintf("-currency %q is not an ISO 4217 code", d.Currency))
	} else if minor, err := money.Parse(*amount, d.Currency); err != nil {
		problems = append(problems, fmt.Sprintf("-amount %q: %v", *amount, err))
	} else {
		d.Balance = minor
	}
	if _, err := time.Parse(time.DateOnly, d.DueDate); err != nil {
		problems = append(problems, fmt.Sprintf("-due %q must be YYYY-MM-DD", d.DueDate))
	}
	if d.DaysOverdue < 0 {
		problems = append(problems, "-days-overdue must not be negative")
	}
	if len(problems) > 0 {
		return usageError{strings.Join(problems, "\n")}
	}

	if policy.Channel(*channel) == policy.SMS {
		text, err := templates.RenderSMS(*name, d)
		if err != nil {
			return err
		}
		info := templates.MeasureSMS(text)
		if *asJSON {
			return writeJSONTo(out, map[string]any{"channel": "sms", "text": text, "sms": info, "flagged": info.MultiSegment()})
		}
		fmt.Fprintf(out, "%s\n\n%s, %d units, %d segment(s)\n", text, info.Encoding, info.Units, info.Segments)
		if info.MultiSegment() {
			fmt.Fprintf(out, "WARNING: longer than one SMS segment (%d segments): it costs %d times as much and may arrive split.\n", info.Segments, info.Segments)
		}
		return nil
	}
	e, err := templates.RenderEmail(*name, d)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONTo(out, map[string]any{"channel": "email", "subject": e.Subject, "text": e.Text, "html": e.HTML})
	}
	fmt.Fprintf(out, "Subject: %s\n\n%s\n\n--- HTML ---\n%s\n", e.Subject, e.Text, e.HTML)
	noteMissingBusiness(out, d.Business)
	return nil
}

// previewVoice returns the business (from the environment, as the worker reads it)
// and the terms of the policy a preview states, or the problems with either.
func previewVoice(policyArg string) (templates.Business, templates.Terms, []string) {
	var problems []string
	b, errs := config.ParseBusiness(func(name string) string { return strings.TrimSpace(os.Getenv(name)) })
	for _, err := range errs {
		problems = append(problems, err.Error())
	}
	var terms templates.Terms
	if policyArg != "" {
		p, err := loadPolicyArg(policyArg)
		if err != nil {
			problems = append(problems, fmt.Sprintf("-policy: %v", err))
		} else {
			terms = templates.TermsOf(p)
		}
	}
	return b, terms, problems
}

func noteMissingBusiness(out io.Writer, b templates.Business) {
	if missing := config.MissingBusiness(b); len(missing) > 0 {
		fmt.Fprintf(out, "\nNOTE: %s unset: the message cannot say who sends it or where a reply reaches a person.\n", strings.Join(missing, ", "))
	}
}

// accountPreview serves `starter template account`: the one message a customer gets
// about several invoices, with made-up invoices INV-1001... due a week apart.
func accountPreview(args []string, out io.Writer, help error) error {
	fs := flag.NewFlagSet("template account", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := fs.Int("invoices", 3, "how many invoices the message lists")
	tmpl := fs.String("template", "overdue", "the template of every line's step")
	channel := fs.String("channel", "email", "email or sms")
	currencies := fs.String("currencies", "USD", "comma-separated ISO 4217 currencies, used in turn")
	amount := fs.String("amount", "1250.00", "principal of the first invoice in major units (each next one is 10% more)")
	fees := fs.String("fees", "0", "late fees on each invoice, in major units")
	policyArg := fs.String("policy", "standard", "policy whose terms the message states (shipped id or file; empty: none)")
	m := templates.AccountMessage{}
	fs.StringVar(&m.Locale, "locale", "en-US", "customer locale (BCP 47)")
	fs.StringVar(&m.CustomerName, "customer", "Ada Lovelace", "customer name")
	fs.StringVar(&m.PortalURL, "portal-url", "", "the customer's portal link (empty: none)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return help
	}
	var problems []string
	var terms templates.Terms
	m.Business, terms, problems = previewVoice(*policyArg)
	if *n < 1 || *n > templates.MaxAccountLines {
		problems = append(problems, fmt.Sprintf("-invoices must be between 1 and %d", templates.MaxAccountLines))
	}
	if !templates.Known(*tmpl) {
		problems = append(problems, fmt.Sprintf("-template %q is not a template (%s)", *tmpl, strings.Join(templates.Names(), ", ")))
	}
	if ch := policy.Channel(*channel); !ch.Electronic() {
		problems = append(problems, fmt.Sprintf("-channel %q must be email or sms", *channel))
	}
	curs := strings.Split(*currencies, ",")
	principal, fee := map[string]int64{}, map[string]int64{}
	for _, c := range curs {
		if !money.ValidCurrency(c) {
			problems = append(problems, fmt.Sprintf("-currencies: %q is not an ISO 4217 code", c))
			continue
		}
		var err error
		if principal[c], err = money.Parse(*amount, c); err != nil || principal[c] <= 0 {
			problems = append(problems, fmt.Sprintf("-amount %q in %s: must be a positive amount (%v)", *amount, c, err))
		}
		if fee[c], err = money.Parse(*fees, c); err != nil || fee[c] < 0 {
			problems = append(problems, fmt.Sprintf("-fees %q in %s: must be an amount of at least 0 (%v)", *fees, c, err))
		}
	}
	if len(problems) > 0 {
		return usageError{strings.Join(problems, "\n")}
	}
	today := time.Now().UTC()
	for i := range *n {
		c := curs[i%len(curs)]
		days := 7 * (*n - i)
		p := principal[c] + principal[c]/10*int64(i)
		m.Lines = append(m.Lines, templates.AccountLine{
			InvoiceID: fmt.Sprintf("INV-%d", 1001+i), Currency: c, AmountDue: p + fee[c], Fees: fee[c],
			DueDate: today.AddDate(0, 0, -days).Format(time.DateOnly), DaysOverdue: days,
			PaymentURL: fmt.Sprintf("https://pay.example.com/INV-%d", 1001+i), Template: *tmpl, Terms: terms,
		})
	}
	if policy.Channel(*channel) == policy.SMS {
		text, err := templates.RenderAccountSMS(m)
		if err != nil {
			return usageError{err.Error()}
		}
		info := templates.MeasureSMS(text)
		if *asJSON {
			return writeJSONTo(out, map[string]any{"channel": "sms", "text": text, "sms": info})
		}
		fmt.Fprintf(out, "%s\n\n%s, %d units, %d segment(s)\n", text, info.Encoding, info.Units, info.Segments)
		noteMissingBusiness(out, m.Business)
		return nil
	}
	e, err := templates.RenderAccountEmail(m)
	if err != nil {
		return usageError{err.Error()}
	}
	if *asJSON {
		return writeJSONTo(out, map[string]any{"channel": "email", "subject": e.Subject, "text": e.Text, "html": e.HTML})
	}
	fmt.Fprintf(out, "Subject: %s\n\n%s\n\n--- HTML ---\n%s\n", e.Subject, e.Text, e.HTML)
	noteMissingBusiness(out, m.Business)
	return nil
}

func writeJSONTo(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
