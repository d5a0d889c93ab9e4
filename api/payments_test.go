package api

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/auth"
)

// TestPaymentRefusedBeforeTheWorkflow: a malformed payment answers 400 naming every
// bad field; a well-formed one that does not fit the invoice answers 422 naming the
// field. Neither reaches the workflow.
func TestPaymentRefusedBeforeTheWorkflow(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore)
	issuer, _ := newKey(t, testStore, auth.ScopeInvoicesWrite)
	payer, _ := newKey(t, testStore, auth.ScopePaymentsWrite)
	inv := uid("INV")
	a := call(t, srv, "POST", "/v1/invoices", invoiceJSON(inv, "100.00"), bearer(issuer)...) // in EUR
	require.Equal(t, http.StatusCreated, a.code, string(a.body))
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
	srv.temporal.mu.Lock()
	sent := len(srv.temporal.updates)
	srv.temporal.mu.Unlock()
	require.Zero(t, sent, "a refused payment reaches no workflow")
}
