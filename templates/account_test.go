package templates

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/dunwell/dunwell/policy"
)

var accountLocales = []string{"en-US", "de-DE", "ja-JP"}

func standardTerms() Terms {
	cap10 := &policy.Cap{Percent: 1000}
	return TermsOf(&policy.Policy{ID: "standard", GracePeriod: policy.Offset{Days: 5, InDays: true},
		LateFee:  &policy.LateFee{Percent: 150, Every: policy.Offset{Days: 30, InDays: true}, Cap: cap10},
		Interest: &policy.Interest{Rate: 800, Cap: &policy.Cap{Percent: 2000}}})
}

func fixedFeeTerms() Terms {
	return TermsOf(&policy.Policy{ID: "fixed", LateFee: &policy.LateFee{Amount: policy.Amounts{"USD": "25.00", "EUR": "20.00"}}})
}

func noChargeTerms() Terms { return TermsOf(&policy.Policy{ID: "gentle"}) }

// account builds a message of n invoices cycling through USD, EUR and JPY.
func account(locale string, n int) AccountMessage {
	m := AccountMessage{
		Business:     Business{Name: "Acme Supplies", Address: "1 Main St, Springfield", ReplyTo: "ar@acme.example", Phone: "+1 555 0100"},
		CustomerName: "Ada <script>alert(1)</script> & Co", Locale: locale,
	}
	currencies := []string{"USD", "EUR", "JPY"}
	tmpl := []string{"due_soon", "overdue", "overdue_firm", "final_notice"}
	for i := range n {
		cur := currencies[i%len(currencies)]
		m.Lines = append(m.Lines, AccountLine{
			InvoiceID: fmt.Sprintf("INV-%04d", i+1), Currency: cur, AmountDue: int64(100000 + 2500*i), Fees: 2500, Interest: int64(i * 10),
			DueDate: "2026-11-01", DaysOverdue: 30 - i, PaymentURL: fmt.Sprintf("https://pay.example.com/i/INV-%04d", i+1),
			Template: tmpl[i%len(tmpl)], Terms: standardTerms(),
		})
	}
	return m
}

func TestAccountEmailListsEveryInvoiceWithTotalsPerCurrency(t *testing.T) {
	for _, locale := range accountLocales {
		for _, n := range []int{1, 3, 10} {
			t.Run(fmt.Sprintf("%s/%d", locale, n), func(t *testing.T) {
				m := account(locale, n)
				e, err := RenderAccountEmail(m)
				if err != nil {
					t.Fatal(err)
				}
				for _, part := range []string{e.Subject, e.Text, e.HTML} {
					if part == "" || strings.Contains(part, "<no value>") {
						t.Fatalf("bad part in %+v", e)
					}
				}
				if strings.Contains(e.Subject, "\n") {
					t.Errorf("subject on several lines: %q", e.Subject)
				}
				for _, l := range m.Lines {
					amount := FormatAmount(l.AmountDue, l.Currency, locale)
					for _, want := range []string{l.InvoiceID, amount, l.PaymentURL, FormatDate(l.DueDate, locale)} {
						if !strings.Contains(e.Text, want) || !strings.Contains(e.HTML, htmlEscape(want)) {
							t.Errorf("email lacks %q of %s", want, l.InvoiceID)
						}
					}
				}
				ts, err := totals(m.Lines)
				if err != nil {
					t.Fatal(err)
				}
				if rows := strings.Count(e.HTML, `<th scope="row" colspan="3"`); rows != len(ts) {
					t.Errorf("html has %d total rows, want one per currency (%d):\n%s", rows, len(ts), e.HTML)
				}
				for _, tot := range ts {
					amount := FormatAmount(tot.Minor, tot.Currency, locale)
					if !strings.Contains(e.Text, amount) || !strings.Contains(e.HTML, htmlEscape(amount)) {
						t.Errorf("no total %s in %s", amount, tot.Currency)
					}
				}
				for _, want := range []string{"Acme Supplies", "1 Main St, Springfield", "ar@acme.example", "+1 555 0100"} {
					if !strings.Contains(e.Text, want) {
						t.Errorf("text does not name the business (%q):\n%s", want, e.Text)
					}
				}
				lang, _ := splitLocale(locale)
				if !strings.HasPrefix(e.HTML, "<!DOCTYPE html>\n<html lang=\""+lang+"\">") || !strings.HasSuffix(e.HTML, "</html>") {
					t.Errorf("html is not a document in its language:\n%s", e.HTML)
				}
				if !strings.Contains(e.HTML, `<table`) || !strings.Contains(e.HTML, `<caption`) || !strings.Contains(e.HTML, `scope="col"`) {
					t.Errorf("html has no accessible table:\n%s", e.HTML)
				}
				if strings.Contains(e.HTML, "<script>") || !strings.Contains(e.HTML, "&lt;script&gt;") {
					t.Errorf("html does not escape the customer's name:\n%s", e.HTML)
				}
			})
		}
	}
}

