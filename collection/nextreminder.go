package collection

import (
	"time"

	"github.com/dunwell/dunwell/policy"
)

// NextReminderAt is when the invoice's next policy reminder falls due as Next plans it
// at now: the step's time moved into the contact window, or to the contact budget's
// deferral. Zero when no reminder is planned (terminal, held, escalated, every step
// done, or the escalation comes first). The customer's account uses it to know which
// invoices it should hear from in a window (docs/accounts.md). Pure, like Next.
func NextReminderAt(p *policy.Policy, inv *Invoice, s *State, now time.Time) time.Time {
	if s.Status.Terminal() || s.Balance <= 0 {
		return time.Time{}
	}
	// The overdue transition and owed fallbacks are not policy reminders: plan without
	// them, so the reminder behind them shows.
	plain := *s
	plain.Fallbacks = nil
	if plain.Status == StatusOpen {
		plain.Status = StatusOverdue
	}
	if a := nextDunning(p, inv, &plain, now); a.Kind == ActionRemind && !callsFor(p.Steps[a.Step], inv, s) {
		return a.At
	}
	return time.Time{}
}

// callsFor reports whether step will be a call to this customer rather than a message
// (a call step whose customer can be called): the account hears nothing of it.
func callsFor(step policy.Step, inv *Invoice, s *State) bool {
	return step.IsCall() && inv.Customer.Reachable(policy.Call) && !s.IsOptedOut(policy.Call)
}
