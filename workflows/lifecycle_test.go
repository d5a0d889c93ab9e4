package workflows

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/policies"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// Standard policy, invoice due 2026-12-01 in New York, workflow started 2026-11-01
// 10:00 UTC: reminders Nov 28, Dec 2, Dec 8 (sms), Dec 15 at 10:00 local; escalation to
// the agency on Dec 31.

// update sends a lifecycle update after delay and hands the answer to check.
func (s *collectionSuite) update(delay time.Duration, name string, arg any, check func(invoiceapi.EventResult, error)) {
	sendUpdate(s, delay, name, arg, check)
}

// expect returns a check that wants the update accepted with that status.
func (s *collectionSuite) expect(status collection.Status) func(invoiceapi.EventResult, error) {
	return func(r invoiceapi.EventResult, err error) {
		s.NoError(err)
		s.Equal(status, r.Status)
	}
}

// rejected returns a check that wants the update rejected with that error type.
func (s *collectionSuite) rejected(errType string) func(invoiceapi.EventResult, error) {
	return func(_ invoiceapi.EventResult, err error) {
		var appErr *temporal.ApplicationError
		if s.True(errors.As(err, &appErr), "want a rejection, got %v", err) {
			s.Equal(errType, appErr.Type(), appErr.Error())
		}
	}
}

// queryState checks the state query at delay.
func (s *collectionSuite) queryState(delay time.Duration, check func(collection.View)) {
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflow(invoiceapi.QueryState)
		s.Require().NoError(err)
		var view collection.View
		s.Require().NoError(v.Get(&view))
		check(view)
	}, delay)
}

func (s *collectionSuite) sentSteps() []string {
	var out []string
	for _, n := range s.sends {
		out = append(out, n.req.Step)
	}
	return out
}

func (s *collectionSuite) eventKinds() []string {
	var out []string
	for _, e := range s.events {
		out = append(out, e.Kind)
	}
	return out
}

const day = 24 * time.Hour

func (s *collectionSuite) TestDisputeHoldsRemindersAndResolutionReanchorsTheSchedule() {
	// Opened Nov 27 (before the Nov 28 reminder), resolved Dec 7: ten days later.
	s.update(26*day, invoiceapi.UpdateDispute, invoiceapi.DisputeInput{DisputeID: "d-1", Reason: "goods damaged", By: "key:ops"}, s.expect(collection.StatusDisputed))
	s.update(26*day+time.Hour, invoiceapi.UpdateDispute, invoiceapi.DisputeInput{DisputeID: "d-1", Reason: "goods damaged"}, func(r invoiceapi.EventResult, err error) {
		s.NoError(err)
		s.True(r.Duplicate)
	})
	s.update(26*day+2*time.Hour, invoiceapi.UpdateDispute, invoiceapi.DisputeInput{DisputeID: "d-2", Reason: "again"}, s.rejected(invoiceapi.ErrTypeConflict))
	s.update(26*day+3*time.Hour, invoiceapi.UpdatePause, invoiceapi.PauseInput{Reason: "x"}, s.rejected(invoiceapi.ErrTypeConflict))
	s.queryState(30*day, func(v collection.View) {
		s.Equal(collection.StatusDisputed, v.Status)
		s.Empty(v.Notices, "no reminder while disputed")
	})
	// Opened before the due date: the answer is "open"; the main loop then marks it
	// overdue, the due date having passed meanwhile.
	s.update(36*day, invoiceapi.UpdateResolveDispute, invoiceapi.ResolveDisputeInput{Outcome: invoiceapi.DisputeResolved, Reason: "photos show no damage"}, s.expect(collection.StatusOpen))
	s.queryState(36*day+time.Minute, func(v collection.View) { s.Equal(collection.StatusOverdue, v.Status) })
	s.pay(40*day, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))

	s.Equal(collection.StatusPaid, s.result().Status)
	s.Require().NotEmpty(s.sends)
	// The Nov 28 reminder, shifted by the ten days of the dispute, goes on Dec 8.
	first := s.sends[0]
	s.Equal("due-soon", first.req.Step)
	s.Equal(time.Date(2026, 12, 8, 10, 0, 0, 0, ny), first.at.In(ny))
	s.Equal([]string{"dispute_opened", "dispute_resolved"}, s.eventKinds())
}

