package collection

import (
	"testing"
	"time"
)

func TestCheckPromise(t *testing.T) {
	inv := testInvoice()                                 // New York, balance 1250.00
	now := time.Date(2026, 12, 5, 15, 0, 0, 0, time.UTC) // 10:00 in New York
	open := NewState(inv)
	promised := NewState(inv)
	promised.MakePromise(inv, Promise{Date: Date{2026, time.December, 10}, Amount: 100, MadeAt: now})
	for _, tc := range []struct {
		name  string
		st    State
		p     Promise
		kind  string
		field string
		text  string
	}{
		{"today, in the customer's zone", open, Promise{Date: Date{2026, time.December, 5}, Amount: 100}, okay, "", ""},
		{"the whole balance in a year", open, Promise{Date: Date{2027, time.December, 5}, Amount: 125000}, okay, "", ""},
		{"an exact time ahead", open, Promise{Date: Date{2026, time.December, 5}, Until: now.Add(time.Hour), Amount: 100}, okay, "", ""},
		{"yesterday", open, Promise{Date: Date{2026, time.December, 4}, Amount: 100}, isInvalid, "date", "2026-12-04 is in the past"},
		{"an exact time gone", open, Promise{Date: Date{2026, time.December, 5}, Until: now.Add(-time.Minute), Amount: 100}, isInvalid, "date", "is in the past"},
		{"beyond a year", open, Promise{Date: Date{2027, time.December, 7}, Amount: 100}, isInvalid, "date", "must be within a year"},
		{"nothing", open, Promise{Date: Date{2026, time.December, 10}}, isInvalid, "amount", "must be greater than zero"},
		{"more than owed", open, Promise{Date: Date{2026, time.December, 10}, Amount: 125001}, isInvalid, "amount", "is more than the balance of 1250.00"},
		{"already promised", promised, Promise{Date: Date{2026, time.December, 10}, Amount: 100}, isConflict, "status", "the invoice is promised; a promise can be recorded only while it is open or overdue"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, tc.st.CheckPromise(inv, tc.p, now, "USD"), tc.kind, tc.field, tc.text)
		})
	}
}

func TestPromiseMadeKeptAndBroken(t *testing.T) {
	inv := testInvoice()
	at := inv.IssuedAt.Add(time.Hour)
	s := NewState(inv)
	s.ApplyPayment(Payment{PaymentID: "p0", Amount: 5000})
	e := s.MakePromise(inv, Promise{Date: Date{2026, time.November, 20}, Amount: 1000, MadeAt: at, By: "ops"})
	if e.Key != "promise/1" || e.Kind != EventPromiseMade || s.Status != StatusPromised || s.Promise.PaidBefore != 5000 {
		t.Fatalf("made: %+v, status %s, promise %+v", e, s.Status, s.Promise)
	}
	if e = s.BreakPromise(at, "not paid by the date"); e.Key != "promise-end/1" || e.Kind != EventPromiseBroken || s.Promise != nil || s.Status != StatusOpen {
		t.Fatalf("broken: %+v, status %s", e, s.Status)
	}
	if e = s.MakePromise(inv, Promise{Date: Date{2026, time.November, 25}, Amount: 1000, MadeAt: at}); e.Key != "promise/2" {
		t.Fatalf("second promise key %s", e.Key)
	}
	s.ApplyPayment(Payment{PaymentID: "p1", Amount: 1000})
	if ev := s.PaymentEvents(inv, at); len(ev) != 1 || ev[0].Key != "promise-end/2" || ev[0].Kind != EventPromiseKept {
		t.Fatalf("kept: %+v", ev)
	}
}

func TestPromiseDeadline(t *testing.T) {
	inv := testInvoice()
	ny, _ := time.LoadLocation("America/New_York")
	p := Promise{Date: Date{2026, time.December, 10}}
	if got := p.Deadline(inv); !got.Equal(time.Date(2026, 12, 11, 0, 0, 0, 0, ny)) {
		t.Fatalf("a date's deadline is %v; want the end of the day in New York", got)
	}
	p.Until = time.Date(2026, 12, 10, 17, 0, 0, 0, time.UTC)
	if got := p.Deadline(inv); !got.Equal(p.Until) {
		t.Fatalf("an exact deadline is %v", got)
	}
}