func TestAccountTotalsNeverMixCurrencies(t *testing.T) {
	m := account("en-US", 2)
	m.Lines[0].Currency, m.Lines[0].AmountDue = "USD", 100000
	m.Lines[1].Currency, m.Lines[1].AmountDue = "USD", 50000
	m.Lines = append(m.Lines, AccountLine{InvoiceID: "INV-E", Currency: "EUR", AmountDue: 70000, DueDate: "2026-11-01", Template: "overdue"})
	e, err := RenderAccountEmail(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Total due in USD: $1,500.00", "Total due in EUR: 700.00 EUR"} {
		if !strings.Contains(e.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, e.Text)
		}
	}
	if strings.Contains(e.Text, "2,200.00") {
		t.Errorf("currencies summed:\n%s", e.Text)
	}
}

func TestAccountToneIsTheStrongestLine(t *testing.T) {
	want := map[string]string{"due_soon": "Reminder from Acme Supplies", "overdue": "Payment reminder from Acme Supplies",
		"overdue_firm": "Action needed", "final_notice": "Final notice from Acme Supplies"}
	for _, strongest := range Names() {
		m := account("en-US", 3)
		for i := range m.Lines {
			m.Lines[i].Template = "due_soon"
		}
		m.Lines[1].Template = strongest
		e, err := RenderAccountEmail(m)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(e.Subject, want[strongest]) {
			t.Errorf("%s: subject %q, want prefix %q", strongest, e.Subject, want[strongest])
		}
	}
	m := account("en-US", 3)
	m.Lines[0].Template, m.Lines[1].Template, m.Lines[2].Template = "overdue", "final_notice", "overdue"
	e, _ := RenderAccountEmail(m)
	if !strings.Contains(e.Text, "final notice about invoice INV-0002. If it stays unpaid") {
		t.Errorf("final notice does not name the invoice it is final for:\n%s", e.Text)
	}
}

func TestAccountTermsPerPolicy(t *testing.T) {
	m := account("en-US", 3)
	e, err := RenderAccountEmail(m)
	if err != nil {
		t.Fatal(err)
	}
	const std = "A late fee of 1.5% of the unpaid amount is charged 5 days after the due date, and again every 30 days, " +
		"up to 10% of the invoice amount in total. Interest of 8% a year is charged on the unpaid amount from 5 days after the due date, " +
		"up to 20% of the invoice amount in total."
	if !strings.Contains(e.Text, "Terms: "+std) || strings.Count(e.Text, "A late fee") != 1 {
		t.Errorf("one policy's terms should be stated once:\n%s", e.Text)
	}
	m.Lines[1].Terms, m.Lines[2].Terms = fixedFeeTerms(), noChargeTerms()
	e, err = RenderAccountEmail(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Invoice INV-0001: " + std, "Invoice INV-0002: A late fee of 20.00 EUR is charged once the invoice is overdue.",
		"Invoice INV-0003: No late fee or interest is charged."} {
		if !strings.Contains(e.Text, want) || !strings.Contains(e.HTML, htmlEscape(want)) {
			t.Errorf("terms lack %q:\n%s\n%s", want, e.Text, e.HTML)
		}
	}
	m.Lines[0].Terms, m.Lines[1].Terms, m.Lines[2].Terms = Terms{}, Terms{}, Terms{}
	e, _ = RenderAccountEmail(m)
	if strings.Contains(e.Text, "Terms:") || strings.Contains(e.Text, "A late fee") {
		t.Errorf("unknown terms were stated:\n%s", e.Text)
	}
}

func TestTermsRoundTripJSON(t *testing.T) {
	for _, in := range []Terms{standardTerms(), fixedFeeTerms(), noChargeTerms(), {}} {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var out Terms
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(in, out) {
			t.Errorf("round trip of %s: %+v, want %+v", b, out, in)
		}
	}
	p := &policy.Policy{ID: "p", LateFee: &policy.LateFee{Amount: policy.Amounts{"USD": "5.00"}}}
	terms := TermsOf(p)
	p.LateFee.Amount["USD"] = "9.00"
	if terms.LateFee.Amount["USD"] != "5.00" {
		t.Error("terms share the policy's map")
	}
}