func (s *collectionSuite) TestUpheldDisputeAdjustsOrCancels() {
	s.update(2*day, invoiceapi.UpdateResolveDispute, invoiceapi.ResolveDisputeInput{Outcome: invoiceapi.DisputeResolved}, s.rejected(invoiceapi.ErrTypeConflict))
	s.update(3*day, invoiceapi.UpdateDispute, invoiceapi.DisputeInput{DisputeID: "d-1", Reason: "overcharged"}, s.expect(collection.StatusDisputed))
	s.update(4*day, invoiceapi.UpdateResolveDispute, invoiceapi.ResolveDisputeInput{Outcome: invoiceapi.DisputeUpheld}, s.rejected(invoiceapi.ErrTypeInvalid))
	s.update(4*day+time.Hour, invoiceapi.UpdateResolveDispute, invoiceapi.ResolveDisputeInput{Outcome: invoiceapi.DisputeUpheld, AdjustAmount: 25000, Reason: "agreed"}, func(r invoiceapi.EventResult, err error) {
		s.NoError(err)
		s.Equal(collection.StatusOpen, r.Status)
		s.EqualValues(100000, r.Balance)
	})
	s.update(5*day, invoiceapi.UpdateDispute, invoiceapi.DisputeInput{DisputeID: "d-2", Reason: "wrong items"}, s.expect(collection.StatusDisputed))
	s.update(6*day, invoiceapi.UpdateResolveDispute, invoiceapi.ResolveDisputeInput{Outcome: invoiceapi.DisputeUpheld, Cancel: true, Reason: "order void"}, s.expect(collection.StatusCancelled))
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))

	res := s.result()
	s.Equal(collection.StatusCancelled, res.Status)
	s.Zero(res.Balance)
	s.Equal([]string{"dispute_opened", "dispute_upheld", "adjusted", "dispute_opened", "dispute_upheld", "cancelled"}, s.eventKinds())
	last := s.events[len(s.events)-1]
	s.Require().NotNil(last.Adjustment)
	s.Equal("void", last.Adjustment.Kind)
	s.EqualValues(-100000, last.Adjustment.Amount)
}

func (s *collectionSuite) TestBrokenPromiseResumesAtTheNextStep() {
	// Dec 3 (overdue, after the Dec 2 reminder): a promise for Dec 10 that is not kept.
	s.update(32*day, invoiceapi.UpdatePromise, invoiceapi.PromiseInput{Date: "2026-12-10", Amount: 125000, By: "key:ops"}, s.expect(collection.StatusPromised))
	s.update(32*day+time.Hour, invoiceapi.UpdatePromise, invoiceapi.PromiseInput{Date: "2026-12-11", Amount: 1}, s.rejected(invoiceapi.ErrTypeConflict))
	s.update(32*day+2*time.Hour, invoiceapi.UpdatePause, invoiceapi.PauseInput{Reason: "x"}, s.rejected(invoiceapi.ErrTypeConflict))
	s.queryState(39*day, func(v collection.View) {
		s.Equal(collection.StatusPromised, v.Status)
		s.Len(v.Notices, 2, "the Dec 8 reminder is held by the promise")
	})
	s.pay(41*day, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))

	s.Equal(collection.StatusPaid, s.result().Status)
	s.Equal([]string{"promise_made", "promise_broken"}, s.eventKinds())
	// Broken at the end of Dec 10; the next step due is overdue-7 (Dec 8): sent on
	// Dec 11 at 08:00, the start of the contact window, not shifted.
	s.Require().Len(s.sends, 3)
	s.Equal("overdue-7", s.sends[2].req.Step)
	s.Equal(time.Date(2026, 12, 11, 8, 0, 0, 0, ny), s.sends[2].at.In(ny))
}

func (s *collectionSuite) TestKeptPromiseClosesTheInvoice() {
	s.update(32*day, invoiceapi.UpdatePromise, invoiceapi.PromiseInput{Date: "2026-12-10", Amount: 125000}, s.expect(collection.StatusPromised))
	s.pay(35*day, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(r invoiceapi.PaymentResult, err error) {
		s.NoError(err)
		s.Equal(collection.StatusPaid, r.Status)
	})
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))
	s.Equal(collection.StatusPaid, s.result().Status)
}

func (s *collectionSuite) TestPartialPaymentKeepsAPromiseAndDunningContinues() {
	s.update(32*day, invoiceapi.UpdatePromise, invoiceapi.PromiseInput{Date: "2026-12-10", Amount: 25000}, s.expect(collection.StatusPromised))
	s.pay(33*day, invoiceapi.PaymentInput{PaymentID: "p1", Amount: 25000, Currency: "USD"}, func(r invoiceapi.PaymentResult, err error) {
		s.NoError(err)
		s.Equal(collection.StatusOverdue, r.Status)
	})
	s.pay(50*day, invoiceapi.PaymentInput{PaymentID: "p2", Amount: 100000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))
	s.Equal(collection.StatusPaid, s.result().Status)
	s.Equal([]string{"promise_made", "promise_kept"}, s.eventKinds())
}

