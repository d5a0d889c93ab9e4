package collection

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/policy"
)

// chargePolicy parses a policy with one step and the given charge fields.
func chargePolicy(t *testing.T, charges string) *policy.Policy {
	t.Helper()
	src := "id: c\nversion: 1\nsteps:\n  - {name: a, offset: +1d, channels: [email], template: t}\n" + charges
	p, err := policy.Parse("c.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// utcInvoice is due 2026-03-31 in UTC, so the charge start is 2026-04-01 00:00 UTC.
func utcInvoice(currency string, amount int64) *Invoice {
	return &Invoice{
		ID: "INV-C", Currency: currency, AmountDue: amount,
		Customer: Customer{ID: "C", Name: "N", Email: "n@example.com", Timezone: "UTC"},
		IssuedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		DueDate:  Date{2026, time.March, 31},
	}
}

var chargeStart = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)

func day(n int) time.Time { return chargeStart.Add(time.Duration(n) * 24 * time.Hour) }

func pay(amount int64, at time.Time) Payment {
	return Payment{PaymentID: at.String(), Amount: amount, PaidAt: at}
}

func feeAmounts(c Charges) []int64 {
	var out []int64
	for _, f := range c.LateFees {
		out = append(out, f.Amount)
	}
	return out
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLateFees(t *testing.T) {
	cases := []struct {
		name     string
		policy   string
		currency string
		amount   int64
		payments []Payment
		at       time.Time
		fees     []int64
		next     time.Time
	}{
		{"none before the grace period ends", "grace_period: 5d\nlate_fee: {amount: {USD: \"25.00\"}}\n", "USD", 125_000, nil,
			day(5).Add(-time.Second), nil, day(5)},
		{"fixed, once, at the end of grace", "grace_period: 5d\nlate_fee: {amount: {USD: \"25.00\"}}\n", "USD", 125_000, nil,
			day(5), []int64{2_500}, time.Time{}},
		{"fixed, once, long after", "grace_period: 5d\nlate_fee: {amount: {USD: \"25.00\"}}\n", "USD", 125_000, nil,
			day(400), []int64{2_500}, time.Time{}},
		{"no grace: at the first overdue instant", "late_fee: {amount: {USD: \"25.00\"}}\n", "USD", 125_000, nil,
			chargeStart, []int64{2_500}, time.Time{}},
		{"currency the policy does not price: none", "late_fee: {amount: {USD: \"25.00\"}}\n", "EUR", 125_000, nil,
			day(10), nil, time.Time{}},
		{"paid before the fee: none", "grace_period: 5d\nlate_fee: {amount: {USD: \"25.00\"}}\n", "USD", 125_000,
			[]Payment{pay(125_000, day(4))}, day(10), nil, time.Time{}},
		{"paid exactly at the fee instant: none", "grace_period: 5d\nlate_fee: {amount: {USD: \"25.00\"}}\n", "USD", 125_000,
			[]Payment{pay(125_000, day(5))}, day(10), nil, time.Time{}},
		{"percent recurring, capped: the 7th is cut to fit", "late_fee:\n  percent: 1.5%\n  every: 30d\n  cap: {percent: 10%}\n", "USD", 125_000, nil,
			day(400), []int64{1_875, 1_875, 1_875, 1_875, 1_875, 1_875, 1_250}, time.Time{}},
		{"percent recurring, mid-way: next is announced", "late_fee:\n  percent: 1.5%\n  every: 30d\n  cap: {percent: 10%}\n", "USD", 125_000, nil,
			day(31), []int64{1_875, 1_875}, day(60)},
		{"percent of the unpaid principal after a partial payment", "late_fee:\n  percent: 1.5%\n  every: 30d\n  cap: {percent: 10%}\n", "USD", 125_000,
			[]Payment{pay(25_000, day(10))}, day(30), []int64{1_875, 1_500}, day(60)},
		{"stops once the principal is paid, though fees are owed", "late_fee:\n  percent: 1.5%\n  every: 30d\n  cap: {percent: 10%}\n", "USD", 125_000,
			[]Payment{pay(125_000, day(10))}, day(200), []int64{1_875}, time.Time{}},
		{"amount cap below the percent cap", "late_fee:\n  amount: {USD: \"40.00\"}\n  every: 1d\n  cap: {percent: 10%, amount: {USD: \"100.00\"}}\n", "USD", 125_000, nil,
			day(30), []int64{4_000, 4_000, 2_000}, time.Time{}},
		{"JPY: 1.5% of 1100 yen is 16.5, rounded half up to 17", "late_fee: {percent: 1.5%}\n", "JPY", 1_100, nil,
			day(1), []int64{17}, time.Time{}},
		{"JPY: 1.5% of 1000 yen is 15", "late_fee: {percent: 1.5%}\n", "JPY", 1_000, nil,
			day(1), []int64{15}, time.Time{}},
		{"JPY: 1.5% of 1030 yen is 15.45, rounded down to 15", "late_fee: {percent: 1.5%}\n", "JPY", 1_030, nil,
			day(1), []int64{15}, time.Time{}},
		{"KWD: 1.5% of 1.100 KWD is 16.5 fils, rounded half up to 17", "late_fee: {percent: 1.5%}\n", "KWD", 1_100, nil,
			day(1), []int64{17}, time.Time{}},
		{"KWD: fixed 7.500", "late_fee: {amount: {KWD: \"7.500\"}}\n", "KWD", 1_000_000, nil,
			day(1), []int64{7_500}, time.Time{}},
		{"USD: 1.5% of 10.30 is 0.1545, rounded to 0.15", "late_fee: {percent: 1.5%}\n", "USD", 1_030, nil,
			day(1), []int64{15}, time.Time{}},
		{"USD: 1.5% of 0.30 is 0.45 cent, rounded to 0: no fee", "late_fee: {percent: 1.5%}\n", "USD", 30, nil,
			day(1), nil, time.Time{}},
		{"at most MaxLateFees", "late_fee:\n  amount: {USD: \"0.01\"}\n  every: 1d\n  cap: {amount: {USD: \"1000000.00\"}}\n", "USD", 125_000, nil,
			day(5000), nil, time.Time{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := chargePolicy(t, c.policy)
			inv := utcInvoice(c.currency, c.amount)
			got := ComputeCharges(p, inv, c.payments, c.at)
			if c.name == "at most MaxLateFees" {
				if len(got.LateFees) != policy.MaxLateFees || got.LateFeesTotal != policy.MaxLateFees {
					t.Fatalf("%d fees totalling %d, want %d", len(got.LateFees), got.LateFeesTotal, policy.MaxLateFees)
				}
				return
			}
			if !equalInts(feeAmounts(got), c.fees) {
				t.Errorf("fees = %v, want %v", feeAmounts(got), c.fees)
			}
			if !got.NextLateFeeAt.Equal(c.next) {
				t.Errorf("next fee at %v, want %v", got.NextLateFeeAt, c.next)
			}
			checkInvariant(t, got)
		})
	}
}

func TestLateFeeTimesAndCapFlag(t *testing.T) {
	p := chargePolicy(t, "grace_period: 5d\nlate_fee:\n  percent: 1.5%\n  every: 30d\n  cap: {percent: 10%}\n")
	got := ComputeCharges(p, utcInvoice("USD", 125_000), nil, day(400))
	for i, f := range got.LateFees {
		if want := day(5 + 30*i); !f.At.Equal(want) {
			t.Errorf("fee %d at %v, want %v", i, f.At, want)
		}
		if f.Capped != (i == len(got.LateFees)-1) {
			t.Errorf("fee %d capped = %v", i, f.Capped)
		}
	}
	if got.LateFeesTotal != 12_500 || got.Balance != 137_500 {
		t.Errorf("fees %d, balance %d; want 125.00 and 1375.00", got.LateFeesTotal, got.Balance)
	}
}

func TestLateFeesInTheCustomersTimezone(t *testing.T) {
	// New York, due Saturday 2026-03-07: overdue from Sunday 00:00 EST; the grace of
	// 1 day ends Monday 00:00 EDT, across the spring-forward night (a 23-hour day).
	ny, _ := time.LoadLocation("America/New_York")
	inv := utcInvoice("USD", 10_000)
	inv.Customer.Timezone = "America/New_York"
	inv.DueDate = Date{2026, time.March, 7}
	p := chargePolicy(t, "grace_period: 1d\nlate_fee:\n  amount: {USD: \"5.00\"}\n  every: 1d\n  cap: {amount: {USD: \"10.00\"}}\n")
	got := ComputeCharges(p, inv, nil, time.Date(2026, 3, 20, 0, 0, 0, 0, ny))
	want := []time.Time{time.Date(2026, 3, 9, 0, 0, 0, 0, ny), time.Date(2026, 3, 10, 0, 0, 0, 0, ny)}
	if len(got.LateFees) != 2 || !got.LateFees[0].At.Equal(want[0]) || !got.LateFees[1].At.Equal(want[1]) {
		t.Fatalf("fees %+v, want at %v and %v", got.LateFees, want[0], want[1])
	}
	if got.LateFees[0].At.Sub(ChargeStart(p, inv)) != 23*time.Hour {
		t.Errorf("grace across the DST night should be 23 hours, got %v", got.LateFees[0].At.Sub(ChargeStart(p, inv)))
	}
	// London, autumn: the day after the clocks go back is 25 hours long.
	inv.Customer.Timezone = "Europe/London"
	inv.DueDate = Date{2026, time.October, 24}
	london, _ := time.LoadLocation("Europe/London")
	got = ComputeCharges(p, inv, nil, time.Date(2026, 11, 1, 0, 0, 0, 0, london))
	if !got.LateFees[0].At.Equal(time.Date(2026, 10, 26, 0, 0, 0, 0, london)) ||
		got.LateFees[0].At.Sub(ChargeStart(p, inv)) != 25*time.Hour {
		t.Errorf("London fee at %v (after %v), want 2026-10-26 00:00 after 25h", got.LateFees[0].At, got.LateFees[0].At.Sub(ChargeStart(p, inv)))
	}
}

func TestDemoChargesCountFromIssue(t *testing.T) {
	p := chargePolicy(t, "anchor: issued\ngrace_period: +20s\nlate_fee: {amount: {USD: \"5.00\"}}\n")
	inv := utcInvoice("USD", 125_000)
	if got := ComputeCharges(p, inv, nil, inv.IssuedAt.Add(19*time.Second)); got.LateFeesTotal != 0 || !got.NextLateFeeAt.Equal(inv.IssuedAt.Add(20*time.Second)) {
		t.Errorf("at +19s: %+v", got)
	}
	if got := ComputeCharges(p, inv, nil, inv.IssuedAt.Add(20*time.Second)); got.LateFeesTotal != 500 || got.Balance != 125_500 {
		t.Errorf("at +20s: fees %d balance %d", got.LateFeesTotal, got.Balance)
	}
}

func TestInterest(t *testing.T) {
	cases := []struct {
		name     string
		policy   string
		currency string
		amount   int64
		payments []Payment
		at       time.Time
		want     int64
	}{
		{"a full year at 8%", "interest: {rate: 8%}\n", "USD", 100_000, nil, day(365), 8_000},
		{"one day at 8%: 0.2192 rounds to 0.22", "interest: {rate: 8%}\n", "USD", 100_000, nil, day(1), 22},
		{"ten days at 8%: 2.1918 rounds to 2.19", "interest: {rate: 8%}\n", "USD", 100_000, nil, day(10), 219},
		{"half a day counts (continuous accrual)", "interest: {rate: 8%}\n", "USD", 100_000, nil, chargeStart.Add(12 * time.Hour), 11},
		{"before the start: none", "interest: {rate: 8%}\n", "USD", 100_000, nil, chargeStart.Add(-time.Hour), 0},
		{"JPY: one day on 100000 yen is 21.9 yen, rounds to 22", "interest: {rate: 8%}\n", "JPY", 100_000, nil, day(1), 22},
		{"JPY: a year at 10% on 5 yen is 0.5, rounds half up to 1", "interest: {rate: 10%}\n", "JPY", 5, nil, day(365), 1},
		{"JPY: a year at 10% on 15 yen is 1.5, rounds half up to 2", "interest: {rate: 10%}\n", "JPY", 15, nil, day(365), 2},
		{"KWD: one day on 1000.000 is 219.18 fils, rounds to 219", "interest: {rate: 8%}\n", "KWD", 1_000_000, nil, day(1), 219},
		{"KWD: a year at 10% on 0.005 is 0.5 fils, rounds to 1", "interest: {rate: 10%}\n", "KWD", 5, nil, day(365), 1},
		{"partial payment: on the unpaid principal over time", "interest: {rate: 10%}\n", "USD", 100_000,
			[]Payment{pay(50_000, day(73))}, day(365), 2_000 + 4_000},
		{"paid in full: interest stops", "interest: {rate: 10%}\n", "USD", 100_000,
			[]Payment{pay(100_000, day(73))}, day(365), 2_000},
		{"a payment before interest starts lowers the principal", "interest: {rate: 10%}\n", "USD", 100_000,
			[]Payment{pay(50_000, day(-10))}, day(365), 5_000},
		{"payments after the instant do not count yet", "interest: {rate: 10%}\n", "USD", 100_000,
			[]Payment{pay(100_000, day(400))}, day(365), 10_000},
		{"starts after the grace period by default", "grace_period: 73d\ninterest: {rate: 10%}\n", "USD", 100_000, nil, day(365), 8_000},
		{"an explicit start wins over the grace period", "grace_period: 73d\ninterest: {rate: 10%, start: 0d}\n", "USD", 100_000, nil, day(365), 10_000},
		{"capped by percent", "interest: {rate: 10%, cap: {percent: 5%}}\n", "USD", 100_000, nil, day(365), 5_000},
		{"capped by amount", "interest: {rate: 10%, cap: {amount: {USD: \"12.34\"}}}\n", "USD", 100_000, nil, day(365), 1_234},
		{"amount-only cap in another currency: none", "interest: {rate: 10%, cap: {amount: {USD: \"12.34\"}}}\n", "EUR", 100_000, nil, day(365), 0},
		{"the largest invoice for ten years at 100% does not overflow", "interest: {rate: 100%}\n", "USD", money.MaxMinor, nil, day(3650), 10 * money.MaxMinor},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ComputeCharges(chargePolicy(t, c.policy), utcInvoice(c.currency, c.amount), c.payments, c.at)
			if got.Interest != c.want {
				t.Errorf("interest = %d, want %d", got.Interest, c.want)
			}
			checkInvariant(t, got)
		})
	}
}

