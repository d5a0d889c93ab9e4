package collection

import (
	"strings"
	"testing"
	"time"

	"github.com/dunwell/dunwell/policy"
)

// testRates is a slice of the ECB MRO history (policies/rates/ecb_mro.yaml).
const testRates = `through: 2025-09-30
rates:
  - {date: 2023-09-20, rate: 4.50%}
  - {date: 2024-06-12, rate: 4.25%}
  - {date: 2024-09-18, rate: 3.65%}
  - {date: 2024-10-23, rate: 3.40%}
  - {date: 2024-12-18, rate: 3.15%}
  - {date: 2025-02-05, rate: 2.90%}
  - {date: 2025-03-12, rate: 2.65%}
  - {date: 2025-04-23, rate: 2.40%}
  - {date: 2025-06-11, rate: 2.15%}
`

// statutory parses a policy with reference interest on testRates plus extra fields.
func statutory(t *testing.T, interest, extra string) *policy.Policy {
	t.Helper()
	p := chargePolicy(t, "interest:\n  reference: ecb_mro\n"+interest+extra)
	tb, err := policy.ParseRates("rates/ecb_mro.yaml", "ecb_mro", []byte(testRates))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ResolveRates(map[string]*policy.RateTable{"ecb_mro": tb}); err != nil {
		t.Fatal(err)
	}
	return p
}

// berlinInvoice is due on the given date, in Europe/Berlin.
func berlinInvoice(amount int64, currency string, due Date) *Invoice {
	return &Invoice{
		ID: "INV-S", Currency: currency, AmountDue: amount,
		Customer: Customer{ID: "C", Name: "N", Email: "n@example.com", Timezone: "Europe/Berlin"},
		IssuedAt: due.In(time.UTC).AddDate(0, -1, 0),
		DueDate:  due,
	}
}

func berlin(y int, m time.Month, d, h int) time.Time {
	loc, _ := time.LoadLocation("Europe/Berlin")
	return time.Date(y, m, d, h, 0, 0, 0, loc)
}

type wantLine struct {
	half    string
	days    int
	rate    string
	amount  int64
	missing bool
}

func checkLines(t *testing.T, c Charges, want []wantLine, total int64) {
	t.Helper()
	if len(c.InterestLines) != len(want) {
		t.Fatalf("interest lines %+v, want %d", c.InterestLines, len(want))
	}
	for i, w := range want {
		ln := c.InterestLines[i]
		if ln.Half.String() != w.half || ln.Days != w.days || ln.Rate.String() != w.rate || ln.Amount != w.amount || ln.Missing != w.missing {
			t.Errorf("line %d = %s %d days at %s: %d missing=%v; want %s %d days at %s: %d missing=%v",
				i, ln.Half, ln.Days, ln.Rate, ln.Amount, ln.Missing, w.half, w.days, w.rate, w.amount, w.missing)
		}
	}
	if c.Interest != total {
		t.Errorf("interest %d, want %d", c.Interest, total)
	}
}

