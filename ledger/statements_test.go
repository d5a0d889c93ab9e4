package ledger

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestReadCustomerAccount(t *testing.T) {
	ctx := parallel(t)
	cust := uid("cust")
	seg := uid("seg")
	newInvoice := func(currency string, amount int64, issued time.Time) string {
		r := invoiceRecord(uid("inv"), "body")
		r.CustomerID, r.Currency, r.AmountDue, r.IssuedAt, r.Segment = cust, currency, amount, issued, seg
		_, err := testStore.IssueInvoice(ctx, r)
		require.NoError(t, err)
		return r.InvoiceID
	}
	eur := newInvoice("EUR", 10_000, t0)
	usd := newInvoice("USD", 5_000, t0)
	closed := newInvoice("EUR", 1_000, t0)
	newInvoice("EUR", 2_000, t0.AddDate(0, 2, 0)) // issued after the end

	_, err := testStore.RecordPayment(ctx, PaymentRecord{InvoiceID: eur, PaymentID: "p1", Currency: "EUR", Amount: 4_000,
		Applied: 4_000, BalanceAfter: 6_000, PaidAt: t0.AddDate(0, 0, 10), AppliedAt: t0.AddDate(0, 0, 10)})
	require.NoError(t, err)
	_, err = testStore.RecordPayment(ctx, PaymentRecord{InvoiceID: eur, PaymentID: "p-after", Currency: "EUR", Amount: 1_000,
		Applied: 1_000, BalanceAfter: 5_000, PaidAt: t0.AddDate(0, 1, 10), AppliedAt: t0.AddDate(0, 1, 10)})
	require.NoError(t, err)
	_, err = testStore.RecordPayment(ctx, PaymentRecord{InvoiceID: closed, PaymentID: "p2", Currency: "EUR", Amount: 1_000,
		Applied: 1_000, PaidAt: t0.AddDate(0, 0, 2), AppliedAt: t0.AddDate(0, 0, 2), Status: StatusPaid})
	require.NoError(t, err)
	_, err = testStore.RecordEvent(ctx, LifecycleEvent{InvoiceID: usd, EventKey: "fee", Kind: "late_fee_charged",
		Status: StatusOverdue, Balance: 5_500, At: t0.AddDate(0, 0, 20),
		Adjustment: &Adjustment{AdjustmentID: "fee", Kind: "late_fee", Currency: "USD", Amount: 500, BalanceAfter: 5_500, At: t0.AddDate(0, 0, 20)}})
	require.NoError(t, err)

	end := t0.AddDate(0, 1, 0)
	acc, err := testStore.ReadCustomerAccount(ctx, cust, time.Time{}, end)
	require.NoError(t, err)
	ids := func(invs []Invoice) []string {
		var out []string
		for _, i := range invs {
			out = append(out, i.InvoiceID)
		}
		return out
	}
	require.ElementsMatch(t, []string{eur, usd, closed}, ids(acc.Invoices), "not the one issued after the end")
	require.Len(t, acc.Payments, 2, "p1 and p2, not the one after the end")
	require.Equal(t, "p2", acc.Payments[0].PaymentID)
	require.Len(t, acc.Adjustments, 1)
	require.Equal(t, usd, acc.Adjustments[0].InvoiceID)
	require.Equal(t, int64(500), acc.Adjustments[0].Amount)

	// Since after the closed invoice was paid: it is left out, with its payment.
	acc, err = testStore.ReadCustomerAccount(ctx, cust, t0.AddDate(0, 0, 5), end)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{eur, usd}, ids(acc.Invoices))
	require.Len(t, acc.Payments, 1)

	_, err = testStore.ReadCustomerAccount(ctx, uid("nobody"), time.Time{}, end)
	require.ErrorIs(t, err, ErrNotFound)

	got, err := testStore.StatementCustomers(ctx, []string{seg}, nil)
	require.NoError(t, err)
	require.Equal(t, []string{cust}, got)
	got, err = testStore.StatementCustomers(ctx, []string{uid("seg")}, []string{cust})
	require.NoError(t, err)
	require.Equal(t, []string{cust}, got)
	got, err = testStore.StatementCustomers(ctx, []string{uid("seg")}, nil)
	require.NoError(t, err)
	require.Empty(t, got)
	got, err = testStore.StatementCustomers(ctx, nil, nil)
	require.NoError(t, err)
	require.Contains(t, got, cust)
}

