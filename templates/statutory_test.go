package templates_test

import (
	"strings"
	"testing"

	"github.com/dunwell/dunwell/policies"
	"github.com/dunwell/dunwell/templates"
)

// The statutory policies' terms in words: the reference-rate interest and the
// (tiered) compensation, in the invoice's currency.
func TestStatutoryTermsInWords(t *testing.T) {
	set, err := policies.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	eu, _ := set.Get("eu-b2b")
	uk, _ := set.Get("uk-b2b")
	m := templates.AccountMessage{
		Business: templates.Business{Name: "Acme Supplies", ReplyTo: "ar@acme.example"}, CustomerName: "Ada", Locale: "en-GB",
		Lines: []templates.AccountLine{
			{InvoiceID: "INV-EU", Currency: "EUR", AmountDue: 1_017_062, Fees: 4000, Interest: 13062, DueDate: "2025-06-10", DaysOverdue: 45,
				PaymentURL: "https://pay.example.com/i/INV-EU", Template: "overdue_firm", Terms: templates.TermsOf(eu)},
			{InvoiceID: "INV-UK", Currency: "GBP", AmountDue: 1_022_718, Fees: 7000, Interest: 15719, DueDate: "2025-06-10", DaysOverdue: 45,
				PaymentURL: "https://pay.example.com/i/INV-UK", Template: "overdue_firm", Terms: templates.TermsOf(uk)},
		},
	}
	e, err := templates.RenderAccountEmail(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Invoice INV-EU: Interest at the European Central Bank's main refinancing rate plus 8% a year is charged on the unpaid amount for each day late once the invoice is overdue, " +
			"with the reference rate fixed each half-year (the rate in force on 1 January or 1 July). " +
			"A fixed compensation for recovery costs of 40.00 EUR is charged a single time, once the invoice is overdue.",
		"Invoice INV-UK: Interest at the Bank of England base rate plus 8% a year is charged on the unpaid amount for each day late once the invoice is overdue, " +
			"at the reference rate in force on the 31 December or 30 June before it became late. " +
			"A fixed compensation for recovery costs of £40.00 for a debt under £1,000.00, £70.00 for a debt under £10,000.00 or £100.00 for a larger debt is charged a single time, once the invoice is overdue.",
	} {
		if !strings.Contains(e.Text, want) {
			t.Errorf("terms lack %q:\n%s", want, e.Text)
		}
	}
	if s := templates.TermsOf(uk).String(); s != "uk-b2b: interest boe_base + 8% a year, compensation in GBP" {
		t.Errorf("String() = %q", s)
	}
	if templates.TermsOf(eu).Interest.Rates != nil {
		t.Error("the terms carry the rates history")
	}
}
