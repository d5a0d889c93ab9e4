package workflows

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/dunwell/dunwell/account"
	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/policies"
	"github.com/dunwell/dunwell/workflows/accountapi"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// accountSuite runs one customer's account workflow and several of their invoices'
// workflows together in one time-skipping environment, as children of accountHarness.
// The invoices hand their reminders to the account child with a signal; the
// activities that reach the account (AttachToAccount, and RequestReminder when the
// signal fails) deliver their updates to it, and SendAccountMessage leaves out the
// invoices the test marked as held in the "ledger", as the real claim does.
type accountSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env *testsuite.TestWorkflowEnvironment

	mu       sync.Mutex
	messages []accountapi.MessageRequest
	// held maps an invoice to the reason the ledger's claim leaves it out.
	held map[string]string
	// late holds an invoice's workflow (by invoice id) in its attach for that long on
	// the workflow clock, so its reminders reach the account late, as behind a loaded
	// worker or server. The account still expects it: the API announced it at issue.
	late map[string]time.Duration
}

func TestAccountWorkflow(t *testing.T) { suite.Run(t, new(accountSuite)) }

const harnessCustomer = "C-7"

var accountID = accountapi.WorkflowID(harnessCustomer)

// accountHarness starts the customer's account and then the invoices, and returns
// when all of them have finished.
func accountHarness(ctx workflow.Context, invoices []invoiceapi.CollectionInput) ([]invoiceapi.CollectionResult, error) {
	// In production the API announces each invoice to its account as it issues it
	// (SignalWithStart): the account knows it and its first reminder before the
	// invoice's workflow runs. Here the account starts knowing them.
	st := &accountapi.State{}
	for _, in := range invoices {
		inv, pol := in.Invoice, in.Policy
		first := collection.NewState(&inv)
		next := collection.NextReminderAt(&pol, &inv, &first, workflow.Now(ctx))
		st.Open = append(st.Open, inv.ID)
		st.Expected = append(st.Expected, accountapi.Expected{InvoiceID: inv.ID, Next: accountapi.NextAt(next, inv.Location())})
	}
	acct := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: accountID}),
		CustomerAccount, accountapi.Input{CustomerID: harnessCustomer, State: st})
	if err := acct.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return nil, err
	}
	var futures []workflow.ChildWorkflowFuture
	for _, in := range invoices {
		futures = append(futures, workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: invoiceapi.WorkflowID(in.Invoice.ID),
		}), InvoiceCollection, in))
	}
	out := make([]invoiceapi.CollectionResult, len(futures))
	for i, f := range futures {
		if err := f.Get(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, acct.Get(ctx, nil)
}

func (s *accountSuite) SetupTest() {
	s.messages, s.held, s.late = nil, map[string]string{}, map[string]time.Duration{}
	s.env = s.NewTestWorkflowEnvironment()
	s.env.RegisterWorkflow(accountHarness)
	s.env.RegisterWorkflow(InvoiceCollection)
	s.env.RegisterWorkflow(CustomerAccount)
	s.env.RegisterActivity(&unmocked{})
	s.env.SetStartTime(time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC))
	s.env.OnActivity(invoiceapi.ActivityRequestReminder, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r accountapi.ReminderRequest) error {
			s.toAccount(0, accountapi.UpdateRemind, "remind:"+r.RequestID(), r)
			return nil
		}).Maybe()
	s.env.OnActivity(accountapi.ActivitySendAccountMessage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, m accountapi.MessageRequest) (accountapi.MessageResult, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			res := accountapi.MessageResult{Covered: []string{}}
			var listed []accountapi.Line
			for _, l := range m.Lines {
				if why := s.held[l.InvoiceID]; why != "" {
					res.LeftOut = append(res.LeftOut, accountapi.LeftOut{InvoiceID: l.InvoiceID, Reason: why})
					continue
				}
				res.Covered = append(res.Covered, l.InvoiceID)
				listed = append(listed, l)
			}
			if len(listed) > 0 {
				m.Lines = listed
				s.messages = append(s.messages, m)
				res.ProviderID, res.SentAt = "msg-"+m.Key, m.ScheduledAt
			}
			return res, nil
		}).Maybe()
	s.env.OnActivity(invoiceapi.ActivityChannelOrder, mock.Anything, mock.Anything).Return(invoiceapi.ChannelOrderResult{}, nil).Maybe()
	for _, name := range []string{invoiceapi.ActivityRecordStatus, invoiceapi.ActivityRecordEvent, invoiceapi.ActivityRecordPayment, invoiceapi.ActivityEscalate} {
		s.env.OnActivity(name, mock.Anything, mock.Anything).Return(nil).Maybe()
	}
}

