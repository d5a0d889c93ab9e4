package workflows

import (
	"encoding/json"
	"os"
	"time"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/statement"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// The "done when", on the running workflow with time skipping: a EUR 10,000
// invoice under eu-b2b, 45 days late across 30 June / 1 July 2025, is charged the EUR
// 40 compensation once and interest a day at a time at each half-year's rate; its
// state shows the figures of `starter policy preview eu-b2b -at 2025-07-25`, and
// paying the balance shown settles it.
func (s *collectionSuite) TestStatutoryTermsFollowTheHalfYearRates() {
	start := time.Date(2025, 5, 11, 9, 0, 0, 0, time.UTC)
	s.env.SetStartTime(start)
	in := s.inputWithCharges("eu-b2b")
	in.Invoice.Currency, in.Invoice.AmountDue = "EUR", 1_000_000
	in.Invoice.Customer.Timezone, in.Invoice.Customer.Phone = "Europe/Berlin", ""
	in.Invoice.IssuedAt = start
	in.Invoice.DueDate = collection.Date{Year: 2025, Month: time.June, Day: 10}
	payAt := time.Date(2025, 7, 25, 8, 0, 0, 0, time.UTC) // 10:00 in Berlin, the 45th day late

	var view collection.View
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflow(invoiceapi.QueryState)
		s.Require().NoError(err)
		s.Require().NoError(v.Get(&view))
	}, payAt.Add(-time.Hour).Sub(start))
	var paid invoiceapi.PaymentResult
	s.pay(payAt.Sub(start), invoiceapi.PaymentInput{PaymentID: "p1", Amount: 1_017_062, Currency: "EUR"}, func(r invoiceapi.PaymentResult, err error) {
		s.NoError(err)
		paid = r
	})
	s.env.ExecuteWorkflow(InvoiceCollection, in)

	res := s.result()
	s.Equal(collection.StatusPaid, res.Status)
	s.Equal(int64(0), paid.Balance)

	// The state on the 45th day: the preview's figures.
	preview := collection.ComputeCharges(&in.Policy, &in.Invoice, nil, payAt)
	s.Equal("10170.62", view.Balance)
	s.Equal("40.00", view.Compensation)
	s.Equal("130.62", view.Interest)
	s.Equal(collection.InterestLineViews(preview.InterestLines, "EUR"), view.InterestLines)
	s.Require().Len(view.InterestLines, 2)
	s.Equal(collection.InterestLineView{Half: "2025-H1", From: "2025-06-11", Through: "2025-06-30", Days: 20,
		Reference: "ecb_mro", ReferenceRate: "3.15%", Margin: "8%", Rate: "11.15%", Amount: "61.10"}, view.InterestLines[0])
	s.Equal(collection.InterestLineView{Half: "2025-H2", From: "2025-07-01", Through: "2025-07-25", Days: 25,
		Reference: "ecb_mro", ReferenceRate: "2.15%", Margin: "8%", Rate: "10.15%", Amount: "69.52"}, view.InterestLines[1])

	// The ledger got the compensation once, as its own kind, at the first instant
	// late, and the interest a day at a time.
	var compensation []invoiceapi.EventRecord
	var interest int64
	interestDays := 0
	for _, e := range s.events {
		switch e.Kind {
		case collection.EventCompensationCharged:
			compensation = append(compensation, e)
		case collection.EventInterestCharged:
			interest += e.Adjustment.Amount
			interestDays++
		}
	}
	s.Require().Len(compensation, 1)
	s.Equal(collection.AdjCompensation, compensation[0].Adjustment.Kind)
	s.Equal(int64(4000), compensation[0].Adjustment.Amount)
	s.True(compensation[0].At.Equal(time.Date(2025, 6, 10, 22, 0, 0, 0, time.UTC)), "charged at %s", compensation[0].At)
	s.Equal(int64(13062), interest)
	s.Equal(45, interestDays)
}

