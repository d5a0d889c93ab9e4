package collection

import (
	"time"

	"github.com/dunwell/dunwell/money"
)

// Adjustments and credit notes: changes of the amount due.

// Adjust is an adjustment or credit note as the workflow receives it.
type Adjust struct {
	ID     string
	Kind   string // AdjAdjustment or AdjCreditNote
	Amount int64  // change of the amount due
	At     time.Time
	Reason string
	By     string
}

// CheckAdjust says whether the adjustment may be applied.
func (s *State) CheckAdjust(a Adjust, currency string) (duplicate bool, err error) {
	if prev, ok := s.findAdjustment("adjust/" + a.ID); ok {
		if prev.Amount != a.Amount {
			return false, invalid("adjustment_id", "%s was already applied with another amount", a.ID)
		}
		return true, nil
	}
	if s.Status.Terminal() {
		return false, conflict(s.Status, "the invoice is %s; its amount can no longer change", s.Status)
	}
	if a.Amount < 0 && -a.Amount > s.Balance {
		return false, invalid("amount", "lowers the amount due by more than the balance of %s", money.Format(s.Balance, currency))
	}
	return false, nil
}

// ApplyAdjust changes the amount due. A balance that reaches zero is settled: paid.
func (s *State) ApplyAdjust(a Adjust) Event {
	s.Balance += a.Amount
	e := Event{Key: "adjust/" + a.ID, Kind: EventAdjusted, At: a.At, By: a.By, Reason: a.Reason,
		Adjustment: &Adjustment{ID: "adjust/" + a.ID, Kind: a.Kind, Amount: a.Amount, At: a.At, Reason: a.Reason}}
	if s.Balance == 0 {
		s.Status, s.ClosedAt = StatusPaid, a.At
	}
	return s.record(e)
}
