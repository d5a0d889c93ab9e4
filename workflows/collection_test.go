package workflows

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/policies"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/workflows/accountapi"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

type collectionSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env *testsuite.TestWorkflowEnvironment

	sends       []sentNotice
	escalations []invoiceapi.EscalationRequest
	payments    []invoiceapi.PaymentRecord
	events      []invoiceapi.EventRecord
	// refuseCap lists the steps the daily contact cap refuses once.
	refuseCap map[string]bool
	// failChannel makes every send on that channel fail permanently.
	failChannel policy.Channel
	// ledgerDownForLocal makes RecordPayment fail whenever it runs as a local
	// activity (the database is down for as long as the local retries last);
	// localPaymentAttempts counts those attempts.
	// (Atomics: the test environment runs each local attempt on its own goroutine.)
	ledgerDownForLocal   atomic.Bool
	localPaymentAttempts atomic.Int32
	// channelOrder is the customers' channel order the ledger answers (none: the
	// step's); orderReads counts the reads.
	channelOrder map[string][]policy.Channel
	orderReads   atomic.Int32
}

type sentNotice struct {
	req invoiceapi.NoticeRequest
	at  time.Time
}

// unmocked registers the workflow's activities under their contract names
// (invoiceapi.Activity*) for the test environment to mock; the workflow calls them by
// name. A call nobody mocked fails.
type unmocked struct{}

var errUnmocked = errors.New("activity not mocked in this test")

func (unmocked) SendNotice(context.Context, invoiceapi.NoticeRequest) (invoiceapi.NoticeResult, error) {
	return invoiceapi.NoticeResult{}, errUnmocked
}
func (unmocked) RecordPayment(context.Context, invoiceapi.PaymentRecord) error { return errUnmocked }
func (unmocked) Escalate(context.Context, invoiceapi.EscalationRequest) error  { return errUnmocked }
func (unmocked) RecordStatus(context.Context, invoiceapi.StatusRecord) error   { return errUnmocked }
func (unmocked) RecordEvent(context.Context, invoiceapi.EventRecord) error     { return errUnmocked }
func (unmocked) ReserveContact(context.Context, invoiceapi.ContactCapRequest) (invoiceapi.ContactCapResult, error) {
	return invoiceapi.ContactCapResult{}, errUnmocked
}
func (unmocked) ChannelOrder(context.Context, invoiceapi.ChannelOrderRequest) (invoiceapi.ChannelOrderResult, error) {
	return invoiceapi.ChannelOrderResult{}, errUnmocked
}
func (unmocked) AttachToAccount(context.Context, accountapi.AttachRequest) error { return errUnmocked }
func (unmocked) RequestReminder(context.Context, accountapi.ReminderRequest) error {
	return errUnmocked
}
func (unmocked) SendAccountMessage(context.Context, accountapi.MessageRequest) (accountapi.MessageResult, error) {
	return accountapi.MessageResult{}, errUnmocked
}

func TestCollectionWorkflow(t *testing.T) { suite.Run(t, new(collectionSuite)) }

var ny, _ = time.LoadLocation("America/New_York")

