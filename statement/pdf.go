package statement

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/dunwell/dunwell/internal/pdffont"
	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/templates"
)

// PDFOptions are what the PDF shows besides the statement.
type PDFOptions struct {
	// From is the letterhead: the business's name, postal address (lines separated
	// by newlines or ", "), phone and the reply-to address that reaches a person.
	From templates.Business
	// CustomerName, when known, is shown above the customer id.
	CustomerName string
	// Locale formats amounts and dates ("de-DE"); empty: ISO dates and codes.
	Locale string
	// Created is the PDF's creation date (zero: the statement date).
	Created time.Time
	// FontJA is the TrueType font a Japanese statement is written in; empty: pdffont.JA()
	// ($DUNWELL_PDF_FONT_JA or the system's IPAGothic). Without a readable one the
	// PDF has the built-in Latin fonts and English labels.
	FontJA string
}

// Page geometry (A4 portrait, millimetres).
const (
	pageMargin = 15.0
	pageWidth  = 210.0 - 2*pageMargin
	rowHeight  = 5.5
)

// openItemColumns are the open item table's widths (sum: pageWidth) and alignments;
// the headings are Texts.Columns.
var openItemColumns = []struct {
	width float64
	align string
}{
	{30, "L"}, {20, "L"}, {20, "L"}, {22, "R"}, {17, "R"}, {17, "R"}, {22, "R"}, {24, "R"}, {8, "R"},
}

// PDF renders the statement as a PDF document: the letterhead, the customer and the
// date, then per currency the open items with their aging and total, the payments
// and credits since the last statement, and the terms. Amounts and dates follow
// o.Locale (templates.FormatAmount, FormatDate). The built-in fonts carry Latin text
// (Windows-1252), so other scripts are written in their ISO forms; a Japanese
// statement is written in Japanese with the font of o.FontJA (embedded, subset) when
// there is one, else in English.
func PDF(st Statement, o PDFOptions) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetMargins(pageMargin, pageMargin, pageMargin)
	pdf.SetAutoPageBreak(true, pageMargin+5)
	created := o.Created
	if created.IsZero() {
		created, _ = time.Parse(time.DateOnly, st.AsOf)
	}
	pdf.SetCreationDate(created)
	pdf.SetModificationDate(created)
	tr := pdf.UnicodeTranslatorFromDescriptor("cp1252")
	txt := func(s string) string {
		return tr(strings.NewReplacer("\uffe5", "\u00a5", "\u202f", " ", "\u2013", "-").Replace(s))
	}
	r := renderer{pdf: pdf, txt: txt, locale: o.Locale, t: PDFTexts(o.Locale), font: "Helvetica"}
	if pdffont.NeedsJA(o.Locale) && pdffont.EmbedJA(pdf, o.FontJA, "") {
		r.font, r.txt, r.t = fontJA, func(s string) string { return s }, TextsFor(o.Locale)
	}
	txt = r.txt
	utf8 := r.font == fontJA
	pdf.SetTitle(txt(r.t.Title+" "+st.CustomerID+" "+st.AsOf), utf8)
	if o.From.Name != "" {
		pdf.SetAuthor(txt(o.From.Name), utf8)
	}
	pdf.AliasNbPages("")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-pageMargin - 2)
		r.setFont("", 7)
		pdf.CellFormat(pageWidth/2, 4, txt(o.From.Name+"  "+st.CustomerID+"  "+st.AsOf), "", 0, "L", false, 0, "")
		pdf.CellFormat(pageWidth/2, 4, txt(fmt.Sprintf(r.t.Page, pdf.PageNo())), "", 0, "R", false, 0, "")
	})
	pdf.AddPage()
	r.header(st, o)
	if len(st.Currencies) == 0 {
		r.setFont("", 10)
		r.multi(pageWidth, rowHeight, r.t.NothingOpen)
	}
	terms := []string{}
	for _, sec := range st.Currencies {
		r.section(sec)
		for _, it := range sec.OpenItems {
			if it.Terms != "" && !contains(terms, it.Terms) {
				terms = append(terms, it.Terms)
			}
		}
	}
	r.terms(st, o, terms)
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("statement: rendering the PDF of %s: %w", st.CustomerID, err)
	}
	return buf.Bytes(), nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

type renderer struct {
	pdf    *fpdf.Fpdf
	txt    func(string) string
	locale string
	t      Texts
	// font is the family every text is set in: Helvetica, or fontJA.
	font string
}

