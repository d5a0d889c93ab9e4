package money

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in, cur string
		want    int64
		bad     bool
	}{
		{"1250.00", "USD", 125000, false},
		{"1250", "USD", 125000, false},
		{"0.5", "USD", 50, false},
		{"0", "USD", 0, false},
		{"1250", "JPY", 1250, false},
		{"1.5", "JPY", 0, true},
		{"1.234", "KWD", 1234, false},
		{"1.001", "USD", 0, true},
		{"-1.00", "USD", 0, true},
		{"+1.00", "USD", 0, true},
		{"1e3", "USD", 0, true},
		{"1,000.00", "USD", 0, true},
		{".5", "USD", 0, true},
		{"5.", "USD", 0, true},
		{"", "USD", 0, true},
		{"10", "usd", 0, true},
		{"10", "ABC", 0, true},
		{"10", "XAU", 0, true},
		{"99999999999999999999", "USD", 0, true},
		{"10000000000000.01", "USD", 0, true},
	}
	for _, c := range cases {
		got, err := Parse(c.in, c.cur)
		if c.bad {
			if err == nil {
				t.Errorf("Parse(%q, %s) = %d, want error", c.in, c.cur, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Parse(%q, %s) = %d, %v; want %d", c.in, c.cur, got, err, c.want)
		}
	}
}

func TestFormatRoundTrip(t *testing.T) {
	cases := []struct {
		minor int64
		cur   string
		want  string
	}{
		{125000, "USD", "1250.00"},
		{5, "USD", "0.05"},
		{0, "USD", "0.00"},
		{-350, "USD", "-3.50"},
		{1250, "JPY", "1250"},
		{1, "KWD", "0.001"},
	}
	for _, c := range cases {
		if got := Format(c.minor, c.cur); got != c.want {
			t.Errorf("Format(%d, %s) = %q, want %q", c.minor, c.cur, got, c.want)
		}
		if c.minor >= 0 {
			back, err := Parse(c.want, c.cur)
			if err != nil || back != c.minor {
				t.Errorf("Parse(Format(%d)) = %d, %v", c.minor, back, err)
			}
		}
	}
}

func TestRoundDiv(t *testing.T) {
	cases := []struct{ num, den, want int64 }{
		{5, 2, 3}, {4, 2, 2}, {7, 3, 2}, {-5, 2, -3}, {-7, 3, -2}, {1, 3, 0}, {2, 3, 1},
	}
	for _, c := range cases {
		if got := RoundDiv(c.num, c.den); got != c.want {
			t.Errorf("RoundDiv(%d, %d) = %d, want %d", c.num, c.den, got, c.want)
		}
	}
}

func TestParseTellsTooManyDecimalsApart(t *testing.T) {
	var dec *DecimalsError
	_, err := Parse("10.5", "JPY")
	if !errors.As(err, &dec) || dec.Places != 1 || dec.Allowed != 0 || dec.Currency != "JPY" {
		t.Fatalf("Parse(10.5, JPY) = %v (%T); want a *DecimalsError", err, err)
	}
	if err.Error() != `"10.5" has 1 decimal places; JPY allows 0` {
		t.Fatalf("message %q", err.Error())
	}
	for _, s := range []string{"ten", "", "1.", "99999999999999999999"} {
		if _, err := Parse(s, "USD"); err == nil || errors.As(err, &dec) {
			t.Errorf("Parse(%q, USD) = %v; want an error other than *DecimalsError", s, err)
		}
	}
}