// TestStatutoryPreviewStateAndStatementAgree: issue 23's "done when" end to end with
// time skipping, for the documented example (docs/examples/invoice-eu-b2b.json, a
// EUR 10,000 invoice 45 days late across 1 July 2025 under eu-b2b). On 25 July 2025 the
// invoice's state, `starter policy preview eu-b2b -f ... -at 2025-07-25` (the charges
// at the last instant of that day) and the customer's statement dated that day, built
// from what the workflow wrote to the ledger, show the same EUR 40 compensation and
// the same interest lines with the same half-year rates.
func (s *collectionSuite) TestStatutoryPreviewStateAndStatementAgree() {
	data, err := os.ReadFile("../docs/examples/invoice-eu-b2b.json")
	s.Require().NoError(err)
	var req collection.InvoiceRequest
	s.Require().NoError(json.Unmarshal(data, &req))
	inv, fe := req.Validate(time.Date(2025, 5, 11, 9, 0, 0, 0, time.UTC))
	s.Require().Empty(fe)
	in := s.inputWithCharges("eu-b2b")
	in.Invoice = inv
	s.env.SetStartTime(inv.IssuedAt)
	queryAt := time.Date(2025, 7, 25, 12, 0, 0, 0, time.UTC)

	var view collection.View
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflow(invoiceapi.QueryState)
		s.Require().NoError(err)
		s.Require().NoError(v.Get(&view))
	}, queryAt.Sub(inv.IssuedAt))
	s.pay(time.Date(2025, 8, 5, 9, 0, 0, 0, time.UTC).Sub(inv.IssuedAt),
		invoiceapi.PaymentInput{PaymentID: "p1", Amount: 1_030_000, Currency: "EUR"}, func(_ invoiceapi.PaymentResult, err error) { s.NoError(err) })
	s.env.ExecuteWorkflow(InvoiceCollection, in)
	s.Equal(collection.StatusPaid, s.result().Status)

	// The preview: what the invoice owes at the end of 25 July.
	preview := collection.ComputeCharges(&in.Policy, &in.Invoice, nil, time.Date(2025, 7, 26, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond))
	want := collection.InterestLineViews(preview.InterestLines, "EUR")
	s.Require().Len(want, 2)
	s.Equal(collection.InterestLineView{Half: "2025-H1", From: "2025-06-11", Through: "2025-06-30", Days: 20,
		Reference: "ecb_mro", ReferenceRate: "3.15%", Margin: "8%", Rate: "11.15%", Amount: "61.10"}, want[0])
	s.Equal(collection.InterestLineView{Half: "2025-H2", From: "2025-07-01", Through: "2025-07-25", Days: 25,
		Reference: "ecb_mro", ReferenceRate: "2.15%", Margin: "8%", Rate: "10.15%", Amount: "69.52"}, want[1])

	// The running invoice's state on that day.
	s.Equal(want, view.InterestLines)
	s.Equal("40.00", view.Compensation)
	s.Equal("130.62", view.Interest)
	s.Equal("10170.62", view.Balance)

	// The statement dated that day, from the ledger records the workflow wrote (the
	// interest lines travel as the JSON details of each interest_charged event).
	d := statement.Data{CustomerID: inv.Customer.ID, Invoices: []statement.Invoice{{InvoiceID: inv.ID, Currency: "EUR",
		AmountDue: inv.AmountDue, IssuedAt: inv.IssuedAt, DueDate: inv.DueDate.String(), Status: "overdue", PolicyID: "eu-b2b"}}}
	for _, e := range s.events {
		if a := e.Adjustment; a != nil {
			d.Adjustments = append(d.Adjustments, statement.Adjustment{InvoiceID: e.InvoiceID, AdjustmentID: a.AdjustmentID,
				Kind: a.Kind, Currency: a.Currency, Amount: a.Amount, Reason: a.Reason, At: a.At})
		}
		if raw, ok := e.Details[collection.DetailInterestLines]; ok {
			b, err := json.Marshal(raw)
			s.Require().NoError(err)
			var lines []collection.InterestLineView
			s.Require().NoError(json.Unmarshal(b, &lines))
			d.InterestLines = append(d.InterestLines, statement.InterestLines{InvoiceID: e.InvoiceID, At: e.At, Lines: lines})
		}
	}
	st := statement.Compute(d, statement.Options{AsOf: time.Date(2025, 7, 25, 0, 0, 0, 0, time.UTC)})
	s.Require().Len(st.Currencies, 1)
	s.Require().Len(st.Currencies[0].OpenItems, 1)
	item := st.Currencies[0].OpenItems[0]
	s.Equal(want, item.InterestLines)
	s.Equal("130.62", item.Interest.String())
	s.Equal([]statement.Fee{{Kind: collection.AdjCompensation, Amount: statement.Money{Minor: 4000, Currency: "EUR"}}}, item.Fees)
	s.Equal("10170.62", item.Balance.String())
	s.Equal(45, item.DaysOverdue)
}