// setFont sets the style and size of the text that follows, in r.font. The Japanese
// font has one face, registered once (regular): its text is set in it in every style.
func (r renderer) setFont(style string, size float64) {
	if r.font == fontJA {
		style = ""
	}
	r.pdf.SetFont(r.font, style, size)
}

// multi writes s, left-aligned, in lines at most w wide. Japanese text is broken into
// lines by pdffont.MultiCell, as fpdf's MultiCell would drop the character it breaks at.
func (r renderer) multi(w, h float64, s string) {
	if r.font == fontJA {
		pdffont.MultiCell(r.pdf, w, h, r.txt(s), "L")
		return
	}
	r.pdf.MultiCell(w, h, r.txt(s), "", "L", false)
}

// fontJA is the family name the Japanese font is registered under.
const fontJA = pdffont.FamilyJA

func (r renderer) amount(m Money) string {
	return templates.FormatAmount(m.Minor, m.Currency, r.locale)
}

// cell writes one cell of text (translated to the font's code page here, and only
// here).
func (r renderer) cell(w, h float64, s, border string, ln int, align string, fill bool) {
	r.pdf.CellFormat(w, h, r.txt(s), border, ln, align, fill, 0, "")
}

func (r renderer) date(d string) string {
	if strings.HasPrefix(strings.ToLower(r.locale), "ja") {
		return templates.FormatShortDate(d, r.locale)
	}
	return templates.FormatDate(d, r.locale)
}

// shortDate is the table form of a date.
func (r renderer) shortDate(d string) string { return templates.FormatShortDate(d, r.locale) }

func (r renderer) header(st Statement, o PDFOptions) {
	pdf := r.pdf
	r.setFont("B", 16)
	name := o.From.Name
	if name == "" {
		name = r.t.Title
	}
	r.cell(pageWidth, 8, name, "", 1, "L", false)
	r.setFont("", 9)
	for _, line := range addressLines(o.From.Address) {
		r.cell(pageWidth, 4.5, line, "", 1, "L", false)
	}
	if o.From.Phone != "" {
		r.cell(pageWidth, 4.5, r.t.Phone+o.From.Phone, "", 1, "L", false)
	}
	if o.From.ReplyTo != "" {
		r.cell(pageWidth, 4.5, r.t.Questions+o.From.ReplyTo, "", 1, "L", false)
	}
	pdf.Ln(6)
	r.setFont("B", 13)
	r.cell(pageWidth, 7, r.t.Title, "", 1, "L", false)
	r.setFont("", 10)
	customer := st.CustomerID
	if o.CustomerName != "" {
		customer = o.CustomerName + " (" + st.CustomerID + ")"
	}
	rows := [][2]string{{r.t.Customer, customer}, {r.t.StatementDate, r.date(st.AsOf)}}
	if st.Since != "" {
		rows = append(rows, [2]string{r.t.ActivitySince, r.date(st.Since)})
	}
	for _, row := range rows {
		r.setFont("B", 10)
		r.cell(35, rowHeight, row[0], "", 0, "L", false)
		r.setFont("", 10)
		r.cell(pageWidth-35, rowHeight, row[1], "", 1, "L", false)
	}
	pdf.Ln(4)
}