// toAccount delivers an update to the account child from an activity after delay,
// through the environment's main loop (activities run on their own goroutines).
func (s *accountSuite) toAccount(delay time.Duration, name, id string, arg any) {
	s.env.RegisterDelayedCallback(func() {
		err := s.env.UpdateWorkflowByID(accountID, name, id, &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { s.Fail("the account refused "+name, "%v", err) },
			OnAccept:   func() {},
			OnComplete: func(any, error) {},
		}, arg)
		s.NoError(err, name)
	}, delay)
}

// toInvoice sends an update to one invoice after delay.
func (s *accountSuite) toInvoice(delay time.Duration, invoiceID, name string, arg any) {
	s.env.RegisterDelayedCallback(func() {
		// A distinct update id: the environment answers a repeated id (even "") from
		// the first update's record, whichever workflow it went to.
		id := name + "/" + invoiceID + "/" + delay.String()
		err := s.env.UpdateWorkflowByID(invoiceapi.WorkflowID(invoiceID), name, id, &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { s.Fail("the invoice refused "+name, "%v", err) },
			OnAccept:   func() {},
			OnComplete: func(any, error) {},
		}, arg)
		s.NoError(err, name)
	}, delay)
}

func (s *accountSuite) pay(delay time.Duration, invoiceID string) {
	s.toInvoice(delay, invoiceID, invoiceapi.UpdatePayment, invoiceapi.PaymentInput{PaymentID: "pay-" + invoiceID, Amount: 200000, Currency: "EUR"})
}

// invoices are three demo-policy invoices of one customer issued at the same instant:
// the demo policy consolidates with a 5 s gather (first reminder by email at +15 s,
// second by SMS at +30 s).
func (s *accountSuite) invoices(ids ...string) []invoiceapi.CollectionInput {
	set, err := policies.Shipped()
	s.Require().NoError(err)
	p, ok := set.Get("demo")
	s.Require().True(ok)
	s.Require().True(p.Consolidates())
	pol := *p
	pol.Escalation = nil // stay with dunning: these tests end with payments
	var out []invoiceapi.CollectionInput
	for _, id := range ids {
		out = append(out, invoiceapi.CollectionInput{Policy: pol, Invoice: collection.Invoice{
			ID: id, Currency: "EUR", AmountDue: 125000, PaymentURL: "https://pay.example.com/" + id,
			Customer: collection.Customer{ID: harnessCustomer, Name: "Grace", Email: "grace@example.com", Phone: "+4915112345678", Timezone: "Europe/Berlin", Locale: "de-DE"},
			IssuedAt: s.env.Now(),
			DueDate:  collection.Date{Year: 2026, Month: time.November, Day: 1},
		}})
	}
	return out
}

func (s *accountSuite) run(in []invoiceapi.CollectionInput) []invoiceapi.CollectionResult {
	attach := func(_ context.Context, r accountapi.AttachRequest) error {
		s.toAccount(0, accountapi.UpdateAttach, "attach:"+r.InvoiceID, r)
		return nil
	}
	// The late invoices' mocks first: the first expectation that matches is used.
	for id, d := range s.late {
		s.env.OnActivity(invoiceapi.ActivityAttachToAccount, mock.Anything,
			mock.MatchedBy(func(r accountapi.AttachRequest) bool { return r.InvoiceID == id })).Return(attach).After(d).Maybe()
	}
	s.env.OnActivity(invoiceapi.ActivityAttachToAccount, mock.Anything, mock.Anything).Return(attach).Maybe()
	s.env.ExecuteWorkflow(accountHarness, in)
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	var res []invoiceapi.CollectionResult
	s.Require().NoError(s.env.GetWorkflowResult(&res))
	return res
}

// state queries one invoice's state (the harness's children stay queryable while it runs).
func (s *accountSuite) stateAt(delay time.Duration, invoiceID string, into *collection.View) {
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflowByID(invoiceapi.WorkflowID(invoiceID), invoiceapi.QueryState)
		if s.NoError(err) {
			s.NoError(v.Get(into))
		}
	}, delay)
}

