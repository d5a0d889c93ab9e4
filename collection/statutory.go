package collection

import (
	"fmt"
	"math/big"
	"time"

	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/policy"
)

// Statutory charges: interest at a reference rate plus a margin, counted per day late,
// and a fixed compensation for recovery costs tiered by the debt (Directive 2011/7/EU
// arts. 3 and 6; the UK Late Payment of Commercial Debts (Interest) Act 1998 s.5A and
// SI 2002/1675). Pure, like the rest of charges.go.
//
// Reference-rate interest:
//
//   - Days late are the customer's local calendar days from the day interest starts
//     (for anchor "due" with no interest.start: the day after the due date) up to
//     the day in question, that day included: an invoice paid on the 45th day after
//     its due date is 45 days late. A day counts from its first instant.
//   - Each day bears interest on the principal unpaid when it begins, at the annual
//     rate (reference + margin) / 365, whatever the year (actual/365, leap years too).
//   - The reference rate of a day: its half-year's (fixing "half_year", the rate in
//     force on 1 January or 1 July), or one rate for the whole debt (fixing
//     "when_late", the rate in force at the close of the day before the half-year in
//     which interest starts).
//   - The days of one half-year (one rate period) make one interest line; each line
//     is computed exactly and rounded once, half up, to the minor unit; the interest
//     is the sum of the lines, then the cap.
//   - A half-year whose rate the policy's rates do not have: the fallback rate if the
//     policy gives one, else no interest for those days (the line says missing).

// InterestLine is the interest of one rate period: the days late of one half-year
// (or, fixing "when_late", all of them) at one rate.
type InterestLine struct {
	// Half is the half-year whose reference rate applies ("2025-H1").
	Half policy.HalfYear `json:"half"`
	// From and Through are the first and last day late counted (customer's local
	// dates, YYYY-MM-DD); Days how many.
	From    string `json:"from"`
	Through string `json:"through"`
	Days    int    `json:"days"`
	// Reference is the rate's name ("ecb_mro"); ReferenceRate its value for the
	// period, Margin the policy's margin and Rate their sum, a year.
	Reference     string         `json:"reference"`
	ReferenceRate policy.RefRate `json:"reference_rate"`
	Margin        policy.Rate    `json:"margin"`
	Rate          policy.RefRate `json:"rate"`
	// PrincipalDays is the sum over the days of the principal unpaid (minor units);
	// Amount = PrincipalDays x Rate / 365, rounded once, half up.
	PrincipalDays int64 `json:"principal_days_minor"`
	Amount        int64 `json:"amount_minor"`
	// Fallback: the rates file had no rate for the period; the policy's fallback
	// reference rate was used. Missing: no rate and no fallback: no interest is
	// charged for these days.
	Fallback bool `json:"fallback,omitempty"`
	Missing  bool `json:"missing,omitempty"`
	// Capped: the interest cap cut this line (and leaves nothing for later ones).
	Capped bool `json:"capped,omitempty"`
}

// dayStarts calls f for each local day late from `from` up to and including the day
// of at: its local date and the instant it starts counting (from, for the first day
// when from is not a midnight).
func dayStarts(from, at time.Time, loc *time.Location, f func(date, start time.Time)) {
	if at.Before(from) {
		return
	}
	l := from.In(loc)
	date := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	for start := from; !start.After(at); {
		f(date, start)
		date = time.Date(date.Year(), date.Month(), date.Day()+1, 0, 0, 0, 0, loc)
		start = date
	}
}

