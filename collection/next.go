package collection

import (
	"fmt"
	"time"

	"github.com/dunwell/dunwell/policy"
)

// ActionKind is what the workflow does next.
type ActionKind string

// Action kinds.
const (
	// ActionNone: nothing is scheduled; the workflow waits for events only.
	ActionNone ActionKind = "none"
	// ActionOverdue: the due date has passed; the status becomes overdue.
	ActionOverdue ActionKind = "overdue"
	// ActionRemind: send policy step Step.
	ActionRemind ActionKind = "reminder"
	// ActionEscalate: hand the invoice off (or ask for approval first).
	ActionEscalate ActionKind = "escalate"
	// ActionResume: a pause with an until-date ends.
	ActionResume ActionKind = "resume"
	// ActionPromiseDue: the promise's date has passed; it is kept or broken.
	ActionPromiseDue ActionKind = "promise_due"
	// ActionInstallmentReminder: remind the customer of installment Installment.
	ActionInstallmentReminder ActionKind = "installment_reminder"
	// ActionInstallmentDue: installment Installment's grace has passed unpaid; the
	// plan breaks.
	ActionInstallmentDue ActionKind = "installment_due"
	// ActionApprovalTimeout: nobody decided the escalation (or the reminder step) in
	// time; the policy's default decision applies.
	ActionApprovalTimeout ActionKind = "approval_timeout"
	// ActionFallback: re-send step Step on Channel after a delivery failure.
	ActionFallback ActionKind = "fallback"
	// ActionCharge: a late fee, the compensation or a day's reference-rate interest
	// falls due; it is booked with the interest to date.
	ActionCharge ActionKind = "late_fee"
	// ActionCallTimeout: the open call task's outcome did not come by its step's
	// timeout; the task closes and the step's on_timeout applies.
	ActionCallTimeout ActionKind = "call_timeout"
)

// Action is the next thing to happen to an invoice and when.
type Action struct {
	Kind ActionKind `json:"kind"`
	At   time.Time  `json:"at,omitzero"`
	// Step is the index of the policy step for ActionRemind.
	Step int `json:"-"`
	// Installment is the index of the plan's installment for the installment actions.
	Installment int `json:"-"`
	// Channel is the channel of an ActionFallback.
	Channel policy.Channel `json:"-"`
	// Skip lists steps whose time has passed but that are superseded by Step: when an
	// invoice is issued (or resumes) late, only the latest due reminder is sent.
	Skip []string `json:"-"`
	// MovedFrom is the policy's time for a reminder that the contact rules moved to At;
	// MoveReason says why. Zero when the reminder was not moved.
	MovedFrom  time.Time `json:"-"`
	MoveReason string    `json:"-"`
	// Awaiting names the reminder step of an ActionApprovalTimeout (empty: the
	// escalation) or the call step of an ActionCallTimeout.
	Awaiting string `json:"-"`
}

// StepTime returns when policy step i falls for this invoice.
func StepTime(p *policy.Policy, inv *Invoice, off policy.Offset) time.Time {
	loc := inv.Location()
	if p.EffectiveAnchor() == policy.AnchorIssued {
		if !off.InDays {
			return inv.IssuedAt.Add(off.Exact)
		}
		local := inv.IssuedAt.In(loc)
		h, m := p.SendClock()
		return time.Date(local.Year(), local.Month(), local.Day()+off.Days, h, m, 0, 0, loc)
	}
	due := inv.DueDate.In(loc)
	if !off.InDays {
		return due.Add(off.Exact)
	}
	h, m := p.SendClock()
	return time.Date(due.Year(), due.Month(), due.Day()+off.Days, h, m, 0, 0, loc)
}

// Next decides what happens next for the invoice at time now. It is pure: the same
// policy, invoice, state and instant always give the same action.
//
// Order of precedence: a terminal or escalated invoice has nothing scheduled; an
// escalation whose time has come wins over remaining reminders; otherwise the earliest
// of (overdue transition, next reminder, escalation).
func Next(p *policy.Policy, inv *Invoice, s *State, now time.Time) Action {
	if s.Status.Terminal() || s.Balance <= 0 {
		return Action{Kind: ActionNone}
	}
	a := nextDunning(p, inv, s, now)
	if at := s.NextChargeAt(p, inv, now); !at.IsZero() && (a.Kind == ActionNone || at.Before(a.At)) {
		return Action{Kind: ActionCharge, At: at}
	}
	return a
}

