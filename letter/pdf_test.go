package letter

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/ledongthuc/pdf"
	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/bank/rf"
	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/templates"
)

// pdfText parses b with a PDF reader and returns the text of every page and the
// number of pages.
func pdfText(t *testing.T, b []byte) (string, int) {
	t.Helper()
	require.True(t, bytes.HasPrefix(b, []byte("%PDF-")), "PDF header")
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	plain, err := r.GetPlainText()
	require.NoError(t, err)
	text, err := io.ReadAll(plain)
	require.NoError(t, err)
	return string(text), r.NumPage()
}

func sample() Letter {
	pol := &policy.Policy{ID: "standard", LateFee: &policy.LateFee{Percent: rate2}, GracePeriod: policy.Offset{Days: 7, InDays: true}}
	return Letter{
		InvoiceID: "INV-1001", CustomerID: "C-42", CustomerName: "Erika Mustermann",
		To:       collection.Address{Lines: []string{"Hauptstraße 5"}, PostalCode: "10115", City: "Berlin", Country: "DE"},
		Template: "overdue", Step: "letter-reminder", Locale: "de-DE", Date: "2026-12-21",
		Currency: "EUR", Original: 125000, Fees: 2500, Interest: 412, AmountDue: 117912,
		DueDate: "2026-12-01", PaymentURL: "https://pay.example.com/INV-1001", Terms: templates.TermsOf(pol),
	}
}

var rate2, _ = policy.ParseRate("2%")

var from = templates.Business{Name: "Acme Widgets GmbH", Address: "Industriestraße 1, 80331 München", Phone: "+49 89 1234567", ReplyTo: "accounts@acme.example"}

func TestPDFText(t *testing.T) {
	bank, err := ParseBank("", "DE89 3704 0044 0532 0130 00", "COBADEFFXXX")
	require.NoError(t, err)
	ref := rf.Format(rf.ForInvoice("INV-1001"))
	tests := []struct {
		name   string
		edit   func(l *Letter)
		bank   Bank
		want   []string
		absent []string
	}{
		{"German", func(*Letter) {}, bank, []string{
			"Mahnung: Rechnung INV-1001", "Guten Tag Erika Mustermann,", "seit 20 Tagen", "1.179,12", "1.250,00", "25,00", "4,12",
			"Hauptstraße 5", "10115 Berlin", "DE", "21. Dezember 2026", "Zahlschein", "DE89 3704 0044 0532 0130 00", "COBADEFFXXX",
			"Acme Widgets GmbH", "Industriestraße 1", "accounts@acme.example", "+49 89 1234567", ref, "Bedingungen",
			"https://pay.example.com/INV-1001", "Mit freundlichen Grüßen"}, nil},
		{"English, US address, no bank details", func(l *Letter) {
			l.Locale, l.Currency, l.Template = "en-US", "USD", "final_notice"
			l.To = collection.Address{Name: "Accounts Payable", Lines: []string{"1 Market St"}, PostalCode: "94105", City: "San Francisco", Region: "CA", Country: "US"}
		}, Bank{}, []string{
			"Final notice: invoice INV-1001", "Dear Accounts Payable,", "20 days overdue", "$1,179.12", "$1,250.00", "$25.00",
			"San Francisco CA 94105", "December 21, 2026", "Payment slip", "Bank details: see your invoice", ref, "Terms",
			"A late fee", "Yours sincerely,"}, []string{"IBAN DE"}},
		{"Japanese reads English with yen", func(l *Letter) {
			l.Locale, l.Currency, l.Original, l.Fees, l.Interest, l.AmountDue, l.Template = "ja-JP", "JPY", 120000, 0, 0, 120000, "due_soon"
			l.To = collection.Address{Lines: []string{"1-1 Marunouchi"}, PostalCode: "100-0001", City: "Chiyoda-ku", Region: "Tokyo", Country: "JP"}
		}, bank, []string{"Reminder: invoice INV-1001 is due on", "120,000", "100-0001 Tokyo Chiyoda-ku", "Dear Erika Mustermann,"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := sample()
			tt.edit(&l)
			b, err := PDF(l, Options{From: from, Bank: tt.bank})
			require.NoError(t, err)
			text, pages := pdfText(t, b)
			require.Equal(t, 1, pages, "one page")
			flat := strings.Join(strings.Fields(text), " ")
			for _, w := range tt.want {
				require.Contains(t, flat, strings.Join(strings.Fields(w), " "))
			}
			for _, w := range tt.absent {
				require.NotContains(t, flat, w)
			}
			again, err := PDF(l, Options{From: from, Bank: tt.bank})
			require.NoError(t, err)
			require.Equal(t, b, again, "the same letter renders the same bytes (retries)")
		})
	}
}

func TestPDFEveryTemplateAndLanguage(t *testing.T) {
	for _, name := range templates.Names() {
		for _, loc := range []string{"", "en-GB", "de-AT", "ja-JP", "fr-FR"} {
			l := sample()
			l.Template, l.Locale = name, loc
			b, err := PDF(l, Options{From: templates.Business{}})
			require.NoError(t, err, "%s %s", name, loc)
			text, _ := pdfText(t, b)
			require.Contains(t, text, "INV-1001")
		}
	}
}

func TestPDFRefusesAnInvalidLetter(t *testing.T) {
	l := sample()
	l.To.Country, l.Template, l.Date = "XX", "nope", "21.12.2026"
	_, err := PDF(l, Options{})
	require.ErrorContains(t, err, "to.country")
	require.ErrorContains(t, err, `template "nope"`)
	require.ErrorContains(t, err, `date "21.12.2026"`)
}

func TestParseBank(t *testing.T) {
	b, err := ParseBank(" Acme ", "de89 3704 0044 0532 0130 00", "cobadeff")
	require.NoError(t, err)
	require.Equal(t, Bank{Holder: "Acme", IBAN: "DE89370400440532013000", BIC: "COBADEFF"}, b)
	_, err = ParseBank("", "DE88370400440532013000", "")
	require.ErrorContains(t, err, "DUNWELL_BANK_IBAN")
	_, err = ParseBank("", "DE89370400440532013000", "COBA")
	require.ErrorContains(t, err, "DUNWELL_BANK_BIC")
	_, err = ParseBank("Acme", "", "")
	require.ErrorContains(t, err, "is required")
	b, err = ParseBank("", "", "")
	require.NoError(t, err)
	require.True(t, b.IsZero())
}
