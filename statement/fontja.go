package statement

import (
	"bytes"
	"os"
	"strings"
	"sync"
)

// EnvFontJA names the TrueType font (.ttf) with Japanese glyphs that a Japanese
// customer's statement PDF is written in. Unset: the first of DefaultFontsJA that
// exists. No such font (or one that cannot be read): the PDF falls back to the
// built-in Latin fonts with English labels, as for any language Dunwell has no PDF
// texts for. Debian and Ubuntu ship IPAGothic in fonts-ipafont-gothic.
const EnvFontJA = "DUNWELL_PDF_FONT_JA"

// DefaultFontsJA are where Debian's fonts-ipafont-gothic (and its alternatives link)
// put IPAGothic.
var DefaultFontsJA = []string{
	"/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
	"/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
}

// FontJA returns the path of the Japanese font to use: $DUNWELL_PDF_FONT_JA if set,
// else the first of DefaultFontsJA; "" when that file does not exist (a variable set
// to a missing file does not fall through to the defaults: it is the operator's choice).
func FontJA() string {
	candidates := DefaultFontsJA
	if p := strings.TrimSpace(os.Getenv(EnvFontJA)); p != "" {
		candidates = []string{p}
	}
	for _, p := range candidates {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// fontCache holds the fonts read, by path: a font is several megabytes, read once.
var fontCache sync.Map // path -> fontFile

type fontFile struct {
	once sync.Once
	b    []byte
	err  error
}

// readFont reads a font file once per process.
func readFont(path string) ([]byte, error) {
	v, _ := fontCache.LoadOrStore(path, &fontFile{})
	f := v.(*fontFile)
	f.once.Do(func() { f.b, f.err = os.ReadFile(path) })
	return f.b, f.err
}

// isTrueType reports whether b starts as a TrueType font file does (fpdf embeds
// TrueType outlines only: not CFF-based OpenType, not collections).
func isTrueType(b []byte) bool {
	return bytes.HasPrefix(b, []byte{0, 1, 0, 0}) || bytes.HasPrefix(b, []byte("true"))
}

// needsFont reports whether the locale's PDF texts need a font beyond the built-in
// Latin ones (Japanese).
func needsFont(locale string) bool {
	lang, _, _ := strings.Cut(strings.ToLower(locale), "-")
	lang, _, _ = strings.Cut(lang, "_")
	return lang == "ja"
}
