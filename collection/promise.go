package collection

import (
	"fmt"
	"time"

	"github.com/dunwell/dunwell/money"
)

// Promises: the customer promises to pay by a date; reminders wait for it.

// Promise is the customer's promise to pay Amount by the end of Date.
type Promise struct {
	Date Date `json:"date"`
	// Until is the exact deadline when the promise named a time
	// ("2026-12-03T17:00:00Z"); zero means the end of Date in the customer's timezone.
	Until  time.Time `json:"until,omitzero"`
	Amount int64     `json:"amount_minor"`
	MadeAt time.Time `json:"made_at"`
	// PaidBefore is the total applied to the invoice when the promise was made;
	// payments beyond it count towards the promise.
	PaidBefore int64  `json:"paid_before_minor"`
	By         string `json:"by,omitempty"`
}

// CheckPromise says whether the promise may be recorded; today is the customer's
// local date.
func (s *State) CheckPromise(inv *Invoice, p Promise, now time.Time, currency string) error {
	switch s.Status {
	case StatusOpen, StatusOverdue:
	default:
		return conflict(s.Status, "the invoice is %s; a promise can be recorded only while it is open or overdue", s.Status)
	}
	date, amount := p.Date, p.Amount
	switch {
	case !p.Deadline(inv).After(now):
		return invalid("date", "%s is in the past", date)
	case date.After(DateOf(now.In(inv.Location())).AddDays(366)):
		return invalid("date", "must be within a year")
	case amount <= 0:
		return invalid("amount", "must be greater than zero")
	case amount > s.Balance:
		return invalid("amount", "is more than the balance of %s", money.Format(s.Balance, currency))
	}
	return nil
}

// MakePromise pauses reminders until the promise's date.
func (s *State) MakePromise(inv *Invoice, p Promise) Event {
	p.PaidBefore = s.TotalApplied(inv)
	s.Promise = &p
	n := s.countEvents(EventPromiseMade) + 1
	return s.record(Event{Key: fmt.Sprintf("promise/%d", n), Kind: EventPromiseMade, At: p.MadeAt, By: p.By})
}

// BreakPromise ends a promise whose date passed without the amount.
func (s *State) BreakPromise(at time.Time, reason string) Event {
	s.Promise = nil
	return s.record(Event{Key: s.promiseEndKey(), Kind: EventPromiseBroken, At: at, By: "system", Reason: reason})
}

// promiseEndKey is the event key of the end of the current promise, kept or broken:
// the ends number the promises in order.
func (s *State) promiseEndKey() string {
	return fmt.Sprintf("promise-end/%d", s.countEvents(EventPromiseKept)+s.countEvents(EventPromiseBroken)+1)
}

// Deadline is the end of the promise's day in the customer's timezone.
func (p *Promise) Deadline(inv *Invoice) time.Time {
	if !p.Until.IsZero() {
		return p.Until
	}
	return p.Date.In(inv.Location()).AddDate(0, 0, 1)
}