// addressLines splits a postal address into its lines.
func addressLines(a string) []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(a, ", ", "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (r renderer) section(sec Section) {
	pdf := r.pdf
	r.setFont("B", 12)
	pdf.SetFillColor(230, 236, 245)
	r.cell(pageWidth, 7, fmt.Sprintf(r.t.AccountIn, sec.Currency, r.amount(sec.Balance)), "", 1, "L", true)
	pdf.Ln(1)
	if len(sec.OpenItems) > 0 {
		r.tableHead()
		r.setFont("", 8)
		for _, it := range sec.OpenItems {
			paidAdj := Money{it.Paid.Minor - it.Adjusted.Minor, it.Paid.Currency}
			cells := []string{it.InvoiceID, r.shortDate(it.Issued), r.shortDate(it.Due), r.amount(it.Original),
				r.amount(it.FeesTotal), r.amount(it.Interest), r.amount(paidAdj), r.amount(it.Balance), fmt.Sprint(it.DaysOverdue)}
			for i, c := range openItemColumns {
				r.cell(c.width, rowHeight, cells[i], "B", 0, c.align, false)
			}
			pdf.Ln(-1)
			r.interestLines(it)
		}
		r.setFont("B", 9)
		r.cell(pageWidth-32, rowHeight+1, r.t.TotalDue, "", 0, "R", false)
		r.cell(32, rowHeight+1, r.amount(sec.Balance), "", 1, "R", false)
		pdf.Ln(1)
		// Aging: one row of headings and one of amounts.
		w := pageWidth / float64(len(sec.Aging))
		r.setFont("B", 8)
		for _, b := range sec.Aging {
			r.cell(w, rowHeight, r.t.Buckets[b.Bucket], "1", 0, "C", true)
		}
		pdf.Ln(-1)
		r.setFont("", 8)
		for _, b := range sec.Aging {
			r.cell(w, rowHeight, r.amount(b.Amount), "1", 0, "C", false)
		}
		pdf.Ln(-1)
	} else {
		r.setFont("", 9)
		r.cell(pageWidth, rowHeight, fmt.Sprintf(r.t.NoOpenItems, sec.Currency), "", 1, "L", false)
	}
	pdf.Ln(2)
	r.setFont("B", 9)
	r.cell(pageWidth, rowHeight, fmt.Sprintf(r.t.PaymentsReceived, r.amount(sec.PaidSince)), "", 1, "L", false)
	r.setFont("", 8)
	for _, p := range sec.Payments {
		r.cell(25, rowHeight-1, r.shortDate(p.Date), "", 0, "L", false)
		r.cell(40, rowHeight-1, p.InvoiceID, "", 0, "L", false)
		r.cell(pageWidth-65-35, rowHeight-1, p.PaymentID, "", 0, "L", false)
		r.cell(35, rowHeight-1, r.amount(p.Amount), "", 1, "R", false)
	}
	if len(sec.Credits) > 0 {
		r.setFont("B", 9)
		r.cell(pageWidth, rowHeight, r.t.CreditsTitle, "", 1, "L", false)
		r.setFont("", 8)
		for _, c := range sec.Credits {
			what := strings.ReplaceAll(c.Kind, "_", " ")
			if c.Reason != "" {
				what += ": " + c.Reason
			}
			r.cell(25, rowHeight-1, r.shortDate(c.Date), "", 0, "L", false)
			r.cell(40, rowHeight-1, c.InvoiceID, "", 0, "L", false)
			r.cell(pageWidth-65-35, rowHeight-1, truncate(what, 70), "", 0, "L", false)
			r.cell(35, rowHeight-1, r.amount(c.Amount), "", 1, "R", false)
		}
	}
	pdf.Ln(5)
}

func (r renderer) tableHead() {
	pdf := r.pdf
	r.setFont("B", 8)
	for i, c := range openItemColumns {
		r.cell(c.width, rowHeight, r.t.Columns[i], "1", 0, c.align, true)
	}
	pdf.Ln(-1)
}

func (r renderer) terms(st Statement, o PDFOptions, terms []string) {
	r.setFont("B", 10)
	r.cell(pageWidth, rowHeight+1, r.t.TermsTitle, "", 1, "L", false)
	r.setFont("", 8.5)
	lines := append([]string{}, terms...)
	lines = append(lines, r.t.PerCurrency, fmt.Sprintf(r.t.DaysCounted, r.date(st.AsOf)))
	contact := r.t.Contact
	if o.From.ReplyTo != "" {
		contact += fmt.Sprintf(r.t.ContactAt, o.From.ReplyTo)
	}
	lines = append(lines, contact+r.t.QuoteInvoice)
	for _, l := range lines {
		r.multi(pageWidth, 4.5, l)
	}
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// interestLines writes, under an open item, its reference-rate interest per half-year
// with the rate used (the figures of the invoice's state and the policy preview).
func (r renderer) interestLines(it OpenItem) {
	if len(it.InterestLines) == 0 {
		return
	}
	r.setFont("I", 7.5)
	for _, ln := range it.InterestLines {
		amount := ln.Amount + " " + it.Interest.Currency
		if minor, err := money.Parse(ln.Amount, it.Interest.Currency); err == nil {
			amount = r.amount(Money{minor, it.Interest.Currency})
		}
		r.cell(openItemColumns[0].width, rowHeight-1.5, "", "", 0, "L", false)
		r.cell(pageWidth-openItemColumns[0].width, rowHeight-1.5, fmt.Sprintf(r.t.InterestLine, ln.Half, r.shortDate(ln.From),
			r.shortDate(ln.Through), ln.Days, ln.Rate, ln.ReferenceRate, ln.Margin, amount), "", 1, "L", false)
	}
	r.setFont("", 8)
}