func (s *collectionSuite) SetupTest() {
	s.sends, s.escalations, s.payments, s.events, s.failChannel = nil, nil, nil, nil, ""
	s.ledgerDownForLocal.Store(false)
	s.localPaymentAttempts.Store(0)
	s.refuseCap = map[string]bool{}
	s.channelOrder = map[string][]policy.Channel{}
	s.orderReads.Store(0)
	s.env = s.NewTestWorkflowEnvironment()
	s.env.RegisterWorkflow(InvoiceCollection)
	s.env.RegisterActivity(&unmocked{})
	s.env.SetStartTime(time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC))
	s.env.OnActivity(invoiceapi.ActivitySendNotice, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req invoiceapi.NoticeRequest) (invoiceapi.NoticeResult, error) {
			if req.Channel == s.failChannel {
				return invoiceapi.NoticeResult{}, temporal.NewNonRetryableApplicationError("invalid number", invoiceapi.ErrTypeRecipientInvalid, nil)
			}
			s.sends = append(s.sends, sentNotice{req: req, at: s.env.Now()})
			return invoiceapi.NoticeResult{ProviderID: "msg-" + req.Key(), SentAt: s.env.Now()}, nil
		}).Maybe()
	s.env.OnActivity(invoiceapi.ActivityEscalate, mock.Anything, mock.Anything).Return(
		func(_ context.Context, e invoiceapi.EscalationRequest) error {
			s.escalations = append(s.escalations, e)
			return nil
		}).Maybe()
	s.env.OnActivity(invoiceapi.ActivityRecordPayment, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, p invoiceapi.PaymentRecord) error {
			if s.ledgerDownForLocal.Load() && activity.GetInfo(ctx).IsLocalActivity {
				s.localPaymentAttempts.Add(1)
				return errors.New("connection refused")
			}
			s.payments = append(s.payments, p)
			return nil
		}).Maybe()
	s.env.OnActivity(invoiceapi.ActivityRecordStatus, mock.Anything, mock.Anything).Return(nil).Maybe()
	s.env.OnActivity(invoiceapi.ActivityChannelOrder, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req invoiceapi.ChannelOrderRequest) (invoiceapi.ChannelOrderResult, error) {
			s.orderReads.Add(1)
			return invoiceapi.ChannelOrderResult{Order: s.channelOrder[req.CustomerID]}, nil
		}).Maybe()
	s.env.OnActivity(invoiceapi.ActivityReserveContact, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req invoiceapi.ContactCapRequest) (invoiceapi.ContactCapResult, error) {
			if s.refuseCap[req.Step] {
				delete(s.refuseCap, req.Step)
				return invoiceapi.ContactCapResult{Allowed: false, Count: req.MaxPerDay}, nil
			}
			return invoiceapi.ContactCapResult{Allowed: true, Count: 1}, nil
		}).Maybe()
	s.env.OnActivity(invoiceapi.ActivityRecordEvent, mock.Anything, mock.Anything).Return(
		func(_ context.Context, e invoiceapi.EventRecord) error {
			s.events = append(s.events, e)
			return nil
		}).Maybe()
}

func (s *collectionSuite) AfterTest(_, _ string) { s.env.AssertExpectations(s.T()) }

// input is an invoice under the shipped policy, without its late fees, interest and
// discount so that paying the amount due settles it; inputWithCharges keeps them.
func (s *collectionSuite) input(policyID string) invoiceapi.CollectionInput {
	in := s.inputWithCharges(policyID)
	in.Policy.LateFee, in.Policy.Interest, in.Policy.Discount = nil, nil, nil
	return in
}

func (s *collectionSuite) inputWithCharges(policyID string) invoiceapi.CollectionInput {
	set, err := policies.Shipped()
	s.Require().NoError(err)
	p, ok := set.Get(policyID)
	s.Require().True(ok)
	single := *p
	// These tests prove the single-notice path; account_test.go the consolidated one.
	single.Consolidate = &policy.Consolidate{Off: true}
	return invoiceapi.CollectionInput{Policy: single, Invoice: collection.Invoice{
		ID: "INV-1", Currency: "USD", AmountDue: 125000,
		Customer: collection.Customer{ID: "C-1", Name: "Ada", Email: "ada@example.com", Phone: "+14155550100", Timezone: "America/New_York"},
		IssuedAt: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC),
		DueDate:  collection.Date{Year: 2026, Month: time.December, Day: 1},
	}}
}

// pay sends the payment update after delay and checks the answer with check.
func (s *collectionSuite) pay(delay time.Duration, p invoiceapi.PaymentInput, check func(invoiceapi.PaymentResult, error)) {
	sendUpdate(s, delay, invoiceapi.UpdatePayment, p, check)
}

// sendUpdate sends the update name with arg after delay and hands its answer, or
// its rejection with the zero R, to check.
func sendUpdate[R any](s *collectionSuite, delay time.Duration, name string, arg any, check func(R, error)) {
	s.env.RegisterDelayedCallback(func() {
		var zero R
		s.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { check(zero, err) },
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				if err != nil {
					check(zero, err)
					return
				}
				check(v.(R), nil)
			},
		}, arg)
	}, delay)
}

func (s *collectionSuite) result() invoiceapi.CollectionResult {
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	var res invoiceapi.CollectionResult
	s.Require().NoError(s.env.GetWorkflowResult(&res))
	return res
}