func TestReferenceInterest(t *testing.T) {
	margin := "  margin: 8%\n"
	due := Date{2025, time.June, 10}
	tests := []struct {
		name      string
		interest  string
		inv       *Invoice
		payments  []Payment
		at        time.Time
		lines     []wantLine
		total     int64
		nextAtDay int // the day (of the at's month) the interest next grows; 0: never
	}{
		{name: "not late yet", interest: margin, inv: berlinInvoice(1_000_000, "EUR", due), at: berlin(2025, 6, 10, 23), nextAtDay: 11},
		{name: "first day late counts from its first instant", interest: margin, inv: berlinInvoice(1_000_000, "EUR", due),
			at: berlin(2025, 6, 11, 0), lines: []wantLine{{"2025-H1", 1, "11.15%", 305, false}}, total: 305, nextAtDay: 12},
		{
			// 10 000.00 x 11.15% x 20/365 = 61.0959 -> 61.10; x 10.15% x 25/365 = 69.5205 -> 69.52.
			name: "45 days late across 30 June / 1 July", interest: margin, inv: berlinInvoice(1_000_000, "EUR", due),
			at:    berlin(2025, 7, 25, 12),
			lines: []wantLine{{"2025-H1", 20, "11.15%", 6110, false}, {"2025-H2", 25, "10.15%", 6952, false}}, total: 13062, nextAtDay: 26,
		},
		{
			// 5 000.00 paid at 10:00 on 20 June: that day still bears interest on 10 000.
			// H1: (10 x 10 000 + 10 x 5 000) x 11.15% / 365 = 45.8219 -> 45.82;
			// H2: 25 x 5 000 x 10.15% / 365 = 34.7603 -> 34.76.
			name: "partial payment", interest: margin, inv: berlinInvoice(1_000_000, "EUR", due),
			payments: []Payment{pay(500_000, berlin(2025, 6, 20, 10))}, at: berlin(2025, 7, 25, 12),
			lines: []wantLine{{"2025-H1", 20, "11.15%", 4582, false}, {"2025-H2", 25, "10.15%", 3476, false}}, total: 8058, nextAtDay: 26,
		},
		{
			name: "paid in full: no more days", interest: margin, inv: berlinInvoice(1_000_000, "EUR", due),
			payments: []Payment{pay(1_000_000, berlin(2025, 6, 12, 9))}, at: berlin(2025, 7, 25, 12),
			lines: []wantLine{{"2025-H1", 20, "11.15%", 611, false}, {"2025-H2", 25, "10.15%", 0, false}}, total: 611,
		},
		{
			// 2024 is a leap year: 28 Feb, 29 Feb and 1 Mar are three days, each 1/365 of
			// a year. 10 000.00 x 12.5% x 3/365 = 10.2740 -> 10.27.
			name: "leap day", interest: margin, inv: berlinInvoice(1_000_000, "EUR", Date{2024, time.February, 27}),
			at: berlin(2024, 3, 1, 18), lines: []wantLine{{"2024-H1", 3, "12.5%", 1027, false}}, total: 1027, nextAtDay: 2,
		},
		{
			// A whole leap half-year and more: 29 Feb included, 1 July starts 2024-H2.
			// H1 (1 Jan-30 Jun 2024, 182 days): 1 000.00 x 12.5% x 182/365 = 62.3288 -> 62.33;
			// H2 (1 Jul-31 Dec, 184 days) at the rate of 1 July 2024 (4.25%): 1 000.00 x
			// 12.25% x 184/365 = 61.7534 -> 61.75.
			name: "leap year, both halves", interest: margin, inv: berlinInvoice(100_000, "EUR", Date{2023, time.December, 31}),
			at:    berlin(2024, 12, 31, 12),
			lines: []wantLine{{"2024-H1", 182, "12.5%", 6233, false}, {"2024-H2", 184, "12.25%", 6175, false}}, total: 12408, nextAtDay: 1,
		},
		{
			// 3.65 EUR x (2.15% + 47.85%) / 365 = 0.005 EUR: half a cent rounds up.
			name: "half a cent rounds up", interest: "  margin: 47.85%\n", inv: berlinInvoice(365, "EUR", Date{2025, time.June, 30}),
			at: berlin(2025, 7, 1, 1), lines: []wantLine{{"2025-H2", 1, "50%", 1, false}}, total: 1, nextAtDay: 2,
		},
		{
			// 3.64 EUR: 0.004986 EUR rounds down.
			name: "under half a cent rounds down", interest: "  margin: 47.85%\n", inv: berlinInvoice(364, "EUR", Date{2025, time.June, 30}),
			at: berlin(2025, 7, 1, 1), lines: []wantLine{{"2025-H2", 1, "50%", 0, false}}, total: 0, nextAtDay: 2,
		},
		{
			name: "no yen fractions", interest: margin, inv: berlinInvoice(1_000_000, "JPY", due),
			at: berlin(2025, 6, 11, 1), lines: []wantLine{{"2025-H1", 1, "11.15%", 305, false}}, total: 305, nextAtDay: 12,
		},
		{
			// The file runs through 2025-09-30: 2026-H1 has no rate and the policy refuses.
			name: "missing rate, refuse", interest: margin, inv: berlinInvoice(1_000_000, "EUR", Date{2025, time.December, 30}),
			at:    berlin(2026, 1, 2, 12),
			lines: []wantLine{{"2025-H2", 1, "10.15%", 278, false}, {"2026-H1", 2, "0%", 0, true}}, total: 278,
		},
		{
			name: "missing rate, fallback", interest: margin + "  missing_rate: {fallback: 2%}\n", inv: berlinInvoice(1_000_000, "EUR", Date{2025, time.December, 30}),
			at:    berlin(2026, 1, 2, 12),
			lines: []wantLine{{"2025-H2", 1, "10.15%", 278, false}, {"2026-H1", 2, "10%", 548, false}}, total: 826, nextAtDay: 3,
		},
		{
			// when_late: the rate at the close of 31 December 2024 (3.15%) for every day.
			name: "one rate for the whole debt", interest: margin + "  fixing: when_late\n", inv: berlinInvoice(1_000_000, "EUR", due),
			at:    berlin(2025, 7, 25, 12),
			lines: []wantLine{{"2025-H1", 45, "11.15%", 13747, false}}, total: 13747, nextAtDay: 26,
		},
		{
			name: "capped", interest: margin + "  cap: {percent: 1%}\n", inv: berlinInvoice(1_000_000, "EUR", due),
			at:    berlin(2025, 7, 25, 12),
			lines: []wantLine{{"2025-H1", 20, "11.15%", 6110, false}, {"2025-H2", 25, "10.15%", 3890, false}}, total: 10000,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := statutory(t, tc.interest, "")
			c := ComputeCharges(p, tc.inv, tc.payments, tc.at)
			checkInvariant(t, c)
			checkLines(t, c, tc.lines, tc.total)
			switch {
			case tc.nextAtDay == 0 && !c.NextInterestAt.IsZero():
				t.Errorf("next interest at %s, want none", c.NextInterestAt)
			case tc.nextAtDay != 0:
				if n := c.NextInterestAt.In(tc.inv.Location()); n.Day() != tc.nextAtDay || n.Hour() != 0 {
					t.Errorf("next interest at %s, want local midnight of day %d", n, tc.nextAtDay)
				}
			}
			want := tc.inv.AmountDue + tc.total
			for _, pm := range tc.payments {
				want -= pm.Amount
			}
			if c.Balance != want {
				t.Errorf("balance %d, want %d", c.Balance, want)
			}
		})
	}
}

