package bank

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func parseFile(t *testing.T, format Format, path string) Statement {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	st, err := Parse(format, bytes.NewReader(b))
	require.NoError(t, err)
	return st
}

func TestParseDocsExample(t *testing.T) {
	st := parseFile(t, "", "../docs/examples/statement.camt053.xml")
	require.Equal(t, FormatCamt053, st.Format)
	require.Equal(t, "STMT-20261207-0001", st.ID)
	require.Len(t, st.Transactions, 4)
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	rfPay := st.Transactions[0]
	require.Equal(t, Transaction{
		Account: "DE89370400440532013000", Ref: "20261207-000001", Entry: "Stmt[1]/Ntry[1] (20261207-000001)",
		Credit: true, Booking: Booked, Currency: "EUR", Amount: 125000, BookedAt: day,
		Payer:      Party{Name: "Lovelace Analytical Engines Ltd", Account: "GB29NWBK60161331926819"},
		References: []string{"RF5687358165380869899026"}, EndToEndID: "ADA-PAY-7781",
	}, rfPay)
	require.True(t, rfPay.Applicable())
	require.Equal(t, "Invoice INV-2002, thank you", st.Transactions[1].Text)
	require.Empty(t, st.Transactions[1].EndToEndID, "NOTPROVIDED is no id")
	batch := st.Transactions[2]
	require.Equal(t, 3, batch.Batch)
	require.Equal(t, int64(30000), batch.Amount)
	require.Equal(t, "SEPA CREDIT TRANSFER BATCH", batch.Text)
	require.Empty(t, batch.Payer)
	fee := st.Transactions[3]
	require.False(t, fee.Credit)
	require.False(t, fee.Applicable())
}

func TestParseRealWorldShapes(t *testing.T) {
	st := parseFile(t, FormatCamt053, "testdata/shapes.camt053.xml")
	require.Len(t, st.Transactions, 5)
	a, b := st.Transactions[0], st.Transactions[1]
	// One entry booking two transfers: each its own transaction and reference.
	require.Equal(t, "COLL-77/COLL-77-A", a.Ref)
	require.Equal(t, "COLL-77/#2", b.Ref)
	require.Equal(t, "0532013000", a.Account)
	require.Equal(t, int64(45000), a.Amount)
	require.Equal(t, int64(25000), b.Amount)
	require.Equal(t, []string{"INV-9", "INV-10"}, a.Documents)
	require.Equal(t, "payment for two invoices", a.Text)
	require.Equal(t, "Babbage & Co", a.Payer.Name)
	require.Equal(t, "E2E-A", a.EndToEndID)
	require.Equal(t, "ref RF18 5390 0754 7034 thanks SEPA GUTSCHRIFT", b.Text)
	require.Equal(t, time.Date(2026, 12, 7, 8, 30, 0, 0, time.UTC), a.BookedAt)
	require.Zero(t, a.Batch)

	rv := st.Transactions[2]
	require.True(t, rv.Reversal)
	require.False(t, rv.Applicable())
	pd := st.Transactions[3]
	require.Equal(t, "PD-1", pd.Ref, "NtryRef when there is no AcctSvcrRef")
	require.Equal(t, Pending, pd.Booking)
	require.False(t, pd.Applicable())
	jpy := st.Transactions[4]
	require.Equal(t, int64(5000), jpy.Amount)
	require.Equal(t, []string{"RF18539007547034"}, jpy.References)
	require.Equal(t, "Seki Takakazu KK", jpy.Payer.Name)
}

func TestParseNotificationSharesTheStatementsIdentity(t *testing.T) {
	n := parseFile(t, "", "testdata/notification.camt054.xml")
	s := parseFile(t, "", "../docs/examples/statement.camt053.xml")
	require.Equal(t, FormatCamt054, n.Format)
	require.Len(t, n.Transactions, 1)
	require.Equal(t, s.Transactions[0].Account, n.Transactions[0].Account)
	require.Equal(t, s.Transactions[0].Ref, n.Transactions[0].Ref)
}

func TestParseOFX(t *testing.T) {
	st := parseFile(t, FormatOFX, "testdata/statement.ofx")
	require.Len(t, st.Transactions, 3)
	c := st.Transactions[0]
	require.Equal(t, "121000248/4001234567", c.Account)
	require.Equal(t, "202612070001", c.Ref)
	require.True(t, c.Credit)
	require.Equal(t, int64(125000), c.Amount)
	require.Equal(t, "USD", c.Currency)
	require.Equal(t, "ADA LOVELACE", c.Payer.Name)
	require.Equal(t, "ACH CREDIT INV-1001", c.Text)
	require.False(t, st.Transactions[1].Credit)
	require.Equal(t, int64(2000), st.Transactions[1].Amount)
	require.Equal(t, int64(31050), st.Transactions[2].Amount)
}

