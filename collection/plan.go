package collection

import (
	"fmt"
	"time"

	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/policy"
)

// Payment plans: an agreed schedule of installments in place of the reminders.

// Installment is one payment of a plan.
type Installment struct {
	DueDate Date `json:"due_date"`
	// DueAt is the exact due time when the plan named one; zero means the end of
	// DueDate in the customer's timezone.
	DueAt  time.Time `json:"due_at,omitzero"`
	Amount int64     `json:"amount_minor"`
	// Reminded is set once its reminder was handled.
	Reminded bool `json:"reminded,omitempty"`
}

// Plan is an agreed schedule of installments that sum to the balance it was agreed
// on. Chosen in-workflow rather than as a child workflow: the plan and the invoice
// share one balance and one payment history, and one workflow keeps them consistent
// without cross-workflow messages; a year of monthly installments adds a few dozen
// events, and continue-as-new carries the plan in the state.
type Plan struct {
	Number       int           `json:"number"` // 1 for the invoice's first plan, then 2, ...
	Installments []Installment `json:"installments"`
	GraceDays    int           `json:"grace_days"`
	AgreedAt     time.Time     `json:"agreed_at"`
	PaidBefore   int64         `json:"paid_before_minor"`
	By           string        `json:"by,omitempty"`
}

// planRemindBefore is how many days before an installment's due date its reminder goes.
const planRemindBefore = 3

// CheckPlan says whether the plan may be agreed; today is the customer's local date.
func (s *State) CheckPlan(inv *Invoice, items []Installment, graceDays int, now time.Time, currency string) error {
	today := DateOf(now.In(inv.Location()))
	switch s.Status {
	case StatusOpen, StatusOverdue, StatusPromised:
	default:
		return conflict(s.Status, "the invoice is %s; a plan can be agreed only while it is open, overdue or promised", s.Status)
	}
	if len(items) == 0 || len(items) > 60 {
		return invalid("installments", "must list 1 to 60 installments")
	}
	if graceDays < 0 || graceDays > 30 {
		return invalid("grace_days", "must be 0 to 30")
	}
	var sum int64
	for i, it := range items {
		f := fmt.Sprintf("installments[%d]", i)
		switch {
		case it.Amount <= 0:
			return invalid(f+".amount", "must be greater than zero")
		case i == 0 && !it.dueEnd(inv).After(now):
			return invalid(f+".due_date", "%s is in the past", it.DueDate)
		case i > 0 && !items[i-1].dueEnd(inv).Before(it.dueEnd(inv)):
			return invalid(f+".due_date", "must come after the previous installment's %s", items[i-1].DueDate)
		case it.DueDate.After(today.AddDays(5 * 366)):
			return invalid(f+".due_date", "must be within five years")
		}
		sum += it.Amount
		if sum > money.MaxMinor {
			return invalid(f+".amount", "is too large")
		}
	}
	if sum != s.Balance {
		return invalid("installments", "sum to %s but the balance is %s", money.Format(sum, currency), money.Format(s.Balance, currency))
	}
	return nil
}

// AgreePlan replaces any promise with the plan.
func (s *State) AgreePlan(inv *Invoice, p Plan) Event {
	p.Number = s.countEvents(EventPlanAgreed) + 1
	p.PaidBefore = s.TotalApplied(inv)
	s.Promise = nil
	s.Plan = &p
	return s.record(Event{Key: fmt.Sprintf("plan/%d", p.Number), Kind: EventPlanAgreed, At: p.AgreedAt, By: p.By})
}

// BreakPlan ends a plan whose installment stayed unpaid past its grace.
func (s *State) BreakPlan(at time.Time, reason string) Event {
	n := s.Plan.Number
	s.Plan = nil
	return s.record(Event{Key: fmt.Sprintf("plan-end/%d", n), Kind: EventPlanBroken, At: at, By: "system", Reason: reason})
}

// planPaid is what was applied since the plan was agreed.
func (s *State) planPaid(inv *Invoice) int64 { return s.TotalApplied(inv) - s.Plan.PaidBefore }

// InstallmentDue is the first installment not yet covered by payments, or -1.
func (s *State) InstallmentDue(inv *Invoice) int {
	paid := s.planPaid(inv)
	var cum int64
	for i, it := range s.Plan.Installments {
		cum += it.Amount
		if paid < cum {
			return i
		}
	}
	return -1
}

// InstallmentOwed is what is still owed on installment i.
func (s *State) InstallmentOwed(inv *Invoice, i int) int64 {
	var cum int64
	for _, it := range s.Plan.Installments[:i+1] {
		cum += it.Amount
	}
	return max(0, cum-s.planPaid(inv))
}

// dueEnd is when the installment falls due: its exact time, or the end of its date.
func (it Installment) dueEnd(inv *Invoice) time.Time {
	if !it.DueAt.IsZero() {
		return it.DueAt
	}
	return it.DueDate.In(inv.Location()).AddDate(0, 0, 1)
}

// InstallmentDeadline is the end of installment i's grace, in the customer's timezone.
func (s *State) InstallmentDeadline(inv *Invoice, i int) time.Time {
	return s.Plan.Installments[i].dueEnd(inv).AddDate(0, 0, s.Plan.GraceDays)
}

// InstallmentReminderAt is when installment i's reminder goes out: a few days before
// it falls due, at the policy's send time (or at once, for a plan agreed late).
func (s *State) InstallmentReminderAt(p *policy.Policy, inv *Invoice, i int) time.Time {
	it := s.Plan.Installments[i]
	if !it.DueAt.IsZero() {
		return it.DueAt.AddDate(0, 0, -planRemindBefore)
	}
	d := it.DueDate.In(inv.Location())
	h, m := p.SendClock()
	return time.Date(d.Year(), d.Month(), d.Day()-planRemindBefore, h, m, 0, 0, d.Location())
}
