package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/auth"
)

// TestPaymentRefusedBeforeTheWorkflow: a malformed payment answers 400 naming every
// bad field; a well-formed one that does not fit the invoice answers 422 naming the
// field. Neither reaches the workflow.
func TestPaymentRefusedBeforeTheWorkflow(t *testing.T) {
	t.Parallel()
	srv, inv, payer := invoiceToPay(t)
	for _, tc := range []struct {
		name, body string
		code       int
		fields     []string
	}{
		{"nothing given", `{}`, http.StatusBadRequest, []string{"amount", "currency", "payment_id"}},
		{"bad id and date", `{"payment_id": "a b", "amount": "1.00", "currency": "EUR", "paid_at": "yesterday"}`, http.StatusBadRequest, []string{"paid_at", "payment_id"}},
		{"no currency", `{"payment_id": "p1", "amount": "1.00"}`, http.StatusBadRequest, []string{"currency"}},
		{"another currency", `{"payment_id": "p1", "amount": "1.00", "currency": "USD"}`, http.StatusUnprocessableEntity, []string{"currency"}},
		{"not a number", `{"payment_id": "p1", "amount": "ten", "currency": "EUR"}`, http.StatusUnprocessableEntity, []string{"amount"}},
		{"too many decimals", `{"payment_id": "p1", "amount": "1.001", "currency": "EUR"}`, http.StatusUnprocessableEntity, []string{"amount"}},
		{"zero", `{"payment_id": "p1", "amount": "0.00", "currency": "EUR"}`, http.StatusUnprocessableEntity, []string{"amount"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := call(t, srv, "POST", "/v1/invoices/"+inv+"/payments", tc.body, bearer(payer)...)
			require.Equal(t, tc.code, a.code, string(a.body))
			var e ErrorBody
			require.NoError(t, json.Unmarshal(a.body, &e))
			var got []string
			for f := range e.Fields {
				got = append(got, f)
			}
			require.ElementsMatch(t, tc.fields, got, "%+v", e)
			require.Contains(t, e.Error, "invalid payment: ")
		})
	}
	require.Empty(t, srv.temporal.updateNames(), "a refused payment reaches no workflow")
}

// TestPaymentDatedOutsideItsInvoiceIsRefused: paid_at before the invoice was issued,
// or past now by more than the clock-skew allowance, answers 400 naming paid_at and
// reaches no workflow.
func TestPaymentDatedOutsideItsInvoiceIsRefused(t *testing.T) {
	t.Parallel()
	srv, inv, payer := invoiceToPay(t)
	pay := func(id, paidAt string) answer {
		body := fmt.Sprintf(`{"payment_id": %q, "amount": "25.00", "currency": "EUR", "paid_at": %q}`, id, paidAt)
		return call(t, srv, "POST", "/v1/invoices/"+inv+"/payments", body, bearer(payer)...)
	}
	for _, tc := range []struct{ paidAt, says string }{
		{"2026-03-01T09:59:59Z", "2026-03-01T09:59:59Z is before the invoice was issued (2026-03-01T10:00:00Z); a payment cannot predate its invoice"},
		{time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "is in the future"},
	} {
		a := pay(uid("pay"), tc.paidAt)
		require.Equal(t, http.StatusBadRequest, a.code, string(a.body))
		var e ErrorBody
		require.NoError(t, json.Unmarshal(a.body, &e))
		require.Contains(t, e.Fields["paid_at"], tc.says)
	}
	require.Empty(t, srv.temporal.updateNames(), "a refused payment reaches no workflow")
	a := pay(uid("pay"), "2026-03-01T10:00:00Z")
	require.Equal(t, http.StatusOK, a.code, string(a.body))
}

// invoiceToPay issues a 100.00 EUR invoice (issued 2026-03-01T10:00:00Z) on a server of
// its own and returns the server, the invoice's id and a payments:write token.
func invoiceToPay(t *testing.T) (*testServer, string, string) {
	t.Helper()
	srv := newTestServer(t, testStore)
	issuer, _ := newKey(t, testStore, auth.ScopeInvoicesWrite)
	payer, _ := newKey(t, testStore, auth.ScopePaymentsWrite)
	inv := uid("INV")
	a := call(t, srv, "POST", "/v1/invoices", invoiceJSON(inv, "100.00"), bearer(issuer)...)
	require.Equal(t, http.StatusCreated, a.code, string(a.body))
	return srv, inv, payer
}
