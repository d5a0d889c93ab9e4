package collection

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dunwell/dunwell/policy"
)

// Error kinds a check's table expects.
const (
	okay       = ""
	isConflict = "conflict"
	isInvalid  = "invalid"
)

// openAndPaid returns the test invoice with a fresh state and one paid in full,
// the two states most check tables start from.
func openAndPaid() (*Invoice, State, State) {
	inv := testInvoice()
	paid := NewState(inv)
	paid.ApplyPayment(Payment{PaymentID: "p", Amount: inv.AmountDue})
	return inv, NewState(inv), paid
}

// checkCase is one row of a check's table: the check on st with in is a repeat
// (duplicate) or fails as kind, naming field and saying text.
type checkCase[T any] struct {
	name      string
	st        State
	in        T
	duplicate bool
	kind      string
	field     string
	text      string
}

// runChecks runs check on every row of a check table.
func runChecks[T any](t *testing.T, cases []checkCase[T], check func(State, T) (bool, error)) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dup, err := check(tc.st, tc.in)
			checkErr(t, err, tc.kind, tc.field, tc.text)
			if dup != tc.duplicate {
				t.Fatalf("duplicate = %v, want %v", dup, tc.duplicate)
			}
		})
	}
}

// checkErr asserts that err is of kind (okay: nil), names field and says text (a
// part of its reason), and that its message reads "field: reason".
func checkErr(t *testing.T, err error, kind, field, text string) {
	t.Helper()
	if kind == okay {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("accepted; want a %s error on %s (%q)", kind, field, text)
	}
	var (
		gotField, reason string
		ce               *ConflictError
		ie               *InvalidError
	)
	switch kind {
	case isConflict:
		if !errors.As(err, &ce) || !errors.Is(err, ErrConflict) || errors.Is(err, ErrInvalid) {
			t.Fatalf("%v (%T) is not a conflict", err, err)
		}
		gotField, reason = ce.Field, ce.Reason
	case isInvalid:
		if !errors.As(err, &ie) || !errors.Is(err, ErrInvalid) || errors.Is(err, ErrConflict) {
			t.Fatalf("%v (%T) is not invalid input", err, err)
		}
		gotField, reason = ie.Field, ie.Reason
	}
	if gotField != field || !strings.Contains(reason, text) {
		t.Fatalf("%s error on %q saying %q; want one on %q saying %q", kind, gotField, reason, field, text)
	}
	if err.Error() != field+": "+reason {
		t.Fatalf("message %q does not read %q", err.Error(), field+": "+reason)
	}
}

func TestErrorsCarryFieldAndReason(t *testing.T) {
	c := &ConflictError{Status: StatusPaid, Reason: "the invoice is paid"}
	if c.Error() != "status: the invoice is paid" {
		t.Fatalf("a conflict without a field reads %q; want it about the status", c.Error())
	}
	checkErr(t, conflict(StatusPaid, "the invoice is %s", StatusPaid), isConflict, "status", "the invoice is paid")
	checkErr(t, conflictOn(StatusOpen, "amount", "is %d too much", 5), isConflict, "amount", "is 5 too much")
	checkErr(t, invalid("installments[1].amount", "must be greater than zero"), isInvalid, "installments[1].amount", "greater than zero")
}

func TestDeriveStatus(t *testing.T) {
	d := Date{2026, time.December, 1}
	for _, tc := range []struct {
		name string
		st   State
		want Status
	}{
		{"fresh", State{Status: StatusOpen}, StatusOpen},
		{"past due", State{Status: StatusOpen, PastDue: true}, StatusOverdue},
		{"promise", State{Status: StatusOverdue, PastDue: true, Promise: &Promise{Date: d}}, StatusPromised},
		{"plan over promise", State{Status: StatusOpen, Plan: &Plan{}, Promise: &Promise{}}, StatusOnPlan},
		{"pause over plan", State{Status: StatusOpen, Pause: &Pause{}, Plan: &Plan{}}, StatusPaused},
		{"escalated over pause", State{Status: StatusOpen, Escalation: &Escalation{}, Pause: &Pause{}}, StatusEscalated},
		{"approval over escalation", State{Status: StatusOpen, Approval: &ApprovalWait{}, Escalation: &Escalation{}}, StatusAwaitingApproval},
		{"dispute over everything", State{Status: StatusOpen, Dispute: &Dispute{}, Approval: &ApprovalWait{}}, StatusDisputed},
		{"terminal stays", State{Status: StatusPaid, Dispute: &Dispute{}}, StatusPaid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.st.DeriveStatus()
			if tc.st.Status != tc.want {
				t.Fatalf("status %s, want %s", tc.st.Status, tc.want)
			}
		})
	}
}

func TestHeldAndNormalize(t *testing.T) {
	s := State{Status: StatusEscalated}
	if s.Held() {
		t.Fatal("an escalated invoice without holds is held")
	}
	s.Normalize()
	if !s.PastDue {
		t.Fatal("Normalize left an escalated invoice not past due")
	}
	for _, hold := range []State{{Dispute: &Dispute{}}, {Promise: &Promise{}}, {Plan: &Plan{}}, {Pause: &Pause{}}, {Approval: &ApprovalWait{}}} {
		if !hold.Held() {
			t.Fatalf("%+v is not held", hold)
		}
	}
}

func TestTotalAppliedAndAmountDue(t *testing.T) {
	inv := testInvoice() // 1250.00
	s := NewState(inv)
	s.ApplyPayment(Payment{PaymentID: "p1", Amount: 20000})
	s.ApplyAdjust(Adjust{ID: "a1", Kind: AdjCreditNote, Amount: -5000, Reason: "damaged"})
	s.ApplyRefund(Refund{ID: "r1", Kind: AdjRefund, PaymentID: "p1", Amount: 3000})
	if got := s.AmountDue(inv); got != 120000 {
		t.Fatalf("AmountDue = %d, want 120000 (the credit note counts, the refund does not)", got)
	}
	if got := s.TotalApplied(inv); got != 17000 {
		t.Fatalf("TotalApplied = %d, want 17000 (the payment net of its refund)", got)
	}
}

func TestOptOutAndRecord(t *testing.T) {
	s := State{Status: StatusOpen, OptedOut: []policy.Channel{policy.SMS, policy.Email}}
	s.OptIn(policy.SMS)
	if s.IsOptedOut(policy.SMS) || !s.IsOptedOut(policy.Email) {
		t.Fatalf("opted out: %v", s.OptedOut)
	}
	adj := &Adjustment{ID: "x", Kind: AdjAdjustment, Amount: 5}
	s.Record(Event{Key: "k", Kind: EventAdjusted, Adjustment: adj})
	if !s.hasEvent("k") || len(s.Adjustments) != 1 || s.countEvents(EventAdjusted) != 1 {
		t.Fatalf("Record kept events %v, adjustments %v", s.Events, s.Adjustments)
	}
}
