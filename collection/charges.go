package collection

import (
	"math/big"
	"sort"
	"time"

	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/policy"
)

// Charges: late fees, interest and the early-payment discount of an invoice at one
// instant, computed from the policy, the invoice and the payments so far. Pure and
// deterministic (no clock, no map iteration, integer arithmetic only), so the workflow
// can call it and `starter policy preview` shows exactly what the workflow will do.
//
// The rules, in order:
//
//   - Charge start: the end of the due date in the customer's timezone (the first
//     overdue instant), or the issue instant for a policy with anchor "issued".
//   - Grace period: no late fee before charge start + grace_period.
//   - Late fee: charged at charge start + grace, then every `every` (if set), while
//     some principal is unpaid at that instant; at most policy.MaxLateFees times. A
//     fixed fee is the policy's amount for the invoice's currency (none if it lists
//     no amount for it); a percent fee is that percentage of the unpaid principal at
//     the instant it is charged. The sum of fees never exceeds the cap: the fee that
//     reaches it is cut to fit and no fee follows.
//   - Interest: simple, annual rate, day count actual/365 (a year is 365 days of
//     86 400 s, whatever the calendar), on the unpaid principal only (never on fees or
//     on interest), accruing continuously from charge start + interest.start (default:
//     + grace_period), capped.
//   - Early-payment discount: the percentage of the principal, offered until the end
//     of the window (see policy.Discount). Payments made within the window that add up
//     to the principal less the discount settle the principal: the discount is taken.
//   - Payments settle principal first, then fees, then interest, so interest stops
//     growing as early as possible. A payment counts from its paid_at.
//   - Rounding: every amount is computed exactly and rounded once, half up, to the
//     currency's minor unit (money.MulDivRound): whole yen, cents, fils.
//
//   - Compensation (statutory.go): a fixed sum tiered by the principal unpaid, charged
//     once at charge start + grace. Reference-rate interest is counted per day late
//     and split by half-year (statutory.go).
//
// The invariant, at every instant: Balance - Credit = Principal + LateFeesTotal +
// Compensation + Interest - DiscountTaken - Paid.

// LateFee is one late fee charged.
type LateFee struct {
	At     time.Time `json:"at"`
	Amount int64     `json:"amount_minor"`
	// Capped: the cap cut this fee; no fee follows it.
	Capped bool `json:"capped,omitempty"`
}

// Charges is what an invoice owes at one instant.
type Charges struct {
	At        time.Time `json:"at"`
	Principal int64     `json:"principal_minor"`
	// UnpaidPrincipal is the principal not yet settled (after a taken discount).
	UnpaidPrincipal int64     `json:"unpaid_principal_minor"`
	LateFees        []LateFee `json:"late_fees,omitempty"`
	LateFeesTotal   int64     `json:"late_fees_minor"`
	Interest        int64     `json:"interest_minor"`
	// InterestFrom is when interest starts (zero without interest).
	InterestFrom time.Time `json:"interest_from,omitzero"`
	// InterestLines split reference-rate interest by rate period (half-year), each
	// with its rate; NextInterestAt is when it next grows if nothing is paid (zero
	// when it will not). Both only for a policy with interest.reference.
	InterestLines  []InterestLine `json:"interest_lines,omitempty"`
	NextInterestAt time.Time      `json:"next_interest_at,omitzero"`
	// Compensation is the fixed compensation for recovery costs charged by At;
	// CompensationAt when it is (or would be) charged.
	Compensation   int64     `json:"compensation_minor,omitempty"`
	CompensationAt time.Time `json:"compensation_at,omitzero"`
	// DiscountOffered is the discount still available at At: paying Balance -
	// DiscountOffered now settles the invoice. DiscountUntil ends the window.
	DiscountOffered int64     `json:"discount_offered_minor"`
	DiscountUntil   time.Time `json:"discount_until,omitzero"`
	// DiscountTaken is the discount earned by paying within the window.
	DiscountTaken int64 `json:"discount_taken_minor"`
	Paid          int64 `json:"paid_minor"`
	// Balance is what is owed: principal + fees + interest - discount taken -
	// payments, never below zero; Credit is any over-payment.
	Balance int64 `json:"balance_minor"`
	Credit  int64 `json:"credit_minor"`
	// Outstanding splits Balance by what payments settle first (fees include the
	// compensation).
	OutstandingPrincipal int64 `json:"outstanding_principal_minor"`
	OutstandingFees      int64 `json:"outstanding_fees_minor"`
	OutstandingInterest  int64 `json:"outstanding_interest_minor"`
	// NextLateFeeAt is when the next late fee would be charged if nothing is paid
	// (zero when none will be): the workflow's timer for recording it.
	NextLateFeeAt time.Time `json:"next_late_fee_at,omitzero"`
}