// nextDunning is the next reminder, status change, escalation or hold deadline.
func nextDunning(p *policy.Policy, inv *Invoice, s *State, now time.Time) Action {
	if s.Held() || s.Escalation != nil {
		return withCallTimeout(s, nextOnHold(p, inv, s))
	}
	// Time spent paused or disputed shifts the schedule (zero for most invoices).
	stepAt := func(off policy.Offset) time.Time { return StepTime(p, inv, off).Add(s.Shift) }
	var escAt time.Time
	// While a call step waits for its call's outcome, the schedule (the next steps,
	// the escalation) waits with it, until the outcome or the step's timeout.
	if p.Escalation != nil && !s.EscalationRejected && s.Call == nil {
		escAt = stepAt(p.Escalation.After)
		if s.EscalationApproved || !now.Before(escAt) {
			return Action{Kind: ActionEscalate, At: escAt}
		}
	}
	best := Action{Kind: ActionNone}
	consider := func(a Action) {
		if best.Kind == ActionNone || a.At.Before(best.At) {
			best = a
		}
	}
	if len(s.Fallbacks) > 0 {
		f := s.Fallbacks[0]
		at, why := intoContactWindow(p, inv, s, now)
		a := Action{Kind: ActionFallback, At: at, Step: f.Step, Channel: f.Channel}
		if !at.Equal(now) {
			a.MovedFrom, a.MoveReason = now, why
		}
		consider(a)
	}
	if s.Status == StatusOpen { // DeriveStatus keeps this equal to !PastDue
		consider(Action{Kind: ActionOverdue, At: inv.DueEnd()})
	}
	if s.Call != nil {
		consider(Action{Kind: ActionCallTimeout, At: s.Call.Due, Awaiting: s.Call.Step})
	}
	if s.StepsDone < len(p.Steps) && s.Call == nil {
		// Of the steps already due, send only the latest; the earlier ones are stale.
		i := s.StepsDone
		var skip []string
		for i+1 < len(p.Steps) && !now.Before(stepAt(p.Steps[i+1].Offset)) {
			skip = append(skip, p.Steps[i].Name)
			i++
		}
		remind := Action{Kind: ActionRemind, At: stepAt(p.Steps[i].Offset), Step: i, Skip: skip}
		planned := remind.At
		at, why := intoContactWindow(p, inv, s, planned)
		if d := s.Deferred; d != nil && d.Step == i && d.At.After(at) {
			at, why = d.At, d.Reason // the daily cap refused it earlier
		}
		if at.Before(now) {
			// Due while on hold (or while no worker ran): the window applies from now. If
			// now is allowed it goes at once, keeping its own time (a timer that fired a
			// moment ago is not a late send).
			if late, whyLate := intoContactWindow(p, inv, s, now); late.After(now) {
				at = late
				if why == "" {
					why = whyLate
				}
			}
		}
		if !at.Equal(planned) {
			remind.At, remind.MovedFrom, remind.MoveReason = at, planned, why
		}
		consider(remind)
	}
	if !escAt.IsZero() {
		consider(Action{Kind: ActionEscalate, At: escAt})
	}
	return best
}

// withCallTimeout is a, or the open call's timeout when that comes first.
func withCallTimeout(s *State, a Action) Action {
	if s.Call == nil || (a.Kind != ActionNone && !s.Call.Due.Before(a.At)) {
		return a
	}
	return Action{Kind: ActionCallTimeout, At: s.Call.Due, Awaiting: s.Call.Step}
}

// intoContactWindow moves t to the first moment both the contact window and the
// weekly cap allow, and says why it moved (empty when it did not).
func intoContactWindow(p *policy.Policy, inv *Invoice, s *State, t time.Time) (time.Time, string) {
	reason := ""
	// The cap can push a reminder out of the contact window and back: apply both until
	// neither moves it (each step only moves forward, and the window search is
	// bounded, so this ends).
	for range 8 {
		capped, whyCap := weeklyCapAt(p, s, t)
		moved, whyWindow := NextAllowedContact(p, inv, capped)
		if moved.Equal(t) {
			break
		}
		if reason == "" {
			reason = whyWindow
			if !capped.Equal(t) {
				reason = whyCap
			}
		}
		t = moved
	}
	return t, reason
}

