package money

import "math/big"

// Rounding rule for every computed amount (fees, interest, discounts): round half
// away from zero, which for the non-negative amounts Dunwell computes is "half up"
// (commercial rounding: 0.5 minor unit rounds up). It is applied once, to the exact
// result in minor units of the invoice's currency, so a JPY amount rounds to whole
// yen, a USD amount to cents and a KWD amount to fils. Banker's rounding was not
// chosen: its bias only cancels over many roundings, and each charge here is rounded
// once, on one invoice, where customers expect the commercial rule.

// MulDivRound returns a*b/c rounded half away from zero, computed exactly (the
// product may exceed int64). c must be positive. A result beyond int64 saturates at
// math.MaxInt64 or math.MinInt64; callers cap amounts far below that.
func MulDivRound(a, b, c int64) int64 {
	num := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	return RoundDivBig(num, big.NewInt(c))
}

// RoundDivBig returns num/den rounded half away from zero, saturated to int64. den
// must be positive.
func RoundDivBig(num, den *big.Int) int64 {
	if den.Sign() <= 0 {
		panic("money: RoundDivBig with non-positive denominator")
	}
	q, r := new(big.Int).QuoRem(num, den, new(big.Int)) // truncates toward zero
	twice := new(big.Int).Abs(r)
	twice.Lsh(twice, 1)
	if twice.Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() {
		if q.Sign() < 0 {
			return -1 << 63
		}
		return 1<<63 - 1
	}
	return q.Int64()
}