// referenceInterest computes the interest lines of a reference-rate policy up to at,
// their capped total, and when the interest next grows if nothing more is paid (zero
// when it will not).
func referenceInterest(p *policy.Policy, inv *Invoice, from time.Time, unpaid func(time.Time) int64, at time.Time) ([]InterestLine, int64, time.Time) {
	in := p.Interest
	if from.IsZero() {
		return nil, 0, time.Time{}
	}
	loc := inv.Location()
	l := from.In(loc)
	startHalf := policy.HalfYearOf(l.Year(), l.Month())
	periodOf := func(date time.Time) policy.HalfYear {
		if in.EffectiveFixing() == policy.FixWhenLate {
			return startHalf
		}
		return policy.HalfYearOf(date.Year(), date.Month())
	}
	newLine := func(h policy.HalfYear, date time.Time) InterestLine {
		annual, ref, fallback, ok := in.RateFor(h)
		return InterestLine{Half: h, From: date.Format(time.DateOnly), Reference: in.Reference,
			ReferenceRate: ref, Margin: in.Margin, Rate: annual, Fallback: fallback, Missing: !ok}
	}
	var lines []InterestLine
	dayStarts(from, at, loc, func(date, start time.Time) {
		h := periodOf(date)
		if len(lines) == 0 || lines[len(lines)-1].Half != h {
			lines = append(lines, newLine(h, date))
		}
		ln := &lines[len(lines)-1]
		ln.Through = date.Format(time.DateOnly)
		ln.Days++
		ln.PrincipalDays += unpaid(start)
	})
	// 100% a year is 1 000 000 RefRate units; a year is 365 days.
	den := big.NewInt(365 * 100 * int64(policy.RefRatePerPercent))
	limit, capped := in.Cap.Limit(inv.AmountDue, inv.Currency)
	var total int64
	for i := range lines {
		ln := &lines[i]
		if ln.Missing {
			continue
		}
		num := new(big.Int).Mul(big.NewInt(ln.PrincipalDays), big.NewInt(int64(ln.Rate)))
		ln.Amount = money.RoundDivBig(num, den)
		if capped && total+ln.Amount >= limit {
			ln.Amount, ln.Capped = limit-total, ln.Amount > limit-total
		}
		total += ln.Amount
	}

	// The next day late, if it bears interest.
	next := from
	if !at.Before(from) {
		a := at.In(loc)
		next = time.Date(a.Year(), a.Month(), a.Day()+1, 0, 0, 0, 0, loc)
	}
	n := next.In(loc)
	if _, _, _, ok := in.RateFor(periodOf(n)); !ok || unpaid(at) == 0 || (capped && total >= limit) {
		return lines, total, time.Time{}
	}
	return lines, total, next
}

// compensation is the fixed compensation charged by at, and when it is (or would be)
// charged: once, at charge start + grace period, on the principal unpaid then. Zero
// when the policy has none, the principal was settled by then, or the policy has no
// scale for the currency (refused at issue by CheckCurrency).
func compensation(p *policy.Policy, inv *Invoice, unpaid func(time.Time) int64, at time.Time) (int64, time.Time) {
	if p.Compensation == nil {
		return 0, time.Time{}
	}
	t := LateFeesFrom(p, inv)
	if t.After(at) {
		return 0, t
	}
	debt := unpaid(t)
	if debt == 0 {
		return 0, time.Time{}
	}
	amount, _ := p.Compensation.For(debt, inv.Currency)
	return amount, t
}

// RateError says that an invoice needs a reference rate its policy's rates file does
// not have and the policy refuses to fall back.
type RateError struct {
	Policy    string
	Reference string
	Half      policy.HalfYear
	File      string
	Through   string
}

func (e *RateError) Error() string {
	return fmt.Sprintf("policy %s needs the %s rate for %s (when this invoice's interest starts); %s lists rates through %s and the policy says missing_rate: refuse — add the rate there, or give the policy a fallback",
		e.Policy, e.Reference, e.Half, e.File, e.Through)
}

// CheckRates reports whether the policy's rates cover the half-year in which the
// invoice's interest starts (or the policy falls back); the API refuses the invoice
// otherwise. Later half-years are not known when an invoice is issued: a day late in
// one the snapshot lacks takes the fallback, or no interest (see referenceInterest).
func CheckRates(p *policy.Policy, inv *Invoice) error {
	in := p.Interest
	if !in.IsReference() {
		return nil
	}
	l := InterestFrom(p, inv).In(inv.Location())
	h := policy.HalfYearOf(l.Year(), l.Month())
	if _, _, _, ok := in.RateFor(h); ok {
		return nil
	}
	e := &RateError{Policy: p.ID, Reference: in.Reference, Half: h}
	if r := in.Rates; r != nil {
		e.File, e.Through = r.File, r.Through
	}
	return e
}
