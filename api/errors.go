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
//   - *collection.InvalidError (invoiceapi.InvalidError is the same type): 422, the
//     value makes no sense for this invoice;
//   - *collection.ConflictError and invoiceapi.ErrClosed: 409, the invoice's state
//     forbids it;
//   - invoiceapi.ErrNotFound: 404;
//   - invoiceapi.Unavailable (Temporal did not answer in time or shed load), or a
//     PostgreSQL deadline that passed: 503, retry later;
//   - anything else: 500.
func httpStatus(err error) int {
	var malformed collection.FieldErrors
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &malformed):
		return http.StatusBadRequest
	case errors.Is(err, collection.ErrInvalid):
		return http.StatusUnprocessableEntity
	case errors.Is(err, collection.ErrConflict), errors.Is(err, invoiceapi.ErrClosed):
		return http.StatusConflict
	case errors.Is(err, invoiceapi.ErrNotFound):
		return http.StatusNotFound
	case invoiceapi.Unavailable(err):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// rejection returns the field and reason of a refusal (a *ConflictError or
// *InvalidError, from the workflow or from the checks run before it), and whether err
// is one.
func rejection(err error) (field, reason string, ok bool) {
	var (
		invalid  *collection.InvalidError
		conflict *collection.ConflictError
	)
	switch {
	case errors.As(err, &invalid):
		return invalid.Field, invalid.Reason, true
	case errors.As(err, &conflict):
		return conflict.Field, conflict.Reason, true
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
