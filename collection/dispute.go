package collection

import (
	"time"

	"github.com/dunwell/dunwell/money"
)

// Disputes: the customer disagrees; dunning waits until the dispute is resolved or
// upheld.

// Dispute is an open disagreement about the invoice; dunning waits for it.
type Dispute struct {
	ID        string    `json:"id"`
	Reason    string    `json:"reason"`
	ResolveBy *Date     `json:"resolve_by,omitempty"`
	OpenedAt  time.Time `json:"opened_at"`
	By        string    `json:"by,omitempty"`
}

// CheckDispute says whether a dispute may be opened.
func (s *State) CheckDispute(id string) (duplicate bool, err error) {
	if s.hasEvent("dispute/" + id) {
		return true, nil
	}
	switch {
	case s.Status.Terminal():
		return false, conflict(s.Status, "the invoice is %s; there is nothing to dispute", s.Status)
	case s.Dispute != nil:
		return false, conflict(s.Status, "dispute %s is already open; resolve it first", s.Dispute.ID)
	}
	return false, nil
}

// OpenDispute pauses dunning until the dispute is resolved. The dispute supersedes
// any promise, plan, pause or pending approval: they end, and after resolution the
// schedule (and any escalation approval) starts again from where it stood.
func (s *State) OpenDispute(d Dispute) Event {
	s.endPause(d.OpenedAt)
	s.Promise, s.Plan, s.Approval = nil, nil, nil
	s.Dispute = &d
	return s.record(Event{Key: "dispute/" + d.ID, Kind: EventDisputeOpened, At: d.OpenedAt, By: d.By, Reason: d.Reason})
}

// Resolution closes a dispute.
type Resolution struct {
	DisputeID string
	Upheld    bool
	// AdjustAmount (> 0) lowers the amount due when upheld; Cancel voids the invoice.
	AdjustAmount int64
	Cancel       bool
	At           time.Time
	Reason       string
	By           string
}

// CheckResolve says whether the open dispute may be resolved this way.
func (s *State) CheckResolve(r Resolution, currency string) (duplicate bool, err error) {
	if s.Dispute == nil {
		if r.DisputeID != "" && s.hasEvent("dispute-closed/"+r.DisputeID) {
			return true, nil
		}
		return false, conflict(s.Status, "no dispute is open")
	}
	switch {
	case r.DisputeID != "" && r.DisputeID != s.Dispute.ID:
		return false, conflict(s.Status, "the open dispute is %s, not %s", s.Dispute.ID, r.DisputeID)
	case !r.Upheld && (r.AdjustAmount != 0 || r.Cancel):
		return false, invalid("outcome", "only an upheld dispute adjusts or cancels the invoice")
	case r.Upheld && r.AdjustAmount == 0 && !r.Cancel:
		return false, invalid("outcome", "an upheld dispute needs adjust_amount_minor or cancel")
	case r.Upheld && r.AdjustAmount != 0 && r.Cancel:
		return false, invalid("outcome", "give adjust_amount_minor or cancel, not both")
	case r.AdjustAmount < 0:
		return false, invalid("adjust_amount_minor", "must be positive")
	case r.AdjustAmount > s.Balance:
		return false, invalid("adjust_amount_minor", "is more than the balance of %s", money.Format(s.Balance, currency))
	}
	return false, nil
}

// ResolveDispute ends the dispute. Resolved: dunning resumes, the schedule shifted
// by the time the dispute was open. Upheld: the amount due is lowered (settling the
// invoice when nothing is left) or the invoice is voided.
func (s *State) ResolveDispute(r Resolution) []Event {
	d := *s.Dispute
	s.Dispute = nil
	s.Shift += r.At.Sub(d.OpenedAt)
	kind := EventDisputeResolved
	if r.Upheld {
		kind = EventDisputeUpheld
	}
	events := []Event{s.record(Event{Key: "dispute-closed/" + d.ID, Kind: kind, At: r.At, By: r.By, Reason: r.Reason})}
	switch {
	case r.Cancel:
		events = append(events, s.Close(StatusCancelled, r.At, r.Reason, r.By))
	case r.AdjustAmount > 0:
		events = append(events, s.ApplyAdjust(Adjust{ID: "dispute/" + d.ID, Kind: AdjCreditNote, Amount: -r.AdjustAmount, At: r.At, Reason: r.Reason, By: r.By}))
	}
	return events
}
