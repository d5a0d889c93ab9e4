package letter

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/dunwell/dunwell/internal/pdffont"
	"github.com/dunwell/dunwell/templates"
)

// Page geometry, A4 portrait in millimetres. The recipient's address sits where a
// DIN 5008 (form B) window envelope shows it: 45 mm from the top, 20 mm from the
// left edge, 85 × 45 mm; the return address is the small line above it.
const (
	marginLeft   = 25.0
	marginRight  = 20.0
	marginTop    = 15.0
	pageWidth    = 210.0 - marginLeft - marginRight
	windowX      = 20.0
	windowY      = 45.0
	windowWidth  = 85.0
	infoX        = 125.0
	lineHeight   = 5.0
	slipHeight   = 62.0
	pageHeight   = 297.0
	bottomMargin = 18.0
)

// PDF renders the letter. It fails only for a letter that does not validate or a
// document the PDF library cannot write. A Japanese customer's letter is written in
// Japanese with the font of o.FontJA (embedded, subset) when there is one, else in
// English, as it would be without Japanese texts.
func PDF(l Letter, o Options) ([]byte, error) {
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("letter: %w", err)
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetMargins(marginLeft, marginTop, marginRight)
	pdf.SetAutoPageBreak(true, bottomMargin)
	created, _ := time.Parse(time.DateOnly, l.Date)
	pdf.SetCreationDate(created)
	pdf.SetModificationDate(created)
	pdf.SetCatalogSort(true) // the same letter, the same bytes
	r := &renderer{pdf: pdf, l: l, o: o, font: "Helvetica", mono: "Courier", tr: pdf.UnicodeTranslatorFromDescriptor("cp1252")}
	if pdffont.NeedsJA(l.Locale) && pdffont.EmbedJA(pdf, o.FontJA, "") {
		r.font, r.mono, r.utf8 = pdffont.FamilyJA, pdffont.FamilyJA, true
	}
	r.tx, r.locale = textsFor(l.Locale, r.utf8)
	tx := r.tx
	subject := r.subject()
	pdf.SetTitle(r.txt(subject), r.utf8)
	if o.From.Name != "" {
		pdf.SetAuthor(r.txt(o.From.Name), r.utf8)
	}
	pdf.AliasNbPages("")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		r.setFont(r.font, "", 7)
		pdf.SetTextColor(90, 90, 90)
		r.cell(pageWidth/2, 4, l.InvoiceID+"  "+l.RFReference(), "L")
		r.cell(pageWidth/2, 4, fmt.Sprintf(tx.page, pdf.PageNo()), "R")
		pdf.SetTextColor(0, 0, 0)
	})
	pdf.AddPage()
	r.letterhead()
	r.window()
	r.info()
	pdf.SetXY(marginLeft, 100)
	r.setFont(r.font, "B", 11)
	r.para(subject, 5.5)
	pdf.Ln(3)
	r.setFont(r.font, "", 10)
	if tx.salutation != "" {
		r.para(fmt.Sprintf(tx.salutation, r.addressee()), lineHeight)
		pdf.Ln(2)
	}
	r.para(r.body(), lineHeight)
	pdf.Ln(4)
	r.table()
	r.terms()
	r.howToPay()
	r.closing()
	r.slip()
	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("letter: rendering the PDF of %s: %w", l.InvoiceID, err)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("letter: rendering the PDF of %s: %w", l.InvoiceID, err)
	}
	return buf.Bytes(), nil
}

type renderer struct {
	pdf    *fpdf.Fpdf
	tx     texts
	locale string
	l      Letter
	o      Options
	// font is the family every text is set in, mono the slip's values': Helvetica
	// and Courier, or both the Japanese font (utf8).
	font, mono string
	utf8       bool
	tr         func(string) string
}

// txt translates text to the core fonts' code page (Windows-1252); characters
// outside it are dropped by the translator, a few are written in their Latin forms.
// The Japanese font takes the text as it is (UTF-8).
func (r *renderer) txt(s string) string {
	if r.utf8 {
		return s
	}
	return r.tr(strings.NewReplacer("\uffe5", "\u00a5", "\u202f", " ", "\u00a0", " ", "\u2013", "-").Replace(s))
}

// setFont sets the family, style and size of the text that follows. The Japanese
// font has one face, registered once (regular): its text is set in it in every style.
func (r *renderer) setFont(family, style string, size float64) {
	if r.utf8 {
		style = ""
	}
	r.pdf.SetFont(family, style, size)
}

func (r *renderer) cell(w, h float64, s, align string) {
	r.pdf.CellFormat(w, h, r.txt(s), "", 0, align, false, 0, "")
}

func (r *renderer) line(w, h float64, s, align string) {
	r.pdf.CellFormat(w, h, r.txt(s), "", 1, align, false, 0, "")
}

func (r *renderer) para(s string, h float64) { r.paraAligned(s, h, "L") }

func (r *renderer) paraAligned(s string, h float64, align string) {
	r.pdf.SetX(marginLeft)
	r.multi(pageWidth, h, s, align)
}

