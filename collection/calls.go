package collection

import (
	"fmt"
	"time"

	"github.com/dunwell/dunwell/policy"
)

// CallAttempt is one call made about an invoice: when, and what it came to.
type CallAttempt struct {
	At time.Time `json:"at"`
	// Outcome is the collector's (ledger.CallOutcomes); Conversation says whether a
	// person was spoken to (reached, promised, disputed, refused).
	Outcome      string `json:"outcome"`
	Conversation bool   `json:"conversation"`
}

// CallOutcomes lists every outcome of a call, in the order a form shows them (the
// ledger's CallOutcomes; TestCallOutcomesMatchTheLedger keeps them equal).
var CallOutcomes = []string{"reached", "promised", "no_answer", "voicemail", "wrong_number", "refused", "disputed"}

// Call outcomes that change the invoice.
const (
	CallPromised    = "promised"
	CallDisputed    = "disputed"
	CallWrongNumber = "wrong_number"
)

// CallWait is the open call task of a call step: the invoice waits for its outcome
// until Due, then does OnTimeout (policy.OnTimeoutNext or OnTimeoutEscalate).
type CallWait struct {
	TaskID    int64     `json:"task_id"`
	Step      string    `json:"step"`
	OpenedAt  time.Time `json:"opened_at"`
	Due       time.Time `json:"due"`
	OnTimeout string    `json:"on_timeout"`
}

// IsConversation reports whether a call outcome means the customer was spoken to.
func IsConversation(outcome string) bool {
	switch outcome {
	case "reached", "promised", "disputed", "refused":
		return true
	}
	return false
}

// NextCallAt is the earliest instant at or after t at which the policy allows a call
// about the invoice, given the calls made about it, and why t itself was not allowed
// ("" when it was). ok is false when no call may ever be made: the customer opted
// out of calls (or the number is bad). The rules, all in the customer's timezone:
// the contact window (policy.Contact), at most CallRules().MaxPerInvoicePerWeek
// attempts in any 7 days, none within QuietDaysAfterConversation days after a
// conversation. It is pure.
func NextCallAt(p *policy.Policy, inv *Invoice, attempts []CallAttempt, optedOut bool, t time.Time) (at time.Time, why string, ok bool) {
	if optedOut {
		return time.Time{}, "the customer's phone is opted out of calls", false
	}
	rules := p.CallRules()
	const week = 7 * 24 * time.Hour
	quiet := time.Duration(rules.QuietDaysAfterConversation) * 24 * time.Hour
	at = t
	// Each rule only moves the instant forward and the window search is bounded, so
	// this settles: after the last attempt and conversation age out, only the window
	// moves it, once.
	for range len(attempts) + 8 {
		moved := at
		var lastTalk time.Time
		inWeek := 0
		var oldest []time.Time
		for _, a := range attempts {
			if a.Conversation && a.At.After(lastTalk) && !a.At.After(moved) {
				lastTalk = a.At
			}
			if a.At.After(moved.Add(-week)) && !a.At.After(moved) {
				inWeek++
				oldest = append(oldest, a.At)
			}
		}
		reason := ""
		if !lastTalk.IsZero() && moved.Before(lastTalk.Add(quiet)) {
			moved, reason = lastTalk.Add(quiet), fmt.Sprintf("no call within %d days after a conversation", rules.QuietDaysAfterConversation)
		} else if inWeek >= rules.MaxPerInvoicePerWeek {
			sortTimes(oldest)
			moved = oldest[inWeek-rules.MaxPerInvoicePerWeek].Add(week)
			reason = fmt.Sprintf("at most %d call attempts per invoice in 7 days", rules.MaxPerInvoicePerWeek)
		}
		windowed, whyWindow := NextAllowedContact(p, inv, moved)
		if reason == "" {
			reason = whyWindow
		}
		if windowed.Equal(at) {
			return at, why, true
		}
		if why == "" {
			why = reason
		}
		at = windowed
	}
	return at, why, true
}

func sortTimes(ts []time.Time) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].Before(ts[j-1]); j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}
