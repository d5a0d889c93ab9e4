package api

import (
	"errors"
	"net/http"

	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// httpStatus is the one place an error from the invoice workflows (or the ledger
// beside them) becomes an HTTP status; handlers branch on what it answers, never on
// an error's text or the field it names.
//
//   - *invoiceapi.InvalidError: 422, the value makes no sense for this invoice;
//   - *invoiceapi.ConflictError and invoiceapi.ErrClosed: 409, the invoice's state
//     forbids it;
//   - invoiceapi.ErrNotFound: 404;
//   - invoiceapi.Unavailable (Temporal did not answer in time or shed load), or a
//     PostgreSQL deadline that passed: 503, retry later;
//   - anything else: 500.
func httpStatus(err error) int {
	var (
		invalid  *invoiceapi.InvalidError
		conflict *invoiceapi.ConflictError
	)
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &invalid):
		return http.StatusUnprocessableEntity
	case errors.As(err, &conflict), errors.Is(err, invoiceapi.ErrClosed):
		return http.StatusConflict
	case errors.Is(err, invoiceapi.ErrNotFound):
		return http.StatusNotFound
	case invoiceapi.Unavailable(err):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// rejection returns the field and reason of a workflow's refusal (a *ConflictError or
// *InvalidError), and whether err is one.
func rejection(err error) (field, reason string, ok bool) {
	var (
		invalid  *invoiceapi.InvalidError
		conflict *invoiceapi.ConflictError
	)
	switch {
	case errors.As(err, &invalid):
		return invalid.Field, invalid.Reason, true
	case errors.As(err, &conflict):
		return conflict.Field, conflict.Reason, true
	}
	return "", "", false
}

// fieldsOf is the "fields" of an error answer naming one field, nil when there is
// none.
func fieldsOf(field, reason string) map[string]string {
	if field == "" {
		return nil
	}
	return map[string]string{field: reason}
}