// multi writes s in lines at most w wide. Japanese text is broken into lines by
// pdffont.MultiCell, as fpdf's MultiCell would drop the character it breaks at.
func (r *renderer) multi(w, h float64, s, align string) {
	if r.utf8 {
		pdffont.MultiCell(r.pdf, w, h, r.txt(s), align)
		return
	}
	r.pdf.MultiCell(w, h, r.txt(s), "", align, false)
}

func (r *renderer) amount(minor int64) string {
	return templates.FormatAmount(minor, r.l.Currency, r.locale)
}

func (r *renderer) date(d string) string { return templates.FormatDate(d, r.locale) }

func (r *renderer) addressee() string {
	if r.l.To.Name != "" {
		return r.l.To.Name
	}
	return r.l.CustomerName
}

func (r *renderer) daysOverdue() int {
	at, _ := time.Parse(time.DateOnly, r.l.Date)
	return templates.DaysOverdue(r.l.DueDate, at)
}

func (r *renderer) subject() string {
	return fmt.Sprintf(r.tx.subject[r.l.Template], r.l.InvoiceID, r.amount(r.l.AmountDue), r.date(r.l.DueDate), r.daysOverdue())
}

func (r *renderer) body() string {
	return fmt.Sprintf(r.tx.body[r.l.Template], r.l.InvoiceID, r.amount(r.l.AmountDue), r.date(r.l.DueDate), r.daysOverdue())
}

// unbroken keeps s on one line of a paragraph in Japanese (a reference, a phone
// number): its spaces become no-break spaces, which the core fonts write as spaces
// (txt).
func unbroken(s string) string { return strings.ReplaceAll(s, " ", "\u00a0") }

// letterhead is the business's name, address and contacts, top right.
func (r *renderer) letterhead() {
	pdf, from := r.pdf, r.o.From
	pdf.SetXY(infoX, marginTop)
	r.setFont(r.font, "B", 14)
	name := from.Name
	if name == "" {
		name = " "
	}
	r.multi(210-marginRight-infoX, 6, name, "L")
	r.setFont(r.font, "", 8.5)
	for _, a := range addressLines(from.Address) {
		pdf.SetX(infoX)
		r.line(210-marginRight-infoX, 4, a, "L")
	}
	if from.Phone != "" {
		pdf.SetX(infoX)
		r.line(210-marginRight-infoX, 4, r.tx.phone+": "+from.Phone, "L")
	}
	if from.ReplyTo != "" {
		pdf.SetX(infoX)
		r.line(210-marginRight-infoX, 4, r.tx.questions+": "+from.ReplyTo, "L")
	}
}

// window is the return address and the recipient's address, where the envelope's
// window shows them.
func (r *renderer) window() {
	pdf := r.pdf
	pdf.SetXY(windowX, windowY)
	r.setFont(r.font, "", 7)
	ret := r.o.From.Name
	if a := addressLines(r.o.From.Address); len(a) > 0 {
		ret = strings.Join(append([]string{r.o.From.Name}, a...), " · ")
	}
	r.line(windowWidth, 4, strings.TrimPrefix(ret, " · "), "L")
	pdf.SetLineWidth(0.1)
	pdf.Line(windowX, windowY+4.2, windowX+windowWidth, windowY+4.2)
	r.setFont(r.font, "", 10.5)
	pdf.SetXY(windowX, windowY+6)
	lines := r.l.To.Printed(r.l.CustomerName)
	if r.addressee() != "" {
		lines[0] = r.tx.named(lines[0]) // Printed starts with the addressee
	}
	for _, line := range lines {
		pdf.SetX(windowX)
		if pdf.GetStringWidth(r.txt(line)) > windowWidth {
			r.multi(windowWidth, 5, line, "L") // wider than the window (a long Japanese name): wrapped
			continue
		}
		r.line(windowWidth, 5, line, "L")
	}
}

// info is the block beside the window: date, customer, invoice and reference.
func (r *renderer) info() {
	pdf := r.pdf
	rows := [][2]string{
		{r.tx.date, r.date(r.l.Date)},
		{r.tx.customer, r.l.CustomerID},
		{r.tx.invoice, r.l.InvoiceID},
		{r.tx.reference, r.l.RFReference()},
	}
	pdf.SetY(windowY + 6)
	for _, row := range rows {
		pdf.SetX(infoX)
		r.setFont(r.font, "B", 8.5)
		r.cell(22, 4.5, row[0], "L")
		r.setFont(r.font, "", 8.5)
		r.line(210-marginRight-infoX-22, 4.5, row[1], "L")
	}
}

// columns of the invoice table (widths sum to pageWidth).
var columns = []float64{27, 22, 24, 18, 18, 28, 28}