// PayNow is the amount that settles the invoice at At: the balance less any
// discount still offered.
func (c Charges) PayNow() int64 { return max(0, c.Balance-c.DiscountOffered) }

// ChargeStart is the instant charges count from: the first overdue instant (the end of
// the due date, customer's timezone), or the issue instant for anchor "issued".
func ChargeStart(p *policy.Policy, inv *Invoice) time.Time {
	if p.EffectiveAnchor() == policy.AnchorIssued {
		return inv.IssuedAt
	}
	return inv.DueEnd()
}

// addOffset adds k times o to t: whole local calendar days (keeping the wall-clock
// time across DST changes) for day offsets, an exact duration otherwise.
func addOffset(t time.Time, o policy.Offset, k int, loc *time.Location) time.Time {
	if o.InDays {
		l := t.In(loc)
		return time.Date(l.Year(), l.Month(), l.Day()+k*o.Days, l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), loc)
	}
	return t.Add(time.Duration(k) * o.Exact)
}

// LateFeesFrom is when the first late fee is due: charge start + grace period.
func LateFeesFrom(p *policy.Policy, inv *Invoice) time.Time {
	return addOffset(ChargeStart(p, inv), p.GracePeriod, 1, inv.Location())
}

// InterestFrom is when interest starts accruing (zero for a policy without interest).
func InterestFrom(p *policy.Policy, inv *Invoice) time.Time {
	if p.Interest == nil {
		return time.Time{}
	}
	off := p.GracePeriod
	if p.Interest.Start != nil {
		off = *p.Interest.Start
	}
	return addOffset(ChargeStart(p, inv), off, 1, inv.Location())
}

// DiscountUntil is the end of the early-payment window (exclusive; zero without a
// discount): the end of the Nth local day after the issue date for "Nd", the issue
// instant plus the duration otherwise.
func DiscountUntil(p *policy.Policy, inv *Invoice) time.Time {
	if p.Discount == nil {
		return time.Time{}
	}
	w := p.Discount.Within
	if !w.InDays {
		return inv.IssuedAt.Add(w.Exact)
	}
	l := inv.IssuedAt.In(inv.Location())
	return time.Date(l.Year(), l.Month(), l.Day()+w.Days+1, 0, 0, 0, 0, inv.Location())
}

// paymentLedger is the payments made up to an instant, in paid_at order.
type paymentLedger struct {
	times []time.Time
	cum   []int64 // cum[i]: the sum of the first i+1 payments
}

func newPaymentLedger(payments []Payment, until time.Time) paymentLedger {
	ps := make([]Payment, 0, len(payments))
	for _, pay := range payments {
		if pay.Amount > 0 && !pay.PaidAt.After(until) {
			ps = append(ps, pay)
		}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].PaidAt.Before(ps[j].PaidAt) })
	l := paymentLedger{}
	var sum int64
	for _, pay := range ps {
		sum += pay.Amount
		l.times = append(l.times, pay.PaidAt)
		l.cum = append(l.cum, sum)
	}
	return l
}

// paidBy is the sum of payments made at or before t.
func (l paymentLedger) paidBy(t time.Time) int64 {
	i := sort.Search(len(l.times), func(i int) bool { return l.times[i].After(t) })
	if i == 0 {
		return 0
	}
	return l.cum[i-1]
}

func (l paymentLedger) total() int64 {
	if len(l.cum) == 0 {
		return 0
	}
	return l.cum[len(l.cum)-1]
}

