package ledger

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

var (
	// ErrNotFound means the row asked for (or the invoice a write refers to) does
	// not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvoiceConflict means an invoice with the same id was already issued with a
	// different request body.
	ErrInvoiceConflict = errors.New("invoice already issued with a different body")
	// ErrInvalid means the input breaks a rule of the ledger (negative money, unknown
	// status, malformed currency, ...), whether caught here or by a CHECK constraint.
	ErrInvalid = errors.New("invalid ledger input")
	// ErrNoticeFinal means CompleteNotice found the notice already completed with a
	// different outcome; the stored outcome is kept.
	ErrNoticeFinal = errors.New("notice already completed with another outcome")
)

// PostgreSQL error codes the ledger translates into its sentinels.
const (
	pgForeignKeyViolation = "23503"
	pgCheckViolation      = "23514"
	pgNotNullViolation    = "23502"
	pgStringTooLong       = "22001"
	pgInvalidText         = "22P02"
	pgDatetimeOverflow    = "22008"
)

// wrap returns err annotated with the failed operation, translated into ErrNotFound
// or ErrInvalid where PostgreSQL's error code says so. A nil err stays nil.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("ledger: %s: %w", op, ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case pgForeignKeyViolation:
			return fmt.Errorf("ledger: %s: invoice %w: %w", op, ErrNotFound, err)
		case pgCheckViolation, pgNotNullViolation, pgStringTooLong, pgInvalidText, pgDatetimeOverflow:
			return fmt.Errorf("ledger: %s: %w: %w", op, ErrInvalid, err)
		}
	}
	return fmt.Errorf("ledger: %s: %w", op, err)
}

// invalid returns an ErrInvalid for op with a reason.
func invalid(op, format string, args ...any) error {
	return fmt.Errorf("ledger: %s: %w: %s", op, ErrInvalid, fmt.Sprintf(format, args...))
}
