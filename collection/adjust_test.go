package collection

import (
	"testing"
	"time"
)

func TestCheckAdjust(t *testing.T) {
	_, open, paid := openAndPaid()
	open.ApplyAdjust(Adjust{ID: "a1", Kind: AdjAdjustment, Amount: 1000})
	runChecks(t, []checkCase[Adjust]{
		{"raise", open, Adjust{ID: "a2", Amount: 500}, false, okay, "", ""},
		{"lower to zero", open, Adjust{ID: "a2", Amount: -126000}, false, okay, "", ""},
		{"a repeat", open, Adjust{ID: "a1", Amount: 1000}, true, okay, "", ""},
		{"a repeat with another amount", open, Adjust{ID: "a1", Amount: 999}, false, isInvalid, "adjustment_id", "a1 was already applied with another amount"},
		{"lower below zero", open, Adjust{ID: "a2", Amount: -126001}, false, isInvalid, "amount", "lowers the amount due by more than the balance of 1260.00"},
		{"paid", paid, Adjust{ID: "a2", Amount: 500}, false, isConflict, "status", "the invoice is paid; its amount can no longer change"},
	}, func(st State, a Adjust) (bool, error) {
		a.Kind = AdjAdjustment
		return st.CheckAdjust(a, "USD")
	})
}

func TestApplyAdjust(t *testing.T) {
	inv := testInvoice()
	at := inv.IssuedAt.Add(time.Hour)
	for _, tc := range []struct {
		name    string
		a       Adjust
		balance int64
		status  Status
	}{
		{"raise", Adjust{ID: "a", Kind: AdjAdjustment, Amount: 500, At: at}, 125500, StatusOpen},
		{"credit note", Adjust{ID: "a", Kind: AdjCreditNote, Amount: -25000, At: at}, 100000, StatusOpen},
		{"credit note of the balance settles", Adjust{ID: "a", Kind: AdjCreditNote, Amount: -125000, At: at}, 0, StatusPaid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewState(inv)
			e := s.ApplyAdjust(tc.a)
			if s.Balance != tc.balance || s.Status != tc.status {
				t.Fatalf("balance %d status %s, want %d %s", s.Balance, s.Status, tc.balance, tc.status)
			}
			if e.Key != "adjust/a" || e.Kind != EventAdjusted || e.Adjustment == nil || e.Adjustment.Kind != tc.a.Kind || e.Adjustment.Amount != tc.a.Amount {
				t.Fatalf("event %+v", e)
			}
			if tc.status == StatusPaid && !s.ClosedAt.Equal(at) {
				t.Fatalf("settled but ClosedAt %v", s.ClosedAt)
			}
			if got := s.AmountDue(inv); tc.a.Kind == AdjCreditNote && got != inv.AmountDue+tc.a.Amount {
				t.Fatalf("AmountDue %d", got)
			}
		})
	}
}
