package collection

import (
	"testing"
	"time"
)

func TestBookCharges(t *testing.T) {
	p := chargePolicy(t, "late_fee: {amount: {USD: \"25.00\"}}\ninterest: {rate: 8%}\n")
	inv := utcInvoice("USD", 100_000) // charges from 2026-04-01
	s := NewState(inv)
	if ev := s.BookCharges(p, inv, chargeStart.Add(-time.Second), nil, true); len(ev) != 0 {
		t.Fatalf("charges before the charge start: %+v", ev)
	}
	ev := s.BookCharges(p, inv, day(0), nil, true)
	if len(ev) != 1 || ev[0].Kind != EventLateFeeCharged || ev[0].Key != "late-fee/1" || s.Balance != 102_500 || s.Fees != 2_500 {
		t.Fatalf("late fee at the charge start: %+v, balance %d", ev, s.Balance)
	}
	if ev := s.BookCharges(p, inv, day(365), nil, false); len(ev) != 0 {
		t.Fatalf("interest booked without withInterest: %+v", ev)
	}
	ev = s.BookCharges(p, inv, day(365), nil, true)
	if len(ev) != 1 || ev[0].Kind != EventInterestCharged || ev[0].Key != "interest/1" || s.Interest != 8_000 || s.Balance != 110_500 {
		t.Fatalf("a year's interest: %+v, interest %d balance %d", ev, s.Interest, s.Balance)
	}
	if ev := s.BookCharges(p, inv, day(365), nil, true); len(ev) != 0 {
		t.Fatalf("booked twice: %+v", ev)
	}
	s.Status = StatusPaid
	if ev := s.BookCharges(p, inv, day(400), nil, true); ev != nil {
		t.Fatalf("charges on a closed invoice: %+v", ev)
	}
}

func TestBookChargesDiscount(t *testing.T) {
	p := chargePolicy(t, "early_payment_discount: {percent: 2%, within: 10d}\n")
	inv := utcInvoice("USD", 125_000)
	s := NewState(inv)
	at := inv.IssuedAt.Add(24 * time.Hour)
	pending := Payment{PaymentID: "p", Amount: 122_500, PaidAt: at}
	if !s.SettlesWithoutInterest(p, inv, at, pending) || s.Balance != 125_000 || len(s.Events) != 0 {
		t.Fatalf("the discounted amount does not settle, or the look-ahead changed the state: %+v", s)
	}
	ev := s.BookCharges(p, inv, at, &pending, false)
	if len(ev) != 1 || ev[0].Kind != EventDiscountTaken || ev[0].Adjustment.Amount != -2_500 || s.Balance != 122_500 {
		t.Fatalf("discount: %+v, balance %d", ev, s.Balance)
	}
	if s.SettlesWithoutInterest(p, inv, at, Payment{PaymentID: "q", Amount: 100, PaidAt: at}) {
		t.Fatal("a small payment settles")
	}
}

func TestNextChargeAt(t *testing.T) {
	p := chargePolicy(t, "late_fee: {amount: {USD: \"25.00\"}}\n")
	inv := utcInvoice("USD", 100_000)
	s := NewState(inv)
	if got := s.NextChargeAt(p, inv, inv.IssuedAt); !got.Equal(chargeStart) {
		t.Fatalf("before the charge start: %v, want %v", got, chargeStart)
	}
	if got := s.NextChargeAt(p, inv, day(3)); !got.Equal(day(3)) {
		t.Fatalf("a fee due and not booked: %v, want now", got)
	}
	s.BookCharges(p, inv, day(3), nil, false)
	if got := s.NextChargeAt(p, inv, day(3)); !got.IsZero() {
		t.Fatalf("a one-off fee booked: next %v, want none", got)
	}
	if got := s.NextChargeAt(chargePolicy(t, ""), inv, day(3)); !got.IsZero() {
		t.Fatalf("no late fee: next %v", got)
	}
}