// TestParseBadInput: every problem is answered with the entry and field it is in,
// and nothing of the file.
func TestParseBadInput(t *testing.T) {
	doc, err := os.ReadFile("../docs/examples/statement.camt053.xml")
	require.NoError(t, err)
	ofx, err := os.ReadFile("testdata/statement.ofx")
	require.NoError(t, err)
	s := string(doc)
	for _, tc := range []struct {
		name, body string
		format     Format
		want       string
	}{
		{"truncated", s[:len(s)/2], "", "Stmt[1]"},
		{"empty", "", "", "not an XML document"},
		{"not xml", "hello", "", "not an XML document"},
		{"other root", "<foo/>", "", "not an ISO 20022 <Document>"},
		{"old version", strings.ReplaceAll(s, "camt.053.001.08", "camt.053.001.02"), "", "camt.053.001.02"},
		{"content type disagrees", s, FormatCamt054, "the Content-Type says camt.054 but the document is camt.053"},
		{"too many decimals", strings.Replace(s, `<Amt Ccy="EUR">400.00</Amt>
        <CdtDbtInd>`, `<Amt Ccy="EUR">400.005</Amt>
        <CdtDbtInd>`, 1), "", `Stmt[1]/Ntry[2] (20261207-000002)/Amt: "400.005" has 3 decimal places; EUR allows 2`},
		{"unknown currency", strings.Replace(s, `<Amt Ccy="EUR">12.50</Amt>`, `<Amt Ccy="ZZZ">12.50</Amt>`, 1), "", `Ntry[4] (20261207-000004)/Amt: currency "ZZZ" is not an ISO 4217 code`},
		{"negative", strings.Replace(s, `<Amt Ccy="EUR">12.50</Amt>`, `<Amt Ccy="EUR">-12.50</Amt>`, 1), "", `Ntry[4] (20261207-000004)/Amt: "-12.50" is not an amount`},
		{"not a number", strings.Replace(s, `<Amt Ccy="EUR">12.50</Amt>`, `<Amt Ccy="EUR">twelve</Amt>`, 1), "", `Stmt[1]/Ntry[4]: "twelve" is not a number`},
		{"no reference", strings.Replace(strings.Replace(s, "<AcctSvcrRef>20261207-000003</AcctSvcrRef>", "", 1), "<NtryRef>3</NtryRef>", "", 1), "", "Stmt[1]/Ntry[3]/AcctSvcrRef: missing"},
		{"bad direction", strings.Replace(s, "<CdtDbtInd>DBIT</CdtDbtInd>", "<CdtDbtInd>BOTH</CdtDbtInd>", 1), "", `CdtDbtInd: "BOTH" is neither CRDT nor DBIT`},
		{"bad status", strings.Replace(s, "<Sts><Cd>BOOK</Cd></Sts>", "<Sts><Cd>MAYBE</Cd></Sts>", 1), "", `Ntry[1] (20261207-000001)/Sts/Cd: "MAYBE"`},
		{"one transaction, another amount", strings.Replace(s, `<Amt Ccy="EUR">400.00</Amt>
        <CdtDbtInd>`, `<Amt Ccy="EUR">401.00</Amt>
        <CdtDbtInd>`, 1), "", "Stmt[1]/Ntry[2] (20261207-000002)/TxDtls[1]/Amt: is 400.00 EUR but the entry is 401.00 EUR"},
		{"one transaction, another currency", strings.Replace(s, `<Amt Ccy="EUR">400.00</Amt>
            <CdtDbtInd>`, `<Amt Ccy="USD">400.00</Amt>
            <CdtDbtInd>`, 1), "", "Stmt[1]/Ntry[2] (20261207-000002)/TxDtls[1]/Amt: currency USD differs from the entry's EUR"},
		{"no account", strings.Replace(s, "<IBAN>DE89370400440532013000</IBAN>", "", 1), "", "Stmt[1]/Acct/Id: the account has no IBAN"},
		{"trailing junk", s + "<x>", "", "after the last Stmt"},
		{"ofx not ofx", "hello", FormatOFX, "not an OFX file"},
		{"ofx truncated", string(ofx[:len(ofx)-120]), FormatOFX, "malformed OFX"},
		{"ofx decimals", strings.Replace(string(ofx), "<TRNAMT>-20.00", "<TRNAMT>-20.001", 1), FormatOFX, "STMTTRN[2] (202612070002)/TRNAMT: -20.001000 has more decimal places than USD allows (2)"},
		{"ofx zero", strings.Replace(string(ofx), "<TRNAMT>-20.00", "<TRNAMT>0", 1), FormatOFX, "TRNAMT: is zero"},
		{"ofx no fitid", strings.Replace(string(ofx), "<FITID>202612070002", "", 1), FormatOFX, "malformed OFX"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := Parse(tc.format, strings.NewReader(tc.body))
			require.Error(t, err)
			require.Empty(t, st.Transactions)
			var ee *EntryError
			require.True(t, errors.As(err, &ee), "%T %v", err, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseEntryWhoseTransactionsDoNotAddUp(t *testing.T) {
	b, err := os.ReadFile("testdata/shapes.camt053.xml")
	require.NoError(t, err)
	s := strings.Replace(string(b), `<Amt Ccy="EUR">250.00</Amt>`, `<Amt Ccy="EUR">240.00</Amt>`, 1)
	_, err = Parse("", strings.NewReader(s))
	require.ErrorContains(t, err, "Stmt[1]/Ntry[1] (COLL-77)/NtryDtls: the transactions add up to 690.00 EUR but the entry is 700.00 EUR")
}

func TestFormatOf(t *testing.T) {
	f, err := FormatOf("application/xml; charset=utf-8")
	require.NoError(t, err)
	require.Equal(t, Format(""), f)
	f, err = FormatOf("application/x-ofx")
	require.NoError(t, err)
	require.Equal(t, FormatOFX, f)
	_, err = FormatOf("application/json")
	require.ErrorContains(t, err, `Content-Type "application/json" is not a statement format`)
}

func TestParseRefusesARepeatedReference(t *testing.T) {
	b, err := os.ReadFile("../docs/examples/statement.camt053.xml")
	require.NoError(t, err)
	s := strings.Replace(string(b), "<AcctSvcrRef>20261207-000002</AcctSvcrRef>", "<AcctSvcrRef>20261207-000001</AcctSvcrRef>", 1)
	_, err = Parse("", strings.NewReader(s))
	require.ErrorContains(t, err, `Stmt[1]/Ntry[2] (20261207-000001): has the same bank reference "20261207-000001" as Stmt[1]/Ntry[1] (20261207-000001)`)
}
