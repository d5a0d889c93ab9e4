package collection

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dunwell/dunwell/policy"
)

// EventKind is what happens at one point of a timeline.
type EventKind string

// Timeline events.
const (
	EventReminder      EventKind = "reminder"
	EventSkipped       EventKind = "skipped"
	EventOverdue       EventKind = "overdue"
	EventLateFee       EventKind = "late_fee"
	EventCompensation  EventKind = "compensation"
	EventInterestStart EventKind = "interest_starts"
	EventDiscountEnds  EventKind = "discount_ends"
	EventEscalation    EventKind = "escalation"
)

// TimelineEvent is one thing that happens to an unpaid invoice.
type TimelineEvent struct {
	At   time.Time `json:"at"`
	Kind EventKind `json:"kind"`
	// Step and Template, for reminders (Step also for skipped steps).
	Step     string `json:"step,omitempty"`
	Template string `json:"template,omitempty"`
	// Channels the reminder goes out on, in order: the first, then the fallbacks if it
	// fails for good. Empty when the customer has no address for any of the step's
	// channels (the reminder is undeliverable).
	Channels []policy.Channel `json:"channels,omitempty"`
	// Approval: a person must approve this reminder or escalation first.
	Approval bool `json:"approval,omitempty"`
	// MovedFrom and MoveReason: the contact rules moved the reminder from the policy's
	// time.
	MovedFrom  time.Time `json:"moved_from,omitzero"`
	MoveReason string    `json:"move_reason,omitempty"`
	// Amount is the late fee (late_fee events) or compensation (compensation events)
	// charged.
	Amount int64 `json:"amount_minor,omitempty"`
	// Charges is what the invoice owes at that moment, fees and interest included.
	Charges Charges `json:"charges"`
	// Note says anything else worth knowing (approval timeout, escalation target).
	Note string `json:"note,omitempty"`
}

// Timeline is the whole course an invoice would follow if nothing were paid.
type Timeline struct {
	Events []TimelineEvent `json:"events"`
	// Notes are caveats that apply to the whole timeline.
	Notes []string `json:"notes,omitempty"`
	// Final is what the invoice owes at the end of the timeline, with the
	// compensation and the interest lines.
	Final Charges `json:"final"`
}

// maxTimelineActions bounds the simulation; a policy has far fewer steps.
const maxTimelineActions = 500

