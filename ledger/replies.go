package ledger

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// How a reply was matched to its customer (inbound_replies.matched_by).
const (
	ReplyMatchedByTag    = "reply_tag" // the reply-to tag of a message sent to the customer
	ReplyMatchedBySender = "sender"    // the sender's address, where only this customer was contacted
	ReplyUnmatched       = "none"      // neither: the team's
)

// Reply is an email a customer (or someone) sent to the reply-to address, as stored.
type Reply struct {
	ID        int64  `json:"reply_id"`
	MessageID string `json:"message_id"`
	// CustomerID is "" when the reply matched no customer.
	CustomerID string   `json:"customer_id,omitempty"`
	MatchedBy  string   `json:"matched_by"`
	InvoiceIDs []string `json:"invoice_ids"`
	From       string   `json:"from"`
	Subject    string   `json:"subject"`
	// Body is what the customer wrote, the quoted original cut off.
	Body string `json:"body"`
	// Says are the claims the reply rules found ("paid", "disputed"), for a person to
	// confirm.
	Says       []string  `json:"says"`
	ReceivedAt time.Time `json:"received_at"`
	RecordedAt time.Time `json:"recorded_at"`
}

const replyColumns = `reply_id, message_id, coalesce(customer_id, ''), matched_by, invoice_ids, from_address, subject, body, says, received_at, recorded_at`

func scanReply(row pgx.Row) (Reply, error) {
	var r Reply
	err := row.Scan(&r.ID, &r.MessageID, &r.CustomerID, &r.MatchedBy, &r.InvoiceIDs, &r.From, &r.Subject, &r.Body,
		&r.Says, &r.ReceivedAt, &r.RecordedAt)
	r.ReceivedAt, r.RecordedAt = r.ReceivedAt.UTC(), r.RecordedAt.UTC()
	return r, err
}

// RecordReply stores r once per MessageID: a redelivery of the same mail returns the
// stored reply and false, whatever it carries. The stored row is the first
// delivery's. A reply that breaks a limit of the table (a subject over 2000
// characters, a body over 20000) returns ErrInvalid.
func (s *Store) RecordReply(ctx context.Context, r Reply) (Reply, bool, error) {
	const op = "record reply"
	if r.MessageID == "" || r.ReceivedAt.IsZero() || (r.CustomerID == "") != (r.MatchedBy == ReplyUnmatched) {
		return Reply{}, false, invalid(op, "empty message id or time, or a match that does not fit its customer")
	}
	if r.InvoiceIDs == nil {
		r.InvoiceIDs = []string{}
	}
	if r.Says == nil {
		r.Says = []string{}
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var customer *string
	if r.CustomerID != "" {
		customer = &r.CustomerID
	}
	stored, err := scanReply(s.pool.QueryRow(ctx, `
		INSERT INTO inbound_replies (message_id, customer_id, matched_by, invoice_ids, from_address, subject, body, says, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (message_id) DO NOTHING
		RETURNING `+replyColumns,
		r.MessageID, customer, r.MatchedBy, r.InvoiceIDs, r.From, r.Subject, r.Body, r.Says, r.ReceivedAt))
	if err == nil {
		return stored, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Reply{}, false, wrap(op, err)
	}
	stored, err = scanReply(s.pool.QueryRow(ctx, `SELECT `+replyColumns+` FROM inbound_replies WHERE message_id = $1`, r.MessageID))
	return stored, false, wrap(op, err)
}

// GetReply returns a stored reply, or ErrNotFound.
func (s *Store) GetReply(ctx context.Context, id int64) (Reply, error) {
	return queryOne(ctx, s, "get reply", func(row pgx.CollectableRow) (Reply, error) { return scanReply(row) },
		`SELECT `+replyColumns+` FROM inbound_replies WHERE reply_id = $1`, id)
}

// CustomerOfReplyTag returns the customer of the notice or account message whose key
// has the reply tag (replies.Tag), or ErrNotFound.
func (s *Store) CustomerOfReplyTag(ctx context.Context, tag string) (string, error) {
	return queryOne(ctx, s, "find reply tag", pgx.RowTo[string], `
		SELECT customer_id FROM (
			SELECT i.customer_id FROM notices n JOIN invoices i USING (invoice_id) WHERE left(md5(n.notice_key), 20) = $1
			UNION
			SELECT customer_id FROM account_messages WHERE left(md5(message_key), 20) = $1
		) t LIMIT 1`, tag)
}

// maxCustomerInvoices bounds InvoiceIDsOfCustomer.
const maxCustomerInvoices = 10_000

// InvoiceIDsOfCustomer lists the customer's invoice ids (at most 10,000, the newest
// first).
func (s *Store) InvoiceIDsOfCustomer(ctx context.Context, customerID string) ([]string, error) {
	return queryRows(ctx, s, "invoices of customer", pgx.RowTo[string],
		`SELECT invoice_id FROM invoices WHERE customer_id = $1 ORDER BY issued_at DESC, invoice_id LIMIT $2`,
		customerID, maxCustomerInvoices)
}
