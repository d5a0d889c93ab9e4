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

// TestPaymentDatedOutsideItsInvoiceIsRefused: paid_at before the invoice was issued,
// or past now by more than the clock-skew allowance, answers 400 naming paid_at and
// reaches no workflow.
func TestPaymentDatedOutsideItsInvoiceIsRefused(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore)
	issuer, _ := newKey(t, testStore, auth.ScopeInvoicesWrite)
	payer, _ := newKey(t, testStore, auth.ScopePaymentsWrite)
	inv := uid("INV")
	a := call(t, srv, "POST", "/v1/invoices", invoiceJSON(inv, "100.00"), bearer(issuer)...) // issued 2026-03-01T10:00:00Z
	require.Equal(t, http.StatusCreated, a.code, string(a.body))
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
	srv.temporal.mu.Lock()
	sent := len(srv.temporal.updates)
	srv.temporal.mu.Unlock()
	require.Zero(t, sent, "a refused payment reaches no workflow")
	a = pay(uid("pay"), "2026-03-01T10:00:00Z")
	require.Equal(t, http.StatusOK, a.code, string(a.body))
}
