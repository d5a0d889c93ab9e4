package statement

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

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/internal/pdffont"
	"github.com/dunwell/dunwell/templates"
)

// pdfText parses b with a PDF reader and returns the text of every page.
func pdfText(t *testing.T, b []byte) string {
	t.Helper()
	require.True(t, bytes.HasPrefix(b, []byte("%PDF-")), "PDF header")
	require.Contains(t, string(bytes.TrimSpace(b[len(b)-32:])), "%%EOF", "PDF trailer")
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	require.GreaterOrEqual(t, r.NumPage(), 1)
	plain, err := r.GetPlainText()
	require.NoError(t, err)
	text, err := io.ReadAll(plain)
	require.NoError(t, err)
	return string(text)
}

func TestPDF(t *testing.T) {
	st := Compute(account(), Options{AsOf: day("2026-12-07"), Since: day("2026-11-08"),
		Terms: func(p, _ string) string { return "Policy " + p + ": a late fee of 40.00 after 7 days." }})
	tests := []struct {
		locale string
		want   []string
	}{
		{"en-US", []string{"December 7, 2026", "1,000.00 EUR", "$150.00"}},
		{"de-DE", []string{"7. Dezember 2026", "552,34", "returned goods", "Kontoauszug", "Konto in EUR", "Konto in JPY", "Über 90 Tage",
			"Bedingungen", "Seite 1 von"}},
		// No Japanese font: the built-in fonts have no Japanese, so Latin labels.
		{"ja-JP", []string{"2026/12/07", "120,000", "INV-J1"}},
	}
	for _, tt := range tests {
		t.Run(tt.locale, func(t *testing.T) {
			b, err := PDF(st, PDFOptions{
				From:   templates.Business{Name: "Acme Widgets GmbH", Address: "Hauptstraße 1, 10115 Berlin", ReplyTo: "accounts@acme.example"},
				Locale: tt.locale, CustomerName: "Globex", FontJA: filepath.Join(t.TempDir(), "no-such-font.ttf"),
			})
			require.NoError(t, err)
			text := pdfText(t, b)
			for _, w := range append(tt.want, "Acme Widgets GmbH", "Hauptstra", "accounts@acme.example",
				"Globex (C-42)", "INV-E1", "INV-E2", "INV-U1", "Policy standard: a late fee") {
				require.Contains(t, text, w)
			}
			if tt.locale != "de-DE" {
				for _, w := range []string{"Statement of account", "Account in EUR", "Account in JPY", "Account in USD", "Over 90 days", "Terms"} {
					require.Contains(t, text, w)
				}
			}
			require.NotContains(t, text, "INV-E3", "issued after the statement date")
		})
	}
}

func TestPDFEmpty(t *testing.T) {
	st := Compute(Data{CustomerID: "C-1"}, Options{AsOf: day("2026-12-07")})
	a, err := PDF(st, PDFOptions{})
	require.NoError(t, err)
	require.Contains(t, pdfText(t, a), "Nothing is open on this account")
	b, err := PDF(st, PDFOptions{})
	require.NoError(t, err)
	// fpdf writes its font objects in map order, so the bytes may differ; the text not.
	require.Equal(t, pdfText(t, a), pdfText(t, b))
	require.False(t, strings.Contains(string(a), "{nb}"), "page count alias replaced")
}

