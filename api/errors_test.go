package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
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

// A NUL in any JSON string is refused by decode with the field it is in: the ledger
// stores no NUL, and one let through once held a call's outcome update for ever and
// answered a bank transaction's ignore with 500.
func TestDecodeRefusesNULNamingTheField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body, field string
	}{
		{`{"note": "a\u0000b"}`, "note"},
		{`{"outcome": "reached", "promise": {"date": "2026-12-20", "amount": "\u0000"}}`, "promise.amount"},
		{`{"invoice_ids": ["INV-1", "INV-2\u0000"]}`, "invoice_ids[1]"},
		{`{"allocations": [{"invoice_id": "INV-1", "amount": "1.00"}, {"invoice_id": "\u0000"}]}`, "allocations[1].invoice_id"},
		{`{"a": {"b": [1, {"c": true}]}, "reason": "x\u0000"}`, "reason"},
		{`{"k\u0000": 1}`, "k\x00"},
		{`"\u0000"`, "body"},
		{`{"note": "a\\u0000b"}`, ""}, // an escaped backslash: the text \u0000, no NUL
		{`{"note": "fine"}`, ""},
	} {
		require.Equal(t, tc.field, nulField([]byte(tc.body)), tc.body)
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/bank-transactions/3/ignore", strings.NewReader(`{"reason": "refunded\u0000"}`))
	rec := httptest.NewRecorder()
	var v struct {
		Reason string `json:"reason"`
	}
	require.False(t, decode(rec, req, &v))
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.JSONEq(t, `{"error": "invalid request", "fields": {"reason": "must not contain the NUL character (\\u0000)"}}`, rec.Body.String())
	require.Empty(t, v.Reason, "nothing is decoded")

	// Bytes that are not UTF-8 were decoded as U+FFFD and stored as such.
	req = httptest.NewRequest(http.MethodPost, "/v1/customers/C-1/notes", strings.NewReader("{\"reason\": \"a\xff\xfeb\"}"))
	rec = httptest.NewRecorder()
	require.False(t, decode(rec, req, &v))
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.JSONEq(t, `{"error": "invalid request", "fields": {"body": "is not valid UTF-8 (byte 13)"}}`, rec.Body.String())
}
