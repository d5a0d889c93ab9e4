package workflows

import (
	"time"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// Every refusal of an update reaches the caller as a typed error naming the field and
// the reason (what Client decodes): the payment validator's and the lifecycle
// validators' alike.
func (s *collectionSuite) TestRejectionsCarryTheFieldAndReason() {
	decoded := func(want error) func(error) {
		return func(err error) { s.Equal(want, invoiceapi.DecodeError(err)) }
	}
	payment := func(want error) func(invoiceapi.PaymentResult, error) {
		return func(_ invoiceapi.PaymentResult, err error) { decoded(want)(err) }
	}
	event := func(want error) func(invoiceapi.EventResult, error) {
		return func(_ invoiceapi.EventResult, err error) { decoded(want)(err) }
	}
	s.pay(time.Hour, invoiceapi.PaymentInput{PaymentID: "p1", Amount: 100, Currency: "EUR"},
		payment(&invoiceapi.InvalidError{Field: "currency", Reason: "is EUR but the invoice is in USD"}))
	s.pay(2*time.Hour, invoiceapi.PaymentInput{PaymentID: "p1", Amount: 100, Currency: "USD"}, payment(nil))
	s.pay(3*time.Hour, invoiceapi.PaymentInput{PaymentID: "p1", Amount: 200, Currency: "USD"},
		payment(&invoiceapi.ConflictError{Field: "payment_id", Reason: "p1 was already applied with amount 1.00"}))
	s.update(4*time.Hour, invoiceapi.UpdateResume, invoiceapi.ReasonInput{},
		event(&invoiceapi.ConflictError{Field: "status", Reason: "the invoice is open, not paused"}))
	s.update(5*time.Hour, invoiceapi.UpdatePause, invoiceapi.PauseInput{Reason: " "},
		event(&invoiceapi.InvalidError{Field: "reason", Reason: "is required"}))
	s.pay(6*time.Hour, invoiceapi.PaymentInput{PaymentID: "p2", Amount: 124900, Currency: "USD"}, payment(nil))
	s.pay(7*time.Hour, invoiceapi.PaymentInput{PaymentID: "p3", Amount: 1, Currency: "USD"},
		payment(&invoiceapi.ConflictError{Field: "status", Reason: "the invoice is paid; payment not applied"}))
	in := s.input("standard")
	in.Policy.RefundWindow = policy.Offset{Days: 30, InDays: true} // open after paid: p3 reaches it
	s.env.ExecuteWorkflow(InvoiceCollection, in)
	s.Equal(collection.StatusPaid, s.result().Status)
}
