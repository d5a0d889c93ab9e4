package activities

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/ledongthuc/pdf"
	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/internal/pdffont"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/templates"
)

// statementCustomer issues an open invoice of a new customer and remembers its email.
func statementCustomer(t *testing.T, withEmail bool) (customer, invoice, email string) {
	t.Helper()
	return namedStatementCustomer(t, withEmail, "", "")
}

// namedStatementCustomer is statementCustomer whose invoice gives the customer's name
// and locale.
func namedStatementCustomer(t *testing.T, withEmail bool, name, locale string) (customer, invoice, email string) {
	t.Helper()
	n := seq.Add(1)
	invoice = fmt.Sprintf("STM-%d-%d", time.Now().UnixNano(), n)
	customer = "C-" + invoice
	sum := sha256.Sum256([]byte(invoice))
	ctx := context.Background()
	_, err := testStore.IssueInvoice(ctx, ledger.InvoiceRecord{InvoiceID: invoice, CustomerID: customer, Currency: "EUR",
		AmountDue: 99_000, IssuedAt: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), DueDate: "2026-11-15", PolicyID: "standard", BodySHA256: sum[:],
		CustomerName: name, CustomerLocale: locale})
	require.NoError(t, err)
	email = fmt.Sprintf("stm-%d@example.com", n)
	if withEmail {
		require.NoError(t, testStore.RememberAddress(ctx, ledger.ChannelEmail, email, customer))
	}
	return customer, invoice, email
}

func (r *rig) sendStatement(req StatementRequest) (StatementResult, error) {
	v, err := r.env.ExecuteActivity(r.acts.SendStatement, req)
	if err != nil {
		return StatementResult{}, err
	}
	var res StatementResult
	return res, v.Get(&res)
}

func TestSendStatementOncePerPeriod(t *testing.T) {
	t.Parallel()
	r := newRig(t, 5*time.Second)
	r.acts.Business = templates.Business{Name: "Acme Ltd", ReplyTo: "ar@acme.example"}
	customer, _, email := statementCustomer(t, true)
	req := StatementRequest{CustomerID: customer, AsOf: "2026-12-01"}

	// An attempt that claimed and died before sending: the next one asks the provider,
	// finds nothing and sends.
	_, err := testStore.ClaimStatement(context.Background(), ledger.StatementClaim{CustomerID: customer, AsOf: "2026-12-01", Address: email})
	require.NoError(t, err)
	res, err := r.sendStatement(req)
	require.NoError(t, err)
	require.Equal(t, "sent", res.Outcome)
	require.False(t, res.AlreadySent)

	out := r.fake.OutboxFor(email)
	require.Len(t, out, 1)
	m := out[0]
	require.Contains(t, m.Subject, "Acme Ltd")
	require.Contains(t, m.Text, "Balance in EUR: 990.00 EUR")
	require.Equal(t, "statement/"+customer+"/2026-12-01", m.CustomArgs["notice_key"])
	require.Len(t, m.Attachments, 1)
	require.Equal(t, "application/pdf", m.Attachments[0].Type)
	pdf, err := m.Attachments[0].Bytes()
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(pdf, []byte("%PDF-")))

	row, err := testStore.GetStatement(context.Background(), "statement/"+customer+"/2026-12-01")
	require.NoError(t, err)
	require.Equal(t, ledger.StatementSent, row.Status)
	require.Equal(t, m.ID, row.ProviderID)

	// Again for the same period: nothing new goes out.
	res, err = r.sendStatement(req)
	require.NoError(t, err)
	require.True(t, res.AlreadySent)
	require.Len(t, r.fake.OutboxFor(email), 1)

	// The next period's activity starts after this statement.
	last, ok, err := testStore.LastStatement(context.Background(), customer, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "2026-12-01", last)
}

func TestSendStatementSkips(t *testing.T) {
	t.Parallel()
	r := newRig(t, 5*time.Second)
	customer, _, _ := statementCustomer(t, false)
	res, err := r.sendStatement(StatementRequest{CustomerID: customer, AsOf: "2026-12-01"})
	require.NoError(t, err)
	require.Equal(t, StatementResult{Outcome: "skipped", Reason: "no email address known for the customer"}, res)

	res, err = r.sendStatement(StatementRequest{CustomerID: "C-nobody-" + customer, AsOf: "2026-12-01"})
	require.NoError(t, err)
	require.Equal(t, "skipped", res.Outcome)

	_, err = r.sendStatement(StatementRequest{CustomerID: customer, AsOf: "1.12.2026"})
	require.Error(t, err)
	require.True(t, appErr(t, err).NonRetryable())
}

