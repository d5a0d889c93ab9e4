package pdffont

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWrapLines(t *testing.T) {
	width := func(s string) float64 { // a Japanese character is two, anything else one
		w := 0.0
		for _, r := range s {
			if wide(r) {
				w += 2
			} else {
				w++
			}
		}
		return w
	}
	tests := []struct {
		s     string
		width float64
		want  []string
	}{
		{"拝啓　時下ますます", 8, []string{"拝啓　時", "下ますま", "す"}},
		// No line starts with 、 or 。: the character before goes down with it.
		{"あいう、えお。", 6, []string{"あい", "う、え", "お。"}},
		// Latin words and numbers stay whole, a number keeps its unit, ￥ its number.
		{"請求書 INV-1001 の￥112,300を20日", 12, []string{"請求書", "INV-1001 の", "￥112,300を", "20日"}},
		// No line ends with an opening bracket.
		{"あいう（えお）", 8, []string{"あいう", "（えお）"}},
		// A word wider than a line is broken between its characters; own breaks stay.
		{"https://pay.example.com\nあ", 10, []string{"https://pa", "y.example.", "com", "あ"}},
	}
	for _, tt := range tests {
		got := WrapLines(tt.s, tt.width, width)
		require.Equal(t, tt.want, got, tt.s)
		for _, line := range got {
			require.LessOrEqual(t, width(line), tt.width, line)
		}
	}
}