// ComputeCharges returns what the invoice owes at instant at, given every payment so
// far (payments after at are ignored). Principal is inv.AmountDue.
func ComputeCharges(p *policy.Policy, inv *Invoice, payments []Payment, at time.Time) Charges {
	c := Charges{At: at, Principal: inv.AmountDue}
	paid := newPaymentLedger(payments, at)
	c.Paid = paid.total()

	// The discount: taken by the first payment within the window that brings the
	// total paid to the discounted principal.
	var discount int64
	var takenAt time.Time
	taken := false
	if d := p.Discount; d != nil {
		discount = money.MulDivRound(c.Principal, d.Percent.BasisPoints(), 10_000)
		c.DiscountUntil = DiscountUntil(p, inv)
		for i, t := range paid.times {
			if !t.Before(c.DiscountUntil) {
				break
			}
			if paid.cum[i] >= c.Principal-discount {
				taken, takenAt = true, t
				break
			}
		}
		switch {
		case taken:
			c.DiscountTaken = discount
		case at.Before(c.DiscountUntil):
			c.DiscountOffered = discount
		}
	}
	unpaid := func(t time.Time) int64 {
		owed := c.Principal
		if taken && !t.Before(takenAt) {
			owed -= discount
		}
		return max(0, owed-paid.paidBy(t))
	}
	c.UnpaidPrincipal = unpaid(at)

	c.LateFees, c.LateFeesTotal, c.NextLateFeeAt = lateFees(p, inv, unpaid, at)
	c.InterestFrom = InterestFrom(p, inv)
	if p.Interest.IsReference() {
		c.InterestLines, c.Interest, c.NextInterestAt = referenceInterest(p, inv, c.InterestFrom, unpaid, at)
	} else {
		c.Interest = interest(p, inv, c.InterestFrom, paid, unpaid, at)
	}
	c.Compensation, c.CompensationAt = compensation(p, inv, unpaid, at)

	owed := c.Principal - c.DiscountTaken + c.LateFeesTotal + c.Compensation + c.Interest
	c.Balance = owed - c.Paid
	if c.Balance < 0 {
		c.Credit, c.Balance = -c.Balance, 0
	}
	if c.DiscountOffered > c.Balance {
		c.DiscountOffered = 0 // nothing left to discount: the invoice is settled
	}
	// Settle principal, then fees, then interest.
	rest := c.Paid
	settle := func(amount int64) int64 {
		s := min(rest, amount)
		rest -= s
		return amount - s
	}
	c.OutstandingPrincipal = settle(c.Principal - c.DiscountTaken)
	c.OutstandingFees = settle(c.LateFeesTotal + c.Compensation)
	c.OutstandingInterest = settle(c.Interest)
	return c
}

// lateFees lists the fees charged up to at, their sum, and when the next one would be
// charged if nothing more is paid.
func lateFees(p *policy.Policy, inv *Invoice, unpaid func(time.Time) int64, at time.Time) ([]LateFee, int64, time.Time) {
	f := p.LateFee
	if f == nil {
		return nil, 0, time.Time{}
	}
	fixed, isFixed := int64(0), len(f.Amount) > 0
	if isFixed {
		var ok bool
		if fixed, ok = f.Amount.Minor(inv.Currency); !ok {
			return nil, 0, time.Time{} // the policy does not price this currency
		}
	}
	limit, capped := f.Cap.Limit(inv.AmountDue, inv.Currency)
	first, loc := LateFeesFrom(p, inv), inv.Location()
	recurring := !f.Every.IsZero()
	var fees []LateFee
	var total int64
	for k := 0; k < policy.MaxLateFees && (k == 0 || recurring); k++ {
		t := addOffset(first, f.Every, k, loc)
		if capped && total >= limit {
			break
		}
		u := unpaid(t)
		if t.After(at) {
			if u > 0 {
				return fees, total, t
			}
			break
		}
		if u == 0 {
			break // settled; payments only ever add up, so no later fee either
		}
		amount := fixed
		if !isFixed {
			amount = money.MulDivRound(u, f.Percent.BasisPoints(), 10_000)
		}
		fee := LateFee{At: t, Amount: amount}
		if capped && total+amount >= limit {
			fee.Amount, fee.Capped = limit-total, true
		}
		if fee.Amount > 0 {
			fees = append(fees, fee)
			total += fee.Amount
		}
	}
	return fees, total, time.Time{}
}

// yearNanos is the actual/365 year: 365 days of 86 400 s.
var yearNanos = big.NewInt(int64(365 * 24 * time.Hour))

// interest integrates the unpaid principal over [from, at] and applies the annual
// rate, rounded once, then the cap.
func interest(p *policy.Policy, inv *Invoice, from time.Time, paid paymentLedger, unpaid func(time.Time) int64, at time.Time) int64 {
	in := p.Interest
	if in == nil || !at.After(from) {
		return 0
	}
	// Principal-nanoseconds: the unpaid principal is constant between payments.
	sum := new(big.Int)
	t := from
	for _, pt := range append(append([]time.Time{}, paid.times...), at) {
		if !pt.After(t) {
			continue
		}
		if pt.After(at) {
			pt = at
		}
		seg := new(big.Int).Mul(big.NewInt(unpaid(t)), big.NewInt(int64(pt.Sub(t))))
		sum.Add(sum, seg)
		t = pt
	}
	sum.Mul(sum, big.NewInt(in.Rate.BasisPoints()))
	amount := money.RoundDivBig(sum, new(big.Int).Mul(yearNanos, big.NewInt(10_000)))
	if limit, ok := in.Cap.Limit(inv.AmountDue, inv.Currency); ok && amount > limit {
		amount = limit
	}
	return amount
}
