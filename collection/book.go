package collection

import (
	"fmt"
	"slices"
	"time"

	"github.com/dunwell/dunwell/policy"
)

// Booking charges: the late fees, interest and discount ComputeCharges makes due,
// written into the balance as adjustments.

// BookCharges books into the balance the late fees, interest and early-payment
// discount that the policy makes due by at (ComputeCharges over the payments so far,
// plus pending, a payment about to be applied), as the difference from what was booked
// before. Charges follow the policy whatever the invoice's holds; an operator waives
// them with a credit note.
//
// Interest accrues continuously but is booked only when withInterest is set: at each
// late fee and with each partial payment. A payment of the balance shown settles the
// invoice, so nobody is left owing the interest of the minutes between quote and
// payment (see SettlesWithoutInterest).
func (s *State) BookCharges(p *policy.Policy, inv *Invoice, at time.Time, pending *Payment, withInterest bool) []Event {
	if s.Status.Terminal() {
		return nil
	}
	// Reference-rate interest grows a day at a time, so the balance quoted on a day
	// holds all day: it is always booked.
	withInterest = withInterest || p.Interest.IsReference()
	payments := s.Payments
	if pending != nil {
		payments = append(append([]Payment{}, s.Payments...), *pending)
	}
	c := ComputeCharges(p, inv, payments, at)
	var events []Event
	book := func(kind, adjKind, key string, delta int64) {
		if delta == 0 {
			return
		}
		s.Balance = max(0, s.Balance+delta)
		events = append(events, s.record(Event{Key: key, Kind: kind, At: at, By: "policy",
			Adjustment: &Adjustment{ID: key, Kind: adjKind, Amount: delta, At: at}}))
	}
	if d := c.LateFeesTotal - s.Fees; d > 0 {
		s.Fees += d
		book(EventLateFeeCharged, AdjLateFee, fmt.Sprintf("late-fee/%d", s.countEvents(EventLateFeeCharged)+1), d)
	}
	if d := c.Compensation - s.Compensation; d > 0 {
		s.Compensation += d
		book(EventCompensationCharged, AdjCompensation, "compensation", d)
	}
	if withInterest {
		s.ChargesAt = at
	}
	if d := c.Interest - s.Interest; d > 0 && withInterest {
		s.Interest += d
		book(EventInterestCharged, AdjInterest, fmt.Sprintf("interest/%d", s.countEvents(EventInterestCharged)+1), d)
	}
	if d := c.DiscountTaken - s.Discount; d > 0 {
		s.Discount += d
		book(EventDiscountTaken, AdjDiscount, "discount", -d)
	}
	return events
}

// SettlesWithoutInterest reports whether a payment of amount settles the balance once
// the fees and discount due by then are booked (interest since the last booking is
// then not charged).
func (s *State) SettlesWithoutInterest(p *policy.Policy, inv *Invoice, at time.Time, pending Payment) bool {
	c := s.clip()
	c.BookCharges(p, inv, at, &pending, false)
	return pending.Amount >= c.Balance
}

// clip is a copy of the state whose slices an append cannot share with s.
func (s *State) clip() State {
	c := *s
	c.Events, c.Adjustments, c.Payments = slices.Clip(c.Events), slices.Clip(c.Adjustments), slices.Clip(c.Payments)
	return c
}

// NextChargeAt is when the next charge falls due (now if one is due and not yet
// booked): a late fee, the compensation, or (reference-rate interest) the next day
// late; zero when none will.
func (s *State) NextChargeAt(p *policy.Policy, inv *Invoice, now time.Time) time.Time {
	at, _ := s.nextCharge(p, inv, now)
	return at
}

// nextCharge is NextChargeAt, and whether that charge is only a day's interest.
func (s *State) nextCharge(p *policy.Policy, inv *Invoice, now time.Time) (time.Time, bool) {
	daily := p.Interest.IsReference()
	if (p.LateFee == nil && p.Compensation == nil && !daily) || s.Status.Terminal() {
		return time.Time{}, false
	}
	c := ComputeCharges(p, inv, s.Payments, now)
	if c.LateFeesTotal > s.Fees || c.Compensation > s.Compensation {
		return now, false
	}
	if daily && c.Interest > s.Interest {
		return now, true
	}
	next, interestOnly := c.NextLateFeeAt, false
	if t := c.CompensationAt; c.Compensation == 0 && t.After(now) && (next.IsZero() || t.Before(next)) {
		next = t
	}
	if t := c.NextInterestAt; !t.IsZero() && (next.IsZero() || t.Before(next)) {
		next, interestOnly = t, true
	}
	return next, interestOnly
}