func TestCompensation(t *testing.T) {
	tiers := "compensation:\n  EUR:\n    - {below: \"1000.00\", amount: \"40.00\"}\n    - {below: \"10000.00\", amount: \"70.00\"}\n    - {amount: \"100.00\"}\n"
	due := Date{2025, time.June, 10}
	tests := []struct {
		name     string
		extra    string
		amount   int64
		payments []Payment
		at       time.Time
		want     int64
	}{
		{"before charge start", "", 50_000, nil, berlin(2025, 6, 10, 23), 0},
		{"below 1000", "", 99_999, nil, berlin(2025, 6, 11, 0), 4000},
		{"1000 exactly", "", 100_000, nil, berlin(2025, 7, 25, 0), 7000},
		{"10000 and more", "", 1_000_000, nil, berlin(2025, 7, 25, 0), 10000},
		{"tier of what is unpaid when charged", "", 1_000_000, []Payment{pay(950_000, berlin(2025, 6, 1, 9))}, berlin(2025, 7, 25, 0), 4000},
		{"paid on time: none", "", 1_000_000, []Payment{pay(1_000_000, berlin(2025, 6, 10, 9))}, berlin(2025, 7, 25, 0), 0},
		{"after the grace period", "grace_period: 5d\n", 1_000_000, nil, berlin(2025, 6, 15, 23), 0},
		{"after the grace period, charged", "grace_period: 5d\n", 1_000_000, nil, berlin(2025, 6, 16, 0), 10000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := statutory(t, "  margin: 8%\n", tiers+tc.extra)
			c := ComputeCharges(p, berlinInvoice(tc.amount, "EUR", due), tc.payments, tc.at)
			checkInvariant(t, c)
			if c.Compensation != tc.want {
				t.Errorf("compensation %d, want %d", c.Compensation, tc.want)
			}
		})
	}
}

