package letter

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/ledongthuc/pdf"
	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/bank/rf"
	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/internal/pdffont"
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

// pageContent is the content stream of b's first page, where fpdf writes the text of
// a UTF-8 font as UTF-16BE: the text extractor does not read the font's ToUnicode map,
// so Japanese text is looked for here (see inContent).
func pageContent(t *testing.T, b []byte) []byte {
	t.Helper()
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	content, err := io.ReadAll(r.Page(1).V.Key("Contents").Reader())
	require.NoError(t, err)
	return content
}

// inContent is s as a page's content stream holds it in a UTF-8 font: UTF-16BE, with
// the bytes ( ) and \ escaped as in any PDF string (利 is 0x52 0x29).
func inContent(s string) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		for _, c := range []byte{byte(u >> 8), byte(u)} {
			if c == '(' || c == ')' || c == '\\' {
				out = append(out, '\\')
			}
			out = append(out, c)
		}
	}
	return out
}

// japanese is a Japanese customer's letter in Japanese: a company in Tokyo, yen.
func japanese(l *Letter) {
	l.Locale, l.Currency, l.Original, l.Fees, l.Interest, l.AmountDue, l.Template = "ja-JP", "JPY", 120000, 2000, 300, 112300, "due_soon"
	l.CustomerName = "グローベックス株式会社"
	l.To = collection.Address{Lines: []string{"丸の内1-1-1"}, PostalCode: "100-0001", City: "千代田区", Region: "東京都", Country: "JP"}
}

func TestPDFText(t *testing.T) {
	bank, err := ParseBank("", "DE89 3704 0044 0532 0130 00", "COBADEFFXXX")
	require.NoError(t, err)
	ref := rf.Format(rf.ForInvoice("INV-1001"))
	noFont := filepath.Join(t.TempDir(), "no-such-font.ttf")
	tests := []struct {
		name   string
		edit   func(l *Letter)
		bank   Bank
		want   []string
		absent []string
		// fontJA is Options.FontJA: "" the installed font (the case is skipped without
		// one when it has wantJA, the Japanese text looked for in the page's content).
		fontJA string
		wantJA []string
	}{
		{"German", func(*Letter) {}, bank, []string{
			"Mahnung: Rechnung INV-1001", "Guten Tag Erika Mustermann,", "seit 20 Tagen", "1.179,12", "1.250,00", "25,00", "4,12",
			"Hauptstraße 5", "10115 Berlin", "DE", "21. Dezember 2026", "Zahlschein", "DE89 3704 0044 0532 0130 00", "COBADEFFXXX",
			"Acme Widgets GmbH", "Industriestraße 1", "accounts@acme.example", "+49 89 1234567", ref, "Bedingungen",
			"https://pay.example.com/INV-1001", "Mit freundlichen Grüßen"}, nil, "", nil},
		{"English, US address, no bank details", func(l *Letter) {
			l.Locale, l.Currency, l.Template = "en-US", "USD", "final_notice"
			l.To = collection.Address{Name: "Accounts Payable", Lines: []string{"1 Market St"}, PostalCode: "94105", City: "San Francisco", Region: "CA", Country: "US"}
		}, Bank{}, []string{
			"Final notice: invoice INV-1001", "Dear Accounts Payable,", "20 days overdue", "$1,179.12", "$1,250.00", "$25.00",
			"San Francisco CA 94105", "December 21, 2026", "Payment slip", "Bank details: see your invoice", ref, "Terms",
			"A late fee", "Yours sincerely,"}, []string{"IBAN DE"}, "", nil},
		{"Japanese without a Japanese font reads English with yen", func(l *Letter) {
			l.Locale, l.Currency, l.Original, l.Fees, l.Interest, l.AmountDue, l.Template = "ja-JP", "JPY", 120000, 0, 0, 120000, "due_soon"
			l.To = collection.Address{Lines: []string{"1-1 Marunouchi"}, PostalCode: "100-0001", City: "Chiyoda-ku", Region: "Tokyo", Country: "JP"}
		}, bank, []string{"Reminder: invoice INV-1001 is due on 1 December 2026", "120,000", "100-0001 Tokyo Chiyoda-ku", "Dear Erika Mustermann,",
			"Payment slip", "Yours sincerely,", "Page 1 of 1"}, nil, noFont, nil},
		{"Japanese", japanese, bank, []string{"INV-1001", "C-42", ref, "DE89 3704 0044 0532 0130 00", "accounts@acme.example"},
			[]string{"Reminder", "Dear", "Payment slip", "Yours sincerely"}, "", []string{
				"お支払い期日のご案内（請求書番号 INV-1001、お支払い期日：2026年12月1日）", "グローベックス株式会社 御中", "100-0001 東京都 千代田区",
				"拝啓　時下ますますご清栄", "ご請求額 ￥112,300につきまして", "2026年12月21日", "2026/12/01", "￥120,000", "￥2,000", "￥300",
				"延滞手数料：未払額の2%が", "お支払い総額", "オンラインでのお支払い：https://pay.example.com/INV-1001", "参照番号",
				"当社（accounts@acme.example、", "+49\u00a089\u00a01234567）までご連絡ください。", "参照番号 " + unbroken(ref), "敬具", "お振込先のご案内", "￥112,300 (JPY)", "1 / 1 ページ"}},
		{"Japanese final notice", func(l *Letter) { japanese(l); l.Template = "final_notice" }, bank, []string{"INV-1001"}, nil, "", []string{
			"最終督促状（請求書番号 INV-1001）", "前略　請求書 INV-1001（お支払い期日：2026年12月1日）", "期日から20日を経過した本日現在も", "草々"}},
		{"Japanese to a person", func(l *Letter) { japanese(l); l.To.Name = "山田 太郎"; l.Template = "overdue" }, bank, []string{"INV-1001"}, nil, "",
			[]string{"山田 太郎 様", "お支払いのお願い（請求書番号 INV-1001）", "20日を経過した本日現在、￥112,300のご入金"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantJA != nil && pdffont.JA() == "" {
				t.Skipf("no Japanese font: set %s or install fonts-ipafont-gothic", pdffont.EnvJA)
			}
			l := sample()
			tt.edit(&l)
			o := Options{From: from, Bank: tt.bank, FontJA: tt.fontJA}
			b, err := PDF(l, o)
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
			content := pageContent(t, b)
			for _, w := range tt.wantJA {
				require.True(t, bytes.Contains(content, inContent(w)), "the page shows %q", w)
			}
			if tt.wantJA != nil {
				require.Contains(t, string(b), "FontFile2", "the font is embedded")
				require.Less(t, len(b), 1<<20, "as a subset, not whole")
			} else {
				require.NotContains(t, string(b), "FontFile2", "core fonts only")
			}
			again, err := PDF(l, o)
			require.NoError(t, err)
			require.Equal(t, b, again, "the same letter renders the same bytes (retries)")
		})
	}
}

