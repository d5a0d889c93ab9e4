package activities

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// ledgerFailed is the error a ledger activity returns when the ledger failed while
// doing what ("recording payment p1 of invoice INV-1"). Every ledger call of the
// activities goes through it, so one rule decides what Temporal retries:
//
//   - input the ledger refuses (ledger.ErrInvalid: a CHECK, NOT NULL or length
//     violation, or bad data caught before the query) fails with the non-retryable
//     ErrTypeBadRequest. No retry makes the ledger accept it, and the workflow's
//     ordered ledger writer would otherwise wait behind it for ever; the workflow
//     branches on the type, reports the refused write and goes on to the next.
//   - final lists further ledger errors no retry can fix for this activity (a
//     contact reservation for an invoice the ledger never issued: ledger.ErrNotFound).
//   - anything else (the database down, a lost connection, a serialization failure)
//     is returned retryable: the write lands once the database is back.
func ledgerFailed(what string, err error, final ...error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("%s: %w", what, err)
	if errors.Is(err, ledger.ErrInvalid) {
		return badRequest(err)
	}
	for _, f := range final {
		if errors.Is(err, f) {
			return badRequest(err)
		}
	}
	return err
}

// badRequest marks err as a request no retry can fix: non-retryable, of the type
// ErrTypeBadRequest the workflow branches on.
func badRequest(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), invoiceapi.ErrTypeBadRequest, err)
}
