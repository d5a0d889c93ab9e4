package collection

import (
	"strings"
	"testing"
	"time"

	"github.com/dunwell/dunwell/money"
)

func TestCheckPaidAt(t *testing.T) {
	issued := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		paidAt time.Time
		kind   string
		text   string
	}{
		{"at issue", issued, okay, ""},
		{"between", issued.Add(72 * time.Hour), okay, ""},
		{"now", now, okay, ""},
		{"a worker's clock behind the provider's", now.Add(PaidAtSkew), okay, ""},
		{"a second before issue", issued.Add(-time.Second), isInvalid, "is before the invoice was issued (2026-11-01T10:00:00Z)"},
		{"a year before", issued.AddDate(-1, 0, 0), isInvalid, "cannot predate its invoice"},
		{"past the skew", now.Add(PaidAtSkew + time.Second), isInvalid, "is in the future (now is 2026-11-20T09:00:00Z)"},
		{"far future", now.AddDate(1, 0, 0), isInvalid, "a payment is dated when it was made"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, CheckPaidAt(tc.paidAt, issued, now), tc.kind, "paid_at", tc.text)
		})
	}
}

func TestCheckPayment(t *testing.T) {
	inv := testInvoice() // USD 1250.00, issued 2026-11-01 10:00 UTC
	now := inv.IssuedAt.Add(10 * 24 * time.Hour)
	open := NewState(inv)
	open.ApplyPayment(Payment{PaymentID: "p1", Amount: 25000, PaidAt: inv.IssuedAt, AppliedAt: inv.IssuedAt})
	paid := NewState(inv)
	paid.ApplyPayment(Payment{PaymentID: "p1", Amount: 125000, PaidAt: inv.IssuedAt, AppliedAt: inv.IssuedAt})
	for _, tc := range []struct {
		name      string
		st        State
		p         Payment
		currency  string
		duplicate bool
		kind      string
		field     string
		text      string
	}{
		{"a new payment", open, Payment{PaymentID: "p2", Amount: 100}, "USD", false, okay, "", ""},
		{"dated within bounds", open, Payment{PaymentID: "p2", Amount: 100, PaidAt: now.Add(-time.Hour)}, "USD", false, okay, "", ""},
		{"a repeat", open, Payment{PaymentID: "p1", Amount: 25000}, "USD", true, okay, "", ""},
		{"a repeat of a paid invoice's payment", paid, Payment{PaymentID: "p1", Amount: 125000}, "USD", true, okay, "", ""},
		{"no id", open, Payment{Amount: 100}, "USD", false, isInvalid, "payment_id", IDProblem},
		{"a bad id", open, Payment{PaymentID: "a b", Amount: 100}, "USD", false, isInvalid, "payment_id", IDProblem},
		{"another currency", open, Payment{PaymentID: "p2", Amount: 100}, "EUR", false, isInvalid, "currency", "is EUR but the invoice is in USD"},
		{"zero", open, Payment{PaymentID: "p2"}, "USD", false, isInvalid, "amount", "must be greater than zero"},
		{"too large", open, Payment{PaymentID: "p2", Amount: money.MaxMinor + 1}, "USD", false, isInvalid, "amount", "is too large"},
		{"before issue", open, Payment{PaymentID: "p2", Amount: 100, PaidAt: inv.IssuedAt.Add(-time.Minute)}, "USD", false, isInvalid, "paid_at", "before the invoice was issued"},
		{"in the future", open, Payment{PaymentID: "p2", Amount: 100, PaidAt: now.Add(time.Hour)}, "USD", false, isInvalid, "paid_at", "in the future"},
		{"a repeat with another amount", open, Payment{PaymentID: "p1", Amount: 100}, "USD", false, isConflict, "payment_id", "p1 was already applied with amount 250.00"},
		{"after the invoice was paid", paid, Payment{PaymentID: "p2", Amount: 100}, "USD", false, isConflict, "status", "the invoice is paid; payment not applied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dup, err := tc.st.CheckPayment(inv, tc.p, tc.currency, now)
			checkErr(t, err, tc.kind, tc.field, tc.text)
			if dup != tc.duplicate {
				t.Fatalf("duplicate = %v, want %v", dup, tc.duplicate)
			}
		})
	}
}

// A payment dated before the invoice existed would have earned the early-payment
// discount; CheckPayment refuses it, so the discount is never computed from it.
func TestEarlyDatedPaymentEarnsNoDiscount(t *testing.T) {
	inv := testInvoice()
	s := NewState(inv)
	_, err := s.CheckPayment(inv, Payment{PaymentID: "p1", Amount: inv.AmountDue, PaidAt: inv.IssuedAt.AddDate(0, -1, 0)}, "USD", inv.IssuedAt.AddDate(0, 0, 40))
	if err == nil || !strings.HasPrefix(err.Error(), "paid_at: ") {
		t.Fatalf("a payment dated a month before issue: %v", err)
	}
}

func TestPaymentEvents(t *testing.T) {
	inv := testInvoice()
	now := inv.IssuedAt.Add(time.Hour)
	s := NewState(inv)
	s.MakePromise(inv, Promise{Date: Date{2026, time.November, 20}, Amount: 50000, MadeAt: now})
	s.ApplyPayment(Payment{PaymentID: "p1", Amount: 20000})
	if ev := s.PaymentEvents(inv, now); len(ev) != 0 || s.Promise == nil {
		t.Fatalf("a part of the promised amount kept the promise: %v", ev)
	}
	s.ApplyPayment(Payment{PaymentID: "p2", Amount: 30000})
	ev := s.PaymentEvents(inv, now)
	if len(ev) != 1 || ev[0].Kind != EventPromiseKept || ev[0].Key != "promise-end/1" || s.Promise != nil || s.Status != StatusOpen {
		t.Fatalf("promised amount paid: events %v, state %s", ev, s.Status)
	}

	s = NewState(inv)
	s.AgreePlan(inv, Plan{Installments: []Installment{{DueDate: Date{2026, time.November, 15}, Amount: 25000}, {DueDate: Date{2026, time.December, 15}, Amount: 100000}}, AgreedAt: now})
	s.ApplyPayment(Payment{PaymentID: "p1", Amount: 25000})
	if ev := s.PaymentEvents(inv, now); len(ev) != 0 || s.InstallmentDue(inv) != 1 {
		t.Fatalf("first installment paid: events %v, due %d", ev, s.InstallmentDue(inv))
	}
	s.ApplyPayment(Payment{PaymentID: "p2", Amount: 100000})
	ev = s.PaymentEvents(inv, now)
	if len(ev) != 1 || ev[0].Kind != EventPlanCompleted || ev[0].Key != "plan-end/1" || s.Plan != nil {
		t.Fatalf("plan paid: events %v", ev)
	}
}
