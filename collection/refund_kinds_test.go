package collection

import "testing"

// A chargeback numbered like an earlier refund of the same payment is money of its
// own, not a repeat of the refund; each is still a repeat of itself.
func TestRefundsAndChargebacksHaveTheirOwnIDs(t *testing.T) {
	s := refundState(t) // refund r-a of 3.00 on A
	cb := Refund{ID: "r-a", Kind: AdjChargeback, PaymentID: "B", Amount: 5000}
	dup, err := s.CheckRefund(cb, false)
	if err != nil || dup {
		t.Fatalf("a chargeback with a refund's id: duplicate %v, error %v", dup, err)
	}
	events := s.ApplyRefund(cb)
	if adj := events[0].Adjustment; events[0].Key != "chargeback/r-a" || adj == nil || adj.ID != "chargeback/r-a" || adj.Kind != AdjChargeback {
		t.Fatalf("chargeback booked as %+v", events[0])
	}
	for _, r := range []Refund{cb, {ID: "r-a", Kind: AdjRefund, PaymentID: "A", Amount: 300}} {
		if dup, err := s.CheckRefund(r, false); err != nil || !dup {
			t.Fatalf("%s %s again: duplicate %v, error %v", r.Kind, r.ID, dup, err)
		}
	}
}