func (s *collectionSuite) TestPlanRemindsPerInstallmentAndAMissedOneBreaksIt() {
	plan := invoiceapi.PlanInput{GraceDays: 2, Installments: []invoiceapi.Installment{
		{DueDate: "2026-12-10", Amount: 50000}, {DueDate: "2027-01-10", Amount: 75000},
	}}
	bad := plan
	bad.Installments = []invoiceapi.Installment{{DueDate: "2026-12-10", Amount: 50000}}
	s.update(32*day, invoiceapi.UpdatePlan, bad, s.rejected(invoiceapi.ErrTypeInvalid))
	s.update(32*day+time.Hour, invoiceapi.UpdatePlan, plan, s.expect(collection.StatusOnPlan))
	s.pay(38*day, invoiceapi.PaymentInput{PaymentID: "i1", Amount: 50000, Currency: "USD"}, func(r invoiceapi.PaymentResult, err error) {
		s.NoError(err)
		s.Equal(collection.StatusOnPlan, r.Status)
	})
	// The second installment is never paid: the plan breaks on Jan 13 (10th + 2 days
	// grace) and the main schedule resumes; then the invoice is paid.
	// The escalation date (Dec 31) passed during the plan: the approval of the hand-off
	// is asked at once (the standard policy requires one; it defaults to approve in 3 days).
	s.queryState(74*day, func(v collection.View) { s.Equal(collection.StatusAwaitingApproval, v.Status) })
	s.pay(76*day, invoiceapi.PaymentInput{PaymentID: "rest", Amount: 75000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))

	s.Equal(collection.StatusPaid, s.result().Status)
	s.Equal([]string{"plan_agreed", "plan_broken", "approval_requested", "approved"}, s.eventKinds())
	steps := s.sentSteps()
	s.Contains(steps, "plan1-installment-1")
	s.Contains(steps, "plan1-installment-2")
	for _, n := range s.sends {
		if n.req.Step == "plan1-installment-2" {
			s.Equal(time.Date(2027, 1, 7, 10, 0, 0, 0, ny), n.at.In(ny), "three days before the installment")
			s.EqualValues(75000, n.req.Balance)
			s.Equal("2027-01-10", n.req.DueDate)
		}
	}
}