func (s *accountSuite) invoicesOf(m accountapi.MessageRequest) []string {
	var out []string
	for _, l := range m.Lines {
		out = append(out, l.InvoiceID)
	}
	return out
}

func (s *accountSuite) TestThreeInvoicesOneMessagePerStep() {
	var views [3]collection.View
	for i, id := range []string{"A", "B", "C"} {
		s.stateAt(40*time.Second, id, &views[i])
		s.pay(41*time.Second, id)
	}
	var acct accountapi.View
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflowByID(accountID, accountapi.QueryState)
		if s.NoError(err) {
			s.NoError(v.Get(&acct))
		}
	}, 40*time.Second)
	s.run(s.invoices("A", "B", "C"))

	s.Require().Len(s.messages, 2, "one email at the first step, one SMS at the second")
	email, sms := s.messages[0], s.messages[1]
	s.Equal("email", string(email.Channel))
	s.Equal([]string{"A", "B", "C"}, s.invoicesOf(email))
	s.Equal("sms", string(sms.Channel))
	s.Equal([]string{"A", "B", "C"}, s.invoicesOf(sms))
	s.True(email.ScheduledAt.Equal(time.Date(2026, 11, 1, 10, 0, 20, 0, time.UTC)), "the first reminders at +15 s, gathered for 5 s: %s", email.ScheduledAt)
	s.Equal(int64(127500), sms.Lines[0].AmountDue, "the 2% late fee booked at +20 s is in the amount due")
	s.Equal(int64(2500), sms.Lines[0].Fees)

	for i, v := range views {
		s.Require().Len(v.Notices, 2, "invoice %d", i)
		s.Equal(collection.NoticeSent, v.Notices[0].Status)
		s.Equal(email.Key, v.Notices[0].MessageKey, "each invoice's state names the message")
		s.Equal("msg-"+email.Key, v.Notices[0].ProviderID)
		s.Equal(sms.Key, v.Notices[1].MessageKey)
	}
	s.Equal([]string{"A", "B", "C"}, acct.Open)
	s.Len(acct.Messages, 2)
}

func (s *accountSuite) TestPaidBeforeTheMessageIsLeftOut() {
	// B is paid at +17 s: after its request (+15 s), before the message (+20 s).
	s.pay(17*time.Second, "B")
	var b collection.View
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflowByID(invoiceapi.WorkflowID("B"), invoiceapi.QueryState)
		if s.NoError(err) {
			s.NoError(v.Get(&b))
		}
	}, 16*time.Second)
	s.pay(40*time.Second, "A")
	s.pay(40*time.Second, "C")
	s.run(s.invoices("A", "B", "C"))

	s.Require().Len(s.messages, 2)
	s.Equal([]string{"A", "C"}, s.invoicesOf(s.messages[0]), "the paid invoice is left out")
	s.Equal([]string{"A", "C"}, s.invoicesOf(s.messages[1]))
}

func (s *accountSuite) TestHeldInTheLedgerIsLeftOutAndTold() {
	// The ledger's claim finds B disputed (a dispute recorded elsewhere): B is left
	// out of the email and hears why; it is listed again once the hold is gone.
	s.held["B"] = "the invoice is disputed"
	var b collection.View
	s.stateAt(25*time.Second, "B", &b)
	s.env.RegisterDelayedCallback(func() {
		s.mu.Lock()
		delete(s.held, "B")
		s.mu.Unlock()
	}, 26*time.Second)
	for _, id := range []string{"A", "B", "C"} {
		s.pay(40*time.Second, id)
	}
	s.run(s.invoices("A", "B", "C"))

	s.Require().Len(s.messages, 2)
	s.Equal([]string{"A", "C"}, s.invoicesOf(s.messages[0]))
	s.Equal([]string{"A", "B", "C"}, s.invoicesOf(s.messages[1]), "B is reminded again at its next step")
	s.Require().Len(b.Notices, 1)
	s.Equal(collection.NoticeWithheld, b.Notices[0].Status)
	s.Equal("the invoice is disputed", b.Notices[0].Error)
	s.Equal(s.messages[0].Key, b.Notices[0].MessageKey)
}

