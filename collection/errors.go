package collection

import (
	"errors"
	"fmt"
)

// The checks' errors. Every refusal is one of two typed errors, each naming the input
// field it is about and saying why in words a caller can show: a ConflictError when
// the invoice's current state forbids the change (the same input may succeed later or
// on another invoice), an InvalidError when no state would accept the input. Callers
// branch with errors.As, or errors.Is against ErrConflict and ErrInvalid; the text
// reads "field: reason" so it can be shown as it is.

// ErrConflict marks a transition the invoice's current state forbids (HTTP 409).
var ErrConflict = errors.New("conflict")

// ErrInvalid marks input that no state of the invoice would accept (HTTP 422).
var ErrInvalid = errors.New("invalid")

// ConflictError is a transition the current state forbids.
type ConflictError struct {
	// Status is the invoice's status when the change was refused.
	Status Status
	// Field is the input the state refuses: "status" when the invoice's state as a
	// whole forbids the change, else the field ("amount" of a refund larger than its
	// payment).
	Field string
	// Reason says why, for people.
	Reason string
}

func (e *ConflictError) Error() string { return e.field() + ": " + e.Reason }

func (e *ConflictError) field() string {
	if e.Field == "" {
		return "status"
	}
	return e.Field
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// InvalidError is input no state would accept: Field names it (a JSON path such as
// "installments[2].due_date"), Reason says what is wrong with it.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// conflict refuses a change the invoice's status forbids.
func conflict(s Status, format string, args ...any) error {
	return conflictOn(s, "status", format, args...)
}

// conflictOn refuses the value of one field given the invoice's state.
func conflictOn(s Status, field, format string, args ...any) error {
	return &ConflictError{Status: s, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// invalid refuses the value of one field whatever the state.
func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
