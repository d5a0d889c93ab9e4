package bank

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/bank/rf"
)

func day(d int) time.Time { return time.Date(2026, 11, d, 10, 0, 0, 0, time.UTC) }

func matchInvoices() []Invoice {
	return []Invoice{
		{ID: "INV-1", CustomerID: "C-1", Currency: "EUR", Balance: 10000, IssuedAt: day(1), Status: "open"},
		{ID: "INV-2", CustomerID: "C-1", Currency: "EUR", Balance: 20000, IssuedAt: day(2), Status: "overdue"},
		{ID: "INV-3", CustomerID: "C-1", Currency: "EUR", Balance: 5000, IssuedAt: day(3), Status: "open"},
		{ID: "INV-4", CustomerID: "C-2", Currency: "EUR", Balance: 7500, IssuedAt: day(1), Status: "open"},
		{ID: "INV-5", CustomerID: "C-2", Currency: "USD", Balance: 7500, IssuedAt: day(1), Status: "open"},
		{ID: "INV-6", CustomerID: "C-3", Currency: "EUR", Balance: 0, IssuedAt: day(1), Status: "paid", Closed: true},
		{ID: "inv-7", CustomerID: "C-3", Currency: "EUR", Balance: 7500, IssuedAt: day(5), Status: "open"},
		{ID: "INV-8", CustomerID: "C-4", Currency: "EUR", Balance: 3000, IssuedAt: day(1), Status: "open"},
		{ID: "INV-9", CustomerID: "C-4", Currency: "EUR", Balance: 3000, IssuedAt: day(2), Status: "open"},
	}
}

var payers = map[string]string{
	"account:DE44500105175407324931": "C-1",
	"name:hopper compilers sarl":     "C-4",
}

func credit(amount int64, mod func(*Transaction)) Transaction {
	tx := Transaction{Account: "A", Ref: "R", Credit: true, Booking: Booked, Currency: "EUR", Amount: amount}
	if mod != nil {
		mod(&tx)
	}
	return tx
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tx     Transaction
		apply  bool
		method Method
		allocs []Allocation
		why    string
		sugg   []string
	}{
		{name: "RF reference, exact", tx: credit(20000, func(t *Transaction) { t.References = []string{rf.ForInvoice("INV-2")} }),
			apply: true, method: MethodReference, allocs: []Allocation{{"INV-2", 20000}}, why: "the RF creditor reference names INV-2"},
		{name: "RF in the text in groups of four, partial", tx: credit(5000, func(t *Transaction) { t.Text = "pay " + rf.Format(rf.ForInvoice("INV-2")) + " part 1" }),
			apply: true, method: MethodReference, allocs: []Allocation{{"INV-2", 5000}}, why: "a partial payment (50.00 of 200.00 EUR)"},
		{name: "invoice number in text, over-payment", tx: credit(12000, func(t *Transaction) { t.Text = "Invoice inv-1." }),
			apply: true, method: MethodInvoiceNumber, allocs: []Allocation{{"INV-1", 12000}}, why: "an over-payment (20.00 over, kept as credit)"},
		{name: "two invoices listed, exact", tx: credit(30000, func(t *Transaction) { t.Text = "INV-2 and INV-1" }),
			apply: true, method: MethodInvoiceNumber, allocs: []Allocation{{"INV-2", 20000}, {"INV-1", 10000}}},
		{name: "two invoices listed, short", tx: credit(25000, func(t *Transaction) { t.Documents = []string{"INV-1", "INV-2"} }),
			apply: true, method: MethodDocument, allocs: []Allocation{{"INV-1", 10000}, {"INV-2", 15000}}},
		{name: "reference and number: the weaker counts", tx: credit(15000, func(t *Transaction) {
			t.References = []string{rf.ForInvoice("INV-1")}
			t.Text = "and INV-3"
		}), apply: true, method: MethodInvoiceNumber, allocs: []Allocation{{"INV-1", 10000}, {"INV-3", 5000}}},
		{name: "closed invoice is explained, not applied", tx: credit(7500, func(t *Transaction) { t.Text = "INV-6" }),
			why: "invoice INV-6 is paid (closed)", sugg: []string{"INV-6", "INV-4", "inv-7"}},
		{name: "currency differs", tx: credit(7500, func(t *Transaction) { t.Text = "INV-5" }),
			why: "invoice INV-5 is in USD, the transfer in EUR", sugg: []string{"INV-5", "INV-4", "inv-7"}},
		{name: "remembered payer, one invoice of the amount", tx: credit(5000, func(t *Transaction) { t.Payer.Account = "de44 5001 0517 5407 3249 31" }),
			apply: true, method: MethodPayer, allocs: []Allocation{{"INV-3", 5000}}},
		{name: "remembered payer, sum of oldest", tx: credit(30000, func(t *Transaction) { t.Payer.Account = "DE44500105175407324931" }),
			apply: true, method: MethodPayer, allocs: []Allocation{{"INV-1", 10000}, {"INV-2", 20000}}},
		{name: "remembered payer, two invoices of the amount", tx: credit(3000, func(t *Transaction) { t.Payer.Name = "Hopper  Compilers SARL" }),
			why: "no single open invoice", sugg: []string{"INV-8", "INV-9"}},
		{name: "remembered payer, nothing adds up", tx: credit(1234, func(t *Transaction) { t.Payer.Account = "DE44500105175407324931" }),
			why: "no single open invoice nor their oldest ones add up to 12.34 EUR", sugg: []string{"INV-1", "INV-2", "INV-3"}},
		{name: "batch without remittance", tx: credit(7500, func(t *Transaction) { t.Batch = 3 }),
			why: "a batch booking of 3 transfers without their details", sugg: []string{"INV-4", "inv-7"}},
		{name: "unknown payer, no reference", tx: credit(99, nil), why: "no invoice reference"},
		{name: "debit", tx: credit(5000, func(t *Transaction) { t.Credit = false; t.Text = "INV-3" }), why: "a debit"},
		{name: "reversal", tx: credit(5000, func(t *Transaction) { t.Reversal = true; t.Text = "INV-3" }), why: "a reversal"},
		{name: "pending", tx: credit(5000, func(t *Transaction) { t.Booking = Pending; t.Text = "INV-3" }), why: "not booked (pending)"},
		{name: "an invalid RF is text", tx: credit(5000, func(t *Transaction) { t.Text = "RF00 1234" }), why: "no invoice reference", sugg: []string{"INV-3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMatcher(matchInvoices(), payers, Config{})
			d := m.Match(&tc.tx)
			require.Equal(t, tc.apply, d.Apply, d.Why)
			require.Equal(t, tc.allocs, d.Allocations)
			if tc.apply {
				require.Equal(t, tc.method, d.Method)
				require.GreaterOrEqual(t, d.Confidence, DefaultThreshold)
			}
			require.Contains(t, d.Why, tc.why)
			var got []string
			for _, s := range d.Suggestions {
				got = append(got, s.InvoiceID)
				require.NotEmpty(t, s.Why)
			}
			require.Equal(t, tc.sugg, got)
		})
	}
}

