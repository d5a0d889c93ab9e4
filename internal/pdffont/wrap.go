package pdffont

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"codeberg.org/go-pdf/fpdf"
)

// Japanese line breaking. fpdf's MultiCell breaks a line of Japanese at an
// ideograph and drops it (it treats ideographs as spaces), so Japanese text is broken
// into lines here and handed over with explicit line breaks: between any two
// Japanese characters, at spaces, never inside a Latin word or number ("INV-1001",
// "￥112,300"), and by the customary rules (kinsoku): no line starts with closing
// punctuation or a small kana, none ends with an opening bracket or a currency sign,
// and a number keeps its unit.

// noStart are the characters a line must not start with.
const noStart = "、。，．）」』】〕〉》！？ー…‥・：；ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々,.)]!?:;%"

// noEnd are the characters a line must not end with.
const noEnd = "（「『【〔〈《([￥＄"

// unitAfterNumber are the characters that stay on the line of the number before them
// ("12月", "20日").
const unitAfterNumber = "年月日円件回"

// MultiCell writes s in lines at most w wide, as fpdf's MultiCell does, with a
// Japanese text broken into lines here (WrapLines) first: give it the text of a
// document written in the Japanese font.
func MultiCell(pdf *fpdf.Fpdf, w, h float64, s, align string) {
	s = strings.Join(WrapLines(s, w-2*pdf.GetCellMargin()-0.01, pdf.GetStringWidth), "\n")
	pdf.MultiCell(w, h, s, "", align, false)
}

// WrapLines breaks s into lines no wider than width, as measured by textWidth;
// its own line breaks stay. A word wider than width is broken between its
// characters.
func WrapLines(s string, width float64, textWidth func(string) float64) []string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, atom := range atoms(para) {
			switch {
			case textWidth(line+atom) <= width:
				line += atom
			case strings.TrimSpace(atom) == "":
				out = append(out, strings.TrimRight(line, " "))
				line = ""
			default:
				if strings.TrimSpace(line) != "" {
					out = append(out, strings.TrimRight(line, " "))
				}
				line = ""
				for _, r := range atom { // wider than a line on its own
					if line != "" && textWidth(line+string(r)) > width {
						out = append(out, line)
						line = ""
					}
					line += string(r)
				}
			}
		}
		out = append(out, strings.TrimRight(line, " "))
	}
	return out
}

// atoms splits a paragraph into the pieces a line may break between: runs of spaces,
// Latin words, and single Japanese characters, with the kinsoku characters bound to
// their neighbours.
func atoms(s string) []string {
	var out []string
	word := ""
	flush := func() {
		if word != "" {
			out = append(out, word)
			word = ""
		}
	}
	for _, r := range s {
		switch {
		case r == ' ':
			if strings.TrimSpace(word) != "" {
				flush()
			}
			word += " "
		case wide(r):
			flush()
			out = append(out, string(r))
		default:
			if strings.TrimSpace(word) == "" {
				flush()
			}
			word += string(r)
		}
	}
	flush()
	// Bind: a piece starting with a no-start character to the one before it, one
	// ending with a no-end character to the one after it.
	var bound []string
	for _, a := range out {
		first, _ := utf8.DecodeRuneInString(a)
		if n := len(bound); n > 0 && strings.TrimSpace(a) != "" && strings.TrimSpace(bound[n-1]) != "" &&
			(strings.ContainsRune(noStart, first) || endsWithNoEnd(bound[n-1]) ||
				strings.ContainsRune(unitAfterNumber, first) && endsWithDigit(bound[n-1])) {
			bound[n-1] += a
			continue
		}
		bound = append(bound, a)
	}
	return bound
}

func endsWithDigit(s string) bool {
	last, _ := utf8.DecodeLastRuneInString(s)
	return last >= '0' && last <= '9'
}

func endsWithNoEnd(s string) bool {
	last, _ := utf8.DecodeLastRuneInString(s)
	return strings.ContainsRune(noEnd, last)
}

// wide reports whether r is a Japanese (or other East Asian) character, after which
// a line may break.
func wide(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) ||
		(r >= 0x3000 && r <= 0x303f) || // CJK punctuation, the ideographic space
		(r >= 0xff00 && r <= 0xffef) || // full-width forms (￥, （, ）, ：)
		r == 'ー' || r == '・'
}
