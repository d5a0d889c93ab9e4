package statement

import "github.com/dunwell/dunwell/internal/pdffont"

// EnvFontJA names the TrueType font (.ttf) with Japanese glyphs that a Japanese
// customer's statement PDF (and letter) is written in. Unset: the first of
// DefaultFontsJA that exists. No such font (or one that cannot be read): the PDF falls
// back to the built-in Latin fonts with English labels, as for any language Dunwell
// has no PDF texts for. Debian and Ubuntu ship IPAGothic in fonts-ipafont-gothic.
const EnvFontJA = pdffont.EnvJA

// DefaultFontsJA are where Debian's fonts-ipafont-gothic (and its alternatives link)
// put IPAGothic.
var DefaultFontsJA = pdffont.DefaultJA

// FontJA returns the path of the Japanese font to use: $DUNWELL_PDF_FONT_JA if set,
// else the first of DefaultFontsJA; "" when that file does not exist (a variable set
// to a missing file does not fall through to the defaults: it is the operator's choice).
func FontJA() string { return pdffont.JA() }

// needsFont reports whether the locale's PDF texts need a font beyond the built-in
// Latin ones (Japanese).
func needsFont(locale string) bool { return pdffont.NeedsJA(locale) }