func (s *collectionSuite) TestPlanPaidInFullCompletes() {
	plan := invoiceapi.PlanInput{Installments: []invoiceapi.Installment{{DueDate: "2026-12-10", Amount: 60000}, {DueDate: "2026-12-20", Amount: 65000}}}
	s.update(32*day, invoiceapi.UpdatePlan, plan, s.expect(collection.StatusOnPlan))
	s.pay(38*day, invoiceapi.PaymentInput{PaymentID: "i1", Amount: 60000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	s.pay(48*day, invoiceapi.PaymentInput{PaymentID: "i2", Amount: 65000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))
	s.Equal(collection.StatusPaid, s.result().Status)
	s.Equal([]string{"plan_agreed"}, s.eventKinds(), "paid in full: the invoice closes, the plan with it")
}

func (s *collectionSuite) TestPauseUntilADateThenResumesByItself() {
	s.update(time.Hour, invoiceapi.UpdateResume, invoiceapi.ReasonInput{}, s.rejected(invoiceapi.ErrTypeConflict))
	s.update(2*time.Hour, invoiceapi.UpdatePause, invoiceapi.PauseInput{Reason: ""}, s.rejected(invoiceapi.ErrTypeInvalid))
	s.update(3*time.Hour, invoiceapi.UpdatePause, invoiceapi.PauseInput{Reason: "customer on holiday", Until: "2026-10-01"}, s.rejected(invoiceapi.ErrTypeInvalid))
	s.update(26*day, invoiceapi.UpdatePause, invoiceapi.PauseInput{Reason: "customer on holiday", Until: "2026-12-05", By: "key:ops"}, s.expect(collection.StatusPaused))
	s.queryState(30*day, func(v collection.View) {
		s.Equal(collection.StatusPaused, v.Status)
		s.Equal(collection.ActionResume, v.NextAction.Kind)
	})
	s.pay(60*day, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))

	s.Equal(collection.StatusPaid, s.result().Status)
	s.Equal([]string{"paused", "resumed"}, s.eventKinds())
	s.Equal("system", s.events[1].Actor)
	// Paused Nov 27 10:00 UTC, resumed Dec 5 00:00 New York: the Nov 28 reminder
	// moves by the pause's length.
	s.Require().NotEmpty(s.sends)
	s.Equal("due-soon", s.sends[0].req.Step)
	s.True(s.sends[0].at.After(time.Date(2026, 12, 5, 0, 0, 0, 0, ny)))
}

func (s *collectionSuite) approvalInput(def string) invoiceapi.CollectionInput {
	in := s.input("standard")
	esc := *in.Policy.Escalation
	esc.Approval = &policy.Approval{Required: true, Timeout: policy.Offset{Days: 3, InDays: true}, Default: def}
	in.Policy.Escalation = &esc
	return in
}

func (s *collectionSuite) TestApprovalTimeoutTakesThePolicyDefault() {
	s.update(time.Hour, invoiceapi.UpdateApprove, invoiceapi.ReasonInput{}, s.rejected(invoiceapi.ErrTypeConflict))
	s.queryState(62*day, func(v collection.View) {
		s.Equal(collection.StatusAwaitingApproval, v.Status)
		s.Equal(collection.ActionApprovalTimeout, v.NextAction.Kind)
	})
	s.pay(80*day, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	s.env.ExecuteWorkflow(InvoiceCollection, s.approvalInput(policy.DecisionApprove))

	s.Equal(collection.StatusPaid, s.result().Status)
	s.Equal([]string{"approval_requested", "approved"}, s.eventKinds())
	s.Equal("system", s.events[1].Actor)
	s.Require().Len(s.escalations, 1)
}

func (s *collectionSuite) TestRejectedEscalationKeepsDunning() {
	s.update(62*day, invoiceapi.UpdateReject, invoiceapi.ReasonInput{Reason: "customer is strategic", By: "key:lead"}, s.expect(collection.StatusOverdue))
	s.update(62*day+time.Hour, invoiceapi.UpdateReject, invoiceapi.ReasonInput{}, s.rejected(invoiceapi.ErrTypeConflict))
	s.pay(90*day, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	s.env.ExecuteWorkflow(InvoiceCollection, s.approvalInput(policy.DecisionApprove))

	s.Equal(collection.StatusPaid, s.result().Status)
	s.Equal([]string{"approval_requested", "rejected"}, s.eventKinds())
	s.Empty(s.escalations)
}

func (s *collectionSuite) TestApproveEscalatesAtOnce() {
	s.update(61*day, invoiceapi.UpdateApprove, invoiceapi.ReasonInput{By: "key:lead"}, s.expect(collection.StatusOverdue))
	s.queryState(61*day+time.Minute, func(v collection.View) { s.Equal(collection.StatusEscalated, v.Status) })
	s.pay(90*day, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	s.env.ExecuteWorkflow(InvoiceCollection, s.approvalInput(policy.DecisionReject))
	s.Equal(collection.StatusPaid, s.result().Status)
	s.Require().Len(s.escalations, 1)
}

func (s *collectionSuite) TestRefundAfterPaidReopensWithinTheWindow() {
	in := s.input("standard")
	in.Policy.RefundWindow = policy.Offset{Days: 30, InDays: true}
	s.update(time.Hour, invoiceapi.UpdateRefund, invoiceapi.RefundInput{RefundID: "r0", Kind: invoiceapi.KindRefund, Amount: 1, Currency: "USD"}, s.rejected(invoiceapi.ErrTypeConflict))
	s.pay(2*day, invoiceapi.PaymentInput{PaymentID: "p1", Amount: 125000, Currency: "USD"}, func(r invoiceapi.PaymentResult, err error) {
		s.NoError(err)
		s.Equal(collection.StatusPaid, r.Status)
	})
	s.update(5*day, invoiceapi.UpdateRefund, invoiceapi.RefundInput{RefundID: "r1", Kind: invoiceapi.KindChargeback, PaymentID: "p1", Amount: 125001, Currency: "USD"}, s.rejected(invoiceapi.ErrTypeConflict))
	s.update(5*day+time.Hour, invoiceapi.UpdateRefund, invoiceapi.RefundInput{RefundID: "r1", Kind: invoiceapi.KindChargeback, PaymentID: "p1", Amount: 125000, Currency: "USD", By: "stripe"}, func(r invoiceapi.EventResult, err error) {
		s.NoError(err)
		s.Equal(collection.StatusOpen, r.Status)
		s.EqualValues(125000, r.Balance)
	})
	s.update(5*day+2*time.Hour, invoiceapi.UpdateRefund, invoiceapi.RefundInput{RefundID: "r1", Kind: invoiceapi.KindChargeback, PaymentID: "p1", Amount: 125000, Currency: "USD"}, func(r invoiceapi.EventResult, err error) {
		s.NoError(err)
		s.True(r.Duplicate)
	})
	s.pay(40*day, invoiceapi.PaymentInput{PaymentID: "p2", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	s.env.ExecuteWorkflow(InvoiceCollection, in)

	res := s.result()
	s.Equal(collection.StatusPaid, res.Status)
	s.Equal([]string{"refunded", "reopened"}, s.eventKinds())
	s.Require().NotNil(s.events[0].Adjustment)
	s.Equal("chargeback", s.events[0].Adjustment.Kind)
	s.EqualValues(125000, s.events[0].Adjustment.Amount)
	s.NotEmpty(s.sends, "dunning started again after the chargeback")
}

func (s *collectionSuite) TestRefundOfAnOverpaymentTakesBackTheCreditFirst() {
	in := s.input("standard")
	in.Policy.RefundWindow = policy.Offset{Days: 30, InDays: true}
	s.pay(2*day, invoiceapi.PaymentInput{PaymentID: "p1", Amount: 130000, Currency: "USD"}, func(r invoiceapi.PaymentResult, err error) {
		s.NoError(err)
		s.EqualValues(5000, r.Credit)
	})
	s.update(3*day, invoiceapi.UpdateRefund, invoiceapi.RefundInput{RefundID: "r1", Kind: invoiceapi.KindRefund, Amount: 5000, Currency: "USD"}, func(r invoiceapi.EventResult, err error) {
		s.NoError(err)
		s.Equal(collection.StatusPaid, r.Status)
		s.Zero(r.Credit)
		s.Zero(r.Balance)
	})
	s.env.ExecuteWorkflow(InvoiceCollection, in)
	s.Equal(collection.StatusPaid, s.result().Status)
	// The workflow stayed open for the window, then closed.
	s.True(s.env.Now().After(time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)))
}

func (s *collectionSuite) TestAdjustmentsChangeTheAmountDue() {
	s.update(time.Hour, invoiceapi.UpdateAdjust, invoiceapi.AdjustInput{AdjustmentID: "a1", Kind: invoiceapi.KindCreditNote, Amount: 5000, Currency: "USD", Reason: "x"}, s.rejected(invoiceapi.ErrTypeInvalid))
	s.update(2*time.Hour, invoiceapi.UpdateAdjust, invoiceapi.AdjustInput{AdjustmentID: "a1", Kind: invoiceapi.KindCreditNote, Amount: -200000, Currency: "USD", Reason: "x"}, s.rejected(invoiceapi.ErrTypeInvalid))
	s.update(3*time.Hour, invoiceapi.UpdateAdjust, invoiceapi.AdjustInput{AdjustmentID: "a1", Kind: invoiceapi.KindAdjustment, Amount: 10000, Currency: "USD", Reason: "shipping"}, func(r invoiceapi.EventResult, err error) {
		s.NoError(err)
		s.EqualValues(135000, r.Balance)
	})
	s.update(4*time.Hour, invoiceapi.UpdateAdjust, invoiceapi.AdjustInput{AdjustmentID: "a2", Kind: invoiceapi.KindCreditNote, Amount: -135000, Currency: "USD", Reason: "returned"}, s.expect(collection.StatusPaid))
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))
	s.Equal(collection.StatusPaid, s.result().Status)
	s.Equal([]string{"adjusted", "adjusted"}, s.eventKinds())
}

func (s *collectionSuite) TestWriteOffEndsTheWorkflow() {
	s.update(time.Hour, invoiceapi.UpdateWriteOff, invoiceapi.ReasonInput{}, s.rejected(invoiceapi.ErrTypeInvalid))
	s.update(70*day, invoiceapi.UpdateWriteOff, invoiceapi.ReasonInput{Reason: "insolvent", By: "key:lead"}, s.expect(collection.StatusWrittenOff))
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))
	res := s.result()
	s.Equal(collection.StatusWrittenOff, res.Status)
	last := s.events[len(s.events)-1]
	s.Equal("written_off", last.Kind)
	s.Equal("written_off", last.Status)
	s.EqualValues(-125000, last.Adjustment.Amount)
}

func (s *collectionSuite) TestOptOutMovesTheStepToItsNextChannel() {
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(invoiceapi.SignalOptOut, invoiceapi.OptOutInput{Channel: "sms", Address: "+14155550100", Source: "stop"})
	}, 20*day)
	s.pay(40*day, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))
	s.Equal(collection.StatusPaid, s.result().Status)
	for _, n := range s.sends {
		s.NotEqual(policy.SMS, n.req.Channel, "no SMS after STOP")
	}
	s.Equal([]string{"opted_out"}, s.eventKinds())
}

