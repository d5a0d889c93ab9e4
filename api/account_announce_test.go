package api

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/workflows/accountapi"
)

// TestIssueAnnouncesTheInvoiceToItsAccount: an invoice whose policy consolidates is
// announced to its customer's account as it starts, with when its first reminder
// falls due, so the account's windows wait for it however late its workflow runs.
func TestIssueAnnouncesTheInvoiceToItsAccount(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore)
	issuer, _ := newKey(t, testStore, auth.ScopeInvoicesWrite)
	customer, id := uid("C"), uid("INV")
	// Issued an hour from now (the demo's cycle must not have passed), due a month later.
	issued := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	body := fmt.Sprintf(`{"id": %q, "customer": {"id": %q, "name": "Ada", "email": "ada@example.com",
		"timezone": "Asia/Tokyo"}, "currency": "EUR", "amount_due": "100.00",
		"issued_at": %q, "due_date": %q, "policy": "demo"}`, id, customer, issued.Format(time.RFC3339), issued.AddDate(0, 1, 0).Format(time.DateOnly))
	a := call(t, srv, "POST", "/v1/invoices", body, bearer(issuer)...)
	require.Equal(t, http.StatusCreated, a.code, string(a.body))

	ft := srv.temporal
	ft.mu.Lock()
	defer ft.mu.Unlock()
	acct := accountapi.WorkflowID(customer)
	require.Contains(t, ft.signals, acct+" "+accountapi.SignalIssued)
	require.Len(t, ft.args[acct], 1)
	got, ok := ft.args[acct][0].(accountapi.AttachRequest)
	require.True(t, ok, "%T", ft.args[acct][0])
	require.Equal(t, customer, got.CustomerID)
	require.Equal(t, id, got.InvoiceID)
	// The demo policy's first reminder is 15 s after issue, on that day in Tokyo.
	first := issued.Add(15 * time.Second)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	require.NoError(t, err)
	require.True(t, got.Next.At.Equal(first), "next %s, want %s", got.Next.At, first)
	require.Equal(t, first.In(tokyo).Format(time.DateOnly), got.Next.Day, "the customer's local day")
}