func TestAccountSMSFitsTwoSegments(t *testing.T) {
	optOut := map[string]string{"en": "Reply STOP to opt out.", "de": "STOP zum Abmelden", "ja": "STOPと返信"}
	names := []string{"Acme Supplies", "", "Müller & Söhne Großhandel Gesellschaft mit beschränkter Haftung und Compagnie KG", "株式会社サンプル商事東京本社経理部"}
	for _, locale := range accountLocales {
		for _, n := range []int{1, 3, 10} {
			// A portal link as the worker makes it: a public URL of a common length, /p/
			// and a 22-character token.
			for _, portal := range []string{"", "https://dunwell.example.com/p/3q2+7wXk9Zb1", "https://billing.example-company.com/p/3q2-7wXk9Zb1AbCdEfGhIj"} {
				for _, name := range names {
					m := account(locale, n)
					m.PortalURL, m.Business.Name = portal, name
					sms, err := RenderAccountSMS(m)
					if err != nil {
						t.Fatal(err)
					}
					info := MeasureSMS(sms)
					if info.Segments > 2 || strings.Contains(sms, "\n") || !strings.Contains(sms, optOut[accountLang(locale)]) {
						t.Errorf("%s n=%d portal=%q name=%q: %+v %q", locale, n, portal, name, info, sms)
					}
					if portal != "" && !strings.Contains(sms, portal) {
						t.Errorf("%s n=%d: the portal link is missing: %q", locale, n, sms)
					}
					if portal == "" && !strings.Contains(sms, "https://pay.example.com/i/INV-0001") {
						t.Errorf("%s n=%d: no link: %q", locale, n, sms)
					}
					ts, _ := totals(m.Lines)
					if len(ts) == 1 && !strings.Contains(sms, oneLine(FormatAmount(ts[0].Minor, ts[0].Currency, locale))) {
						t.Errorf("%s n=%d: no total: %q", locale, n, sms)
					}
					if n > 1 && !strings.Contains(sms, fmt.Sprint(n)) {
						t.Errorf("%s n=%d: the count is missing: %q", locale, n, sms)
					}
				}
			}
		}
	}
}

func TestAccountSMSWithALinkTooLongStillFits(t *testing.T) {
	m := account("en-US", 3)
	m.PortalURL = "https://dunwell.example.com/p/" + strings.Repeat("x", 400)
	sms, err := RenderAccountSMS(m)
	if err != nil {
		t.Fatal(err)
	}
	if info := MeasureSMS(sms); info.Segments > 2 || !strings.Contains(sms, "Reply STOP to opt out.") {
		t.Errorf("%+v %q", info, sms)
	}
}

