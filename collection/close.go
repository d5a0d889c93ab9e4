package collection

import (
	"time"
)

// Closing: cancelling (voiding) the invoice or writing its balance off.

// CheckClose says whether the invoice may be cancelled or written off.
func (s *State) CheckClose(to Status) error {
	if s.Status.Terminal() {
		return conflict(s.Status, "the invoice is already %s", s.Status)
	}
	if to == StatusWrittenOff && s.Balance == 0 {
		return conflict(s.Status, "the balance is zero; there is nothing to write off")
	}
	return nil
}

// Close cancels (voids) the invoice or writes its balance off; the balance goes to
// zero through a void or write-off adjustment, so the ledger still adds up.
func (s *State) Close(to Status, at time.Time, reason, by string) Event {
	kind, adjKind := EventCancelled, AdjVoid
	if to == StatusWrittenOff {
		kind, adjKind = EventWrittenOff, AdjWriteOff
	}
	e := Event{Key: kind, Kind: kind, At: at, By: by, Reason: reason}
	if s.Balance > 0 {
		e.Adjustment = &Adjustment{ID: adjKind, Kind: adjKind, Amount: -s.Balance, At: at, Reason: reason}
	}
	s.Balance = 0
	s.Dispute, s.Promise, s.Plan, s.Pause, s.Approval = nil, nil, nil, nil, nil
	s.Status, s.ClosedAt = to, at
	return s.record(e)
}
