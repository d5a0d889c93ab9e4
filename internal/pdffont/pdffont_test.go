package pdffont

import (
	"os"
	"path/filepath"
	"testing"

	"codeberg.org/go-pdf/fpdf"
	"github.com/stretchr/testify/require"
)

func TestNeedsJA(t *testing.T) {
	for locale, want := range map[string]bool{"ja": true, "ja-JP": true, "JA_jp": true, "en-JP": false, "de-DE": false, "": false} {
		require.Equal(t, want, NeedsJA(locale), locale)
	}
}

// TestJA: the variable names the font; set to a missing file it is the operator's
// choice and does not fall through to the system's font.
func TestJA(t *testing.T) {
	font := filepath.Join(t.TempDir(), "font.ttf")
	require.NoError(t, os.WriteFile(font, []byte{0, 1, 0, 0}, 0o600))
	t.Setenv(EnvJA, font)
	require.Equal(t, font, JA())
	t.Setenv(EnvJA, filepath.Join(t.TempDir(), "missing.ttf"))
	require.Equal(t, "", JA())
}

// TestEmbedJA: a file that is not a TrueType font (or one fpdf cannot parse) is
// refused and leaves the document usable with its core fonts.
func TestEmbedJA(t *testing.T) {
	dir := t.TempDir()
	for name, b := range map[string][]byte{"text.ttf": []byte("not a font"), "truncated.ttf": {0, 1, 0, 0, 0, 9}} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		pdf := fpdf.New("P", "mm", "A4", "")
		require.False(t, EmbedJA(pdf, p), name)
		require.True(t, pdf.Ok(), name)
	}
	require.False(t, EmbedJA(fpdf.New("P", "mm", "A4", ""), filepath.Join(dir, "missing.ttf")))
	if font := JA(); font != "" {
		pdf := fpdf.New("P", "mm", "A4", "")
		require.True(t, EmbedJA(pdf, font))
		pdf.AddPage()
		for _, style := range []string{"", "B", "I", "BI"} {
			pdf.SetFont(FamilyJA, style, 10)
			pdf.Cell(40, 10, "請求書")
		}
		require.NoError(t, pdf.Error())
	}
}
