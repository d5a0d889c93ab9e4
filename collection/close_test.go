package collection

import (
	"testing"
	"time"
)

func TestCheckClose(t *testing.T) {
	inv, open, paid := openAndPaid()
	settled := NewState(inv)
	settled.Balance = 0 // e.g. a credit note of everything, before the status caught up
	runChecks(t, []checkCase[Status]{
		{"cancel", open, StatusCancelled, false, okay, "status", ""},
		{"write off", open, StatusWrittenOff, false, okay, "status", ""},
		{"cancel with nothing owed", settled, StatusCancelled, false, okay, "status", ""},
		{"write off nothing", settled, StatusWrittenOff, false, isConflict, "status", "the balance is zero; there is nothing to write off"},
		{"cancel a paid invoice", paid, StatusCancelled, false, isConflict, "status", "the invoice is already paid"},
	}, func(st State, to Status) (bool, error) { return false, st.CheckClose(to) })
}

func TestClose(t *testing.T) {
	inv := testInvoice()
	at := inv.IssuedAt.Add(24 * time.Hour)
	for _, tc := range []struct {
		name    string
		to      Status
		balance int64
		kind    string
		adjKind string
	}{
		{"cancel voids the balance", StatusCancelled, 100000, EventCancelled, AdjVoid},
		{"write-off", StatusWrittenOff, 100000, EventWrittenOff, AdjWriteOff},
		{"cancel with nothing owed", StatusCancelled, 0, EventCancelled, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewState(inv)
			s.Balance = tc.balance
			s.Promise, s.Pause, s.Approval = &Promise{}, &Pause{}, &ApprovalWait{}
			e := s.Close(tc.to, at, "customer closed", "ops")
			if e.Kind != tc.kind || e.Key != tc.kind || s.Status != tc.to || !s.ClosedAt.Equal(at) || s.Balance != 0 || s.Held() {
				t.Fatalf("event %+v, state %+v", e, s)
			}
			switch {
			case tc.adjKind == "" && e.Adjustment != nil:
				t.Fatalf("a zero balance closed with an adjustment %+v", e.Adjustment)
			case tc.adjKind != "" && (e.Adjustment == nil || e.Adjustment.Kind != tc.adjKind || e.Adjustment.Amount != -tc.balance):
				t.Fatalf("adjustment %+v, want %s of %d", e.Adjustment, tc.adjKind, -tc.balance)
			}
		})
	}
}