func TestAccountMessageValidation(t *testing.T) {
	ok := account("en-US", 2)
	cases := []struct {
		field string
		edit  func(m *AccountMessage)
	}{
		{"lines", func(m *AccountMessage) { m.Lines = nil }},
		{"lines[1].invoice_id", func(m *AccountMessage) { m.Lines[1].InvoiceID = "" }},
		{"lines[1].invoice_id", func(m *AccountMessage) { m.Lines[1].InvoiceID = m.Lines[0].InvoiceID }},
		{"lines[0].invoice_id", func(m *AccountMessage) { m.Lines[0].InvoiceID = "INV\n1" }},
		{"lines[0].currency", func(m *AccountMessage) { m.Lines[0].Currency = "usd" }},
		{"lines[0].currency", func(m *AccountMessage) { m.Lines[0].Currency = "" }},
		{"lines[0].amount_due_minor", func(m *AccountMessage) { m.Lines[0].AmountDue = -1 }},
		{"lines[0].fees_minor", func(m *AccountMessage) { m.Lines[0].Fees = -5 }},
		{"lines[0].due_date", func(m *AccountMessage) { m.Lines[0].DueDate = "12/01/2026" }},
		{"lines[0].days_overdue", func(m *AccountMessage) { m.Lines[0].DaysOverdue = -1 }},
		{"lines[0].template", func(m *AccountMessage) { m.Lines[0].Template = "rude" }},
		{"lines[0].payment_url", func(m *AccountMessage) { m.Lines[0].PaymentURL = "javascript:alert(1)" }},
		{"portal_url", func(m *AccountMessage) { m.PortalURL = "ftp://x" }},
		{"business.name", func(m *AccountMessage) { m.Business.Name = "\x00" }},
		{"lines[1].amount_due_minor", func(m *AccountMessage) {
			m.Lines[1].Currency = m.Lines[0].Currency
			m.Lines[0].AmountDue, m.Lines[1].AmountDue = 1<<62, 1<<62
			m.Lines[0].Fees, m.Lines[0].Interest, m.Lines[1].Fees, m.Lines[1].Interest = 0, 0, 0, 0
		}},
	}
	for _, c := range cases {
		m := ok
		m.Lines = append([]AccountLine(nil), ok.Lines...)
		c.edit(&m)
		_, errEmail := RenderAccountEmail(m)
		_, errSMS := RenderAccountSMS(m)
		for _, err := range []error{errEmail, errSMS} {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Errorf("%s: got %v, want a FieldError naming it", c.field, err)
			}
		}
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	// A partly paid invoice may owe less than its charges: rendered, without claiming
	// the amount includes them.
	m := account("en-US", 1)
	m.Lines[0].AmountDue, m.Lines[0].Fees, m.Lines[0].Interest = 1500, 2500, 10
	e, err := RenderAccountEmail(m)
	if err != nil || strings.Contains(e.Text, "including") || !strings.Contains(e.Text, "$15.00") {
		t.Errorf("partly paid line: %v\n%s", err, e.Text)
	}
	// A name the API accepted is rendered, on one line.
	m = account("en-US", 1)
	m.CustomerName = "Ada\r\n\tLovelace\x00"
	e, err = RenderAccountEmail(m)
	if err != nil || !strings.Contains(e.Text, "Hello Ada Lovelace,") {
		t.Errorf("name not rendered on one line: %v\n%s", err, e.Text)
	}
}

func TestAccountEscapesWhatComesFromOutside(t *testing.T) {
	m := account("en-US", 2)
	m.Lines[0].InvoiceID = `<img src=x onerror="alert(1)">&`
	m.Lines[1].PaymentURL = "https://pay.example.com/i/a?b=1&c=2"
	m.Business.Name = "Smith & <Sons>"
	e, err := RenderAccountEmail(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<img", "<Sons>", "<script>"} {
		if strings.Contains(e.HTML, bad) {
			t.Errorf("html carries %q unescaped:\n%s", bad, e.HTML)
		}
	}
	for _, want := range []string{"&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&amp;", "Smith &amp; &lt;Sons&gt;", `href="https://pay.example.com/i/a?b=1&amp;c=2"`} {
		if !strings.Contains(e.HTML, want) {
			t.Errorf("html lacks %q:\n%s", want, e.HTML)
		}
	}
}

func FuzzRenderAccount(f *testing.F) {
	f.Add("Ada Lovelace", "INV-1", "Acme", "en-US", 3)
	f.Add("<b>Ünïcödé</b> 株式会社", "INV-&<>\"'", "Müller & Co", "de-DE", 10)
	f.Add("", "x", "", "ja-JP", 1)
	f.Fuzz(func(t *testing.T, customer, invoice, business, locale string, n int) {
		n = 1 + abs(n)%12
		m := account(locale, n)
		m.CustomerName, m.Business.Name = customer, business
		m.Lines[0].InvoiceID = invoice
		e, errEmail := RenderAccountEmail(m)
		sms, errSMS := RenderAccountSMS(m)
		if valid := m.Validate() == nil; valid != (errEmail == nil) || valid != (errSMS == nil) {
			t.Fatalf("validate and render disagree: %v / %v / %v", m.Validate(), errEmail, errSMS)
		}
		if errEmail != nil {
			var fe *FieldError
			if !errors.As(errEmail, &fe) {
				t.Fatalf("error without a field: %v", errEmail)
			}
			return
		}
		if strings.Contains(e.HTML, "<script") || strings.Contains(e.HTML, "<b>") {
			t.Fatalf("unescaped markup in html: %q", e.HTML)
		}
		if strings.ContainsAny(e.Subject, "\r\n") {
			t.Fatalf("subject on several lines: %q", e.Subject)
		}
		if MeasureSMS(sms).Segments > 2 || strings.ContainsAny(sms, "\r\n") {
			t.Fatalf("sms too long or on several lines: %+v %q", MeasureSMS(sms), sms)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		if n == -n { // the smallest int
			return 0
		}
		return -n
	}
	return n
}
