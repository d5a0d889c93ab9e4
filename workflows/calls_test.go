package workflows

import (
	"context"
	"time"

	"github.com/stretchr/testify/mock"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

func (unmocked) OpenCallTask(context.Context, invoiceapi.CallTaskRequest) (invoiceapi.CallTaskResult, error) {
	return invoiceapi.CallTaskResult{}, errUnmocked
}
func (unmocked) CloseCallTask(context.Context, invoiceapi.CloseCallTaskRequest) (invoiceapi.CallTaskResult, error) {
	return invoiceapi.CallTaskResult{}, errUnmocked
}
func (unmocked) CompleteCallTask(context.Context, invoiceapi.CallCompletion) error {
	return errUnmocked
}

// callLedger is what the mocked call activities saw.
type callLedger struct {
	opened    []invoiceapi.CallTaskRequest
	openedAt  []time.Time
	closed    []invoiceapi.CloseCallTaskRequest
	completed []invoiceapi.CallCompletion
	// optedOut makes OpenCallTask find the phone opted out of calls.
	optedOut bool
	// talkedAt, when set, is the customer's last conversation about another invoice:
	// OpenCallTask opens no task within the request's quiet days after it.
	talkedAt time.Time
	deferred []invoiceapi.CallTaskRequest
}

// The invoice of the call tests: due 2026-12-01 in New York; step "call" on the day
// after (10:00, a Wednesday) calls, with email as its fallback, and waits 2 days;
// step "final" on day 10 goes by SMS or email.
var (
	callOpensAt  = time.Date(2026, 12, 2, 10, 0, 0, 0, ny)
	callStart    = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	sinceOpening = func(d time.Duration) time.Duration { return callOpensAt.Sub(callStart) + d }
)

func (s *collectionSuite) callInput(onTimeout string) invoiceapi.CollectionInput {
	in := s.input("standard")
	in.Policy.Steps = []policy.Step{
		{Name: "call", Offset: policy.Offset{Days: 1, InDays: true}, Channels: []policy.Channel{policy.Call, policy.Email},
			Template: "overdue", Timeout: policy.Offset{Days: 2, InDays: true}, OnTimeout: onTimeout},
		{Name: "final", Offset: policy.Offset{Days: 10, InDays: true}, Channels: []policy.Channel{policy.SMS, policy.Email}, Template: "final_notice"},
	}
	in.Policy.Escalation = nil
	if onTimeout == policy.OnTimeoutEscalate {
		in.Policy.Escalation = &policy.Escalation{After: policy.Offset{Days: 30, InDays: true}, To: policy.ToAgency}
	}
	return in
}

// calls mocks the call activities as the ledger would answer them: task 7.
func (s *collectionSuite) calls() *callLedger {
	l := &callLedger{}
	s.env.OnActivity(invoiceapi.ActivityOpenCallTask, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r invoiceapi.CallTaskRequest) (invoiceapi.CallTaskResult, error) {
			if l.optedOut {
				return invoiceapi.CallTaskResult{OptedOut: true, Status: "wrong_number"}, nil
			}
			if until := l.talkedAt.Add(r.QuietAfterConversation); !l.talkedAt.IsZero() && r.At.Before(until) {
				l.deferred = append(l.deferred, r)
				return invoiceapi.CallTaskResult{Status: "deferred", NotBefore: until, LastConversationAt: l.talkedAt}, nil
			}
			l.opened, l.openedAt = append(l.opened, r), append(l.openedAt, s.env.Now())
			return invoiceapi.CallTaskResult{TaskID: 7, Due: r.Due, Status: "open"}, nil
		}).Maybe()
	s.env.OnActivity(invoiceapi.ActivityCloseCallTask, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r invoiceapi.CloseCallTaskRequest) (invoiceapi.CallTaskResult, error) {
			l.closed = append(l.closed, r)
			return invoiceapi.CallTaskResult{TaskID: r.TaskID, Status: "closed"}, nil
		}).Maybe()
	s.env.OnActivity(invoiceapi.ActivityCompleteCallTask, mock.Anything, mock.Anything).Return(
		func(_ context.Context, c invoiceapi.CallCompletion) error {
			l.completed = append(l.completed, c)
			return nil
		}).Maybe()
	return l
}