// TestYearLongPlanSurvivesContinueAsNew runs a twelve-installment plan across runs: each
// run continues as new past a small history bound, and the next run, started with the
// carried state, goes on until the plan is paid.
func TestYearLongPlanSurvivesContinueAsNew(t *testing.T) {
	old := stepBound
	stepBound = 8
	defer func() { stepBound = old }()

	var items []invoiceapi.Installment
	for m := range 12 {
		items = append(items, invoiceapi.Installment{DueDate: time.Date(2026, time.December+time.Month(m), 15, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), Amount: 10000})
	}
	items[11].Amount = 125000 - 11*10000
	start := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	var carried *collection.State
	for run := 0; run < 40; run++ {
		s := &collectionSuite{}
		s.SetT(t)
		s.SetupTest()
		in := s.input("standard")
		if carried == nil {
			s.update(time.Hour, invoiceapi.UpdatePlan, invoiceapi.PlanInput{Installments: items, GraceDays: 5}, s.expect(collection.StatusOnPlan))
		} else {
			in.State = carried
			s.env.SetStartTime(start)
		}
		// Pay each installment on its due date, by the customer's clock.
		for i, it := range items {
			due, _ := time.ParseInLocation(time.DateOnly, it.DueDate, ny)
			if delay := due.Add(12 * time.Hour).Sub(start); delay > 0 {
				s.pay(delay, invoiceapi.PaymentInput{PaymentID: fmt.Sprintf("i%d", i+1), Amount: it.Amount, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
			}
		}
		s.env.ExecuteWorkflow(InvoiceCollection, in)
		require.True(t, s.env.IsWorkflowCompleted())
		err := s.env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if errors.As(err, &can) {
			var next invoiceapi.CollectionInput
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
			require.NotNil(t, next.State)
			require.NotNil(t, next.State.Plan, "the plan is carried")
			carried, start = next.State, s.env.Now()
			continue
		}
		require.NoError(t, err)
		var res invoiceapi.CollectionResult
		require.NoError(t, s.env.GetWorkflowResult(&res))
		require.Equal(t, collection.StatusPaid, res.Status)
		require.Greater(t, run, 0, "the history bound made it continue as new at least once")
		require.Len(t, carried.Payments, 11, "every installment paid in an earlier run is still there")
		return
	}
	t.Fatal("the plan never finished")
}

func (s *collectionSuite) TestUndeliveredSMSFallsBackToEmailAndABounceIsRecorded() {
	// overdue-7 goes by SMS on Dec 8; Twilio later reports it undelivered.
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(invoiceapi.SignalDelivery, invoiceapi.DeliveryInput{NoticeKey: "INV-1/overdue-7/sms", Status: "undelivered", Error: "30003 unreachable"})
	}, 37*day+6*time.Hour)
	// The Dec 2 email bounces: overdue-1 has no other channel.
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(invoiceapi.SignalDelivery, invoiceapi.DeliveryInput{NoticeKey: "INV-1/overdue-1/email", Status: "bounced", Error: "550 no such user"})
		s.env.SignalWorkflow(invoiceapi.SignalDelivery, invoiceapi.DeliveryInput{NoticeKey: "OTHER/overdue-1/email", Status: "bounced"})
	}, 32*day)
	s.queryState(38*day, func(v collection.View) {
		var got []string
		for _, n := range v.Notices {
			got = append(got, n.Step+"/"+string(n.Channel)+"/"+string(n.Status)+"/"+n.Delivery)
		}
		s.Equal([]string{
			"due-soon/email/sent/", "overdue-1/email/sent/bounced", "overdue-1//undeliverable/",
			"overdue-7/sms/sent/undelivered", "overdue-7/email/sent/",
		}, got)
	})
	s.pay(40*day, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))
	s.Equal(collection.StatusPaid, s.result().Status)
	var fallback []sentNotice
	for _, n := range s.sends {
		if n.req.Step == "overdue-7" {
			fallback = append(fallback, n)
		}
	}
	s.Require().Len(fallback, 2)
	s.Equal(policy.Email, fallback[1].req.Channel)
	s.True(time.Date(2026, 12, 8, 16, 0, 0, 0, time.UTC).Equal(fallback[1].at), "sent when the report arrived, inside the window")
}

