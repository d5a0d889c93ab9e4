package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

const noticeColumns = `notice_key, invoice_id, step, channel, status, provider_id, error,
	attempts, claimed_at, sent_at, updated_at`

// ClaimNotice atomically claims the right to send one notice. If the notice is new it
// is stored as 'sending' with one attempt and returned with Fresh set: the caller
// sends it. Otherwise its attempt count goes up and the stored row comes back
// unchanged otherwise (see NoticeRow for what to do with it). Of any number of
// concurrent claims on one key, exactly one is Fresh. The invoice must have been
// issued (else ErrNotFound); a key that is not <invoice>/<step>/<channel> or an
// unknown channel returns ErrInvalid.
//
// In the same statement it decides whether a reminder may still go out (Withheld):
// not once the invoice is recorded as escalated, paid, cancelled, written off or
// disputed, nor from c.NotAfter on (the policy's hand-off time). The invoice row is
// read FOR SHARE, so a status change recorded concurrently waits for the claim and the
// answer holds when the claim commits; the database's clock decides NotAfter, so a
// worker's clock cannot move the hand-off. The read, the claim and the commit are one
// round trip to the database (a single statement is its own transaction).
func (s *Store) ClaimNotice(ctx context.Context, c NoticeClaim) (NoticeRow, error) {
	const op = "claim notice"
	if err := validateClaim(op, c); err != nil {
		return NoticeRow{}, err
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var (
		n      NoticeRow
		status string
		now    time.Time
	)
	// No invoice row: nothing is inserted and no row comes back (ErrNotFound). xmax = 0
	// only on a freshly inserted row version, telling insert from update.
	row := s.pool.QueryRow(ctx, `
		WITH inv AS (
			SELECT status AS invoice_status, now() AS db_now FROM invoices WHERE invoice_id = $2 FOR SHARE
		), claim AS (
			INSERT INTO notices (notice_key, invoice_id, step, channel, status, attempts,
				claimed_at, updated_at)
			SELECT $1, $2, $3, $4, 'sending', 1, now(), now() FROM inv
			ON CONFLICT (notice_key) DO UPDATE
			SET attempts = notices.attempts + 1, updated_at = now()
			RETURNING `+noticeColumns+`, (xmax = 0) AS fresh
		)
		SELECT claim.*, inv.invoice_status, inv.db_now FROM claim CROSS JOIN inv`,
		c.Key, c.InvoiceID, c.Step, c.Channel)
	if err := scanNotice(row, &n, &n.Fresh, &status, &now); err != nil {
		return NoticeRow{}, wrap(fmt.Sprintf("%s %s", op, c.Key), err)
	}
	n.Withheld = withheld(status, now, c.NotAfter)
	return n, nil
}

// withheld says why a reminder may no longer go out for an invoice with this status
// at now, or "" if it may.
func withheld(status string, now, notAfter time.Time) string {
	switch status {
	case StatusEscalated:
		return "the invoice was handed off"
	case StatusPaid, StatusCancelled, StatusWrittenOff:
		return "the invoice is " + strings.ReplaceAll(status, "_", " ")
	case StatusDisputed:
		return "the invoice is disputed"
	}
	if !notAfter.IsZero() && !now.Before(notAfter) {
		return "the invoice is handed off at " + notAfter.UTC().Format(time.RFC3339) + " by its policy"
	}
	return ""
}

// CompleteNotice records the outcome of sending a claimed notice: status must be
// final (sent, failed or undeliverable), providerID the provider's message id (for
// sent), errText the reason (for failed and undeliverable), at when it happened. It
// only moves a notice out of 'sending'. Completing again with the status already
// stored is a no-op; a different final status leaves the stored outcome in place and
// returns ErrNoticeFinal. An unknown key returns ErrNotFound.
func (s *Store) CompleteNotice(ctx context.Context, key string, status NoticeStatus, providerID, errText string, at time.Time) error {
	const op = "complete notice"
	switch {
	case !status.Final():
		return invalid(op, "notice %s: %q is not a final status", key, status)
	case at.IsZero():
		return invalid(op, "notice %s: time is zero", key)
	}
	var sentAt *time.Time
	if status == NoticeSent {
		sentAt = &at
	}
	return s.settleClaim(ctx, op, noticeClaims, key, string(status), providerID, errText, sentAt, at)
}

// claimTable is a table of rows claimed as 'sending' before a provider call and
// settled after it (notices, statements).
type claimTable struct{ table, keyColumn, noun string }

var noticeClaims = claimTable{"notices", "notice_key", "notice"}

// settleClaim moves the row key of t out of 'sending' to status. Settling again with
// the stored status is a no-op; another final status keeps the stored outcome and
// returns ErrNoticeFinal; an unknown key returns ErrNotFound.
func (s *Store) settleClaim(ctx context.Context, op string, t claimTable, key, status, providerID, errText string, sentAt *time.Time, at time.Time) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `
		UPDATE `+t.table+`
		SET status = $2, provider_id = $3, error = $4, sent_at = $5, updated_at = $6
		WHERE `+t.keyColumn+` = $1 AND status = 'sending'`,
		key, status, providerID, errText, sentAt, at)
	if err != nil {
		return wrap(op+" "+key, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var stored string
	err = s.pool.QueryRow(ctx, `SELECT status FROM `+t.table+` WHERE `+t.keyColumn+` = $1`, key).Scan(&stored)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("ledger: %s: %s %s: %w", op, t.noun, key, ErrNotFound)
	case err != nil:
		return wrap(op+" "+key, err)
	case stored == status:
		return nil
	default:
		return fmt.Errorf("ledger: %s: %s %s is %s: %w", op, t.noun, key, stored, ErrNoticeFinal)
	}
}

// GetNotice returns one notice by key (Fresh is always false), or ErrNotFound.
func (s *Store) GetNotice(ctx context.Context, key string) (NoticeRow, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var n NoticeRow
	row := s.pool.QueryRow(ctx, `SELECT `+noticeColumns+` FROM notices WHERE notice_key = $1`, key)
	if err := scanNotice(row, &n); err != nil {
		return NoticeRow{}, wrap("get notice "+key, err)
	}
	return n, nil
}

// ListNotices returns the invoice's notices in the order they were first claimed
// (Fresh is always false). An unknown invoice yields an empty list.
func (s *Store) ListNotices(ctx context.Context, invoiceID string) ([]NoticeRow, error) {
	return queryRows(ctx, s, "list notices", func(row pgx.CollectableRow) (NoticeRow, error) {
		var n NoticeRow
		err := scanNotice(row, &n)
		return n, err
	}, `
		SELECT `+noticeColumns+` FROM notices WHERE invoice_id = $1
		ORDER BY claimed_at, notice_key`, invoiceID)
}

// scanNotice scans noticeColumns (plus any extra destinations) into n.
func scanNotice(row pgx.Row, n *NoticeRow, extra ...any) error {
	dest := append([]any{&n.Key, &n.InvoiceID, &n.Step, &n.Channel, &n.Status, &n.ProviderID,
		&n.Error, &n.Attempts, &n.ClaimedAt, &n.SentAt, &n.UpdatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return err
	}
	n.ClaimedAt, n.UpdatedAt, n.SentAt = n.ClaimedAt.UTC(), n.UpdatedAt.UTC(), utcPtr(n.SentAt)
	return nil
}