func TestInterestNeverCompounds(t *testing.T) {
	// Fees do not bear interest: the same interest with and without a late fee.
	with := ComputeCharges(chargePolicy(t, "interest: {rate: 10%}\nlate_fee: {amount: {USD: \"500.00\"}}\n"), utcInvoice("USD", 100_000), nil, day(365))
	without := ComputeCharges(chargePolicy(t, "interest: {rate: 10%}\n"), utcInvoice("USD", 100_000), nil, day(365))
	if with.Interest != without.Interest || with.Interest != 10_000 {
		t.Errorf("interest %d with a fee, %d without; want 100.00 both", with.Interest, without.Interest)
	}
}

func TestEarlyPaymentDiscount(t *testing.T) {
	p := chargePolicy(t, "early_payment_discount: {percent: 2%, within: 10d}\nlate_fee: {amount: {USD: \"25.00\"}}\n")
	inv := utcInvoice("USD", 125_000) // issued 2026-03-01 12:00 UTC: the window ends 2026-03-12 00:00
	until := time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC)

	c := ComputeCharges(p, inv, nil, inv.IssuedAt)
	if c.DiscountOffered != 2_500 || !c.DiscountUntil.Equal(until) || c.PayNow() != 122_500 || c.Balance != 125_000 {
		t.Errorf("at issue: %+v (pay now %d)", c, c.PayNow())
	}
	if c := ComputeCharges(p, inv, nil, until); c.DiscountOffered != 0 || c.PayNow() != 125_000 {
		t.Errorf("after the window: offered %d, pay now %d", c.DiscountOffered, c.PayNow())
	}
	// Paid, less the discount, on the last day: settled; no late fee follows.
	c = ComputeCharges(p, inv, []Payment{pay(122_500, until.Add(-time.Second))}, day(30))
	if c.DiscountTaken != 2_500 || c.Balance != 0 || c.Credit != 0 || c.LateFeesTotal != 0 || c.UnpaidPrincipal != 0 {
		t.Errorf("paid in the window: %+v", c)
	}
	// In two parts within the window: taken.
	c = ComputeCharges(p, inv, []Payment{pay(100_000, day(-25)), pay(22_500, day(-21))}, day(30))
	if c.DiscountTaken != 2_500 || c.Balance != 0 {
		t.Errorf("paid in two parts: %+v", c)
	}
	// One second late: not taken; the rest is owed, with the late fee.
	c = ComputeCharges(p, inv, []Payment{pay(122_500, until)}, day(30))
	if c.DiscountTaken != 0 || c.Balance != 2_500+2_500 || c.OutstandingPrincipal != 2_500 || c.OutstandingFees != 2_500 {
		t.Errorf("paid one second late: %+v", c)
	}
	// Partly paid within the window: still offered on what is left.
	c = ComputeCharges(p, inv, []Payment{pay(50_000, day(-25))}, day(-24))
	if c.DiscountOffered != 2_500 || c.PayNow() != 72_500 {
		t.Errorf("partly paid: offered %d, pay now %d", c.DiscountOffered, c.PayNow())
	}
	// JPY: 2% of 1025 yen is 20.5, rounded half up to 21.
	if c := ComputeCharges(p, utcInvoice("JPY", 1_025), nil, inv.IssuedAt); c.DiscountOffered != 21 {
		t.Errorf("JPY discount %d, want 21", c.DiscountOffered)
	}
	// A demo window in seconds.
	demo := chargePolicy(t, "anchor: issued\nearly_payment_discount: {percent: 2%, within: +30s}\n")
	if got := DiscountUntil(demo, inv); !got.Equal(inv.IssuedAt.Add(30 * time.Second)) {
		t.Errorf("demo window ends %v", got)
	}
}