func (s *accountSuite) TestDisputedIsLeftOutAndResumesLater() {
	// B is disputed at +16 s, while its first reminder waits for the message: it
	// withdraws it. The dispute is resolved at +25 s; dunning resumes, re-anchored by
	// the 9 s the dispute was open, so B's SMS step comes at +39 s, in a message of its
	// own (the others' SMS went at +35 s).
	s.toInvoice(16*time.Second, "B", invoiceapi.UpdateDispute, invoiceapi.DisputeInput{DisputeID: "d-1", Reason: "wrong amount", By: "key:ops"})
	s.toInvoice(25*time.Second, "B", invoiceapi.UpdateResolveDispute, invoiceapi.ResolveDisputeInput{Outcome: invoiceapi.DisputeResolved, By: "key:ops"})
	var b collection.View
	s.stateAt(50*time.Second, "B", &b)
	for _, id := range []string{"A", "B", "C"} {
		s.pay(51*time.Second, id)
	}
	s.run(s.invoices("A", "B", "C"))

	s.Require().Len(s.messages, 3)
	s.Equal([]string{"A", "C"}, s.invoicesOf(s.messages[0]), "the disputed invoice is left out")
	s.Equal([]string{"A", "C"}, s.invoicesOf(s.messages[1]))
	s.Equal([]string{"B"}, s.invoicesOf(s.messages[2]), "and resumes after the dispute")
	s.Require().Len(b.Notices, 2)
	s.Equal(collection.NoticeWithheld, b.Notices[0].Status)
	s.Equal(collection.NoticeSent, b.Notices[1].Status)
	s.Equal(s.messages[2].Key, b.Notices[1].MessageKey)
	s.True(slices.ContainsFunc(b.Events, func(e collection.Event) bool { return e.Kind == "dispute_resolved" }))
}

func (s *accountSuite) TestDueTogetherArrivingFarApartIsOneMessage() {
	// All three first reminders fall due at +15 s; C's workflow is held up until +25 s
	// (a loaded worker), so its request reaches the account after the 5 s gather. The
	// account expects C (the API announced when its first reminder falls due) and
	// waits for it: one email.
	s.late["C"] = 25 * time.Second
	for _, id := range []string{"A", "B", "C"} {
		s.pay(60*time.Second, id)
	}
	s.run(s.invoices("A", "B", "C"))

	s.Require().Len(s.messages, 2, "one email at the first step, one SMS at the second")
	email, sms := s.messages[0], s.messages[1]
	s.Equal("email", string(email.Channel))
	s.Equal([]string{"A", "B", "C"}, s.invoicesOf(email))
	s.True(email.ScheduledAt.Equal(time.Date(2026, 11, 1, 10, 0, 25, 0, time.UTC)), "sent when C arrived at +25 s: %s", email.ScheduledAt)
	s.Equal("2026-11-01", email.WindowDay, "the window is the day the reminders fall due")
	s.Equal("sms", string(sms.Channel))
	s.Equal([]string{"A", "B", "C"}, s.invoicesOf(sms))
}

func (s *accountSuite) TestAnInvoiceThatNeverArrivesHoldsTheOthersAtMostMaxWait() {
	// C's workflow is stuck for 15 minutes. A and B's email waits for it account.MaxWait
	// from their arrival, then goes without it. When C comes, both its steps are past
	// due: it skips the stale email, and its SMS joins A and B's, which waited for C
	// (expected at the SMS step too) and had not waited MaxWait yet.
	s.late["C"] = 15*time.Minute + 15*time.Second
	for _, id := range []string{"A", "B", "C"} {
		s.pay(20*time.Minute, id)
	}
	var c collection.View
	s.stateAt(19*time.Minute, "C", &c)
	s.run(s.invoices("A", "B", "C"))

	s.Require().Len(s.messages, 2)
	first := time.Date(2026, 11, 1, 10, 0, 15, 0, time.UTC)
	s.Equal("email", string(s.messages[0].Channel))
	s.Equal([]string{"A", "B"}, s.invoicesOf(s.messages[0]))
	s.True(s.messages[0].ScheduledAt.Equal(first.Add(account.MaxWait)), "A and B waited MaxWait: %s", s.messages[0].ScheduledAt)
	s.Equal("sms", string(s.messages[1].Channel))
	s.Equal([]string{"A", "B", "C"}, s.invoicesOf(s.messages[1]))
	s.True(s.messages[1].ScheduledAt.Equal(first.Add(15*time.Minute)), "the SMS went when C came: %s", s.messages[1].ScheduledAt)
	s.Equal([]string{"first-reminder"}, c.SkippedSteps)
	s.Require().Len(c.Notices, 1)
	s.Equal(s.messages[1].Key, c.Notices[0].MessageKey)
}
