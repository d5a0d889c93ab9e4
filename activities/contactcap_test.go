package activities

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/dunwell/dunwell/internal/ledgertest"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// TestReserveContact runs the per-customer daily cap against a real PostgreSQL: two
// contacts a local day (Tokyo time) across the customer's invoices, then the next day.
func TestReserveContact(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	store := ledgertest.OnNewDatabase(t, testPG)
	for _, id := range []string{"INV-1", "INV-2", "INV-3"} {
		sum := sha256.Sum256([]byte(id))
		_, err := store.IssueInvoice(ctx, ledger.InvoiceRecord{InvoiceID: id, CustomerID: "C-1", Currency: "JPY", AmountDue: 1000,
			IssuedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), DueDate: "2026-03-31", PolicyID: "standard", PolicyVersion: 2, BodySHA256: sum[:]})
		require.NoError(t, err)
	}
	a := &Activities{Ledger: store}
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	// 2026-04-01 23:30 UTC is already 2026-04-02 08:30 in Tokyo.
	at := time.Date(2026, 4, 1, 23, 30, 0, 0, time.UTC)
	req := func(inv string, at time.Time) invoiceapi.ContactCapRequest {
		return invoiceapi.ContactCapRequest{CustomerID: "C-1", InvoiceID: inv, Step: "overdue-1", Timezone: "Asia/Tokyo", At: at, MaxPerDay: 2}
	}
	res, err := a.ReserveContact(ctx, req("INV-1", at))
	require.NoError(t, err)
	require.Equal(t, invoiceapi.ContactCapResult{Allowed: true, LocalDay: "2026-04-02", Count: 1}, res)
	res, err = a.ReserveContact(ctx, req("INV-2", at.Add(time.Hour)))
	require.NoError(t, err)
	require.True(t, res.Allowed)
	res, err = a.ReserveContact(ctx, req("INV-3", at.Add(2*time.Hour)))
	require.NoError(t, err)
	require.Equal(t, invoiceapi.ContactCapResult{Allowed: false, LocalDay: "2026-04-02", Count: 2,
		NotBefore: time.Date(2026, 4, 3, 0, 0, 0, 0, tokyo)}, res)
	require.True(t, res.NotBefore.Equal(time.Date(2026, 4, 2, 15, 0, 0, 0, time.UTC)))
	res, err = a.ReserveContact(ctx, req("INV-3", res.NotBefore.Add(9*time.Hour)))
	require.NoError(t, err)
	require.Equal(t, invoiceapi.ContactCapResult{Allowed: true, LocalDay: "2026-04-03", Count: 1}, res)

	for _, bad := range []invoiceapi.ContactCapRequest{
		{CustomerID: "C-1", InvoiceID: "INV-1", Step: "s", Timezone: "Mars/Base", At: at, MaxPerDay: 2},
		{CustomerID: "C-1", InvoiceID: "INV-1", Step: "s", Timezone: "Asia/Tokyo", At: at, MaxPerDay: 0},
		{CustomerID: "C-1", InvoiceID: "INV-1", Timezone: "Asia/Tokyo", At: at, MaxPerDay: 2},
		{CustomerID: "C-9", InvoiceID: "INV-404", Step: "s", Timezone: "Asia/Tokyo", At: at, MaxPerDay: 2},
	} {
		_, err := a.ReserveContact(ctx, bad)
		var appErr *temporal.ApplicationError
		require.ErrorAs(t, err, &appErr, "%+v", bad)
		require.True(t, appErr.NonRetryable())
		require.Equal(t, invoiceapi.ErrTypeBadRequest, appErr.Type())
	}
}