// TestSendStatementNamesCustomerInTheirLanguage: the email and the PDF name the
// customer and speak the locale their latest invoice gave (the PDF of a Japanese
// customer has Latin labels: its fonts carry no Japanese).
func TestSendStatementNamesCustomerInTheirLanguage(t *testing.T) {
	t.Parallel()
	r := newRig(t, 5*time.Second)
	r.acts.Business = templates.Business{Name: "Acme Ltd", ReplyTo: "ar@acme.example"}
	for _, tt := range []struct {
		name, locale           string
		subject, text, pdfText []string
	}{
		{"Käthe Kruse GmbH", "de-DE", []string{"Ihr Kontoauszug zum 1. Dezember 2026", "von Acme Ltd"},
			[]string{"Guten Tag Käthe Kruse GmbH,", "Saldo in EUR: 990,00\u00a0€", "Mit freundlichen Grüßen"}, []string{"Kontoauszug", "Käthe Kruse GmbH (C-"}},
		{"山田商事", "ja-JP", []string{"取引明細書"}, []string{"山田商事 様", "EUR の残高: 990.00 EUR"}, []string{"2026/12/01"}},
		{"Ada Lovelace", "en-GB", []string{"Your statement of account as of"}, []string{"Hello Ada Lovelace,", "Balance in EUR"},
			[]string{"Ada Lovelace (C-"}},
	} {
		customer, _, email := namedStatementCustomer(t, true, tt.name, tt.locale)
		res, err := r.sendStatement(StatementRequest{CustomerID: customer, AsOf: "2026-12-01"})
		require.NoError(t, err)
		require.Equal(t, "sent", res.Outcome)
		out := r.fake.OutboxFor(email)
		require.Len(t, out, 1)
		require.Equal(t, tt.name, out[0].ToName)
		for _, w := range tt.subject {
			require.Contains(t, out[0].Subject, w)
		}
		for _, w := range tt.text {
			require.Contains(t, out[0].Text, w)
		}
		pdf, err := out[0].Attachments[0].Bytes()
		require.NoError(t, err)
		text := pdfPlainText(t, pdf)
		for _, w := range tt.pdfText {
			require.Contains(t, text, w, tt.locale)
		}
		if tt.locale == "ja-JP" {
			// Japanese labels with a Japanese font (pdffont.JA), else English.
			if pdffont.JA() == "" {
				require.Contains(t, text, "Statement of account")
			} else {
				require.NotContains(t, text, "Statement of account")
			}
		}
	}
}

// TestSendStatementOncePerPeriodStart: with a period start, a statement already sent
// earlier in the period counts as this one.
func TestSendStatementOncePerPeriodStart(t *testing.T) {
	t.Parallel()
	r := newRig(t, 5*time.Second)
	customer, _, email := statementCustomer(t, true)
	res, err := r.sendStatement(StatementRequest{CustomerID: customer, AsOf: "2026-12-01", PeriodStart: "2026-12-01"})
	require.NoError(t, err)
	require.False(t, res.AlreadySent)
	again, err := r.sendStatement(StatementRequest{CustomerID: customer, AsOf: "2026-12-09", PeriodStart: "2026-12-01"})
	require.NoError(t, err)
	require.True(t, again.AlreadySent)
	require.Equal(t, res.ProviderID, again.ProviderID)
	require.Len(t, r.fake.OutboxFor(email), 1)
	next, err := r.sendStatement(StatementRequest{CustomerID: customer, AsOf: "2027-01-01", PeriodStart: "2027-01-01"})
	require.NoError(t, err)
	require.False(t, next.AlreadySent, "the next period's goes out")
	require.Len(t, r.fake.OutboxFor(email), 2)
	_, err = r.sendStatement(StatementRequest{CustomerID: customer, AsOf: "2027-01-01", PeriodStart: "2027-02-01"})
	require.Error(t, err, "a period starting after the statement date")
}

// pdfPlainText is the text of every page of a PDF.
func pdfPlainText(t *testing.T, b []byte) string {
	t.Helper()
	rd, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	plain, err := rd.GetPlainText()
	require.NoError(t, err)
	text, err := io.ReadAll(plain)
	require.NoError(t, err)
	return string(text)
}