// payInFull ends the run at delay.
func (s *collectionSuite) payInFull(delay time.Duration) {
	s.pay(delay, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
}

func (s *collectionSuite) outcome(delay time.Duration, in invoiceapi.CallOutcomeInput, check func(invoiceapi.EventResult, error)) {
	if in.TaskID == 0 {
		in.TaskID = 7
	}
	if in.By == "" {
		in.By = "key:ada"
	}
	s.update(delay, invoiceapi.UpdateCallOutcome, in, check)
}

func (s *collectionSuite) TestCallStepOpensATaskAndWaitsForItsOutcome() {
	l := s.calls()
	var waiting collection.View
	s.queryState(sinceOpening(time.Hour), func(v collection.View) { waiting = v })
	s.outcome(sinceOpening(2*time.Hour), invoiceapi.CallOutcomeInput{Outcome: "promised", Note: "pays after the board meets",
		PromiseDate: "2026-12-20"}, s.expect(collection.StatusPromised))
	var promised collection.View
	s.queryState(sinceOpening(3*time.Hour), func(v collection.View) { promised = v })
	s.payInFull(sinceOpening(5 * 24 * time.Hour))
	s.env.ExecuteWorkflow(InvoiceCollection, s.callInput(""))
	s.result()

	s.Require().Len(l.opened, 1)
	r := l.opened[0]
	s.True(callOpensAt.Equal(l.openedAt[0]), "opened at %v", l.openedAt[0].In(ny))
	s.Equal("+14155550100", r.Phone)
	s.Equal("call", r.Step)
	s.Equal(policy.DefaultVoicemailScript, r.VoicemailScript)
	s.Equal(48*time.Hour, r.Due.Sub(l.openedAt[0]), "the step's timeout")
	s.Equal("call:INV-1/call", invoiceapi.CallTaskKey(r.InvoiceID, r.Step))

	s.Require().NotNil(waiting.Call, "the state shows the open call task")
	s.Equal(int64(7), waiting.Call.TaskID)
	s.True(r.Due.Equal(waiting.Call.Due))
	s.Equal(collection.ActionCallTimeout, waiting.NextAction.Kind)

	s.Require().Len(l.completed, 1, "the completion is recorded once")
	c := l.completed[0]
	s.Equal("promised", c.Outcome)
	s.Equal("pays after the board meets", c.Note)
	s.Equal("2026-12-20", c.PromiseDate)
	s.Equal(int64(125000), c.PromiseAmount, "no amount: the whole balance")
	s.Equal("key:ada", c.By)
	s.Nil(promised.Call)
	s.Require().NotNil(promised.Promise)
	s.Equal("2026-12-20", promised.Promise.Date.String())
	s.Contains(s.eventKinds(), collection.EventPromiseMade)
	s.Empty(l.closed, "an answered task is not closed by the timeout")
	s.Empty(s.sends, "no reminder while the promise holds")
	s.Require().Len(promised.CallAttempts, 1)
	s.True(promised.CallAttempts[0].Conversation)
}

func (s *collectionSuite) TestCallWithoutOutcomeTimesOutAndGoesOn() {
	l := s.calls()
	s.payInFull(sinceOpening(20 * 24 * time.Hour))
	s.env.ExecuteWorkflow(InvoiceCollection, s.callInput(""))
	s.result()

	s.Require().Len(l.closed, 1)
	s.Equal(int64(7), l.closed[0].TaskID)
	s.Equal(48*time.Hour, l.closed[0].At.Sub(l.openedAt[0]), "closed at the step's timeout")
	s.Contains(l.closed[0].Reason, "timeout")
	s.Empty(l.completed)
	s.Equal([]string{"final"}, s.sentSteps(), "the next step follows on its schedule")
	s.True(time.Date(2026, 12, 11, 10, 0, 0, 0, ny).Equal(s.sends[0].at))
}

func (s *collectionSuite) TestCallTimeoutMayEscalate() {
	l := s.calls()
	s.payInFull(sinceOpening(20 * 24 * time.Hour))
	s.env.ExecuteWorkflow(InvoiceCollection, s.callInput(policy.OnTimeoutEscalate))
	res := s.result()

	s.Equal(collection.StatusPaid, res.Status)
	s.Require().Len(l.closed, 1)
	s.Require().Len(s.escalations, 1, "on_timeout: escalate hands the invoice off at once")
	s.True(l.closed[0].At.Equal(s.escalations[0].At))
	s.Empty(s.sends, "escalated: no further reminder")
}

func (s *collectionSuite) TestWrongNumberStopsCallsAndSMS() {
	l := s.calls()
	s.outcome(sinceOpening(time.Hour), invoiceapi.CallOutcomeInput{Outcome: "wrong_number", Note: "a bakery"}, s.expect(collection.StatusOverdue))
	var after collection.View
	s.queryState(sinceOpening(2*time.Hour), func(v collection.View) { after = v })
	s.payInFull(sinceOpening(20 * 24 * time.Hour))
	s.env.ExecuteWorkflow(InvoiceCollection, s.callInput(""))
	s.result()

	s.Require().Len(l.completed, 1)
	s.Equal("+14155550100", l.completed[0].Phone, "the ledger opts the phone out")
	s.ElementsMatch([]policy.Channel{policy.Call, policy.SMS}, after.OptedOut)
	s.Require().Len(s.sends, 1)
	s.Equal("final", s.sends[0].req.Step)
	s.Equal(policy.Email, s.sends[0].req.Channel, "SMS stopped for the bad number")
	s.False(after.CallAttempts[0].Conversation)
}

func (s *collectionSuite) TestDisputedOnACallOpensADispute() {
	s.calls()
	s.outcome(sinceOpening(time.Hour), invoiceapi.CallOutcomeInput{Outcome: "disputed", Note: "never received the goods"}, s.expect(collection.StatusDisputed))
	var after collection.View
	s.queryState(sinceOpening(2*time.Hour), func(v collection.View) { after = v })
	s.payInFull(sinceOpening(20 * 24 * time.Hour))
	s.env.ExecuteWorkflow(InvoiceCollection, s.callInput(""))
	s.result()

	s.Require().NotNil(after.Dispute)
	s.Equal("call-7", after.Dispute.ID)
	s.Equal("disputed on a call: never received the goods", after.Dispute.Reason)
	s.Empty(s.sends, "disputed: no reminder")
}

// No answer and a voicemail count as attempts, not conversations: the schedule goes
// on with the next step; reached and refused are conversations.
func (s *collectionSuite) TestAttemptsAndConversationsAreCounted() {
	for _, tc := range []struct {
		outcome      string
		conversation bool
	}{{"no_answer", false}, {"voicemail", false}, {"reached", true}, {"refused", true}} {
		s.Run(tc.outcome, func() {
			s.SetupTest()
			l := s.calls()
			s.outcome(sinceOpening(time.Hour), invoiceapi.CallOutcomeInput{Outcome: tc.outcome}, s.expect(collection.StatusOverdue))
			var after collection.View
			s.queryState(sinceOpening(2*time.Hour), func(v collection.View) { after = v })
			s.payInFull(sinceOpening(20 * 24 * time.Hour))
			s.env.ExecuteWorkflow(InvoiceCollection, s.callInput(""))
			s.result()

			s.Require().Len(l.completed, 1)
			s.Equal(tc.outcome, l.completed[0].Outcome)
			s.Empty(l.closed)
			s.Nil(after.Call)
			s.Require().Len(after.CallAttempts, 1)
			s.Equal(tc.conversation, after.CallAttempts[0].Conversation)
			s.Equal([]string{"final"}, s.sentSteps())
		})
	}
}

// The validator refuses an unknown outcome, a note the ledger cannot store (a NUL), a promise beyond the policy's limit (a
// year), a promise without its date or with another outcome, and a task the
// invoice does not wait for; nothing of them is applied, and the right outcome
// afterwards still is.
func (s *collectionSuite) TestCallOutcomeRejections() {
	l := s.calls()
	at := sinceOpening(time.Hour)
	invalid := s.rejected(invoiceapi.ErrTypeInvalid)
	s.outcome(at, invoiceapi.CallOutcomeInput{Outcome: "busy"}, invalid)
	s.outcome(at, invoiceapi.CallOutcomeInput{Outcome: "reached", Note: "rang\x00back"}, invalid)
	s.outcome(at, invoiceapi.CallOutcomeInput{Outcome: "promised", PromiseDate: "2028-12-20"}, invalid)
	s.outcome(at, invoiceapi.CallOutcomeInput{Outcome: "promised"}, invalid)
	s.outcome(at, invoiceapi.CallOutcomeInput{Outcome: "reached", PromiseDate: "2026-12-20"}, invalid)
	s.outcome(at, invoiceapi.CallOutcomeInput{Outcome: "promised", PromiseDate: "2026-12-20", PromiseAmount: 999999}, invalid)
	s.outcome(at, invoiceapi.CallOutcomeInput{TaskID: 8, Outcome: "reached"}, s.rejected(invoiceapi.ErrTypeConflict))
	var after collection.View
	s.queryState(sinceOpening(2*time.Hour), func(v collection.View) { after = v })
	s.outcome(sinceOpening(3*time.Hour), invoiceapi.CallOutcomeInput{Outcome: "reached"}, s.expect(collection.StatusOverdue))
	s.outcome(sinceOpening(4*time.Hour), invoiceapi.CallOutcomeInput{Outcome: "reached"}, s.rejected(invoiceapi.ErrTypeConflict))
	s.payInFull(sinceOpening(20 * 24 * time.Hour))
	s.env.ExecuteWorkflow(InvoiceCollection, s.callInput(""))
	s.result()

	s.Require().NotNil(after.Call, "nothing was applied")
	s.Empty(after.CallAttempts)
	s.Nil(after.Promise)
	s.Require().Len(l.completed, 1, "only the valid outcome was recorded")
	s.Equal("reached", l.completed[0].Outcome)
}

func (s *collectionSuite) TestNoCallWithoutAPhoneOrAfterAnOptOut() {
	for name, prepare := range map[string]func(*invoiceapi.CollectionInput, *callLedger){
		"no phone":                func(in *invoiceapi.CollectionInput, _ *callLedger) { in.Invoice.Customer.Phone = "" },
		"opted out in the ledger": func(_ *invoiceapi.CollectionInput, l *callLedger) { l.optedOut = true },
	} {
		s.Run(name, func() {
			s.SetupTest()
			l := s.calls()
			in := s.callInput("")
			prepare(&in, l)
			var after collection.View
			s.queryState(sinceOpening(time.Hour), func(v collection.View) { after = v })
			s.payInFull(sinceOpening(20 * 24 * time.Hour))
			s.env.ExecuteWorkflow(InvoiceCollection, in)
			s.result()

			s.Empty(l.opened)
			s.Require().NotEmpty(s.sends)
			s.Equal("call", s.sends[0].req.Step)
			s.Equal(policy.Email, s.sends[0].req.Channel, "the step's fallback")
			s.True(callOpensAt.Equal(s.sends[0].at))
			s.Require().NotEmpty(after.Notices)
			s.Equal(policy.Call, after.Notices[0].Channel)
			s.Contains(after.Notices[0].Error, "no call")
		})
	}
}

// A second call step within the quiet days after a conversation waits until they
// have passed (collection.NextCallAt decides).
func (s *collectionSuite) TestNoCallWithinTheQuietDaysAfterAConversation() {
	l := s.calls()
	in := s.callInput("")
	in.Policy.Steps[1] = policy.Step{Name: "call-again", Offset: policy.Offset{Days: 4, InDays: true},
		Channels: []policy.Channel{policy.Call}, Timeout: policy.Offset{Days: 1, InDays: true}}
	s.outcome(sinceOpening(time.Hour), invoiceapi.CallOutcomeInput{Outcome: "reached"}, s.expect(collection.StatusOverdue))
	var deferred collection.View
	s.queryState(sinceOpening(4*24*time.Hour), func(v collection.View) { deferred = v })
	s.payInFull(sinceOpening(20 * 24 * time.Hour))
	s.env.ExecuteWorkflow(InvoiceCollection, in)
	s.result()

	s.Require().Len(l.opened, 2)
	s.Equal("call-again", l.opened[1].Step)
	talkedAt := callOpensAt.Add(time.Hour)
	s.True(talkedAt.Add(7*24*time.Hour).Equal(l.openedAt[1]), "7 days after the conversation, not at the step's day 4: %v", l.openedAt[1].In(ny))
	s.Require().NotNil(deferred.Deferred)
	s.Contains(deferred.Deferred.Reason, "after a conversation")
}

// A conversation about another of the customer's invoices (in the ledger) holds this
// invoice's call for the same quiet days; the call rules run again when they end.
func (s *collectionSuite) TestNoCallWithinTheQuietDaysAfterAConversationAboutAnotherInvoice() {
	l := s.calls()
	l.talkedAt = callOpensAt.Add(-2 * 24 * time.Hour) // Monday 30 Nov, 10:00 New York
	var deferred collection.View
	s.queryState(sinceOpening(time.Hour), func(v collection.View) { deferred = v })
	s.payInFull(sinceOpening(20 * 24 * time.Hour))
	s.env.ExecuteWorkflow(InvoiceCollection, s.callInput(""))
	s.result()

	s.Require().Len(l.deferred, 1)
	s.True(callOpensAt.Equal(l.deferred[0].At), "asked at the step's time: %v", l.deferred[0].At.In(ny))
	s.Equal(7*24*time.Hour, l.deferred[0].QuietAfterConversation, "the policy's quiet days")
	s.Require().NotNil(deferred.Deferred)
	s.Contains(deferred.Deferred.Reason, "after a conversation with the customer (on 2026-11-30 10:00)")
	s.Require().Len(l.opened, 1)
	s.True(l.talkedAt.Add(7*24*time.Hour).Equal(l.openedAt[0]), "opened when the quiet days end: %v", l.openedAt[0].In(ny))
}
