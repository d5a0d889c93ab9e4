package collection

import (
	"testing"
	"time"
)

func TestCheckDispute(t *testing.T) {
	inv, open, paid := openAndPaid()
	disputed := NewState(inv)
	disputed.OpenDispute(Dispute{ID: "d1", Reason: "wrong amount", OpenedAt: inv.IssuedAt})
	runChecks(t, []checkCase[string]{
		{"open", open, "d1", false, okay, "status", ""},
		{"the same dispute again", disputed, "d1", true, okay, "status", ""},
		{"a second dispute", disputed, "d2", false, isConflict, "status", "dispute d1 is already open; resolve it first"},
		{"paid", paid, "d1", false, isConflict, "status", "the invoice is paid; there is nothing to dispute"},
	}, func(st State, id string) (bool, error) { return st.CheckDispute(id) })
}

func TestOpenDisputeEndsTheOtherHolds(t *testing.T) {
	inv := testInvoice()
	t0 := inv.IssuedAt
	s := NewState(inv)
	s.PauseDunning(Pause{Reason: "call", Since: t0})
	s.Promise, s.Plan, s.Approval = &Promise{}, &Plan{}, &ApprovalWait{}
	e := s.OpenDispute(Dispute{ID: "d1", Reason: "wrong amount", OpenedAt: t0.Add(3 * time.Hour), By: "ops"})
	if s.Pause != nil || s.Promise != nil || s.Plan != nil || s.Approval != nil || s.Dispute == nil {
		t.Fatalf("holds after a dispute: %+v", s)
	}
	if s.Shift != 3*time.Hour || s.Status != StatusDisputed {
		t.Fatalf("shift %v status %s; want the pause's 3h and disputed", s.Shift, s.Status)
	}
	if e.Key != "dispute/d1" || e.Kind != EventDisputeOpened || e.Reason != "wrong amount" || e.By != "ops" {
		t.Fatalf("event %+v", e)
	}
}

func TestCheckResolve(t *testing.T) {
	inv, open, _ := openAndPaid()
	disputed := NewState(inv)
	disputed.OpenDispute(Dispute{ID: "d1", OpenedAt: inv.IssuedAt})
	resolved := disputed.clip()
	resolved.Dispute = &Dispute{ID: "d1", OpenedAt: inv.IssuedAt}
	resolved.ResolveDispute(Resolution{DisputeID: "d1", At: inv.IssuedAt.Add(time.Hour)})
	runChecks(t, []checkCase[Resolution]{
		{"resolved", disputed, Resolution{DisputeID: "d1"}, false, okay, "", ""},
		{"the open one, unnamed", disputed, Resolution{}, false, okay, "", ""},
		{"upheld with a credit", disputed, Resolution{Upheld: true, AdjustAmount: 125000}, false, okay, "", ""},
		{"upheld, cancelled", disputed, Resolution{Upheld: true, Cancel: true}, false, okay, "", ""},
		{"already resolved", resolved, Resolution{DisputeID: "d1"}, true, okay, "", ""},
		{"none open", open, Resolution{DisputeID: "d1"}, false, isConflict, "status", "no dispute is open"},
		{"another dispute", disputed, Resolution{DisputeID: "d2"}, false, isConflict, "status", "the open dispute is d1, not d2"},
		{"resolved yet adjusted", disputed, Resolution{AdjustAmount: 5}, false, isInvalid, "outcome", "only an upheld dispute adjusts or cancels"},
		{"upheld without an outcome", disputed, Resolution{Upheld: true}, false, isInvalid, "outcome", "needs adjust_amount_minor or cancel"},
		{"upheld with both", disputed, Resolution{Upheld: true, AdjustAmount: 5, Cancel: true}, false, isInvalid, "outcome", "not both"},
		{"a negative credit", disputed, Resolution{Upheld: true, AdjustAmount: -5}, false, isInvalid, "adjust_amount_minor", "must be positive"},
		{"more than the balance", disputed, Resolution{Upheld: true, AdjustAmount: 125001}, false, isInvalid, "adjust_amount_minor", "is more than the balance of 1250.00"},
	}, func(st State, r Resolution) (bool, error) { return st.CheckResolve(r, "USD") })
}

func TestResolveDispute(t *testing.T) {
	inv := testInvoice()
	opened := inv.IssuedAt
	at := opened.Add(48 * time.Hour)
	for _, tc := range []struct {
		name    string
		r       Resolution
		kinds   []string
		balance int64
		status  Status
	}{
		{"resolved: dunning resumes", Resolution{}, []string{EventDisputeResolved}, 125000, StatusOpen},
		{"upheld in part", Resolution{Upheld: true, AdjustAmount: 25000}, []string{EventDisputeUpheld, EventAdjusted}, 100000, StatusOpen},
		{"upheld in full settles", Resolution{Upheld: true, AdjustAmount: 125000}, []string{EventDisputeUpheld, EventAdjusted}, 0, StatusPaid},
		{"upheld: voided", Resolution{Upheld: true, Cancel: true}, []string{EventDisputeUpheld, EventCancelled}, 0, StatusCancelled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewState(inv)
			s.OpenDispute(Dispute{ID: "d1", OpenedAt: opened})
			tc.r.At, tc.r.Reason = at, "checked"
			events := s.ResolveDispute(tc.r)
			if len(events) != len(tc.kinds) {
				t.Fatalf("events %+v, want %v", events, tc.kinds)
			}
			for i, e := range events {
				if e.Kind != tc.kinds[i] {
					t.Fatalf("event %d is %s, want %s", i, e.Kind, tc.kinds[i])
				}
			}
			if events[0].Key != "dispute-closed/d1" || s.Dispute != nil || s.Shift != 48*time.Hour {
				t.Fatalf("key %s dispute %v shift %v", events[0].Key, s.Dispute, s.Shift)
			}
			if s.Balance != tc.balance || s.Status != tc.status {
				t.Fatalf("balance %d status %s, want %d %s", s.Balance, s.Status, tc.balance, tc.status)
			}
			if tc.r.AdjustAmount > 0 && (events[1].Adjustment.Kind != AdjCreditNote || events[1].Key != "adjust/dispute/d1") {
				t.Fatalf("upheld credit %+v", events[1])
			}
		})
	}
}