func (s *collectionSuite) TestRemindersFollowTheStandardPolicyThenEscalation() {
	s.pay(45*24*time.Hour, invoiceapi.PaymentInput{PaymentID: "late", Amount: 125000, Currency: "USD"}, func(r invoiceapi.PaymentResult, err error) {
		s.NoError(err)
		s.Equal(collection.StatusPaid, r.Status)
	})
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))

	s.Equal(collection.StatusPaid, s.result().Status)
	want := []struct {
		step    string
		channel policy.Channel
		at      time.Time
	}{
		{"due-soon", policy.Email, time.Date(2026, 11, 28, 10, 0, 0, 0, ny)},
		{"overdue-1", policy.Email, time.Date(2026, 12, 2, 10, 0, 0, 0, ny)},
		{"overdue-7", policy.SMS, time.Date(2026, 12, 8, 10, 0, 0, 0, ny)},
		{"overdue-14", policy.Email, time.Date(2026, 12, 15, 10, 0, 0, 0, ny)},
	}
	s.Require().Len(s.sends, len(want))
	for i, w := range want {
		got := s.sends[i]
		s.Equal(w.step, got.req.Step, "step %d", i)
		s.Equal(w.channel, got.req.Channel, "channel of %s", w.step)
		s.True(w.at.Equal(got.at), "%s sent at %v, want %v", w.step, got.at.In(ny), w.at)
	}
	s.Equal("+14155550100", s.sends[2].req.To)
	s.Equal(6*24*time.Hour, s.sends[2].at.Sub(s.sends[1].at), "the +7d reminder comes six days after the +1d one")
}

// The customer's channel order decides which of a step's channels goes first: an
// SMS-first customer gets SMS at a step of [email, sms], an email-first one email at
// a step of [sms, email]; a step with one channel is not asked about.
func (s *collectionSuite) TestTheCustomersChannelOrderGoesFirst() {
	for _, tc := range []struct {
		name  string
		order []policy.Channel
		want  []policy.Channel // due-soon [email, sms], overdue-1 [email], overdue-7 [sms, email], overdue-14 [email]
	}{
		{"SMS first", []policy.Channel{policy.SMS, policy.Email}, []policy.Channel{policy.SMS, policy.Email, policy.SMS, policy.Email}},
		{"email first", []policy.Channel{policy.Email, policy.SMS}, []policy.Channel{policy.Email, policy.Email, policy.Email, policy.Email}},
		{"no choice: the policy's order", nil, []policy.Channel{policy.Email, policy.Email, policy.SMS, policy.Email}},
	} {
		s.Run(tc.name, func() {
			s.SetupTest()
			s.channelOrder["C-1"] = tc.order
			in := s.input("standard")
			in.Policy.Steps = slices.Clone(in.Policy.Steps)
			in.Policy.Steps[0].Channels = []policy.Channel{policy.Email, policy.SMS}
			s.pay(45*24*time.Hour, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(_ invoiceapi.PaymentResult, err error) {
				s.NoError(err)
			})
			s.env.ExecuteWorkflow(InvoiceCollection, in)

			s.Equal(collection.StatusPaid, s.result().Status)
			var got []policy.Channel
			for _, n := range s.sends {
				got = append(got, n.req.Channel)
			}
			s.Equal(tc.want, got)
			s.EqualValues(2, s.orderReads.Load(), "read at the two steps with a choice only")
		})
	}
}

// An opted-out channel is skipped whatever the customer's order says.
func (s *collectionSuite) TestTheChannelOrderSkipsAnOptedOutChannel() {
	s.channelOrder["C-1"] = []policy.Channel{policy.SMS, policy.Email}
	in := s.input("standard")
	in.State = &collection.State{}
	*in.State = collection.NewState(&in.Invoice)
	in.State.OptedOut = []policy.Channel{policy.SMS}
	s.pay(45*24*time.Hour, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(_ invoiceapi.PaymentResult, err error) {
		s.NoError(err)
	})
	s.env.ExecuteWorkflow(InvoiceCollection, in)

	s.result()
	s.Require().Len(s.sends, 4)
	for _, n := range s.sends {
		s.Equal(policy.Email, n.req.Channel, n.req.Step)
	}
	s.EqualValues(0, s.orderReads.Load(), "one channel left: nothing to ask")
}

func (s *collectionSuite) TestEscalatesToTheAgencyAfterThirtyDays() {
	s.pay(70*24*time.Hour, invoiceapi.PaymentInput{PaymentID: "agency-1", Amount: 125000, Currency: "USD"}, func(r invoiceapi.PaymentResult, err error) {
		s.NoError(err)
	})
	var stateAfterEscalation collection.View
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflow(invoiceapi.QueryState)
		s.Require().NoError(err)
		s.Require().NoError(v.Get(&stateAfterEscalation))
	}, 65*24*time.Hour)
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))

	s.result()
	s.Require().Len(s.escalations, 1)
	e := s.escalations[0]
	s.Equal(policy.ToAgency, e.To)
	s.Equal(int64(125000), e.Balance)
	s.True(e.At.Equal(time.Date(2026, 12, 31, 10, 0, 0, 0, ny)), "escalated at %v", e.At)
	s.Equal(collection.StatusEscalated, stateAfterEscalation.Status)
	s.Equal("escalated-agency", stateAfterEscalation.Stage)
	s.Require().NotNil(stateAfterEscalation.Escalation)
	s.Equal(collection.ActionNone, stateAfterEscalation.NextAction.Kind)
}

