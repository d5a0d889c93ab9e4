package collection

import (
	"time"

	"github.com/dunwell/dunwell/policy"
)

// Delivery reports: the providers' later word on a notice they accepted.

// Delivery statuses the providers report after accepting a message.
const (
	DeliveryDelivered = "delivered"
)

// PermanentDeliveryFailure reports whether a delivery status means the message never
// reached the customer and never will.
func PermanentDeliveryFailure(status string) bool {
	switch status {
	case "bounced", "bounce", "dropped", "undelivered", "failed", "spamreport":
		return true
	}
	return false
}

// ApplyDelivery records a provider's delivery report on the notice of that step and
// channel. A permanent failure of a policy step's notice queues the step's next
// channel the customer can still be reached on (reachable tells), or, with none left,
// records the step as undeliverable. It reports whether anything changed.
func (s *State) ApplyDelivery(p *policy.Policy, step string, ch policy.Channel, status, errText string, at time.Time, reachable func(policy.Channel) bool) bool {
	idx := -1
	for i := range s.Notices {
		if n := &s.Notices[i]; n.Step == step && n.Channel == ch && n.Status == NoticeSent {
			idx = i
		}
	}
	if idx < 0 {
		return false
	}
	n := &s.Notices[idx]
	if n.Delivery != "" && n.Delivery != DeliveryDelivered || n.Delivery == status {
		return false // a final failure stays; a repeat changes nothing
	}
	n.Delivery, n.DeliveryError, n.DeliveryAt = status, errText, &at
	if !PermanentDeliveryFailure(status) {
		return true
	}
	stepIdx := -1
	for i, st := range p.Steps {
		if st.Name == step {
			stepIdx = i
		}
	}
	if stepIdx < 0 {
		return true // an installment reminder: recorded, no fallback
	}
	tried := map[policy.Channel]bool{}
	for _, m := range s.Notices {
		if m.Step == step {
			tried[m.Channel] = true
		}
	}
	for _, f := range s.Fallbacks {
		if f.Step == stepIdx {
			tried[f.Channel] = true
		}
	}
	for _, next := range p.Steps[stepIdx].Channels {
		if !tried[next] && reachable(next) {
			s.Fallbacks = append(s.Fallbacks, Fallback{Step: stepIdx, Channel: next})
			return true
		}
	}
	s.Notices = append(s.Notices, Notice{Step: step, Status: NoticeUndeliverable, SentAt: at,
		Error: "every channel of the step failed; the last: " + status})
	return true
}
