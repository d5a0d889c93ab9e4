package collection

import (
	"testing"
	"time"
)

// refundState is an invoice of 1250.00 with payments A=10.00 and B=990.00 and a
// refund of 3.00 on A.
func refundState(t *testing.T) State {
	t.Helper()
	inv := testInvoice()
	s := NewState(inv)
	s.ApplyPayment(Payment{PaymentID: "A", Amount: 1000})
	s.ApplyPayment(Payment{PaymentID: "B", Amount: 99000})
	s.ApplyRefund(Refund{ID: "r-a", Kind: AdjRefund, PaymentID: "A", Amount: 300})
	return s
}

func TestCheckRefund(t *testing.T) {
	base := refundState(t) // A: 7.00 left, B: 990.00, 997.00 in all
	paidClosed := base.clip()
	paidClosed.Status = StatusPaid
	cancelled := base.clip()
	cancelled.Status = StatusCancelled
	for _, tc := range []struct {
		name       string
		st         State
		r          Refund
		windowOpen bool
		duplicate  bool
		kind       string
		field      string
		text       string
	}{
		{"within payment A", base, Refund{ID: "r1", PaymentID: "A", Amount: 700}, false, false, okay, "", ""},
		{"within payment B", base, Refund{ID: "r1", PaymentID: "B", Amount: 99000}, false, false, okay, "", ""},
		{"naming no payment, capped by the invoice", base, Refund{ID: "r1", Amount: 99700}, false, false, okay, "", ""},
		{"a repeat", base, Refund{ID: "r-a", PaymentID: "A", Amount: 300}, false, true, okay, "", ""},
		{"a repeat with another amount", base, Refund{ID: "r-a", PaymentID: "A", Amount: 301}, false, false, isInvalid, "refund_id", "r-a was already applied with another amount"},
		{"more than payment A has left", base, Refund{ID: "r1", PaymentID: "A", Amount: 701}, false, false, isConflict, "amount", "is larger than what payment A has left to refund"},
		{"half of the invoice naming the small payment", base, Refund{ID: "r1", PaymentID: "A", Amount: 50000}, false, false, isConflict, "amount", "payment A"},
		{"more than every payment", base, Refund{ID: "r1", Amount: 99701}, false, false, isConflict, "status", "larger than the payments still refundable"},
		{"an unknown payment", base, Refund{ID: "r1", PaymentID: "C", Amount: 100}, false, false, isConflict, "status", "payment C was not applied to this invoice"},
		{"cancelled", cancelled, Refund{ID: "r1", Amount: 100}, true, false, isConflict, "status", "the invoice is cancelled; a refund cannot re-open it"},
		{"paid, window closed", paidClosed, Refund{ID: "r1", Amount: 100}, false, false, isConflict, "status", "refund window has closed"},
		{"paid, window open", paidClosed, Refund{ID: "r1", Amount: 100}, true, false, okay, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.r.Kind = AdjRefund
			dup, err := tc.st.CheckRefund(tc.r, tc.windowOpen)
			checkErr(t, err, tc.kind, tc.field, tc.text)
			if dup != tc.duplicate {
				t.Fatalf("duplicate = %v, want %v", dup, tc.duplicate)
			}
		})
	}
}

func TestRefundableOnPayment(t *testing.T) {
	s := refundState(t)
	s.ApplyRefund(Refund{ID: "cb-b", Kind: AdjChargeback, PaymentID: "B", Amount: 9000})
	s.ApplyRefund(Refund{ID: "r-any", Kind: AdjRefund, Amount: 500})
	for id, want := range map[string]int64{"A": 700, "B": 90000, "C": 0} {
		if got := s.RefundableOnPayment(id); got != want {
			t.Errorf("RefundableOnPayment(%s) = %d, want %d", id, got, want)
		}
	}
	if got := s.Refundable(); got != 100000-300-9000-500 {
		t.Errorf("Refundable = %d", got)
	}
}

func TestApplyRefund(t *testing.T) {
	inv := testInvoice()
	at := inv.IssuedAt.Add(48 * time.Hour)
	for _, tc := range []struct {
		name                  string
		pay                   int64 // one payment, P
		refund                int64
		balance, credit       int64
		status                Status
		kinds                 []string
		adjAmount, adjCredit  int64
		refundableOnP, closed bool
	}{
		{"part of a part payment", 50000, 20000, 95000, 0, StatusOpen, []string{EventRefunded}, 20000, 0, false, false},
		{"over-payment credit first", 126000, 500, 0, 500, StatusPaid, []string{EventRefunded}, 0, -500, false, true},
		{"beyond the credit re-opens", 126000, 3000, 2000, 0, StatusOpen, []string{EventRefunded, EventReopened}, 2000, -1000, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewState(inv)
			s.ApplyPayment(Payment{PaymentID: "P", Amount: tc.pay, AppliedAt: inv.IssuedAt})
			events := s.ApplyRefund(Refund{ID: "r1", Kind: AdjRefund, PaymentID: "P", Amount: tc.refund, At: at, By: "ops", Reason: "returned"})
			if s.Balance != tc.balance || s.Credit != tc.credit || s.Status != tc.status {
				t.Fatalf("balance %d credit %d status %s; want %d %d %s", s.Balance, s.Credit, s.Status, tc.balance, tc.credit, tc.status)
			}
			if len(events) != len(tc.kinds) {
				t.Fatalf("events %v, want kinds %v", events, tc.kinds)
			}
			for i, e := range events {
				if e.Kind != tc.kinds[i] || !e.At.Equal(at) || e.By != "ops" {
					t.Fatalf("event %d = %+v, want %s at %s by ops", i, e, tc.kinds[i], at)
				}
			}
			adj := events[0].Adjustment
			if adj == nil || adj.ID != "refund/r1" || adj.Amount != tc.adjAmount || adj.Credit != tc.adjCredit || adj.PaymentID != "P" {
				t.Fatalf("adjustment %+v, want amount %d credit %d on P", adj, tc.adjAmount, tc.adjCredit)
			}
			if got := s.RefundableOnPayment("P"); got != tc.pay-tc.refund {
				t.Fatalf("RefundableOnPayment(P) = %d, want %d", got, tc.pay-tc.refund)
			}
			if s.ClosedAt.IsZero() == tc.closed {
				t.Fatalf("ClosedAt %v, closed %v", s.ClosedAt, tc.closed)
			}
			if dup, err := s.CheckRefund(Refund{ID: "r1", Amount: tc.refund}, true); !dup || err != nil {
				t.Fatalf("the same refund again: duplicate %v, %v", dup, err)
			}
		})
	}
}
