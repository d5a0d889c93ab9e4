package collection

import (
	"fmt"
	"time"

	"github.com/dunwell/dunwell/money"
)

// Payments: money received against the invoice, checked before it enters the
// workflow's history and then applied to the balance.

// PaidAtSkew is how far past now a payment's paid_at may lie: the clocks of the
// provider, the API's caller and the worker disagree by seconds, never by minutes.
const PaidAtSkew = 5 * time.Minute

// CheckPaidAt says whether paidAt can be when a payment of the invoice issued at
// issuedAt was made, now being the time the payment arrives: not before the invoice
// existed, and not in the future. A date outside these bounds is a mistake (or an
// attempt) that would move the late fees, interest and early-payment discount
// computed from it.
func CheckPaidAt(paidAt, issuedAt, now time.Time) error {
	if why := paidAtProblem(paidAt, issuedAt, now); why != "" {
		return invalid("paid_at", "%s", why)
	}
	return nil
}

func paidAtProblem(paidAt, issuedAt, now time.Time) string {
	// Whole seconds: paid_at usually arrives as RFC 3339 without fractions.
	switch issuedAt = issuedAt.Truncate(time.Second); {
	case paidAt.Before(issuedAt):
		return fmt.Sprintf("%s is before the invoice was issued (%s); a payment cannot predate its invoice",
			paidAt.UTC().Format(time.RFC3339), issuedAt.UTC().Format(time.RFC3339))
	case paidAt.After(now.Add(PaidAtSkew)):
		return fmt.Sprintf("%s is in the future (now is %s); a payment is dated when it was made",
			paidAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return ""
}

// CheckPayment says whether payment p, in currency, may be applied to the invoice
// now; duplicate is true when it was applied before (same id and amount). A zero
// p.PaidAt means the payment is dated when it is applied. Every source of payments
// (the API, the CLI through it, provider webhooks through the forwarder) reaches the
// workflow's payment update, whose validator calls this.
func (s *State) CheckPayment(inv *Invoice, p Payment, currency string, now time.Time) (duplicate bool, err error) {
	switch {
	case p.PaymentID == "" || !IDPattern.MatchString(p.PaymentID):
		return false, invalid("payment_id", "%s", IDProblem)
	case currency != inv.Currency:
		return false, invalid("currency", "is %s but the invoice is in %s", currency, inv.Currency)
	case p.Amount <= 0:
		return false, invalid("amount", "must be greater than zero")
	case p.Amount > money.MaxMinor:
		return false, invalid("amount", "is too large")
	}
	if !p.PaidAt.IsZero() {
		if err := CheckPaidAt(p.PaidAt, inv.IssuedAt, now); err != nil {
			return false, err
		}
	}
	if prev, ok := s.FindPayment(p.PaymentID); ok {
		if prev.Amount != p.Amount {
			return false, conflictOn(s.Status, "payment_id", "%s was already applied with amount %s", p.PaymentID, money.Format(prev.Amount, inv.Currency))
		}
		return true, nil
	}
	if s.Status.Terminal() {
		return false, conflict(s.Status, "the invoice is %s; payment not applied", s.Status)
	}
	return false, nil
}

// FindPayment returns the payment with that id, if it was applied.
func (s *State) FindPayment(id string) (Payment, bool) {
	for _, p := range s.Payments {
		if p.PaymentID == id {
			return p, true
		}
	}
	return Payment{}, false
}

// PaymentOutcome is what applying a payment did.
type PaymentOutcome struct {
	Applied   int64 // towards the balance
	Credit    int64 // beyond the balance
	Duplicate bool
	Paid      bool // the balance reached zero
}

// ApplyPayment applies a validated payment, idempotent by payment id. The caller has
// checked it (see CheckPayment).
func (s *State) ApplyPayment(p Payment) PaymentOutcome {
	if _, dup := s.FindPayment(p.PaymentID); dup {
		return PaymentOutcome{Duplicate: true, Paid: s.Balance == 0}
	}
	s.Payments = append(s.Payments, p)
	applied := min(p.Amount, s.Balance)
	s.Balance -= applied
	credit := p.Amount - applied
	s.Credit += credit
	out := PaymentOutcome{Applied: applied, Credit: credit}
	if s.Balance == 0 && !s.Status.Terminal() {
		s.Status = StatusPaid
		s.ClosedAt = p.AppliedAt
		out.Paid = true
	}
	return out
}

// PaymentEvents checks the holds a payment may end: a promise whose amount is now
// paid is kept, a plan whose installments are all paid is completed.
func (s *State) PaymentEvents(inv *Invoice, at time.Time) []Event {
	var events []Event
	if p := s.Promise; p != nil && (s.Balance == 0 || s.TotalApplied(inv)-p.PaidBefore >= p.Amount) {
		s.Promise = nil
		events = append(events, s.record(Event{Key: s.promiseEndKey(), Kind: EventPromiseKept, At: at}))
	}
	if p := s.Plan; p != nil && (s.Balance == 0 || s.InstallmentDue(inv) < 0) {
		s.Plan = nil
		events = append(events, s.record(Event{Key: fmt.Sprintf("plan-end/%d", p.Number), Kind: EventPlanCompleted, At: at}))
	}
	return events
}