func (s *collectionSuite) TestPartialThenFullPayment() {
	var partial, full invoiceapi.PaymentResult
	s.pay(time.Hour, invoiceapi.PaymentInput{PaymentID: "p1", Amount: 25000, Currency: "USD"}, func(r invoiceapi.PaymentResult, err error) {
		s.NoError(err)
		partial = r
	})
	var mid collection.View
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflow(invoiceapi.QueryState)
		s.Require().NoError(err)
		s.Require().NoError(v.Get(&mid))
	}, 2*time.Hour)
	s.pay(3*time.Hour, invoiceapi.PaymentInput{PaymentID: "p2", Amount: 100000, Currency: "USD", PaidAt: "2026-11-01T12:30:00Z"}, func(r invoiceapi.PaymentResult, err error) {
		s.NoError(err)
		full = r
	})
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))

	res := s.result()
	s.Equal(collection.StatusPaid, res.Status)
	s.Equal(int64(100000), partial.Balance)
	s.Equal(collection.StatusOpen, partial.Status)
	s.Equal("1000.00", mid.Balance)
	s.Equal("1250.00", mid.AmountDue)
	s.Len(mid.Payments, 1)
	s.Equal(int64(0), full.Balance)
	s.Equal(collection.StatusPaid, full.Status)
	s.Empty(s.sends, "an invoice paid on the day of issue gets no reminder")
	s.Require().Len(s.payments, 2)
	s.Equal(int64(100000), s.payments[0].BalanceAfter)
	s.True(s.payments[1].PaidAt.Equal(time.Date(2026, 11, 1, 12, 30, 0, 0, time.UTC)))
}

// A ledger write runs as a local activity; when the database stays down for all its
// local retries, the write is handed to a regular activity and still lands once.
func (s *collectionSuite) TestLedgerWriteFallsBackToAnActivityWhileTheDatabaseIsDown() {
	s.ledgerDownForLocal.Store(true)
	var paid invoiceapi.PaymentResult
	s.pay(time.Hour, invoiceapi.PaymentInput{PaymentID: "p1", Amount: 125000, Currency: "USD"}, func(r invoiceapi.PaymentResult, err error) {
		s.NoError(err)
		paid = r
	})
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))

	s.Equal(collection.StatusPaid, s.result().Status)
	s.Equal(collection.StatusPaid, paid.Status, "the update is answered whatever the database does")
	s.Greater(s.localPaymentAttempts.Load(), int32(1), "the local activity retried before giving up")
	s.Require().Len(s.payments, 1, "the regular activity recorded the payment once")
	s.Equal(string(collection.StatusPaid), s.payments[0].Status)
}

func (s *collectionSuite) TestDuplicatePaymentIDIsAppliedOnce() {
	var second invoiceapi.PaymentResult
	s.pay(time.Hour, invoiceapi.PaymentInput{PaymentID: "dup", Amount: 50000, Currency: "USD"}, func(r invoiceapi.PaymentResult, err error) { s.NoError(err) })
	s.pay(2*time.Hour, invoiceapi.PaymentInput{PaymentID: "dup", Amount: 50000, Currency: "USD"}, func(r invoiceapi.PaymentResult, err error) {
		s.NoError(err)
		second = r
	})
	s.pay(3*time.Hour, invoiceapi.PaymentInput{PaymentID: "dup", Amount: 70000, Currency: "USD"}, func(r invoiceapi.PaymentResult, err error) {
		s.ErrorContains(err, "already applied with amount 500.00")
	})
	s.pay(4*time.Hour, invoiceapi.PaymentInput{PaymentID: "rest", Amount: 75000, Currency: "USD"}, func(r invoiceapi.PaymentResult, err error) { s.NoError(err) })
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))

	s.Equal(collection.StatusPaid, s.result().Status)
	s.True(second.Duplicate)
	s.Equal(int64(75000), second.Balance)
	s.Len(s.payments, 2, "the ledger records each payment id once")
}

