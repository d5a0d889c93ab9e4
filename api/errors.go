package api

import (
	"errors"
	"net/http"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// httpStatus is the one place an error from the invoice workflows, the checks in
// collection that run before them, or the ledger beside them becomes an HTTP status;
// handlers branch on what it answers, never on an error's text or the field it names.
//
//   - collection.FieldErrors: 400, the request is malformed (every bad field named);
//   - *invoiceapi.InvalidError, *collection.InvalidError: 422, the value makes no
//     sense for this invoice;
//   - *invoiceapi.ConflictError, *collection.ConflictError and invoiceapi.ErrClosed:
//     409, the invoice's state forbids it;
//   - invoiceapi.ErrNotFound: 404;
//   - invoiceapi.Unavailable (Temporal did not answer in time or shed load), or a
//     PostgreSQL deadline that passed: 503, retry later;
//   - anything else: 500.
func httpStatus(err error) int {
	var (
		malformed collection.FieldErrors
		invalid   *invoiceapi.InvalidError
		conflict  *invoiceapi.ConflictError
	)
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &malformed):
		return http.StatusBadRequest
	case errors.As(err, &invalid), errors.Is(err, collection.ErrInvalid):
		return http.StatusUnprocessableEntity
	case errors.As(err, &conflict), errors.Is(err, collection.ErrConflict), errors.Is(err, invoiceapi.ErrClosed):
		return http.StatusConflict
	case errors.Is(err, invoiceapi.ErrNotFound):
		return http.StatusNotFound
	case invoiceapi.Unavailable(err):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// rejection returns the field and reason of a refusal (a *ConflictError or
// *InvalidError of the workflow's or of collection's checks), and whether err is one.
func rejection(err error) (field, reason string, ok bool) {
	var (
		invalid     *invoiceapi.InvalidError
		conflict    *invoiceapi.ConflictError
		preInvalid  *collection.InvalidError
		preConflict *collection.ConflictError
	)
	switch {
	case errors.As(err, &invalid):
		return invalid.Field, invalid.Reason, true
	case errors.As(err, &conflict):
		return conflict.Field, conflict.Reason, true
	case errors.As(err, &preInvalid):
		return preInvalid.Field, preInvalid.Reason, true
	case errors.As(err, &preConflict):
		return preConflict.Field, preConflict.Reason, true
	}
	return "", "", false
}

// errorFields is the "fields" of the error answer for err: every field of a
// malformed request, else the field a refusal names, else nil.
func errorFields(err error) map[string]string {
	var malformed collection.FieldErrors
	if errors.As(err, &malformed) {
		return malformed
	}
	field, reason, _ := rejection(err)
	return fieldsOf(field, reason)
}

// fieldsOf is the "fields" of an error answer naming one field, nil when there is
// none.
func fieldsOf(field, reason string) map[string]string {
	if field == "" {
		return nil
	}
	return map[string]string{field: reason}
}
