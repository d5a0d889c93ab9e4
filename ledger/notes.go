package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// MaxNoteLength bounds a note's text, in characters.
const MaxNoteLength = 4000

// AuditNoteCreate is the audit action of a note added to a customer's timeline; its
// details name the customer and the note, never the text.
const AuditNoteCreate = "customer.note"

// ErrUnknownCustomer means the ledger holds no invoice of the customer; it is an
// ErrNotFound.
var ErrUnknownCustomer = fmt.Errorf("customer %w", ErrNotFound)

// ErrInvoiceOfAnotherCustomer means a note named an invoice that exists but belongs
// to another customer.
var ErrInvoiceOfAnotherCustomer = errors.New("invoice belongs to another customer")

// Note is what an operator wrote about a customer, optionally about one of its
// invoices.
type Note struct {
	NoteID     int64     `json:"note_id"`
	CustomerID string    `json:"customer_id"`
	InvoiceID  string    `json:"invoice_id,omitempty"`
	Text       string    `json:"text"`
	Author     string    `json:"author"`
	CreatedAt  time.Time `json:"created_at"`
}

// NoteTextProblem says what is wrong with a note's text, or "" when it may be stored:
// not empty or only white space, at most MaxNoteLength characters of valid UTF-8,
// and no control characters other than line breaks and tabs.
func NoteTextProblem(text string) string {
	switch {
	case !utf8.ValidString(text):
		return "must be valid UTF-8"
	case strings.TrimSpace(text) == "":
		return "must not be empty"
	case utf8.RuneCountInString(text) > MaxNoteLength:
		return fmt.Sprintf("must be at most %d characters (has %d)", MaxNoteLength, utf8.RuneCountInString(text))
	}
	return TextProblem(text)
}

// TextProblem says what keeps a person's free text (a note, a task's outcome note)
// from being stored, or "" when nothing does: it must be valid UTF-8 without control
// characters other than line breaks and tabs (PostgreSQL stores no NUL, and the others
// garble the timeline and the pages).
func TextProblem(text string) string {
	if !utf8.ValidString(text) {
		return "must be valid UTF-8"
	}
	for i, r := range text {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return fmt.Sprintf("must not contain control characters (U+%04X at byte %d)", r, i)
		}
	}
	return ""
}

// CustomerExists reports whether the ledger holds any invoice of the customer: a
// customer is known from its first invoice on.
func (s *Store) CustomerExists(ctx context.Context, customerID string) (bool, error) {
	return queryOne(ctx, s, "look up customer", pgx.RowTo[bool],
		`SELECT EXISTS (SELECT 1 FROM invoices WHERE customer_id = $1)`, customerID)
}

// AddNote stores n (NoteID and CreatedAt are set by the ledger) and writes
// audit(note) to the audit trail in the same transaction: a note is never stored
// without its entry. An invalid text or author returns ErrInvalid; a customer without
// invoices ErrUnknownCustomer, an invoice the ledger does not hold ErrNotFound; an invoice of another
// customer ErrInvoiceOfAnotherCustomer. A nil audit writes no entry.
func (s *Store) AddNote(ctx context.Context, n Note, audit func(Note) AuditEntry) (Note, error) {
	const op = "add note"
	if p := NoteTextProblem(n.Text); p != "" {
		return Note{}, invalid(op, "text %s", p)
	}
	if n.CustomerID == "" || n.Author == "" || len(n.Author) > 100 {
		return Note{}, invalid(op, "empty customer id, or empty or oversize author")
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var invoiceID *string
	if n.InvoiceID != "" {
		invoiceID = &n.InvoiceID
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if n.InvoiceID == "" {
			var known bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM invoices WHERE customer_id = $1)`,
				n.CustomerID).Scan(&known); err != nil {
				return err
			}
			if !known {
				return fmt.Errorf("%s: %w", n.CustomerID, ErrUnknownCustomer)
			}
		} else {
			// The customer of the invoice; the customer itself is known if any of its
			// invoices is.
			var owner string
			var known bool
			err := tx.QueryRow(ctx, `
				SELECT coalesce((SELECT customer_id FROM invoices WHERE invoice_id = $2), ''),
					EXISTS (SELECT 1 FROM invoices WHERE customer_id = $1)`,
				n.CustomerID, n.InvoiceID).Scan(&owner, &known)
			switch {
			case err != nil:
				return err
			case !known:
				return fmt.Errorf("%s: %w", n.CustomerID, ErrUnknownCustomer)
			case owner == "":
				return fmt.Errorf("invoice %s: %w", n.InvoiceID, ErrNotFound)
			case owner != n.CustomerID:
				return fmt.Errorf("invoice %s: %w", n.InvoiceID, ErrInvoiceOfAnotherCustomer)
			}
		}
		if err := tx.QueryRow(ctx, `
			INSERT INTO customer_notes (customer_id, invoice_id, text, author)
			VALUES ($1, $2, $3, $4)
			RETURNING note_id, created_at`,
			n.CustomerID, invoiceID, n.Text, n.Author).Scan(&n.NoteID, &n.CreatedAt); err != nil {
			return err
		}
		n.CreatedAt = n.CreatedAt.UTC()
		if audit == nil {
			return nil
		}
		_, err := insertAudit(ctx, tx, audit(n))
		return err
	})
	if err != nil {
		return Note{}, wrap(op, err)
	}
	return n, nil
}
