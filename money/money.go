// Package money handles amounts of money as integer minor units of an ISO 4217
// currency (cents for USD, yen for JPY, fils for KWD). Amounts cross the API as
// decimal strings in major units ("1250.00"); inside Dunwell they are int64 minor
// units, never floats.
//
// Rounding rule: parsing never rounds. A string with more fraction digits than the
// currency's exponent is rejected, so no money is silently created or lost.
// Computations that need rounding (fees, interest, discounts) round once, half away
// from zero (half up for the positive amounts they produce), through RoundDiv and
// MulDivRound; see round.go.
package money

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"golang.org/x/text/currency"
)

// MaxMinor bounds every amount Dunwell accepts (10^15 minor units, e.g. ten trillion
// dollars), far below int64 overflow even after summing many invoices.
const MaxMinor int64 = 1_000_000_000_000_000

// ErrUnknownCurrency is returned for a code that is not an active ISO 4217 currency.
var ErrUnknownCurrency = errors.New("not an ISO 4217 currency code")

// Exponent returns the number of minor-unit digits of an ISO 4217 currency
// (USD 2, JPY 0, KWD 3). Codes for precious metals, funds and testing (X..) are
// rejected: invoices are not issued in them.
func Exponent(code string) (int, error) {
	if len(code) != 3 || strings.ToUpper(code) != code || code[0] == 'X' {
		return 0, fmt.Errorf("%q: %w", code, ErrUnknownCurrency)
	}
	unit, err := currency.ParseISO(code)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", code, ErrUnknownCurrency)
	}
	scale, _ := currency.Standard.Rounding(unit)
	return scale, nil
}

// ValidCurrency reports whether code is an accepted ISO 4217 code.
func ValidCurrency(code string) bool {
	_, err := Exponent(code)
	return err == nil
}

// DecimalsError is an amount written with more decimal places than its currency has
// ("10.5" yen). Parse returns it so a caller can tell it from a malformed amount.
type DecimalsError struct {
	Amount, Currency string
	Places, Allowed  int
}

func (e *DecimalsError) Error() string {
	return fmt.Sprintf("%q has %d decimal places; %s allows %d", e.Amount, e.Places, e.Currency, e.Allowed)
}

// Parse converts a decimal string in major units ("1250.00", "1250", "0.5") into minor
// units of currency code. It rejects signs, exponents, thousands separators, more
// fraction digits than the currency allows, and amounts above MaxMinor. Zero and
// negative amounts are not representable by the syntax except "0"; callers decide
// whether zero is allowed.
func Parse(s, code string) (int64, error) {
	exp, err := Exponent(code)
	if err != nil {
		return 0, err
	}
	if s == "" {
		return 0, errors.New("is empty")
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && frac == "") {
		return 0, fmt.Errorf("%q is not a decimal amount like \"1250.00\"", s)
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return 0, fmt.Errorf("%q is not a decimal amount like \"1250.00\"", s)
			}
		}
	}
	if len(frac) > exp {
		return 0, &DecimalsError{Amount: s, Currency: code, Places: len(frac), Allowed: exp}
	}
	if len(whole) > 18 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	digits := whole + frac + strings.Repeat("0", exp-len(frac))
	var v int64
	for _, r := range digits {
		v = v*10 + int64(r-'0')
		if v > MaxMinor {
			return 0, fmt.Errorf("%q is too large", s)
		}
	}
	return v, nil
}

// Format renders minor units as a plain decimal string in major units with exactly
// the currency's number of fraction digits ("1250.00", "1250" for JPY, "-3.500" for
// KWD). An unknown currency formats with two digits.
func Format(minor int64, code string) string {
	exp, err := Exponent(code)
	if err != nil {
		exp = 2
	}
	neg := minor < 0
	if neg {
		if minor == math.MinInt64 {
			return "overflow"
		}
		minor = -minor
	}
	s := fmt.Sprintf("%0*d", exp+1, minor)
	if exp > 0 {
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// RoundDiv returns num/den rounded half away from zero. den must be positive.
func RoundDiv(num, den int64) int64 {
	if den <= 0 {
		panic("money: RoundDiv with non-positive denominator")
	}
	q, r := num/den, num%den
	if r < 0 {
		r = -r
	}
	if 2*r >= den {
		if num < 0 {
			q--
		} else {
			q++
		}
	}
	return q
}