func TestClaimStatementOnce(t *testing.T) {
	ctx := parallel(t)
	cust := uid("cust")
	_, ok, err := testStore.CustomerEmail(ctx, cust)
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, testStore.RememberAddress(ctx, ChannelEmail, "Ap@Example.com", cust))
	addr, ok, err := testStore.CustomerEmail(ctx, cust)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "ap@example.com", addr)

	_, ok, err = testStore.LastStatement(ctx, cust, t0)
	require.NoError(t, err)
	require.False(t, ok)

	c := StatementClaim{CustomerID: cust, AsOf: "2026-03-31", Address: addr}
	first, err := testStore.ClaimStatement(ctx, c)
	require.NoError(t, err)
	require.True(t, first.Fresh)
	require.Equal(t, StatementSending, first.Status)
	require.Equal(t, "statement/"+cust+"/2026-03-31", first.Key)
	again, err := testStore.ClaimStatement(ctx, StatementClaim{CustomerID: cust, AsOf: "2026-03-31", Since: "2026-03-01", Address: "other@example.com"})
	require.NoError(t, err)
	require.False(t, again.Fresh)
	require.True(t, again.NeedsReconcile())
	require.Equal(t, 2, again.Attempts)
	require.Equal(t, addr, again.Address, "the first claim's address stays")

	// Not sent yet: no last statement.
	_, ok, err = testStore.LastStatement(ctx, cust, t0.AddDate(0, 2, 0))
	require.NoError(t, err)
	require.False(t, ok)

	at := t0.AddDate(0, 1, 0)
	require.NoError(t, testStore.CompleteStatement(ctx, first.Key, StatementSent, "msg-1", "", at))
	require.NoError(t, testStore.CompleteStatement(ctx, first.Key, StatementSent, "msg-1", "", at), "idempotent")
	require.ErrorIs(t, testStore.CompleteStatement(ctx, first.Key, StatementFailed, "", "x", at), ErrNoticeFinal)
	require.ErrorIs(t, testStore.CompleteStatement(ctx, "statement/"+uid("x")+"/2026-01-01", StatementSent, "m", "", at), ErrNotFound)
	require.ErrorIs(t, testStore.CompleteStatement(ctx, first.Key, "sending", "", "", at), ErrInvalid)

	row, err := testStore.GetStatement(ctx, first.Key)
	require.NoError(t, err)
	require.Equal(t, StatementSent, row.Status)
	require.Equal(t, "msg-1", row.ProviderID)
	require.NotNil(t, row.SentAt)

	last, ok, err := testStore.LastStatement(ctx, cust, t0.AddDate(0, 2, 0))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "2026-03-31", last)
	_, ok, err = testStore.LastStatement(ctx, cust, time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.False(t, ok, "a statement is not its own predecessor")

	inMonth, ok, err := testStore.SentStatementBetween(ctx, cust, "2026-03-01", "2026-04-05")
	require.NoError(t, err)
	require.True(t, ok, "sent in the period")
	require.Equal(t, "msg-1", inMonth.ProviderID)
	_, ok, err = testStore.SentStatementBetween(ctx, cust, "2026-04-01", "2026-04-05")
	require.NoError(t, err)
	require.False(t, ok, "not in the next period")
	_, ok, err = testStore.SentStatementBetween(ctx, cust, "2026-03-01", "2026-03-31")
	require.NoError(t, err)
	require.False(t, ok, "before is exclusive")
	_, _, err = testStore.SentStatementBetween(ctx, cust, "March", "2026-03-31")
	require.ErrorIs(t, err, ErrInvalid)

	_, err = testStore.ClaimStatement(ctx, StatementClaim{CustomerID: "", AsOf: "31.03.2026", Address: " "})
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "customer id is empty")
	require.ErrorContains(t, err, "as of \"31.03.2026\" is not a date")
	require.ErrorContains(t, err, "address is empty")
}

