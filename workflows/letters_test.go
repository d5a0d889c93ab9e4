package workflows

import (
	"context"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

func (unmocked) SendLetter(context.Context, invoiceapi.LetterRequest) (invoiceapi.LetterResult, error) {
	return invoiceapi.LetterResult{}, errUnmocked
}

// letterInput is an invoice under a policy whose second step is a letter with email
// as its fallback, for a customer in Berlin (address set when withAddress).
func (s *collectionSuite) letterInput(withAddress bool) invoiceapi.CollectionInput {
	in := s.input("standard")
	in.Policy.Steps = []policy.Step{
		{Name: "due", Offset: policy.Offset{Days: 0, InDays: true}, Channels: []policy.Channel{policy.Email}, Template: "due_soon"},
		{Name: "letter-7", Offset: policy.Offset{Days: 7, InDays: true}, Channels: []policy.Channel{policy.Letter, policy.Email}, Template: "overdue"},
	}
	in.Policy.Escalation = nil
	if withAddress {
		in.Invoice.Customer.Address = &collection.Address{Lines: []string{"Hauptstr. 5"}, PostalCode: "10115", City: "Berlin", Country: "DE"}
	}
	return in
}

// letters mocks SendLetter: it records each request, or refuses it with errType.
func (s *collectionSuite) letters(errType string) *[]invoiceapi.LetterRequest {
	var got []invoiceapi.LetterRequest
	s.env.OnActivity(invoiceapi.ActivitySendLetter, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req invoiceapi.LetterRequest) (invoiceapi.LetterResult, error) {
			if errType != "" {
				return invoiceapi.LetterResult{}, temporal.NewNonRetryableApplicationError("to address is undeliverable", errType, nil)
			}
			got = append(got, req)
			return invoiceapi.LetterResult{LetterID: 7, Status: invoiceapi.LetterToPrint, SentAt: s.env.Now()}, nil
		}).Maybe()
	return &got
}

// stateAt queries the invoice's state after delay.
func (s *collectionSuite) stateAt(delay time.Duration) *collection.View {
	var view collection.View
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflow(invoiceapi.QueryState)
		s.Require().NoError(err)
		s.Require().NoError(v.Get(&view))
	}, delay)
	return &view
}

func (s *collectionSuite) TestLetterStepSendsALetterAWeekAfterTheDueReminder() {
	letters := s.letters("")
	s.pay(40*24*time.Hour, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	view := s.stateAt(39 * 24 * time.Hour)
	s.env.ExecuteWorkflow(InvoiceCollection, s.letterInput(true))
	s.result()

	s.Require().Len(s.sends, 1, "only the due reminder went by email")
	s.Require().Len(*letters, 1)
	l := (*letters)[0]
	s.Equal("letter-7", l.Step)
	s.Equal("INV-1/letter-7/letter", l.Key())
	s.Equal("Berlin", l.To.City)
	s.Equal(int64(125000), l.Balance)
	s.True(time.Date(2026, 12, 8, 10, 0, 0, 0, ny).Equal(l.ScheduledAt), "scheduled %v", l.ScheduledAt.In(ny))
	s.Equal(7*24*time.Hour, l.ScheduledAt.Sub(s.sends[0].at), "the letter comes a week after the due reminder")
	s.Require().Len(view.Notices, 2)
	n := view.Notices[1]
	s.Equal(policy.Letter, n.Channel)
	s.Equal(collection.NoticeSent, n.Status)
	s.Equal("letter:7", n.ProviderID)
}

func (s *collectionSuite) TestLetterStepWithoutAnAddressFallsBackAndSaysWhy() {
	letters := s.letters("")
	s.pay(40*24*time.Hour, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	view := s.stateAt(39 * 24 * time.Hour)
	s.env.ExecuteWorkflow(InvoiceCollection, s.letterInput(false))
	s.result()

	s.Empty(*letters)
	s.Require().Len(s.sends, 2)
	s.Equal("letter-7", s.sends[1].req.Step)
	s.Equal(policy.Email, s.sends[1].req.Channel)
	s.Require().Len(view.Notices, 3)
	s.Equal(policy.Letter, view.Notices[1].Channel)
	s.Equal(collection.NoticeFailed, view.Notices[1].Status)
	s.Contains(view.Notices[1].Error, "no postal address")
	s.Equal(collection.NoticeSent, view.Notices[2].Status)
}

func (s *collectionSuite) TestLetterRefusedByTheProviderFallsBackToEmail() {
	s.letters(invoiceapi.ErrTypeRecipientInvalid)
	s.pay(40*24*time.Hour, invoiceapi.PaymentInput{PaymentID: "p", Amount: 125000, Currency: "USD"}, func(invoiceapi.PaymentResult, error) {})
	view := s.stateAt(39 * 24 * time.Hour)
	s.env.ExecuteWorkflow(InvoiceCollection, s.letterInput(true))
	s.result()

	s.Require().Len(s.sends, 2)
	s.Equal(policy.Email, s.sends[1].req.Channel)
	s.Require().Len(view.Notices, 3)
	s.Equal(collection.NoticeFailed, view.Notices[1].Status)
	s.Contains(view.Notices[1].Error, "undeliverable")
}