func (s *collectionSuite) TestLateFeeAndInterestAreBookedAndPaid() {
	// Standard policy: charges from Dec 2 00:00 New York; 5 days' grace; a 1.5% fee on
	// Dec 7 and Jan 6; 8% a year interest from Dec 7, booked with each fee. On Jan 10
	// the customer pays the balance shown.
	var owed int64
	s.queryState(70*day, func(v collection.View) {
		s.Equal("37.50", v.Fees)
		s.Equal("8.22", v.Interest, "1,250.00 × 8% × 30/365")
		amount, err := money.Parse(v.Balance, "USD")
		s.NoError(err)
		owed = amount
	})
	s.env.RegisterDelayedCallback(func() {
		s.env.UpdateWorkflow(invoiceapi.UpdatePayment, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { s.Fail("rejected", err) }, OnAccept: func() {},
			OnComplete: func(v any, err error) {
				s.NoError(err)
				s.Equal(collection.StatusPaid, v.(invoiceapi.PaymentResult).Status)
			},
		}, invoiceapi.PaymentInput{PaymentID: "all", Amount: owed, Currency: "USD"})
	}, 70*day+time.Minute)
	s.env.ExecuteWorkflow(InvoiceCollection, s.inputWithCharges("standard"))

	s.Equal(collection.StatusPaid, s.result().Status)
	var fees, interest int64
	for _, e := range s.events {
		switch e.Kind {
		case "late_fee_charged":
			fees += e.Adjustment.Amount
			s.Equal("late_fee", e.Adjustment.Kind)
		case "interest_charged":
			interest += e.Adjustment.Amount
		}
	}
	s.EqualValues(3750, fees, "1.5% of 1,250.00 on Dec 7 and on Jan 6")
	s.EqualValues(822, interest)
	s.EqualValues(125000+fees+interest, owed, "the balance shown settles it; interest since Jan 6 is not charged")
}

func (s *collectionSuite) TestEarlyPaymentDiscountSettlesTheInvoice() {
	in := s.input("standard")
	in.Policy.Discount = &policy.Discount{Percent: policy.Rate(200), Within: policy.Offset{Days: 10, InDays: true}}
	s.pay(5*day, invoiceapi.PaymentInput{PaymentID: "early", Amount: 122500, Currency: "USD"}, func(r invoiceapi.PaymentResult, err error) {
		s.NoError(err)
		s.Equal(collection.StatusPaid, r.Status)
		s.Zero(r.Balance)
	})
	s.env.ExecuteWorkflow(InvoiceCollection, in)
	s.Equal(collection.StatusPaid, s.result().Status)
	s.Require().Len(s.events, 1)
	s.Equal("discount_taken", s.events[0].Kind)
	s.EqualValues(-2500, s.events[0].Adjustment.Amount)
}

