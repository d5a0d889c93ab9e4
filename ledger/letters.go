package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// LetterStatus is where a letter stands.
type LetterStatus string

// Letter statuses.
const (
	// LetterSending: claimed; the provider may or may not have it yet.
	LetterSending LetterStatus = "sending"
	// LetterSent: the print-and-mail provider took it.
	LetterSent LetterStatus = "sent"
	// LetterToPrint: no provider is configured; it waits in the outbox for an operator.
	LetterToPrint LetterStatus = "to_print"
	// LetterMailed: an operator printed and mailed it.
	LetterMailed LetterStatus = "mailed"
	// LetterFailed: the provider refused it, or it was withheld (Error says why).
	LetterFailed LetterStatus = "failed"
)

// LetterStatuses lists every letter status.
var LetterStatuses = []LetterStatus{LetterSending, LetterSent, LetterToPrint, LetterMailed, LetterFailed}

// ErrLetterState means a letter is not in the state an operation needs (marking a
// letter mailed that is not in the outbox).
var ErrLetterState = errors.New("letter is not in a state that allows this")

// LetterClaim claims one letter: Key is <invoice>/<step>/letter.
type LetterClaim struct {
	Key, InvoiceID, CustomerID, Step, Template string
	// PDF is the rendered letter; stored with the first claim only.
	PDF []byte
	// NotAfter is the policy's hand-off time (see NoticeClaim.NotAfter).
	NotAfter time.Time
}

// LetterRow is a stored letter, without its PDF.
type LetterRow struct {
	ID                               int64
	Key, InvoiceID, CustomerID, Step string
	Template                         string
	Status                           LetterStatus
	ProviderID, Error                string
	Attempts                         int
	Size                             int
	ClaimedAt, UpdatedAt             time.Time
	SentAt, MailedAt                 *time.Time
	MailedBy                         string
	// Fresh: this claim created the row. Withheld says why the letter may no longer
	// go out ("" if it may); set by ClaimLetter only.
	Fresh    bool
	Withheld string
}

// NeedsReconcile reports whether an earlier attempt claimed the letter and never
// recorded the outcome: the provider may have it.
func (l LetterRow) NeedsReconcile() bool { return l.Status == LetterSending && !l.Fresh }

const letterColumns = `id, letter_key, invoice_id, customer_id, step, template, status, provider_id, error,
	attempts, length(pdf), claimed_at, updated_at, sent_at, mailed_at, mailed_by`

func scanLetter(row pgx.Row, l *LetterRow, extra ...any) error {
	dest := append([]any{&l.ID, &l.Key, &l.InvoiceID, &l.CustomerID, &l.Step, &l.Template, &l.Status, &l.ProviderID,
		&l.Error, &l.Attempts, &l.Size, &l.ClaimedAt, &l.UpdatedAt, &l.SentAt, &l.MailedAt, &l.MailedBy}, extra...)
	if err := row.Scan(dest...); err != nil {
		return err
	}
	l.ClaimedAt, l.UpdatedAt, l.SentAt, l.MailedAt = l.ClaimedAt.UTC(), l.UpdatedAt.UTC(), utcPtr(l.SentAt), utcPtr(l.MailedAt)
	return nil
}

// ClaimLetter atomically claims the right to hand one letter over, as ClaimNotice
// does for a notice: a new key is stored as 'sending' (with its PDF) and returned
// Fresh; a known key counts one more attempt and comes back as stored. Withheld is
// decided in the same transaction, from the invoice's status and c.NotAfter.
func (s *Store) ClaimLetter(ctx context.Context, c LetterClaim) (LetterRow, error) {
	const op = "claim letter"
	switch {
	case c.InvoiceID == "" || c.Step == "" || c.CustomerID == "" || c.Template == "":
		return LetterRow{}, invalid(op, "letter %q: invoice, customer, step and template are required", c.Key)
	case c.Key != c.InvoiceID+"/"+c.Step+"/letter":
		return LetterRow{}, invalid(op, "letter key %q is not <invoice>/<step>/letter", c.Key)
	case len(c.PDF) == 0:
		return LetterRow{}, invalid(op, "letter %s: no PDF", c.Key)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var l LetterRow
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var status string
		var now time.Time
		err := tx.QueryRow(ctx, `SELECT status, now() FROM invoices WHERE invoice_id = $1 FOR SHARE`, c.InvoiceID).Scan(&status, &now)
		if err != nil {
			return err
		}
		row := tx.QueryRow(ctx, `
			INSERT INTO letters (letter_key, invoice_id, customer_id, step, template, status, pdf, attempts, claimed_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, 'sending', $6, 1, now(), now())
			ON CONFLICT (letter_key) DO UPDATE
			SET attempts = letters.attempts + 1, updated_at = now()
			RETURNING `+letterColumns+`, (xmax = 0)`,
			c.Key, c.InvoiceID, c.CustomerID, c.Step, c.Template, c.PDF)
		if err := scanLetter(row, &l, &l.Fresh); err != nil {
			return err
		}
		l.Withheld = withheld(status, now, c.NotAfter)
		return nil
	})
	if err != nil {
		return LetterRow{}, wrap(op+" "+c.Key, err)
	}
	return l, nil
}