// nextOnHold is the next action while a hold stops the reminder schedule (or after the
// hand-off, when only events can change the invoice).
func nextOnHold(p *policy.Policy, inv *Invoice, s *State) Action {
	switch {
	case s.Dispute != nil:
		return Action{Kind: ActionNone} // only the resolution moves it on
	case s.Approval != nil:
		return Action{Kind: ActionApprovalTimeout, At: s.Approval.Deadline, Awaiting: s.Approval.Step}
	case s.Escalation != nil:
		return Action{Kind: ActionNone}
	case s.Pause != nil:
		if at := s.Pause.Ends(inv); !at.IsZero() {
			return Action{Kind: ActionResume, At: at}
		}
		return Action{Kind: ActionNone}
	case s.Plan != nil:
		i := s.InstallmentDue(inv)
		if i < 0 {
			return Action{Kind: ActionNone}
		}
		if !s.Plan.Installments[i].Reminded {
			if at := s.InstallmentReminderAt(p, inv, i); at.Before(s.InstallmentDeadline(inv, i)) {
				return Action{Kind: ActionInstallmentReminder, At: at, Installment: i}
			}
		}
		return Action{Kind: ActionInstallmentDue, At: s.InstallmentDeadline(inv, i), Installment: i}
	case s.Promise != nil:
		return Action{Kind: ActionPromiseDue, At: s.Promise.Deadline(inv)}
	}
	return Action{Kind: ActionNone}
}

// Describe is a one-line human summary of the action for the Temporal UI, in the
// customer's local time: "reminder 2 of 4 (overdue-1) at 2026-12-02 10:00 America/New_York".
func Describe(p *policy.Policy, inv *Invoice, a Action) string {
	when := a.At.In(inv.Location()).Format("2006-01-02 15:04:05") + " " + inv.Customer.Timezone
	switch a.Kind {
	case ActionRemind:
		st := p.Steps[a.Step]
		return fmt.Sprintf("reminder %d of %d (%s) by %s at %s", a.Step+1, len(p.Steps), st.Name, channelList(st.Channels), when)
	case ActionEscalate:
		return fmt.Sprintf("escalation to %s at %s", p.Escalation.To, when)
	case ActionOverdue:
		return fmt.Sprintf("becomes overdue at %s", when)
	case ActionResume:
		return fmt.Sprintf("pause ends at %s", when)
	case ActionPromiseDue:
		return fmt.Sprintf("promise to pay checked at %s", when)
	case ActionInstallmentReminder:
		return fmt.Sprintf("reminder of installment %d at %s", a.Installment+1, when)
	case ActionInstallmentDue:
		return fmt.Sprintf("installment %d must be paid by %s", a.Installment+1, when)
	case ActionApprovalTimeout:
		if a.Awaiting != "" {
			return fmt.Sprintf("approval of reminder %s times out at %s", a.Awaiting, when)
		}
		return fmt.Sprintf("escalation approval times out at %s", when)
	case ActionCharge:
		if p.Compensation != nil || p.Interest.IsReference() {
			return fmt.Sprintf("late charges booked at %s", when)
		}
		return fmt.Sprintf("late fee charged at %s", when)
	case ActionCallTimeout:
		return fmt.Sprintf("the call of step %s times out at %s", a.Awaiting, when)
	case ActionFallback:
		return fmt.Sprintf("%s again by %s (the last message was not delivered) at %s", p.Steps[a.Step].Name, a.Channel, when)
	default:
		return "waiting for payment"
	}
}

func channelList(cs []policy.Channel) string {
	out := ""
	for i, c := range cs {
		if i > 0 {
			out += " or "
		}
		out += string(c)
	}
	return out
}

// ChannelsFor returns the step's channels the customer can be reached on, in the
// step's order of preference.
func ChannelsFor(st policy.Step, c *Customer) []policy.Channel {
	var out []policy.Channel
	for _, ch := range st.Channels {
		if c.Reachable(ch) {
			out = append(out, ch)
		}
	}
	return out
}