func TestPaymentsSettlePrincipalThenFeesThenInterest(t *testing.T) {
	p := chargePolicy(t, "late_fee: {amount: {USD: \"25.00\"}}\ninterest: {rate: 10%}\n")
	inv := utcInvoice("USD", 100_000)
	c := ComputeCharges(p, inv, []Payment{pay(101_000, day(365))}, day(365))
	// Owed: 1000.00 + 25.00 + 100.00; paid 1010.00.
	if c.OutstandingPrincipal != 0 || c.OutstandingFees != 1_500 || c.OutstandingInterest != 10_000 || c.Balance != 11_500 {
		t.Errorf("%+v", c)
	}
	// Over-payment becomes credit.
	c = ComputeCharges(p, inv, []Payment{pay(200_000, day(-1))}, day(365))
	if c.Balance != 0 || c.Credit != 100_000 || c.LateFeesTotal != 0 || c.Interest != 0 {
		t.Errorf("over-payment: %+v", c)
	}
}

// checkInvariant: balance - credit = principal + fees + interest - discount - paid,
// and the outstanding parts add up to the balance.
func checkInvariant(t *testing.T, c Charges) {
	t.Helper()
	if c.Balance-c.Credit != c.Principal+c.LateFeesTotal+c.Compensation+c.Interest-c.DiscountTaken-c.Paid {
		t.Errorf("invariant broken: %+v", c)
	}
	if c.Balance < 0 || c.Credit < 0 || (c.Balance > 0 && c.Credit > 0) {
		t.Errorf("balance %d and credit %d", c.Balance, c.Credit)
	}
	if c.OutstandingPrincipal+c.OutstandingFees+c.OutstandingInterest != c.Balance {
		t.Errorf("outstanding parts %d+%d+%d != balance %d", c.OutstandingPrincipal, c.OutstandingFees, c.OutstandingInterest, c.Balance)
	}
	var sum int64
	for _, f := range c.LateFees {
		sum += f.Amount
	}
	if sum != c.LateFeesTotal {
		t.Errorf("fees add up to %d, total says %d", sum, c.LateFeesTotal)
	}
}

