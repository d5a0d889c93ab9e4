package invoiceapi

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

// crossBoundary sends err the way an update validator's error reaches the caller:
// through Temporal's failure proto, its details encoded by the data converter.
func crossBoundary(err error) error {
	fc := temporal.GetDefaultFailureConverter()
	return fc.FailureToError(fc.ErrorToFailure(err))
}

func TestTypedErrorsCrossTheUpdateBoundary(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		sent error
		want error
		// wantType is the application error's type on the wire.
		wantType string
	}{
		{"conflict on the status", &ConflictError{Field: "status", Reason: "the invoice is paid; payment not applied"},
			&ConflictError{Field: "status", Reason: "the invoice is paid; payment not applied"}, ErrTypeConflict},
		{"conflict on a field", &ConflictError{Field: "payment_id", Reason: "p1 was already applied with amount 10.00"},
			&ConflictError{Field: "payment_id", Reason: "p1 was already applied with amount 10.00"}, ErrTypeConflict},
		{"invalid with a path", &InvalidError{Field: "installments[2].due_date", Reason: "2026-01-01 is in the past"},
			&InvalidError{Field: "installments[2].due_date", Reason: "2026-01-01 is in the past"}, ErrTypeInvalid},
		{"invalid, a reason with a colon", &InvalidError{Field: "reason", Reason: "must be text: at most 1000 characters"},
			&InvalidError{Field: "reason", Reason: "must be text: at most 1000 characters"}, ErrTypeInvalid},
		{"invalid without a field", &InvalidError{Reason: "no state accepts this"},
			&InvalidError{Reason: "no state accepts this"}, ErrTypeInvalid},
		{"wrapped before encoding", fmt.Errorf("checking: %w", &InvalidError{Field: "amount", Reason: "must be greater than zero"}),
			&InvalidError{Field: "amount", Reason: "must be greater than zero"}, ErrTypeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			encoded := EncodeError(tc.sent)
			var appErr *temporal.ApplicationError
			require.ErrorAs(t, encoded, &appErr)
			require.Equal(t, tc.wantType, appErr.Type())
			require.True(t, appErr.NonRetryable())
			require.Equal(t, tc.want.Error(), appErr.Message(), "the message reads as the typed error does")

			got := DecodeError(crossBoundary(encoded))
			require.Equal(t, tc.want, got)
			// What a caller would see had the update passed through Client.
			require.Equal(t, tc.want, DecodeError(fmt.Errorf("update: %w", crossBoundary(encoded))))
		})
	}
}

func TestEncodeAndDecodeLeaveOtherErrorsAlone(t *testing.T) {
	t.Parallel()
	require.NoError(t, EncodeError(nil))
	require.NoError(t, DecodeError(nil))
	plain := errors.New("status: reads like a rejection but is not one")
	require.Same(t, plain, EncodeError(plain))
	require.Same(t, plain, DecodeError(plain))
	other := temporal.NewApplicationError("unknown update refund", "")
	require.Equal(t, other, DecodeError(other), "an application error of another type stays as it is")
}

// An application error of a rejection type but without details (as a workflow that
// forgot EncodeError's details would send) still decodes, its whole message the reason;
// a conflict that names no field reads as one about the invoice's status.
func TestDecodeWithoutDetailsKeepsTheMessage(t *testing.T) {
	t.Parallel()
	got := DecodeError(crossBoundary(temporal.NewNonRetryableApplicationError("the invoice is paid", ErrTypeConflict, nil)))
	require.Equal(t, &ConflictError{Reason: "the invoice is paid"}, got)
	require.Equal(t, "status: the invoice is paid", got.Error())
}
