package collection

import (
	"time"
)

// Refunds and chargebacks: money paid back out of the payments received, which
// re-opens the balance (and a paid invoice).

// Refund is a refund or chargeback as the workflow receives it.
type Refund struct {
	ID        string
	Kind      string // AdjRefund or AdjChargeback
	PaymentID string
	Amount    int64
	At        time.Time
	Reason    string
	By        string
}

// Refundable is what may still be refunded: payments received less refunds.
func (s *State) Refundable() int64 {
	var sum int64
	for _, p := range s.Payments {
		sum += p.Amount
	}
	for _, a := range s.Adjustments {
		if a.Kind == AdjRefund || a.Kind == AdjChargeback {
			sum -= a.Amount - a.Credit // a refund re-opens Amount and takes back -Credit
		}
	}
	return sum
}

// RefundableOnPayment is what may still be refunded of payment id: its amount less
// the refunds and chargebacks that named it.
func (s *State) RefundableOnPayment(id string) int64 {
	p, ok := s.FindPayment(id)
	if !ok {
		return 0
	}
	sum := p.Amount
	for _, a := range s.Adjustments {
		if (a.Kind == AdjRefund || a.Kind == AdjChargeback) && a.PaymentID == id {
			sum -= a.Amount - a.Credit
		}
	}
	return sum
}

// key is the refund's adjustment id and event key. Refunds and chargebacks have
// their own namespaces: a provider may number a chargeback like a refund of the same
// payment, and one must not be taken for a repeat of the other.
func (r Refund) key() string {
	if r.Kind == AdjChargeback {
		return "chargeback/" + r.ID
	}
	return "refund/" + r.ID
}

func (s *State) findAdjustment(id string) (Adjustment, bool) {
	for _, a := range s.Adjustments {
		if a.ID == id {
			return a, true
		}
	}
	return Adjustment{}, false
}

// CheckRefund says whether the refund may be applied; duplicate is true when it was
// applied before (same id and amount). A refund is capped by the payments still
// refundable and, when it names its payment, by what that payment has left: a
// provider's total refunded on a payment is compared with the refunds that named it.
func (s *State) CheckRefund(r Refund, refundWindowOpen bool) (duplicate bool, err error) {
	if prev, ok := s.findAdjustment(r.key()); ok {
		if prev.Amount-prev.Credit != r.Amount {
			return false, invalid("refund_id", "%s was already applied with another amount", r.ID)
		}
		return true, nil
	}
	switch {
	case s.Status == StatusCancelled || s.Status == StatusWrittenOff:
		return false, conflict(s.Status, "the invoice is %s; a refund cannot re-open it", s.Status)
	case s.Status == StatusPaid && !refundWindowOpen:
		return false, conflict(s.Status, "the invoice is paid and its refund window has closed")
	case r.PaymentID != "":
		if _, ok := s.FindPayment(r.PaymentID); !ok {
			return false, conflict(s.Status, "payment %s was not applied to this invoice", r.PaymentID)
		}
	}
	if r.Amount > s.Refundable() {
		return false, conflict(s.Status, "the refund is larger than the payments still refundable")
	}
	if r.PaymentID != "" && r.Amount > s.RefundableOnPayment(r.PaymentID) {
		return false, conflictOn(s.Status, "amount", "is larger than what payment %s has left to refund", r.PaymentID)
	}
	return false, nil
}

// ApplyRefund re-opens the balance by the refund, after taking back any credit the
// customer held. A paid invoice re-opens.
func (s *State) ApplyRefund(r Refund) []Event {
	fromCredit := min(s.Credit, r.Amount)
	s.Credit -= fromCredit
	reopen := r.Amount - fromCredit
	s.Balance += reopen
	adj := &Adjustment{ID: r.key(), Kind: r.Kind, Amount: reopen, Credit: -fromCredit, PaymentID: r.PaymentID, At: r.At, Reason: r.Reason}
	events := []Event{}
	if s.Status == StatusPaid && s.Balance > 0 {
		s.Status = StatusOpen // DeriveStatus below picks the right open status
		s.ClosedAt = time.Time{}
		events = append(events, Event{Key: "reopened/" + r.key(), Kind: EventReopened, At: r.At, By: r.By, Reason: r.Reason})
	}
	// The refund event goes first so its adjustment lands before the reopening.
	events = append([]Event{{Key: r.key(), Kind: EventRefunded, At: r.At, By: r.By, Reason: r.Reason, Adjustment: adj}}, events...)
	for _, e := range events {
		s.record(e)
	}
	return events
}