// TestChargesProperties: over random policies, invoices, timezones and payments, the
// balance invariant holds at every instant, caps are never exceeded, and fees and
// interest never decrease as time passes.
func TestChargesProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 14))
	zones := []string{"UTC", "America/New_York", "Europe/London", "Asia/Tokyo", "Pacific/Auckland"}
	currencies := []string{"USD", "JPY", "KWD", "EUR"}
	for i := 0; i < 150; i++ {
		p := &policy.Policy{ID: "r", Version: 1,
			GracePeriod: policy.Offset{Days: r.IntN(10), InDays: true},
			LateFee: &policy.LateFee{Percent: policy.Rate(1 + r.IntN(500)), Every: policy.Offset{Days: 1 + r.IntN(30), InDays: true},
				Cap: &policy.Cap{Percent: policy.Rate(1 + r.IntN(3000))}},
			Interest: &policy.Interest{Rate: policy.Rate(1 + r.IntN(3000)), Cap: &policy.Cap{Percent: policy.Rate(1 + r.IntN(5000))}},
			Discount: &policy.Discount{Percent: policy.Rate(1 + r.IntN(500)), Within: policy.Offset{Days: r.IntN(20), InDays: true}},
		}
		if r.IntN(2) == 0 {
			p.LateFee = &policy.LateFee{Amount: policy.Amounts{"USD": "25.00", "JPY": "2500", "KWD": "7.500"}}
		}
		inv := utcInvoice(currencies[r.IntN(len(currencies))], 1+r.Int64N(10_000_000))
		inv.Customer.Timezone = zones[r.IntN(len(zones))]
		var payments []Payment
		for range r.IntN(4) {
			payments = append(payments, pay(1+r.Int64N(inv.AmountDue), inv.IssuedAt.Add(time.Duration(r.Int64N(int64(200*24*time.Hour))))))
		}
		feeCap, _ := p.LateFee.Cap.Limit(inv.AmountDue, inv.Currency)
		intCap, _ := p.Interest.Cap.Limit(inv.AmountDue, inv.Currency)
		var prev Charges
		for at := inv.IssuedAt; at.Before(inv.IssuedAt.Add(300 * 24 * time.Hour)); at = at.Add(time.Duration(1+r.IntN(96)) * time.Hour) {
			c := ComputeCharges(p, inv, payments, at)
			checkInvariant(t, c)
			if p.LateFee.Cap != nil && c.LateFeesTotal > feeCap {
				t.Fatalf("fees %d above cap %d", c.LateFeesTotal, feeCap)
			}
			if c.Interest > intCap {
				t.Fatalf("interest %d above cap %d", c.Interest, intCap)
			}
			if c.LateFeesTotal < prev.LateFeesTotal || c.Interest < prev.Interest || c.Paid < prev.Paid {
				t.Fatalf("charges went down: %+v after %+v", c, prev)
			}
			if c.PayNow() > c.Balance {
				t.Fatalf("pay now %d above balance %d", c.PayNow(), c.Balance)
			}
			prev = c
		}
		if t.Failed() {
			t.Fatalf("policy %+v invoice %+v payments %+v", p, inv, payments)
		}
	}
}