// CompleteLetter records what became of a claimed letter: sent (providerID the
// provider's letter id), to_print (in the outbox) or failed (errText why). It only
// moves a letter out of 'sending'; completing again with the stored status is a
// no-op, another status keeps the stored outcome and returns ErrNoticeFinal.
func (s *Store) CompleteLetter(ctx context.Context, key string, status LetterStatus, providerID, errText string, at time.Time) error {
	const op = "complete letter"
	switch {
	case status != LetterSent && status != LetterToPrint && status != LetterFailed:
		return invalid(op, "letter %s: %q is not an outcome (sent, to_print, failed)", key, status)
	case at.IsZero():
		return invalid(op, "letter %s: time is zero", key)
	}
	var sentAt *time.Time
	if status == LetterSent {
		sentAt = &at
	}
	return s.settleClaim(ctx, op, letterClaims, key, string(status), providerID, errText, sentAt, at)
}

var letterClaims = claimTable{"letters", "letter_key", "letter"}

// GetLetter returns one letter by id, or ErrNotFound.
func (s *Store) GetLetter(ctx context.Context, id int64) (LetterRow, error) {
	return queryOne(ctx, s, fmt.Sprintf("get letter %d", id), letterRow, `SELECT `+letterColumns+` FROM letters WHERE id = $1`, id)
}

// GetLetterByKey returns one letter by its key, or ErrNotFound.
func (s *Store) GetLetterByKey(ctx context.Context, key string) (LetterRow, error) {
	return queryOne(ctx, s, "get letter "+key, letterRow, `SELECT `+letterColumns+` FROM letters WHERE letter_key = $1`, key)
}

func letterRow(row pgx.CollectableRow) (LetterRow, error) {
	var l LetterRow
	err := scanLetter(row, &l)
	return l, err
}

// LetterPDF returns a letter's PDF, or ErrNotFound.
func (s *Store) LetterPDF(ctx context.Context, id int64) ([]byte, error) {
	return queryOne(ctx, s, fmt.Sprintf("read the PDF of letter %d", id), func(row pgx.CollectableRow) ([]byte, error) {
		var b []byte
		err := row.Scan(&b)
		return b, err
	}, `SELECT pdf FROM letters WHERE id = $1`, id)
}

// LetterQuery selects letters: by status (empty: all), oldest first, at most Limit
// (1-500) after the id After.
type LetterQuery struct {
	Status     LetterStatus
	CustomerID string
	After      int64
	Limit      int
}

// ListLetters returns the letters the query selects, oldest first.
func (s *Store) ListLetters(ctx context.Context, q LetterQuery) ([]LetterRow, error) {
	const op = "list letters"
	if q.Limit < 1 || q.Limit > 500 {
		return nil, invalid(op, "limit %d is not between 1 and 500", q.Limit)
	}
	if q.Status != "" && !validLetterStatus(q.Status) {
		return nil, invalid(op, "unknown status %q", q.Status)
	}
	return queryRows(ctx, s, op, letterRow, `
		SELECT `+letterColumns+` FROM letters
		WHERE ($1 = '' OR status = $1) AND ($2 = '' OR customer_id = $2) AND id > $3
		ORDER BY id LIMIT $4`, string(q.Status), q.CustomerID, q.After, q.Limit)
}

func validLetterStatus(s LetterStatus) bool {
	for _, v := range LetterStatuses {
		if v == s {
			return true
		}
	}
	return false
}

// MarkLetterMailed records that an operator (by) mailed a letter of the outbox. A
// letter already marked mailed is returned as it is with already true; a letter
// that is not in the outbox is ErrLetterState, an unknown one ErrNotFound.
func (s *Store) MarkLetterMailed(ctx context.Context, id int64, by string, at time.Time) (row LetterRow, already bool, err error) {
	const op = "mark letter mailed"
	by = strings.TrimSpace(by)
	if by == "" || len(by) > 200 {
		return LetterRow{}, false, invalid(op, "letter %d: who mailed it must be 1-200 bytes", id)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := scanLetter(tx.QueryRow(ctx, `SELECT `+letterColumns+` FROM letters WHERE id = $1 FOR UPDATE`, id), &row); err != nil {
			return err
		}
		switch row.Status {
		case LetterMailed:
			already = true
			return nil
		case LetterToPrint:
		default:
			return fmt.Errorf("letter %d is %s, not to_print: %w", id, row.Status, ErrLetterState)
		}
		return scanLetter(tx.QueryRow(ctx, `
			UPDATE letters SET status = 'mailed', mailed_at = $2, sent_at = $2, mailed_by = $3, updated_at = now()
			WHERE id = $1 RETURNING `+letterColumns, id, at, by), &row)
	})
	if errors.Is(err, ErrLetterState) {
		return row, false, fmt.Errorf("ledger: %s: %w", op, err)
	}
	if err != nil {
		return LetterRow{}, false, wrap(fmt.Sprintf("%s %d", op, id), err)
	}
	return row, already, nil
}
