package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ledongthuc/pdf"
	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/templates"
)

// statementCustomer issues a customer's invoices in three currencies straight into
// the ledger, with a partial payment on the EUR one, and returns the customer id
// and the invoice ids.
func statementCustomer(t *testing.T) (string, []string) {
	t.Helper()
	ctx := context.Background()
	cust := uid("C")
	var ids []string
	for i, c := range []struct {
		currency string
		amount   int64
		due      string
	}{{"EUR", 120_000, "2026-02-01"}, {"USD", 30_000, "2026-03-20"}, {"JPY", 50_000, "2026-04-30"}} {
		id := uid("INV")
		sum := sha256.Sum256([]byte(id))
		_, err := testStore.IssueInvoice(ctx, ledger.InvoiceRecord{InvoiceID: id, CustomerID: cust, Currency: c.currency,
			AmountDue: c.amount, IssuedAt: time.Date(2026, 1, 1+i, 9, 0, 0, 0, time.UTC), DueDate: c.due,
			PolicyID: "standard", PolicyVersion: 1, BodySHA256: sum[:]})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	_, err := testStore.RecordPayment(ctx, ledger.PaymentRecord{InvoiceID: ids[0], PaymentID: "pay-1", Currency: "EUR",
		Amount: 20_000, Applied: 20_000, BalanceAfter: 100_000, PaidAt: time.Date(2026, 2, 10, 9, 0, 0, 0, time.UTC),
		AppliedAt: time.Date(2026, 2, 10, 9, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	return cust, ids
}

func statementServer(t *testing.T) (*testServer, string) {
	t.Helper()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	srv := newTestServer(t, testStore, func(s *Server) {
		s.Now = func() time.Time { return now }
		s.Business = templates.Business{Name: "Acme Ltd", Address: "1 High Street, Leeds", ReplyTo: "ar@acme.example"}
	})
	token, _ := newKey(t, testStore, auth.ScopeRead)
	return srv, token
}

func TestStatementJSON(t *testing.T) {
	t.Parallel()
	srv, token := statementServer(t)
	cust, ids := statementCustomer(t)
	for _, accept := range []string{"", "application/json", "*/*", "application/*", "text/html, application/json;q=0.5"} {
		a := call(t, srv, http.MethodGet, "/v1/customers/"+cust+"/statement", "", append(bearer(token), "Accept", accept)...)
		require.Equal(t, http.StatusOK, a.code, "Accept %q: %s", accept, a.body)
		require.Equal(t, "application/json", a.header.Get("Content-Type"))
		var st struct {
			CustomerID string `json:"customer_id"`
			AsOf       string `json:"as_of"`
			Currencies []struct {
				Currency  string `json:"currency"`
				Balance   string `json:"balance"`
				OpenItems []struct {
					InvoiceID   string `json:"invoice_id"`
					Paid        string `json:"paid"`
					DaysOverdue int    `json:"days_overdue"`
					Terms       string `json:"terms"`
				} `json:"open_items"`
				Aging []struct {
					Bucket string `json:"bucket"`
					Amount string `json:"amount"`
				} `json:"aging"`
				PaidSince string `json:"paid_since"`
			} `json:"currencies"`
		}
		require.NoError(t, json.Unmarshal(a.body, &st))
		require.Equal(t, cust, st.CustomerID)
		require.Equal(t, "2026-03-01", st.AsOf, "today on the server's clock")
		require.Len(t, st.Currencies, 3)
		eur := st.Currencies[0]
		require.Equal(t, "EUR", eur.Currency)
		require.Equal(t, "1000.00", eur.Balance)
		require.Equal(t, ids[0], eur.OpenItems[0].InvoiceID)
		require.Equal(t, "200.00", eur.OpenItems[0].Paid)
		require.Equal(t, 28, eur.OpenItems[0].DaysOverdue)
		require.Contains(t, eur.OpenItems[0].Terms, "charged", "the standard policy's terms in words")
		require.Equal(t, "1000.00", eur.Aging[1].Amount)
		require.Equal(t, "200.00", eur.PaidSince)
		require.Equal(t, "JPY", st.Currencies[1].Currency)
		require.Equal(t, "50000", st.Currencies[1].Balance)
		require.Equal(t, "USD", st.Currencies[2].Currency)
	}

	// Dated before the payment, with activity from a given day.
	a := call(t, srv, http.MethodGet, "/v1/customers/"+cust+"/statement?as_of=2026-02-05&since=2026-01-15", "", bearer(token)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	var st statementJSON
	require.NoError(t, json.Unmarshal(a.body, &st))
	require.Equal(t, "2026-02-05", st.AsOf)
	require.Equal(t, "2026-01-15", st.Since)
	require.Len(t, st.Currencies, 3, "the JPY invoice was issued on January 3")
	require.Equal(t, "1200.00", st.Currencies[0].Balance)
}

type statementJSON struct {
	AsOf       string `json:"as_of"`
	Since      string `json:"since"`
	Currencies []struct {
		Balance string `json:"balance"`
	} `json:"currencies"`
}

func TestStatementPDF(t *testing.T) {
	t.Parallel()
	srv, token := statementServer(t)
	cust, ids := statementCustomer(t)
	for _, accept := range []string{"application/pdf", "application/json;q=0.4, application/pdf"} {
		a := call(t, srv, http.MethodGet, "/v1/customers/"+cust+"/statement", "",
			append(bearer(token), "Accept", accept, "Accept-Language", "de-DE, en;q=0.5")...)
		require.Equal(t, http.StatusOK, a.code, string(a.body))
		require.Equal(t, "application/pdf", a.header.Get("Content-Type"))
		require.Contains(t, a.header.Get("Content-Disposition"), "statement-"+cust+"-2026-03-01.pdf")
		require.True(t, bytes.HasPrefix(a.body, []byte("%PDF-")))
		r, err := pdf.NewReader(bytes.NewReader(a.body), int64(len(a.body)))
		require.NoError(t, err)
		plain, err := r.GetPlainText()
		require.NoError(t, err)
		text, err := io.ReadAll(plain)
		require.NoError(t, err)
		for _, want := range append(ids, "Acme Ltd", "ar@acme.example", "1. März 2026", "1.000,00", "Konto in USD", "Kontoauszug") {
			require.Contains(t, string(text), want)
		}
	}
}

func TestStatementRefusals(t *testing.T) {
	t.Parallel()
	srv, token := statementServer(t)
	cust, _ := statementCustomer(t)
	path := "/v1/customers/" + cust + "/statement"
	for _, accept := range []string{"text/html", "application/xml, text/*", "application/pdf;q=0, application/json;q=0", "nonsense"} {
		a := call(t, srv, http.MethodGet, path, "", append(bearer(token), "Accept", accept)...)
		require.Equal(t, http.StatusNotAcceptable, a.code, "Accept %q", accept)
		require.Contains(t, a.errorText(t), "application/pdf")
	}
	for _, p := range []string{"/v1/customers/" + uid("nobody") + "/statement", "/v1/customers/bad%20id/statement"} {
		a := call(t, srv, http.MethodGet, p, "", bearer(token)...)
		require.Equal(t, http.StatusNotFound, a.code, p)
		require.Contains(t, a.errorText(t), "unknown customer")
	}
	for query, fields := range map[string][]string{
		"?as_of=2026-02-30":                  {"as_of"},
		"?as_of=2026-03-02":                  {"as_of"},
		"?since=yesterday&format=pdf":        {"since", "format"},
		"?as_of=2026-02-01&since=2026-02-02": {"since"},
		"?as_of=2026-02-01&as_of=2026-02-02": {"as_of"},
		"?as_of=0001-01-01":                  {"as_of"}, // the zero time: was answered as of today
		"?since=0001-01-01":                  {"since"}, // was since the last statement
	} {
		a := call(t, srv, http.MethodGet, path+query, "", bearer(token)...)
		require.Equal(t, http.StatusBadRequest, a.code, query)
		var e ErrorBody
		require.NoError(t, json.Unmarshal(a.body, &e))
		for _, f := range fields {
			require.Contains(t, e.Fields, f, query)
		}
		require.Len(t, e.Fields, len(fields), query)
	}
	// A key without the read scope cannot read it.
	writeOnly, _ := newKey(t, testStore, auth.ScopeInvoicesWrite)
	require.Equal(t, http.StatusForbidden, call(t, srv, http.MethodGet, path, "", bearer(writeOnly)...).code)
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		accept []string
		want   string
	}{
		{nil, "application/json"},
		{[]string{"application/pdf"}, "application/pdf"},
		{[]string{"application/*"}, "application/json"},
		{[]string{"*/*;q=0.1, application/pdf"}, "application/pdf"},
		{[]string{"application/pdf;q=0.5", "application/json;q=0.6"}, "application/json"},
		{[]string{"*/*, application/json;q=0"}, "application/pdf"},
		{[]string{"text/plain"}, ""},
		{[]string{"application/pdf;q=2"}, ""},
		{[]string{""}, "application/json"},
		{[]string{"garbage/"}, ""},
	}
	for _, tt := range tests {
		got, ok := negotiate(tt.accept, mediaJSON, mediaPDF)
		require.Equal(t, tt.want, got, "%q", tt.accept)
		require.Equal(t, tt.want != "", ok, "%q", tt.accept)
	}
}