func (s *collectionSuite) TestValidatorRejectsWrongCurrencyAndNonPositiveAmounts() {
	bad := map[string]invoiceapi.PaymentInput{
		"currency": {PaymentID: "eur", Amount: 100, Currency: "EUR"},
		"zero":     {PaymentID: "zero", Amount: 0, Currency: "USD"},
		"negative": {PaymentID: "neg", Amount: -100, Currency: "USD"},
		"no id":    {PaymentID: "", Amount: 100, Currency: "USD"},
	}
	rejected := map[string]error{}
	i := 0
	for name, p := range bad {
		i++
		s.pay(time.Duration(i)*time.Minute, p, func(_ invoiceapi.PaymentResult, err error) { rejected[name] = err })
	}
	var view collection.View
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflow(invoiceapi.QueryState)
		s.Require().NoError(err)
		s.Require().NoError(v.Get(&view))
		s.env.CancelWorkflow()
	}, time.Hour)
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))

	s.True(s.env.IsWorkflowCompleted())
	var canceled *temporal.CanceledError
	s.ErrorAs(s.env.GetWorkflowError(), &canceled, "an operator's cancel closes the run as cancelled")
	for name := range bad {
		s.Error(rejected[name], name)
	}
	s.ErrorContains(rejected["currency"], "invoice is in USD")
	s.Equal("1250.00", view.Balance)
	s.Empty(view.Payments)
	s.Empty(s.payments)
}

func (s *collectionSuite) TestFallsBackToEmailWhenSMSFailsForGood() {
	s.failChannel = policy.SMS
	s.pay(39*24*time.Hour, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	var view collection.View
	s.env.RegisterDelayedCallback(func() {
		v, _ := s.env.QueryWorkflow(invoiceapi.QueryState)
		s.Require().NoError(v.Get(&view))
	}, 38*24*time.Hour)
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("standard"))

	s.result()
	s.Require().Len(s.sends, 3)
	s.Equal("overdue-7", s.sends[2].req.Step)
	s.Equal(policy.Email, s.sends[2].req.Channel)
	var statuses []collection.NoticeStatus
	for _, n := range view.Notices {
		statuses = append(statuses, n.Status)
	}
	s.Equal([]collection.NoticeStatus{"sent", "sent", "failed", "sent"}, statuses)
}

func (s *collectionSuite) TestDemoPolicyRunsItsWholeCycleWithinAMinute() {
	s.pay(2*time.Minute, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	s.env.ExecuteWorkflow(InvoiceCollection, s.input("demo"))
	s.result()
	start := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	s.Require().Len(s.sends, 2)
	s.Equal(15*time.Second, s.sends[0].at.Sub(start))
	s.Equal(30*time.Second, s.sends[1].at.Sub(start))
	s.Require().Len(s.escalations, 1)
	s.Equal(50*time.Second, s.escalations[0].At.Sub(start))
}

func (s *collectionSuite) TestRemindersAreMovedIntoTheContactWindow() {
	in := s.input("standard")
	in.Invoice.DueDate = collection.Date{Year: 2026, Month: time.December, Day: 5} // a Saturday: +1d is a Sunday
	in.Invoice.Customer.Locale = "en-US"
	var view collection.View
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflow(invoiceapi.QueryState)
		s.Require().NoError(err)
		s.Require().NoError(v.Get(&view))
	}, 37*24*time.Hour)
	s.pay(38*24*time.Hour, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	s.env.ExecuteWorkflow(InvoiceCollection, in)
	s.result()

	s.Require().GreaterOrEqual(len(s.sends), 2)
	s.Equal("overdue-1", s.sends[1].req.Step)
	s.True(time.Date(2026, 12, 7, 8, 0, 0, 0, ny).Equal(s.sends[1].at), "Sunday's reminder went out %v, want Monday 08:00", s.sends[1].at.In(ny))
	s.Require().GreaterOrEqual(len(view.Notices), 2)
	moved := view.Notices[1]
	s.Require().NotNil(moved.MovedFrom, "the move is recorded on the notice")
	s.True(time.Date(2026, 12, 6, 10, 0, 0, 0, ny).Equal(*moved.MovedFrom))
	s.Contains(moved.MoveReason, "Sunday")
}

func TestWorkflowIDAndSearchAttributeFlags(t *testing.T) {
	require.Equal(t, "invoice-INV-1", invoiceapi.WorkflowID("INV-1"))
	flags := invoiceapi.DevServerFlags()
	require.Len(t, flags, 2*len(invoiceapi.SearchAttributes))
	require.Contains(t, flags, "CollectionStatus=Keyword")
	require.Contains(t, flags, "AmountDue=Int")
	require.Contains(t, flags, "NextActionAt=Datetime")
}
