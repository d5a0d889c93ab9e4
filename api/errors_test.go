package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

func TestHTTPStatusOfWorkflowErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"none", nil, http.StatusOK},
		{"invalid value", &invoiceapi.InvalidError{Field: "amount", Reason: "is more than the balance"}, http.StatusUnprocessableEntity},
		{"invalid, wrapped", fmt.Errorf("refund: %w", &invoiceapi.InvalidError{Field: "currency", Reason: "differs"}), http.StatusUnprocessableEntity},
		{"invalid without a field", &invoiceapi.InvalidError{Reason: "no"}, http.StatusUnprocessableEntity},
		{"conflict on the status", &invoiceapi.ConflictError{Field: "status", Reason: "the invoice is paid"}, http.StatusConflict},
		{"conflict on a field", &invoiceapi.ConflictError{Field: "payment_id", Reason: "already applied with another amount"}, http.StatusConflict},
		{"closed", fmt.Errorf("invoice INV-1: %w", invoiceapi.ErrClosed), http.StatusConflict},
		{"not found", fmt.Errorf("invoice INV-1: %w", invoiceapi.ErrNotFound), http.StatusNotFound},
		{"unavailable", fmt.Errorf("invoice INV-1: payment update: %w: %w", invoiceapi.ErrUnavailable, errors.New("deadline")), http.StatusServiceUnavailable},
		{"ledger deadline", fmt.Errorf("reading the invoice: %w", context.DeadlineExceeded), http.StatusServiceUnavailable},
		{"malformed request", collection.FieldErrors{"payment_id": "is required", "paid_at": "is in the future"}, http.StatusBadRequest},
		{"malformed, wrapped", fmt.Errorf("payment: %w", collection.FieldErrors{"amount": "is required"}), http.StatusBadRequest},
		{"unfit for the invoice", &collection.InvalidError{Field: "currency", Reason: "is EUR but the invoice is in USD"}, http.StatusUnprocessableEntity},
		{"state forbids it, checked before the workflow", &collection.ConflictError{Status: collection.StatusPaid, Field: "status", Reason: "paid"}, http.StatusConflict},
		{"anything else", errors.New("boom"), http.StatusInternalServerError},
		// Only the type decides: a plain error that reads like a rejection is a fault.
		{"text alone", errors.New("status: the invoice is paid"), http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, httpStatus(tc.err))
		})
	}
}

func TestRejectionNamesTheField(t *testing.T) {
	t.Parallel()
	field, reason, ok := rejection(fmt.Errorf("x: %w", &invoiceapi.ConflictError{Field: "status", Reason: "the invoice is paid"}))
	require.True(t, ok)
	require.Equal(t, map[string]string{"status": "the invoice is paid"}, fieldsOf(field, reason))
	field, reason, ok = rejection(&invoiceapi.InvalidError{Reason: "no field"})
	require.True(t, ok)
	require.Nil(t, fieldsOf(field, reason))
	_, _, ok = rejection(invoiceapi.ErrClosed)
	require.False(t, ok)
}

func TestErrorFieldsNameEveryBadField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want map[string]string
	}{
		{"malformed", fmt.Errorf("x: %w", collection.FieldErrors{"payment_id": "is required", "amount": "is required"}),
			map[string]string{"payment_id": "is required", "amount": "is required"}},
		{"unfit", &collection.InvalidError{Field: "amount", Reason: "must be greater than zero"}, map[string]string{"amount": "must be greater than zero"}},
		{"workflow conflict", &invoiceapi.ConflictError{Field: "payment_id", Reason: "already applied"}, map[string]string{"payment_id": "already applied"}},
		{"no field", &invoiceapi.InvalidError{Reason: "no"}, nil},
		{"a fault", errors.New("amount: looks like a rejection"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, errorFields(tc.err))
		})
	}
}
