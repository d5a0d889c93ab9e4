package bank

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzParse: no input panics, and every refusal is an *EntryError; whatever is
// accepted is well formed.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"../docs/examples/statement.camt053.xml", "testdata/shapes.camt053.xml", "testdata/notification.camt054.xml", "testdata/statement.ofx"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, p == "testdata/statement.ofx")
	}
	f.Add([]byte("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\"><BkToCstmrStmt><Stmt><Ntry>"), false)
	f.Add([]byte("OFXHEADER:100\n\n<OFX><BANKMSGSRSV1>"), true)
	f.Fuzz(func(t *testing.T, body []byte, ofx bool) {
		format := Format("")
		if ofx {
			format = FormatOFX
		}
		st, err := Parse(format, bytes.NewReader(body))
		if err != nil {
			var ee *EntryError
			if !errors.As(err, &ee) {
				t.Fatalf("%T is not an *EntryError: %v", err, err)
			}
			return
		}
		m := NewMatcher(matchInvoices(), payers, Config{})
		for i := range st.Transactions {
			tx := &st.Transactions[i]
			if tx.Account == "" || tx.Ref == "" || tx.Amount <= 0 || tx.Currency == "" {
				t.Fatalf("accepted a transaction without identity or amount: %+v", tx)
			}
			d := m.Match(tx)
			var sum int64
			for _, a := range d.Allocations {
				sum += a.Amount
			}
			if d.Apply && sum != tx.Amount {
				t.Fatalf("allocations add up to %d, not %d", sum, tx.Amount)
			}
		}
	})
}

// FuzzMatchText: any remittance text is matched without panicking, and an applied
// match allocates exactly the transfer.
func FuzzMatchText(f *testing.F) {
	f.Add("Invoice INV-1, INV-2 RF18 5390 0754 7034", int64(30000))
	f.Add("RF", int64(1))
	f.Fuzz(func(t *testing.T, text string, amount int64) {
		if amount <= 0 {
			return
		}
		m := NewMatcher(matchInvoices(), payers, Config{})
		tx := credit(amount, func(t *Transaction) { t.Text = text })
		d := m.Match(&tx)
		var sum int64
		for _, a := range d.Allocations {
			sum += a.Amount
		}
		if d.Apply && sum != amount {
			t.Fatalf("allocations add up to %d, not %d", sum, amount)
		}
	})
}