// TestMatchCountsEarlierAllocations: a second transfer for an invoice the first one
// paid in the same import is not applied to the same balance.
func TestMatchCountsEarlierAllocations(t *testing.T) {
	m := NewMatcher(matchInvoices(), nil, Config{})
	first := credit(5000, func(t *Transaction) { t.Text = "INV-3" })
	require.True(t, m.Match(&first).Apply)
	again := credit(5000, func(t *Transaction) { t.Text = "INV-3" })
	d := m.Match(&again)
	require.False(t, d.Apply)
	require.Contains(t, d.Why, "paid by an earlier transfer of this import")
}

func TestMatchThreshold(t *testing.T) {
	m := NewMatcher(matchInvoices(), payers, Config{Threshold: 85})
	tx := credit(5000, func(t *Transaction) { t.Payer.Account = "DE44500105175407324931" })
	d := m.Match(&tx)
	require.False(t, d.Apply)
	require.Contains(t, d.Why, "confidence 80 is below the threshold 85")
	require.Equal(t, "INV-3", d.Suggestions[0].InvoiceID)
	tx = credit(5000, func(t *Transaction) { t.Text = "INV-3" })
	require.True(t, m.Match(&tx).Apply)
}

func TestAllocate(t *testing.T) {
	a := &Invoice{ID: "A", Balance: 100}
	b := &Invoice{ID: "B", Balance: 50}
	require.Equal(t, []Allocation{{"A", 100}, {"B", 50}}, Allocate(150, []*Invoice{a, b}))
	require.Equal(t, []Allocation{{"A", 100}, {"B", 70}}, Allocate(170, []*Invoice{a, b}))
	require.Equal(t, []Allocation{{"A", 80}}, Allocate(80, []*Invoice{a, b}))
	require.Equal(t, []Allocation{{"A", 100}, {"B", 1}}, Allocate(101, []*Invoice{a, b}))
}

func TestPayerKeys(t *testing.T) {
	require.Equal(t, []string{"account:GB29NWBK60161331926819", "name:ada lovelace"},
		PayerKeys(Party{Name: " Ada   Lovelace", Account: "gb29 nwbk 6016 1331 9268 19"}))
	require.Empty(t, PayerKeys(Party{}))
}

func TestMatchCurrencyNoInvoiceHas(t *testing.T) {
	m := NewMatcher(matchInvoices(), payers, Config{})
	tx := credit(5000, func(t *Transaction) { t.Currency = "CHF"; t.Text = "INV-3" })
	d := m.Match(&tx)
	require.False(t, d.Apply)
	require.Contains(t, d.Why, "no invoice is in CHF")
}