// BuildTimeline simulates the invoice's collection with no payment, from its issue:
// Next (the function the workflow calls) in a loop over a simulated state, each
// reminder recorded as sent on the first channel the customer can be reached on, and
// ComputeCharges for fees, interest and the amount due at every event. It stops at
// the escalation, or when the policy has nothing more to do.
//
// The per-customer daily cap cannot be simulated (it depends on the customer's other
// invoices); a note says so when the policy sets one.
func BuildTimeline(p *policy.Policy, inv *Invoice) Timeline {
	var tl Timeline
	s := NewState(inv)
	now := inv.IssuedAt
	end := now
	for range maxTimelineActions {
		a := Next(p, inv, &s, now)
		if a.Kind == ActionNone {
			break
		}
		if a.Kind == ActionCharge {
			// A day's reference-rate interest, with nothing else left to happen: the
			// timeline ends (interest goes on a day at a time; a note says so).
			if _, interestOnly := s.nextCharge(p, inv, now); interestOnly && nextDunning(p, inv, &s, now).Kind == ActionNone {
				tl.Notes = append(tl.Notes, "interest goes on accruing per day late until the invoice is paid")
				break
			}
		}
		if a.At.After(now) {
			now = a.At
		}
		end = now
		switch a.Kind {
		case ActionCharge:
			s.BookCharges(p, inv, now, nil, true) // listed below from ComputeCharges, as their own events
		case ActionOverdue:
			s.PastDue = true
			s.DeriveStatus()
			tl.add(p, inv, TimelineEvent{At: now, Kind: EventOverdue})
		case ActionRemind:
			for _, name := range a.Skip {
				tl.add(p, inv, TimelineEvent{At: now, Kind: EventSkipped, Step: name,
					Note: "superseded by a later step that is already due"})
			}
			st := p.Steps[a.Step]
			chs := ChannelsFor(st, &inv.Customer)
			ev := TimelineEvent{At: now, Kind: EventReminder, Step: st.Name, Template: st.Template, Channels: chs,
				Approval: st.Approval, MovedFrom: a.MovedFrom, MoveReason: a.MoveReason}
			status := NoticeSent
			if len(chs) == 0 {
				status = NoticeUndeliverable
				ev.Note = "undeliverable: the customer has no address for " + channelList(st.Channels)
			} else if st.Approval {
				_, def := st.ApprovalRules()
				ev.Note = fmt.Sprintf("waits up to %s for approval, then %ss", st.EffectiveApprovalTimeout(), def)
			}
			tl.add(p, inv, ev)
			s.Skipped = append(s.Skipped, a.Skip...)
			s.StepsDone = a.Step + 1
			n := Notice{Step: st.Name, Status: status, SentAt: now}
			if len(chs) > 0 {
				n.Channel = chs[0]
			}
			s.Notices = append(s.Notices, n)
		case ActionEscalate:
			ev := TimelineEvent{At: now, Kind: EventEscalation, Note: "hand-off to " + string(p.Escalation.To)}
			if ap := p.Escalation.Approval; ap != nil && ap.Required {
				ev.Approval = true
				ev.Note += fmt.Sprintf("; waits up to %s for approval, then %ss", ap.Timeout, ap.Default)
			}
			tl.add(p, inv, ev)
			s.Escalation = &Escalation{To: p.Escalation.To, At: now, Balance: s.Balance}
		}
		if s.Escalation != nil {
			break
		}
	}

	// Charges between issue and the end, as events of their own.
	final := ComputeCharges(p, inv, nil, end)
	for _, f := range final.LateFees {
		tl.add(p, inv, TimelineEvent{At: f.At, Kind: EventLateFee, Amount: f.Amount, Note: capNote(f)})
	}
	if from := final.InterestFrom; !from.IsZero() && !from.After(end) {
		tl.add(p, inv, TimelineEvent{At: from, Kind: EventInterestStart,
			Note: p.Interest.Describe() + " on the unpaid principal"})
	}
	if final.Compensation > 0 {
		tl.add(p, inv, TimelineEvent{At: final.CompensationAt, Kind: EventCompensation, Amount: final.Compensation,
			Note: "fixed compensation for recovery costs, charged once"})
	}
	if until := DiscountUntil(p, inv); !until.IsZero() && !until.After(end) {
		tl.add(p, inv, TimelineEvent{At: until, Kind: EventDiscountEnds,
			Note: fmt.Sprintf("%s off for paying in full before this", p.Discount.Percent)})
	}
	sort.SliceStable(tl.Events, func(i, j int) bool { return tl.Events[i].At.Before(tl.Events[j].At) })
	tl.Final = final

	if !final.NextLateFeeAt.IsZero() {
		tl.Notes = append(tl.Notes, "late fees go on after the last event shown, up to the policy's cap")
	}
	if p.Contact != nil && p.Contact.MaxPerCustomerPerDay > 0 {
		tl.Notes = append(tl.Notes, fmt.Sprintf("at most %d reminders per customer per day across all their invoices: a reminder may move to a later day if other invoices of the customer were chased that day (not simulated here)", p.Contact.MaxPerCustomerPerDay))
	}
	return tl
}

func (tl *Timeline) add(p *policy.Policy, inv *Invoice, ev TimelineEvent) {
	ev.Charges = ComputeCharges(p, inv, nil, ev.At)
	tl.Events = append(tl.Events, ev)
}

func capNote(f LateFee) string {
	if f.Capped {
		return "cut to the cap; no further late fee"
	}
	return ""
}

// ChannelLabel renders a reminder's channels as "sms, fallback email".
func ChannelLabel(chs []policy.Channel) string {
	if len(chs) == 0 {
		return "-"
	}
	parts := []string{string(chs[0])}
	for _, c := range chs[1:] {
		parts = append(parts, "fallback "+string(c))
	}
	return strings.Join(parts, ", ")
}
