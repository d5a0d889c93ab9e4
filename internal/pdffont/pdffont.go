// Package pdffont finds and embeds the TrueType font that Dunwell's PDFs (statements,
// letters) are written in for a language the PDF core fonts cannot write: the core
// fonts carry Latin text only (Windows-1252), so a Japanese PDF needs a font with
// Japanese glyphs, embedded as a subset. No such font (or one that cannot be read):
// the PDF falls back to the core fonts and English, which is each caller's to do.
package pdffont

import (
	"bytes"
	"os"
	"strings"
	"sync"

	"codeberg.org/go-pdf/fpdf"
)

// EnvJA names the TrueType font (.ttf) with Japanese glyphs that a Japanese
// customer's PDFs are written in. Unset: the first of DefaultJA that exists. Debian
// and Ubuntu ship IPAGothic in fonts-ipafont-gothic.
const EnvJA = "DUNWELL_PDF_FONT_JA"

// DefaultJA are where Debian's fonts-ipafont-gothic (and its alternatives link) put
// IPAGothic.
var DefaultJA = []string{
	"/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
	"/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
}

// FamilyJA is the family name EmbedJA registers the Japanese font under.
const FamilyJA = "dunwell-ja"

// JA returns the path of the Japanese font to use: $DUNWELL_PDF_FONT_JA if set, else
// the first of DefaultJA; "" when that file does not exist (a variable set to a
// missing file does not fall through to the defaults: it is the operator's choice).
func JA() string {
	candidates := DefaultJA
	if p := strings.TrimSpace(os.Getenv(EnvJA)); p != "" {
		candidates = []string{p}
	}
	for _, p := range candidates {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// NeedsJA reports whether text in the locale's language needs the Japanese font
// ("ja", "ja-JP", "ja_JP").
func NeedsJA(locale string) bool {
	lang, _, _ := strings.Cut(strings.ToLower(locale), "-")
	lang, _, _ = strings.Cut(lang, "_")
	return lang == "ja"
}

// EmbedJA registers the TrueType font at path (empty: JA()) in pdf as FamilyJA, in
// the styles the document sets it in ("" regular, "B", "I", "BI"; all four when none
// are given), each with the same glyphs (IPAGothic has one face), to be embedded as a
// subset of the glyphs used. Each style costs a parse of the font, here and when the
// document is written: register only those used. It reports false and
// leaves pdf usable with its core fonts when there is no font, the file cannot be
// read, or it is not a TrueType font fpdf can embed (fpdf takes TrueType outlines
// only: not CFF-based OpenType, not collections).
func EmbedJA(pdf *fpdf.Fpdf, path string, styles ...string) bool {
	if len(styles) == 0 {
		styles = []string{"", "B", "I", "BI"}
	}
	if path == "" {
		path = JA()
	}
	if path == "" || !pdf.Ok() {
		return false
	}
	b, ok := read(path)
	if !ok {
		return false
	}
	for _, style := range styles {
		pdf.AddUTF8FontFromBytes(FamilyJA, style, b)
	}
	if !pdf.Ok() {
		pdf.ClearError()
		return false
	}
	return true
}

// cache holds the fonts read, by path: a font is several megabytes, read and checked
// once.
var cache sync.Map // path -> *file

type file struct {
	once sync.Once
	b    []byte
	ok   bool
}

// read reads a font file once per process and reports whether fpdf can embed it.
func read(path string) ([]byte, bool) {
	v, _ := cache.LoadOrStore(path, &file{})
	f := v.(*file)
	f.once.Do(func() {
		b, err := os.ReadFile(path)
		if err == nil && isTrueType(b) && parses(b) {
			f.b, f.ok = b, true
		}
	})
	return f.b, f.ok
}

// isTrueType reports whether b starts as a TrueType font file does.
func isTrueType(b []byte) bool {
	return bytes.HasPrefix(b, []byte{0, 1, 0, 0}) || bytes.HasPrefix(b, []byte("true"))
}

// parses reports whether fpdf reads b as a font, in a document of its own: fpdf
// panics on some damaged files (a truncated table) instead of failing.
func parses(b []byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes(FamilyJA, "", b)
	return pdf.Ok()
}