func TestPDFEveryTemplateAndLanguage(t *testing.T) {
	noFont := filepath.Join(t.TempDir(), "no-such-font.ttf")
	for _, name := range templates.Names() {
		for _, loc := range []string{"", "en-GB", "de-AT", "ja-JP", "ja_JP", "fr-FR"} {
			for _, font := range []string{"", noFont} {
				l := sample()
				l.Template, l.Locale = name, loc
				b, err := PDF(l, Options{From: templates.Business{}, FontJA: font})
				require.NoError(t, err, "%s %s", name, loc)
				text, pages := pdfText(t, b)
				require.Contains(t, text, "INV-1001")
				require.Equal(t, 1, pages, "%s %s: one page", name, loc)
			}
		}
	}
	for _, lang := range Languages() {
		for _, name := range templates.Names() {
			require.NotEmpty(t, languages[lang].subject[name], "%s %s", lang, name)
			require.NotEmpty(t, languages[lang].body[name], "%s %s", lang, name)
		}
	}
}

// TestPDFJapaneseFallsBackWithoutAUsableFont: a font path that is not a TrueType font
// gives the English letter, not an error.
func TestPDFJapaneseFallsBackWithoutAUsableFont(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "not-a-font.ttf")
	require.NoError(t, os.WriteFile(bad, []byte("not a font"), 0o600))
	l := sample()
	japanese(&l)
	b, err := PDF(l, Options{From: from, FontJA: bad})
	require.NoError(t, err)
	text, _ := pdfText(t, b)
	require.Contains(t, text, "Reminder: invoice INV-1001")
	require.NotContains(t, string(b), "FontFile2")
}

func TestNamed(t *testing.T) {
	ja, en := languages["ja"], languages["en"]
	for name, want := range map[string]string{
		"グローベックス株式会社": "グローベックス株式会社 御中", "（株）アクメ": "（株）アクメ 御中", "Acme Japan K.K.": "Acme Japan K.K. 御中",
		"Globex Inc.": "Globex Inc. 御中", "Acme Widgets GmbH": "Acme Widgets GmbH 御中", "一般社団法人 日本協会": "一般社団法人 日本協会 御中",
		"山田 太郎": "山田 太郎 様", "Erika Mustermann": "Erika Mustermann 様", "Agata Kowalska": "Agata Kowalska 様",
		"山田太郎様": "山田太郎様", "経理部 御中": "経理部 御中", "": "",
	} {
		require.Equal(t, want, ja.named(name), name)
	}
	require.Equal(t, "Globex Inc.", en.named("Globex Inc."))
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
