package statement

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/ledongthuc/pdf"
	"github.com/stretchr/testify/require"

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
		{"de-DE", []string{"7. Dezember 2026", "552,34", "returned goods"}},
		{"ja-JP", []string{"2026/12/07", "120,000", "INV-J1"}},
	}
	for _, tt := range tests {
		t.Run(tt.locale, func(t *testing.T) {
			b, err := PDF(st, PDFOptions{
				From:   templates.Business{Name: "Acme Widgets GmbH", Address: "Hauptstraße 1, 10115 Berlin", ReplyTo: "accounts@acme.example"},
				Locale: tt.locale, CustomerName: "Globex",
			})
			require.NoError(t, err)
			text := pdfText(t, b)
			for _, w := range append(tt.want, "Acme Widgets GmbH", "Hauptstra", "accounts@acme.example", "Statement of account",
				"Globex (C-42)", "INV-E1", "INV-E2", "INV-U1", "Account in EUR", "Account in JPY", "Account in USD",
				"Over 90 days", "Terms", "Policy standard: a late fee") {
				require.Contains(t, text, w)
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
