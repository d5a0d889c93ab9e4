package collection

import (
	"testing"
	"time"
)

func TestCheckPlan(t *testing.T) {
	inv := testInvoice() // New York, balance 1250.00
	now := time.Date(2026, 12, 5, 15, 0, 0, 0, time.UTC)
	open := NewState(inv)
	paused := NewState(inv)
	paused.PauseDunning(Pause{Since: now})
	promised := NewState(inv)
	promised.MakePromise(inv, Promise{Date: Date{2026, time.December, 10}, Amount: 100, MadeAt: now})
	d := func(m time.Month, day int) Date { return Date{2026, m, day} }
	two := []Installment{{DueDate: d(time.December, 15), Amount: 25000}, {DueDate: d(time.December, 31), Amount: 100000}}
	sixtyOne := make([]Installment, 61)
	for _, tc := range []struct {
		name  string
		st    State
		items []Installment
		grace int
		kind  string
		field string
		text  string
	}{
		{"two installments", open, two, 3, okay, "", ""},
		{"replacing a promise", promised, two, 0, okay, "", ""},
		{"first due today", open, []Installment{{DueDate: d(time.December, 5), Amount: 125000}}, 0, okay, "", ""},
		{"paused", paused, two, 3, isConflict, "status", "the invoice is paused; a plan can be agreed only while it is open, overdue or promised"},
		{"none", open, nil, 3, isInvalid, "installments", "must list 1 to 60 installments"},
		{"too many", open, sixtyOne, 3, isInvalid, "installments", "must list 1 to 60"},
		{"grace too long", open, two, 31, isInvalid, "grace_days", "must be 0 to 30"},
		{"negative grace", open, two, -1, isInvalid, "grace_days", "must be 0 to 30"},
		{"a zero installment", open, []Installment{{DueDate: d(time.December, 15), Amount: 125000}, {DueDate: d(time.December, 31)}}, 0, isInvalid, "installments[1].amount", "must be greater than zero"},
		{"first in the past", open, []Installment{{DueDate: d(time.December, 4), Amount: 125000}}, 0, isInvalid, "installments[0].due_date", "2026-12-04 is in the past"},
		{"out of order", open, []Installment{{DueDate: d(time.December, 20), Amount: 25000}, {DueDate: d(time.December, 20), Amount: 100000}}, 0, isInvalid, "installments[1].due_date", "must come after the previous installment's 2026-12-20"},
		{"beyond five years", open, []Installment{{DueDate: Date{2032, time.January, 1}, Amount: 125000}}, 0, isInvalid, "installments[0].due_date", "must be within five years"},
		{"not the balance", open, []Installment{{DueDate: d(time.December, 15), Amount: 100000}}, 0, isInvalid, "installments", "sum to 1000.00 but the balance is 1250.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, tc.st.CheckPlan(inv, tc.items, tc.grace, now, "USD"), tc.kind, tc.field, tc.text)
		})
	}
}

func TestPlanInstallments(t *testing.T) {
	inv := testInvoice()
	ny, _ := time.LoadLocation("America/New_York")
	at := inv.IssuedAt
	s := NewState(inv)
	s.ApplyPayment(Payment{PaymentID: "before", Amount: 5000})
	s.MakePromise(inv, Promise{Date: Date{2026, time.November, 20}, Amount: 100, MadeAt: at})
	e := s.AgreePlan(inv, Plan{GraceDays: 2, AgreedAt: at, By: "ops", Installments: []Installment{
		{DueDate: Date{2026, time.November, 15}, Amount: 20000},
		{DueDate: Date{2026, time.December, 15}, DueAt: time.Date(2026, 12, 15, 17, 0, 0, 0, time.UTC), Amount: 100000},
	}})
	if e.Key != "plan/1" || e.Kind != EventPlanAgreed || s.Promise != nil || s.Status != StatusOnPlan || s.Plan.Number != 1 || s.Plan.PaidBefore != 5000 {
		t.Fatalf("agreed: %+v, status %s, plan %+v", e, s.Status, s.Plan)
	}
	if s.InstallmentDue(inv) != 0 || s.InstallmentOwed(inv, 0) != 20000 || s.InstallmentOwed(inv, 1) != 120000 {
		t.Fatalf("nothing paid: due %d, owed %d and %d", s.InstallmentDue(inv), s.InstallmentOwed(inv, 0), s.InstallmentOwed(inv, 1))
	}
	s.ApplyPayment(Payment{PaymentID: "p1", Amount: 25000})
	if s.InstallmentDue(inv) != 1 || s.InstallmentOwed(inv, 0) != 0 || s.InstallmentOwed(inv, 1) != 95000 {
		t.Fatalf("first paid and some: due %d, owed %d", s.InstallmentDue(inv), s.InstallmentOwed(inv, 1))
	}
	if got, want := s.InstallmentDeadline(inv, 0), time.Date(2026, 11, 18, 0, 0, 0, 0, ny); !got.Equal(want) {
		t.Fatalf("deadline of a dated installment %v, want %v (end of day plus 2 days' grace)", got, want)
	}
	if got, want := s.InstallmentDeadline(inv, 1), time.Date(2026, 12, 17, 17, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("deadline of a timed installment %v, want %v", got, want)
	}
	p := standardPolicy(t) // sends at 10:00
	if got, want := s.InstallmentReminderAt(p, inv, 0), time.Date(2026, 11, 12, 10, 0, 0, 0, ny); !got.Equal(want) {
		t.Fatalf("reminder of a dated installment %v, want %v", got, want)
	}
	if got, want := s.InstallmentReminderAt(p, inv, 1), time.Date(2026, 12, 12, 17, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("reminder of a timed installment %v, want %v", got, want)
	}
	e = s.BreakPlan(at, "installment 2 unpaid")
	if e.Key != "plan-end/1" || e.Kind != EventPlanBroken || s.Plan != nil || s.Status != StatusOpen {
		t.Fatalf("broken: %+v, status %s", e, s.Status)
	}
	if e = s.AgreePlan(inv, Plan{AgreedAt: at, Installments: []Installment{{DueDate: Date{2026, time.December, 20}, Amount: s.Balance}}}); e.Key != "plan/2" {
		t.Fatalf("second plan key %s", e.Key)
	}
}