func (s *collectionSuite) TestDailyContactCapDefersAReminderToTheNextDay() {
	// The customer's other invoices used today's contacts on Dec 2: overdue-1 waits for
	// Dec 3 08:00 (the next allowed moment of a later day) and the move is recorded.
	s.refuseCap["overdue-1"] = true
	var view collection.View
	s.queryState(33*day, func(v collection.View) { view = v })
	s.pay(40*day, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))
	s.Equal(collection.StatusPaid, s.result().Status)

	s.Require().GreaterOrEqual(len(s.sends), 2)
	s.Equal("overdue-1", s.sends[1].req.Step)
	s.True(time.Date(2026, 12, 3, 8, 0, 0, 0, ny).Equal(s.sends[1].at), "sent %v", s.sends[1].at.In(ny))
	s.Require().GreaterOrEqual(len(view.Notices), 2)
	s.Contains(view.Notices[1].MoveReason, "per customer per day")
	s.Require().NotNil(view.Notices[1].MovedFrom)
	s.True(time.Date(2026, 12, 2, 10, 0, 0, 0, ny).Equal(*view.Notices[1].MovedFrom))
}

func (s *collectionSuite) TestMovingToAnotherPolicyKeepsStateAndSendsNoStepTwice() {
	// After due-soon and overdue-1 (Dec 2), the invoice moves to "strict"; the steps it
	// shares by name are not sent again.
	set, err := policies.Shipped()
	s.Require().NoError(err)
	strict, ok := set.Get("strict")
	s.Require().True(ok)
	next := *strict
	next.LateFee, next.Interest, next.Discount = nil, nil, nil
	next.Consolidate = &policy.Consolidate{Off: true}
	s.update(time.Hour, invoiceapi.UpdateChangePolicy, invoiceapi.ChangePolicyInput{Policy: next, Reason: "x"}, s.expect(collection.StatusOpen))
	s.update(2*time.Hour, invoiceapi.UpdateChangePolicy, invoiceapi.ChangePolicyInput{Policy: next, Reason: "again"}, s.rejected(invoiceapi.ErrTypeConflict))
	s.update(31*day+2*time.Hour, invoiceapi.UpdateChangePolicy, invoiceapi.ChangePolicyInput{Policy: s.input("standard").Policy, Reason: "back to standard"}, s.expect(collection.StatusOverdue))
	s.pay(50*day, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))
	s.Equal(collection.StatusPaid, s.result().Status)
	counts := map[string]int{}
	for _, st := range s.sentSteps() {
		counts[st]++
	}
	for step, n := range counts {
		s.Equal(1, n, "step %s sent once", step)
	}
	s.Equal([]string{"policy_changed", "policy_changed"}, s.eventKinds())
	s.Equal("strict", s.events[0].PolicyID)
}

func (s *collectionSuite) TestMovingTheDueDateRecomputesTheSchedule() {
	// On Dec 3 (overdue, due-soon and overdue-1 sent) the due date moves to Dec 20: the
	// invoice is open again; due-soon is not sent again; overdue-1 is not repeated;
	// overdue-7 comes on Dec 27 (7 days after the new date).
	s.update(32*day, invoiceapi.UpdateChangeDueDate, invoiceapi.ChangeDueDateInput{DueDate: "2026-12-01", Reason: "x"}, s.rejected(invoiceapi.ErrTypeInvalid))
	s.update(32*day+time.Hour, invoiceapi.UpdateChangeDueDate, invoiceapi.ChangeDueDateInput{DueDate: "2026-12-20", Reason: "customer's PO re-issued"}, s.expect(collection.StatusOpen))
	s.queryState(33*day, func(v collection.View) {
		s.Equal(collection.StatusOpen, v.Status)
		s.Equal("2026-12-20", v.DueDate)
	})
	s.pay(60*day, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))
	s.Equal(collection.StatusPaid, s.result().Status)

	s.Equal([]string{"due-soon", "overdue-1", "overdue-7"}, s.sentSteps(), "each step once; overdue-14 (Jan 3) comes after the payment")
	s.True(time.Date(2026, 12, 28, 8, 0, 0, 0, ny).Equal(s.sends[2].at), "overdue-7 on the new schedule (Dec 27 is a Sunday): %v", s.sends[2].at.In(ny))
	s.Equal([]string{"due_date_changed"}, s.eventKinds())
	s.Equal("2026-12-20", s.events[0].DueDate)
}

