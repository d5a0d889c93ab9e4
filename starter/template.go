package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/templates"
)

const templateUsage = `usage: starter template preview -name overdue [-channel email|sms] [-locale de-DE]
       [-currency EUR] [-amount 1250.00] [-due 2026-12-01] [-days-overdue 7]
       [-customer "Ada Lovelace"] [-invoice INV-1001] [-payment-url https://pay.example.com/INV-1001] [-json]

templates: ` + "%s" + `; languages with their own texts: %s (others use English).
An SMS longer than one segment (160 GSM-7 / 70 UCS-2 characters) is flagged.`

// templateCmd serves `starter template preview`: it renders one template for one
// channel and locale, offline (no API, no database), so a finance lead can read a
// reminder before a policy uses it.
func templateCmd(args []string, out io.Writer) error {
	help := usageError{fmt.Sprintf(templateUsage, strings.Join(templates.Names(), ", "), strings.Join(templates.Languages(), ", "))}
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
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return help
	}
	var problems []string
	if !templates.Known(*name) {
		problems = append(problems, fmt.Sprintf("-name %q is not a template (%s)", *name, strings.Join(templates.Names(), ", ")))
	}
	if ch := policy.Channel(*channel); !ch.Valid() {
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
	return nil
}

func writeJSONTo(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