// TestStatutoryBooking runs the charges as the workflow does (NextChargeAt, then
// BookCharges at that instant) over 45 days late, then a payment of the balance
// shown: the compensation is booked once, the interest a day at a time, and the sums
// are the preview's.
func TestStatutoryBooking(t *testing.T) {
	p := statutory(t, "  margin: 8%\n", "compensation:\n  EUR:\n    - {amount: \"40.00\"}\n")
	inv := berlinInvoice(1_000_000, "EUR", Date{2025, time.June, 10})
	s := NewState(inv)
	payAt := berlin(2025, 7, 25, 10)
	now := inv.IssuedAt
	bookings := 0
	for range 100 {
		at := s.NextChargeAt(p, inv, now)
		if at.IsZero() || at.After(payAt) {
			break
		}
		now = at
		s.BookCharges(p, inv, now, nil, false)
		bookings++
	}
	if bookings != 45 {
		t.Errorf("%d bookings, want one a day for 45 days", bookings)
	}
	if s.Compensation != 4000 || s.countEvents(EventCompensationCharged) != 1 {
		t.Errorf("compensation %d in %d events, want 4000 once", s.Compensation, s.countEvents(EventCompensationCharged))
	}
	preview := ComputeCharges(p, inv, nil, payAt)
	if s.Interest != 13062 || s.Interest != preview.Interest || s.Balance != preview.Balance || s.Balance != 1_017_062 {
		t.Errorf("booked interest %d, balance %d; preview %d, %d; want 13062, 1017062", s.Interest, s.Balance, preview.Interest, preview.Balance)
	}
	// The balance shown on day 45 settles the invoice on day 45.
	pm := pay(s.Balance, payAt)
	if !s.SettlesWithoutInterest(p, inv, payAt, pm) {
		t.Error("the balance shown does not settle the invoice")
	}
	for _, e := range s.BookCharges(p, inv, payAt, &pm, false) {
		t.Errorf("paying the balance shown booked %s %d", e.Kind, e.Adjustment.Amount)
	}
	if !strings.HasPrefix(Describe(p, inv, Action{Kind: ActionCharge, At: payAt}), "late charges booked at") {
		t.Errorf("Describe = %q", Describe(p, inv, Action{Kind: ActionCharge, At: payAt}))
	}
}

func TestCheckRates(t *testing.T) {
	p := statutory(t, "  margin: 8%\n", "")
	if err := CheckRates(p, berlinInvoice(100, "EUR", Date{2025, time.June, 10})); err != nil {
		t.Errorf("CheckRates(2025) = %v", err)
	}
	// Due 31 Dec 2025: interest starts on 1 Jan 2026, a half-year the file lacks.
	err := CheckRates(p, berlinInvoice(100, "EUR", Date{2025, time.December, 31}))
	if err == nil || !strings.Contains(err.Error(), "needs the ecb_mro rate for 2026-H1") || !strings.Contains(err.Error(), "rates/ecb_mro.yaml lists rates through 2025-09-30") {
		t.Errorf("CheckRates(2026) = %v", err)
	}
	p.Interest.MissingRate = &policy.MissingRate{Fallback: new(policy.RefRate)}
	if err := CheckRates(p, berlinInvoice(100, "EUR", Date{2025, time.December, 31})); err != nil {
		t.Errorf("CheckRates with a fallback = %v", err)
	}
}

func TestStatutoryTimelineEnds(t *testing.T) {
	p := statutory(t, "  margin: 8%\n", "compensation:\n  EUR:\n    - {amount: \"40.00\"}\n")
	inv := berlinInvoice(1_000_000, "EUR", Date{2025, time.June, 10})
	tl := BuildTimeline(p, inv)
	last := tl.Events[len(tl.Events)-1]
	if last.Kind != EventReminder || !strings.Contains(strings.Join(tl.Notes, "; "), "interest goes on accruing per day late") {
		t.Errorf("timeline ends with %s, notes %v; want the last reminder and a note on interest", last.Kind, tl.Notes)
	}
	var comp []TimelineEvent
	for _, e := range tl.Events {
		if e.Kind == EventCompensation {
			comp = append(comp, e)
		}
	}
	if len(comp) != 1 || comp[0].Amount != 4000 || !comp[0].At.Equal(inv.DueEnd()) {
		t.Errorf("compensation events %+v, want one of 40.00 at the charge start", comp)
	}
}