// TestPDFInterestLines: reference-rate interest is stated under its invoice, one line
// per half-year with its days and the rate used.
func TestPDFInterestLines(t *testing.T) {
	d := Data{CustomerID: "C-EU", Invoices: []Invoice{{InvoiceID: "INV-EU-2025", Currency: "EUR", AmountDue: 1_000_000,
		IssuedAt: day("2025-05-11"), DueDate: "2025-06-10", Status: "overdue", PolicyID: "eu-b2b"}},
		Adjustments: []Adjustment{{InvoiceID: "INV-EU-2025", AdjustmentID: "interest/1", Kind: InterestKind, Currency: "EUR", Amount: 13062, At: day("2025-07-25")}},
		InterestLines: []InterestLines{
			{InvoiceID: "INV-EU-2025", At: day("2025-07-24"), Lines: []collection.InterestLineView{{Half: "2025-H1", Days: 20, Amount: "61.10"}}},
			{InvoiceID: "INV-EU-2025", At: day("2025-07-25"), Lines: []collection.InterestLineView{
				{Half: "2025-H1", From: "2025-06-11", Through: "2025-06-30", Days: 20, Reference: "ecb_mro", ReferenceRate: "3.15%", Margin: "8%", Rate: "11.15%", Amount: "61.10"},
				{Half: "2025-H2", From: "2025-07-01", Through: "2025-07-25", Days: 25, Reference: "ecb_mro", ReferenceRate: "2.15%", Margin: "8%", Rate: "10.15%", Amount: "69.52"}}},
			{InvoiceID: "INV-EU-2025", At: day("2025-07-26"), Lines: []collection.InterestLineView{{Half: "2025-H2", Days: 26, Amount: "72.30"}}},
		}}
	st := Compute(d, Options{AsOf: day("2025-07-25")})
	require.Len(t, st.Currencies[0].OpenItems[0].InterestLines, 2, "the lines booked last by the statement date")
	for locale, want := range map[string][]string{
		"en-GB": {"Interest 2025-H1: 11/06/2025 to 30/06/2025, 20 days late at 11.15% (reference rate 3.15% + 8%): 61.10 EUR",
			"Interest 2025-H2: 01/07/2025 to 25/07/2025, 25 days late at 10.15% (reference rate 2.15% + 8%): 69.52 EUR"},
		"de-DE": {"Zinsen 2025-H2: 01.07.2025 bis 25.07.2025, 25 Tage Verzug zu 10.15% (Referenzzins 2.15% + 8%): 69,52"},
	} {
		b, err := PDF(st, PDFOptions{Locale: locale})
		require.NoError(t, err)
		text := pdfText(t, b)
		for _, w := range want {
			require.Contains(t, text, w, locale)
		}
	}
}

// TestPDFJapanese: with a Japanese TrueType font (DUNWELL_PDF_FONT_JA, or Debian's
// fonts-ipafont-gothic) a Japanese customer's statement has Japanese labels, embedded
// as a subset. Skipped only where no such font is installed.
func TestPDFJapanese(t *testing.T) {
	font := pdffont.JA()
	if font == "" {
		t.Skipf("no Japanese font: set %s or install fonts-ipafont-gothic", pdffont.EnvJA)
	}
	st := Compute(account(), Options{AsOf: day("2026-12-07"), Since: day("2026-11-08")})
	b, err := PDF(st, PDFOptions{From: templates.Business{Name: "株式会社アクメ", ReplyTo: "accounts@acme.example"},
		Locale: "ja-JP", CustomerName: "グローベックス", FontJA: font})
	require.NoError(t, err)
	// The text extractor does not read the font's ToUnicode map: the Latin parts are
	// checked as text, the Japanese ones in the page's content stream, where fpdf
	// writes the UTF-8 font's text as UTF-16BE.
	text := pdfText(t, b)
	for _, w := range []string{"2026/12/07", "120,000", "INV-J1", "INV-E1", "C-42", "accounts@acme.example"} {
		require.Contains(t, text, w)
	}
	require.NotContains(t, text, "Statement of account")
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	content, err := io.ReadAll(r.Page(1).V.Key("Contents").Reader())
	require.NoError(t, err)
	for _, w := range []string{"取引明細書", "株式会社アクメ", "グローベックス", "建て勘定", "請求書番号", "90日超", "ページ"} {
		require.True(t, bytes.Contains(content, utf16be(w)), "the page shows %q", w)
	}
	require.Contains(t, string(b), "FontFile2", "the font is embedded")
	require.Less(t, len(b), 1<<20, "as a subset, not whole")
}

func utf16be(s string) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u>>8), byte(u))
	}
	return out
}

