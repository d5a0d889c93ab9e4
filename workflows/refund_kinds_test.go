package workflows

import (
	"time"

	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// A provider may give a chargeback the id of an earlier refund of the same payment;
// each is money of its own and is applied, and each repeat is still a duplicate.
func (s *collectionSuite) TestChargebackAndRefundWithOneIDAreBothApplied() {
	in := s.input("standard")
	in.Policy.RefundWindow = policy.Offset{Days: 30, InDays: true}
	s.pay(2*day, invoiceapi.PaymentInput{PaymentID: "p1", Amount: 125000, Currency: "USD"}, func(r invoiceapi.PaymentResult, err error) { s.NoError(err) })
	s.update(3*day, invoiceapi.UpdateRefund, invoiceapi.RefundInput{RefundID: "x1", Kind: invoiceapi.KindRefund, PaymentID: "p1", Amount: 25000, Currency: "USD"}, func(r invoiceapi.EventResult, err error) {
		s.NoError(err)
		s.False(r.Duplicate)
		s.EqualValues(25000, r.Balance)
	})
	s.update(3*day+time.Hour, invoiceapi.UpdateRefund, invoiceapi.RefundInput{RefundID: "x1", Kind: invoiceapi.KindChargeback, PaymentID: "p1", Amount: 100000, Currency: "USD"}, func(r invoiceapi.EventResult, err error) {
		s.NoError(err)
		s.False(r.Duplicate, "a chargeback is not a repeat of the refund with its id")
		s.EqualValues(125000, r.Balance)
	})
	s.update(3*day+2*time.Hour, invoiceapi.UpdateRefund, invoiceapi.RefundInput{RefundID: "x1", Kind: invoiceapi.KindChargeback, PaymentID: "p1", Amount: 100000, Currency: "USD"}, func(r invoiceapi.EventResult, err error) {
		s.NoError(err)
		s.True(r.Duplicate)
	})
	s.update(3*day+3*time.Hour, invoiceapi.UpdateRefund, invoiceapi.RefundInput{RefundID: "x1", Kind: invoiceapi.KindRefund, PaymentID: "p1", Amount: 25000, Currency: "USD"}, func(r invoiceapi.EventResult, err error) {
		s.NoError(err)
		s.True(r.Duplicate)
	})
	s.update(4*day, invoiceapi.UpdateCancel, invoiceapi.ReasonInput{Reason: "stop the test", By: "key:ops"}, func(invoiceapi.EventResult, error) {})
	s.env.ExecuteWorkflow(InvoiceCollection, in)

	var kinds []string
	for _, e := range s.events {
		if e.Adjustment != nil && e.Kind == "refunded" {
			kinds = append(kinds, e.Adjustment.Kind+" "+e.EventKey)
		}
	}
	s.Equal([]string{"refund refund/x1", "chargeback chargeback/x1"}, kinds)
}
