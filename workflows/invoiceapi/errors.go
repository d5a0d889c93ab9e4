package invoiceapi

import (
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/dunwell/dunwell/collection"
)

// The errors a Client returns. Callers branch on them with errors.Is and errors.As;
// none is ever matched by its text.
var (
	// ErrNotFound: the invoice has no collection workflow (never started, or its
	// history is past the namespace's retention).
	ErrNotFound = errors.New("the invoice's workflow does not exist")
	// ErrClosed: the invoice's workflow has completed (paid, cancelled, written off):
	// it takes no more updates or signals.
	ErrClosed = errors.New("the invoice's workflow has closed")
	// ErrUnavailable: Temporal did not answer in time or shed load. The request may
	// or may not have been applied; the error wrapping it carries the cause.
	ErrUnavailable = errors.New("temporal did not answer in time")
)

// Error types of the application errors that carry a rejected update from the
// workflow to its caller; the details hold the field and the reason (see EncodeError).
const (
	ErrTypeConflict = "Conflict"
	ErrTypeInvalid  = "Invalid"
)

// ConflictError is a request the invoice's current state forbids (a payment for a
// closed invoice, a second dispute, a refund past the refund window): the API answers
// 409. It is collection's own, so a refusal of the pure checks crosses the update
// boundary as the same type the API and the forwarder branch on.
type ConflictError = collection.ConflictError

// InvalidError is a request whose value makes no sense for this invoice (another
// currency, more than the balance, a date in the past): the API answers 422.
type InvalidError = collection.InvalidError

// rejection is the details payload of a Conflict or Invalid application error.
type rejection struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// EncodeError turns a *ConflictError or *InvalidError (possibly wrapped) into the
// non-retryable application error an update validator returns, with the field and the
// reason as its details; DecodeError restores it on the caller's side. Any other error
// is returned unchanged, as is nil.
func EncodeError(err error) error {
	var conflict *ConflictError
	var invalid *InvalidError
	switch {
	case errors.As(err, &conflict):
		return temporal.NewNonRetryableApplicationError(conflict.Error(), ErrTypeConflict, nil,
			rejection{Field: conflict.Field, Reason: conflict.Reason})
	case errors.As(err, &invalid):
		return temporal.NewNonRetryableApplicationError(invalid.Error(), ErrTypeInvalid, nil,
			rejection{Field: invalid.Field, Reason: invalid.Reason})
	}
	return err
}

// DecodeError finds an application error of type ErrTypeConflict or ErrTypeInvalid in
// err's chain and returns the *ConflictError or *InvalidError it carries; otherwise it
// returns err unchanged.
func DecodeError(err error) error {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || (appErr.Type() != ErrTypeConflict && appErr.Type() != ErrTypeInvalid) {
		return err
	}
	var r rejection
	if !appErr.HasDetails() || appErr.Details(&r) != nil {
		r = rejection{Reason: appErr.Message()}
	}
	if appErr.Type() == ErrTypeConflict {
		return &ConflictError{Field: r.Field, Reason: r.Reason}
	}
	return &InvalidError{Field: r.Field, Reason: r.Reason}
}