// TestCustomerProfileLatestInvoiceWins: the name and locale are those of the customer's
// most recently issued invoice, whatever order the invoices arrive in.
func TestCustomerProfileLatestInvoiceWins(t *testing.T) {
	ctx := parallel(t)
	cust := uid("cust")
	_, ok, err := testStore.CustomerProfile(ctx, cust)
	require.NoError(t, err)
	require.False(t, ok)
	issue := func(name, locale string, at time.Time) {
		r := invoiceRecord(uid("inv"), name+at.String())
		r.CustomerID, r.CustomerName, r.CustomerLocale, r.IssuedAt = cust, name, locale, at
		_, err := testStore.IssueInvoice(ctx, r)
		require.NoError(t, err)
	}
	issue("Globex GmbH", "de-DE", t0.AddDate(0, 1, 0))
	issue("Globex (old name)", "en-US", t0) // issued earlier, arrives later
	p, ok, err := testStore.CustomerProfile(ctx, cust)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, CustomerProfile{Name: "Globex GmbH", Locale: "de-DE"}, p)
	issue("Globex AG", "de-CH", t0.AddDate(0, 2, 0))
	p, _, err = testStore.CustomerProfile(ctx, cust)
	require.NoError(t, err)
	require.Equal(t, CustomerProfile{Name: "Globex AG", Locale: "de-CH"}, p)

	issue("Globex\x00 AG", "de-CH", t0.AddDate(0, 3, 0))
	p, _, err = testStore.CustomerProfile(ctx, cust)
	require.NoError(t, err)
	require.Equal(t, "Globex AG", p.Name, "NUL, which PostgreSQL text cannot hold, is dropped")

	r := invoiceRecord(uid("inv"), "long")
	r.CustomerName = strings.Repeat("x", 201)
	_, err = testStore.IssueInvoice(ctx, r)
	require.ErrorIs(t, err, ErrInvalid)
}

// TestReadCustomerAccountInterestLines: an invoice's interest lines are those recorded
// with its latest interest_charged event before the end.
func TestReadCustomerAccountInterestLines(t *testing.T) {
	ctx := parallel(t)
	r := invoiceRecord(uid("inv"), "body")
	r.CustomerID = uid("cust")
	_, err := testStore.IssueInvoice(ctx, r)
	require.NoError(t, err)
	charge := func(n int, at time.Time, lines []map[string]any) {
		key := fmt.Sprintf("interest/%d", n)
		e := LifecycleEvent{InvoiceID: r.InvoiceID, EventKey: key, Kind: "interest_charged", Status: StatusOverdue,
			Balance: r.AmountDue + int64(n), At: at,
			Adjustment: &Adjustment{AdjustmentID: key, Kind: "interest", Currency: "EUR", Amount: 1, BalanceAfter: r.AmountDue + int64(n), At: at}}
		if lines != nil {
			e.Details = map[string]any{"interest_lines": lines}
		}
		_, err := testStore.RecordEvent(ctx, e)
		require.NoError(t, err)
	}
	charge(1, t0.AddDate(0, 0, 1), []map[string]any{{"half": "2026-H1", "days": 1}})
	charge(2, t0.AddDate(0, 0, 2), []map[string]any{{"half": "2026-H1", "days": 2}})
	charge(3, t0.AddDate(0, 0, 3), nil) // a fixed-rate policy's interest carries none
	charge(4, t0.AddDate(0, 0, 9), []map[string]any{{"half": "2026-H1", "days": 9}})

	acc, err := testStore.ReadCustomerAccount(ctx, r.CustomerID, time.Time{}, t0.AddDate(0, 0, 5))
	require.NoError(t, err)
	require.Len(t, acc.InterestLines, 1)
	require.Equal(t, r.InvoiceID, acc.InterestLines[0].InvoiceID)
	require.True(t, acc.InterestLines[0].At.Equal(t0.AddDate(0, 0, 2)))
	require.JSONEq(t, `[{"half": "2026-H1", "days": 2}]`, string(acc.InterestLines[0].Lines))
}