// TestPDFJapaneseFallsBackWithoutAUsableFont: a font path that is not a TrueType font
// gives the Latin PDF with English labels, not an error.
func TestPDFJapaneseFallsBackWithoutAUsableFont(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "not-a-font.ttf")
	require.NoError(t, os.WriteFile(bad, []byte("not a font"), 0o600))
	st := Compute(account(), Options{AsOf: day("2026-12-07")})
	b, err := PDF(st, PDFOptions{Locale: "ja-JP", FontJA: bad})
	require.NoError(t, err)
	require.Contains(t, pdfText(t, b), "Statement of account")
}

// TestPDFJapaneseInterestLines: the interest lines, set in italics, are written in the
// Japanese font too (it is registered in every style).
func TestPDFJapaneseInterestLines(t *testing.T) {
	font := pdffont.JA()
	if font == "" {
		t.Skipf("no Japanese font: set %s or install fonts-ipafont-gothic", pdffont.EnvJA)
	}
	d := Data{CustomerID: "C-JP", Invoices: []Invoice{{InvoiceID: "INV-JP-2025", Currency: "JPY", AmountDue: 1_000_000,
		IssuedAt: day("2025-05-11"), DueDate: "2025-06-10", Status: "overdue", PolicyID: "jp"}},
		Adjustments: []Adjustment{{InvoiceID: "INV-JP-2025", AdjustmentID: "interest/1", Kind: InterestKind, Currency: "JPY", Amount: 6110, At: day("2025-07-25")}},
		InterestLines: []InterestLines{{InvoiceID: "INV-JP-2025", At: day("2025-07-25"), Lines: []collection.InterestLineView{
			{Half: "2025-H1", From: "2025-06-11", Through: "2025-06-30", Days: 20, Reference: "ecb_mro", ReferenceRate: "3.15%", Margin: "8%", Rate: "11.15%", Amount: "6110"}}}}}
	st := Compute(d, Options{AsOf: day("2025-07-25")})
	b, err := PDF(st, PDFOptions{Locale: "ja-JP", FontJA: font})
	require.NoError(t, err)
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	content, err := io.ReadAll(r.Page(1).V.Key("Contents").Reader())
	require.NoError(t, err)
	// (fpdf escapes the bytes ( ) and \ of the UTF-16 text, as in 利: 0x5229.)
	require.True(t, bytes.Contains(content, utf16be(" 2025-H1: 2025/06/11 から 2025/06/30 まで、20 日の遅延")), "the interest line is written")
}

// TestPDFJapaneseLongLinesKeepEveryCharacter: a terms line longer than the page (the
// contact sentence with a long reply-to address) is broken into lines without losing
// the character at the break, which fpdf's own MultiCell drops in Japanese text.
func TestPDFJapaneseLongLinesKeepEveryCharacter(t *testing.T) {
	font := pdffont.JA()
	if font == "" {
		t.Skipf("no Japanese font: set %s or install fonts-ipafont-gothic", pdffont.EnvJA)
	}
	d := Data{CustomerID: "C-JP", Invoices: []Invoice{{InvoiceID: "INV-JP-1", Currency: "JPY", AmountDue: 1_000_000,
		IssuedAt: day("2025-05-11"), DueDate: "2025-06-10", Status: "overdue", PolicyID: "jp"}}}
	st := Compute(d, Options{AsOf: day("2025-07-25")})
	b, err := PDF(st, PDFOptions{Locale: "ja-JP", FontJA: font,
		From: templates.Business{Name: "株式会社アクメ", ReplyTo: "accounts-receivable-department@acme-widgets.example.co.jp"}})
	require.NoError(t, err)
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	content, err := io.ReadAll(r.Page(1).V.Key("Contents").Reader())
	require.NoError(t, err)
	require.True(t, bytes.Contains(content, utf16be("ご異議のある項目がございましたら、")), "the line ends whole at its break")
	require.True(t, bytes.Contains(content, utf16be("accounts-receivable-department@acme-widgets.example.co.jp まで")), "the address is not split")
}
