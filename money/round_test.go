package money

import (
	"math"
	"math/big"
	"testing"
)

func TestMulDivRoundHalfUp(t *testing.T) {
	cases := []struct{ a, b, c, want int64 }{
		{1_100, 150, 10_000, 17}, // JPY: 16.5 yen -> 17
		{1_030, 150, 10_000, 15}, // 15.45 -> 15
		{1_100, 150, 10_000, 17}, // KWD: 16.5 fils -> 17
		{125_000, 150, 10_000, 1_875},
		{5, 1, 2, 3},                         // 2.5 -> 3 (banker's would give 2)
		{7, 1, 2, 4},                         // 3.5 -> 4
		{-5, 1, 2, -3},                       // half away from zero
		{MaxMinor, 10_000, 1, math.MaxInt64}, // saturates instead of wrapping
		{MaxMinor, 10_000, 10_000, MaxMinor},
	}
	for _, c := range cases {
		if got := MulDivRound(c.a, c.b, c.c); got != c.want {
			t.Errorf("MulDivRound(%d, %d, %d) = %d, want %d", c.a, c.b, c.c, got, c.want)
		}
	}
	if got := RoundDivBig(big.NewInt(-7), big.NewInt(2)); got != -4 {
		t.Errorf("RoundDivBig(-7, 2) = %d", got)
	}
}