func (r *renderer) table() {
	pdf, tx, l := r.pdf, r.tx, r.l
	pdf.SetFillColor(232, 237, 245)
	r.setFont(r.font, "B", 8)
	heads := []string{tx.invoice, tx.due, tx.original, tx.fees, tx.interest, tx.paid, tx.balance}
	pdf.SetX(marginLeft)
	for i, h := range heads {
		align := "R"
		if i < 2 {
			align = "L"
		}
		pdf.CellFormat(columns[i], 6, r.txt(h), "B", 0, align, true, 0, "")
	}
	pdf.Ln(-1)
	r.setFont(r.font, "", 8.5)
	cells := []string{l.InvoiceID, templates.FormatShortDate(l.DueDate, r.locale), r.amount(l.Original), r.amount(l.Fees),
		r.amount(l.Interest), r.amount(l.Paid()), r.amount(l.AmountDue)}
	pdf.SetX(marginLeft)
	for i, c := range cells {
		align := "R"
		if i < 2 {
			align = "L"
		}
		pdf.CellFormat(columns[i], 6, r.txt(c), "B", 0, align, false, 0, "")
	}
	pdf.Ln(-1)
	r.setFont(r.font, "B", 9.5)
	pdf.SetX(marginLeft)
	r.cell(pageWidth-40, 7, tx.total, "R")
	r.line(40, 7, r.amount(l.AmountDue), "R")
	pdf.Ln(2)
}

func (r *renderer) terms() {
	text, err := r.l.Terms.Text(r.l.Currency, r.locale)
	if err != nil || text == "" {
		return
	}
	r.setFont(r.font, "B", 9.5)
	r.para(r.tx.termsHeading, lineHeight)
	r.setFont(r.font, "", 9)
	r.para(text, 4.5)
	r.pdf.Ln(2)
}

func (r *renderer) howToPay() {
	pdf, tx := r.pdf, r.tx
	r.setFont(r.font, "B", 9.5)
	r.para(tx.payHeading, lineHeight)
	r.setFont(r.font, "", 9)
	if r.l.PaymentURL != "" {
		r.para(fmt.Sprintf(tx.payOnline, r.l.PaymentURL), 4.5)
	}
	r.para(fmt.Sprintf(tx.payTransfer, unbroken(r.l.RFReference())), 4.5)
	contact := tx.dispute
	var how []string
	if r.o.From.ReplyTo != "" {
		how = append(how, r.o.From.ReplyTo)
	}
	if r.o.From.Phone != "" {
		how = append(how, unbroken(r.o.From.Phone))
	}
	if len(how) > 0 {
		contact = fmt.Sprintf(tx.disputeAt, strings.Join(how, tx.listSep))
	}
	r.para(contact, 4.5)
	pdf.Ln(3)
}

func (r *renderer) closing() {
	pdf := r.pdf
	r.setFont(r.font, "", 10)
	align := r.tx.closingAlign
	if align == "" {
		align = "L"
	}
	closing := r.tx.closing
	if c, ok := r.tx.closings[r.l.Template]; ok {
		closing = c
	}
	r.paraAligned(closing, lineHeight, align)
	if r.o.From.Name != "" && !r.tx.unsigned {
		pdf.Ln(4)
		r.para(r.o.From.Name, lineHeight)
	}
}

// slip is the payment slip at the foot of the last page (a new page when the letter
// leaves no room): payee, bank details, amount, reference and invoice.
func (r *renderer) slip() {
	pdf, tx, l := r.pdf, r.tx, r.l
	top := pageHeight - bottomMargin - slipHeight
	if pdf.GetY() > top-4 {
		pdf.AddPage()
	}
	pdf.SetDashPattern([]float64{1.5, 1.2}, 0)
	pdf.SetLineWidth(0.2)
	pdf.Line(10, top, 200, top)
	pdf.SetDashPattern([]float64{}, 0)
	pdf.SetXY(marginLeft, top+3)
	r.setFont(r.font, "B", 11)
	r.line(pageWidth, 6, tx.slip, "L")
	payee := r.o.Bank.Holder
	if payee == "" {
		payee = r.o.From.Name
	}
	rows := [][2]string{{tx.payee, payee}}
	if r.o.Bank.IsZero() {
		rows = append(rows, [2]string{tx.iban, tx.noBank})
	} else {
		rows = append(rows, [2]string{tx.iban, FormatIBAN(r.o.Bank.IBAN)})
		if r.o.Bank.BIC != "" {
			rows = append(rows, [2]string{tx.bic, r.o.Bank.BIC})
		}
	}
	rows = append(rows,
		[2]string{tx.amount, r.amount(l.AmountDue) + " (" + l.Currency + ")"},
		[2]string{tx.slipReference, l.RFReference()},
		[2]string{tx.slipInvoice, l.InvoiceID + tx.listSep + r.addressee()})
	pdf.SetDrawColor(150, 150, 150)
	for _, row := range rows {
		pdf.SetX(marginLeft)
		r.setFont(r.font, "", 7.5)
		r.cell(38, 7, row[0], "L")
		r.setFont(r.mono, "B", 11)
		pdf.CellFormat(pageWidth-38, 7, r.txt(row[1]), "1", 1, "L", false, 0, "")
		pdf.Ln(0.8)
	}
	pdf.SetDrawColor(0, 0, 0)
}

// addressLines splits a postal address written on one line ("Hauptstr. 1, 10115
// Berlin") or several into its lines.
func addressLines(a string) []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(a, ", ", "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