func (s *collectionSuite) TestOptInRestoresTheChannel() {
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(invoiceapi.SignalOptOut, invoiceapi.OptOutInput{Channel: "sms", Address: "+14155550100", Source: "stop"})
	}, 20*day)
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(invoiceapi.SignalOptIn, invoiceapi.OptOutInput{Channel: "sms", Address: "+19999999999", Source: "start"}) // not this invoice's number
		s.env.SignalWorkflow(invoiceapi.SignalOptIn, invoiceapi.OptOutInput{Channel: "sms", Address: "+14155550100", Source: "start"})
	}, 30*day)
	s.pay(40*day, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))
	s.Equal(collection.StatusPaid, s.result().Status)
	var sms int
	for _, n := range s.sends {
		if n.req.Channel == policy.SMS {
			sms++
		}
	}
	s.Equal(1, sms, "after START the Dec 8 reminder goes by SMS again")
}

// runStepApprovalPaidLater runs stepApprovalInput(def) with the invoice paid in
// full on day 50 and checks that it ends paid with exactly steps sent.
func (s *collectionSuite) runStepApprovalPaidLater(def string, steps ...string) {
	s.pay(50*day, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	s.env.ExecuteWorkflow(InvoiceCollection, s.stepApprovalInput(def))
	s.Equal(collection.StatusPaid, s.result().Status)
	s.Equal(steps, s.sentSteps())
}

// stepApprovalInput is the standard policy with the Dec 8 SMS reminder (overdue-7)
// needing a person's approval.
func (s *collectionSuite) stepApprovalInput(def string) invoiceapi.CollectionInput {
	in := s.input("standard")
	in.Policy.Escalation = nil
	steps := slices.Clone(in.Policy.Steps)
	steps[2].Approval, steps[2].ApprovalDefault = true, def
	in.Policy.Steps = steps
	return in
}

func (s *collectionSuite) TestStepApprovalTimeoutRejectsByDefault() {
	// overdue-7 falls due Dec 8 10:00 New York (37d 5h after the start).
	s.queryState(37*day+6*time.Hour, func(v collection.View) {
		s.Equal(collection.StatusAwaitingApproval, v.Status)
		s.Require().NotNil(v.Approval)
		s.Equal("overdue-7", v.Approval.Step)
		s.Equal(policy.DecisionReject, v.Approval.Default)
		s.Equal(collection.ActionApprovalTimeout, v.NextAction.Kind)
		s.Equal(time.Date(2026, 12, 10, 15, 0, 0, 0, time.UTC), v.NextAction.At.UTC(), "two days by default")
		s.Equal([]string{"due-soon", "overdue-1"}, s.sentSteps(), "nothing goes out while it waits")
	})
	s.queryState(40*day, func(v collection.View) {
		s.Equal(collection.StatusOverdue, v.Status)
		s.Contains(v.SkippedSteps, "overdue-7")
	})
	// The rejected step is never sent; dunning goes on.
	s.runStepApprovalPaidLater("", "due-soon", "overdue-1", "overdue-14")
	s.Equal([]string{"approval_requested", "rejected"}, s.eventKinds())
	s.Equal("system", s.events[1].Actor)
}

func (s *collectionSuite) TestApprovedStepGoesOutInTheContactWindow() {
	// Approved on Dec 9 at 04:00 New York: the reminder waits for 08:00.
	s.update(37*day+18*time.Hour, invoiceapi.UpdateApprove, invoiceapi.ReasonInput{Reason: "customer ignored two emails", By: "key:lead"}, s.expect(collection.StatusOverdue))
	s.update(37*day+19*time.Hour, invoiceapi.UpdateReject, invoiceapi.ReasonInput{}, s.rejected(invoiceapi.ErrTypeConflict))
	s.runStepApprovalPaidLater(policy.DecisionReject, "due-soon", "overdue-1", "overdue-7", "overdue-14")
	s.Equal(time.Date(2026, 12, 9, 13, 0, 0, 0, time.UTC), s.sends[2].at.UTC(), "08:00 in New York")
	s.Equal([]string{"approval_requested", "approved"}, s.eventKinds())
	s.Equal("key:lead", s.events[1].Actor)
}

func (s *collectionSuite) TestRejectedStepIsSkipped() {
	s.update(38*day, invoiceapi.UpdateReject, invoiceapi.ReasonInput{Reason: "in talks with the customer", By: "key:lead"}, s.expect(collection.StatusOverdue))
	s.runStepApprovalPaidLater(policy.DecisionApprove, "due-soon", "overdue-1", "overdue-14")
}

func (s *collectionSuite) TestStepApprovalTimeoutCanApprove() {
	s.runStepApprovalPaidLater(policy.DecisionApprove, "due-soon", "overdue-1", "overdue-7", "overdue-14")
	s.Equal(time.Date(2026, 12, 10, 15, 0, 0, 0, time.UTC), s.sends[2].at.UTC(), "sent when the two days ran out")
	s.Equal([]string{"approval_requested", "approved"}, s.eventKinds())
}
