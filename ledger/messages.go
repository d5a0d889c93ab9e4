package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Account messages: one consolidated reminder per customer, channel and window (see
// migration 00011 and docs/accounts.md). Tables: account_messages (the message) and
// notices.message_key (each invoice step the message covered).

// MessageStatus is where one account message stands.
type MessageStatus string

// Message statuses. MessageSending is the only non-final one.
const (
	MessageSending MessageStatus = "sending"
	MessageSent    MessageStatus = "sent"
	MessageFailed  MessageStatus = "failed"
)

// MessageLine is one invoice step a message is asked to cover.
type MessageLine struct {
	InvoiceID string `json:"invoice_id"`
	Step      string `json:"step"`
	// NotAfter is when the invoice's policy hands it off; zero: never. Not stored.
	NotAfter time.Time `json:"-"`
	// Reason, in a message's LeftOut, says why the line was left out.
	Reason string `json:"reason,omitempty"`
}

// MessageClaim asks to claim the right to send one account message.
type MessageClaim struct {
	// Key is <customer>/<channel>/<window day>/<n>.
	Key        string
	CustomerID string
	Channel    string // "email" or "sms"
	// WindowDay is the customer's local day of the window ("2026-12-07").
	WindowDay string
	// Lines are the invoice steps the account wants the message to list.
	Lines []MessageLine
}

// MessageRow is a stored account message. After ClaimMessage the caller acts on it as
// on a NoticeRow: Fresh sends; NeedsReconcile asks the provider first; sent returns
// ProviderID; failed stays failed. Covered is what the message lists (fixed by the
// first claim); when it is empty, nothing may go out and the caller settles the
// message as failed with the reasons in LeftOut.
type MessageRow struct {
	Key        string
	CustomerID string
	Channel    string
	WindowDay  string
	Status     MessageStatus
	ProviderID string
	Error      string
	Covered    []MessageLine
	LeftOut    []MessageLine
	Attempts   int
	ClaimedAt  time.Time
	SentAt     *time.Time
	UpdatedAt  time.Time
	Fresh      bool
}

// NeedsReconcile reports whether an earlier claim is still 'sending'.
func (m MessageRow) NeedsReconcile() bool { return !m.Fresh && m.Status == MessageSending }

const messageColumns = `message_key, customer_id, channel, window_day::text, status, provider_id, error,
	covered, left_out, attempts, claimed_at, sent_at, updated_at`

// ClaimMessage atomically claims the right to send one account message. The first
// claim decides, in one transaction, which lines the message covers: each listed
// invoice's row is read FOR SHARE, and a line is left out when its invoice is not
// issued, is paid, cancelled, written off, disputed, promised, paused, on a plan,
// awaiting an approval or handed off (or its hand-off time has come), or when its
// step was already reminded on this channel (a notices row exists). Later claims of
// the same key count an attempt and return the stored row unchanged, so every retry
// sends the same text. Of concurrent first claims exactly one is Fresh.
func (s *Store) ClaimMessage(ctx context.Context, c MessageClaim) (MessageRow, error) {
	const op = "claim message"
	if err := validateMessageClaim(op, c); err != nil {
		return MessageRow{}, err
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var m MessageRow
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		row := tx.QueryRow(ctx, `SELECT `+messageColumns+` FROM account_messages WHERE message_key = $1 FOR UPDATE`, c.Key)
		err := scanMessage(row, &m)
		if err == nil {
			_, err = tx.Exec(ctx, `UPDATE account_messages SET attempts = attempts + 1, updated_at = now() WHERE message_key = $1`, c.Key)
			m.Attempts++
			return err
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		covered, leftOut, err := decideLines(ctx, tx, c)
		if err != nil {
			return err
		}
		cj, _ := json.Marshal(covered)
		lj, _ := json.Marshal(leftOut)
		// ON CONFLICT: a concurrent first claim committed between the read and here.
		row = tx.QueryRow(ctx, `
			INSERT INTO account_messages (message_key, customer_id, channel, window_day, status,
				covered, left_out, attempts, claimed_at, updated_at)
			VALUES ($1, $2, $3, $4::date, 'sending', $5, $6, 1, now(), now())
			ON CONFLICT (message_key) DO UPDATE SET attempts = account_messages.attempts + 1, updated_at = now()
			RETURNING `+messageColumns+`, (xmax = 0)`,
			c.Key, c.CustomerID, c.Channel, c.WindowDay, cj, lj)
		return scanMessage(row, &m, &m.Fresh)
	})
	if err != nil {
		return MessageRow{}, wrap(op+" "+c.Key, err)
	}
	return m, nil
}

// decideLines splits the claim's lines into covered and left out (with the reason).
func decideLines(ctx context.Context, tx pgx.Tx, c MessageClaim) (covered, leftOut []MessageLine, err error) {
	covered, leftOut = []MessageLine{}, []MessageLine{}
	for _, l := range c.Lines {
		var status string
		var now time.Time
		err := tx.QueryRow(ctx, `SELECT status, now() FROM invoices WHERE invoice_id = $1 AND customer_id = $2 FOR SHARE`,
			l.InvoiceID, c.CustomerID).Scan(&status, &now)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			l.Reason = "the invoice is not issued to this customer"
		case err != nil:
			return nil, nil, err
		default:
			l.Reason = heldFromMessages(status, now, l.NotAfter)
		}
		if l.Reason == "" {
			var other *string
			err := tx.QueryRow(ctx, `SELECT message_key FROM notices WHERE notice_key = $1 AND status = 'sent'`,
				l.InvoiceID+"/"+l.Step+"/"+c.Channel).Scan(&other)
			switch {
			case err == nil && other != nil:
				l.Reason = "already reminded at this step by message " + *other
			case err == nil:
				l.Reason = "already reminded at this step by its own notice"
			case !errors.Is(err, pgx.ErrNoRows):
				return nil, nil, err
			}
		}
		if l.Reason != "" {
			leftOut = append(leftOut, l)
			continue
		}
		covered = append(covered, l)
	}
	return covered, leftOut, nil
}

// heldFromMessages says why an invoice with this status may not be listed in a
// reminder at now, or "" if it may: what withholds a single notice, and the holds
// (promised, paused, on a plan, awaiting approval) under which no reminder is due.
func heldFromMessages(status string, now, notAfter time.Time) string {
	switch status {
	case StatusPromised:
		return "the customer promised to pay it"
	case StatusPaused:
		return "the invoice is paused"
	case StatusOnPlan:
		return "the invoice is on a payment plan"
	case StatusAwaitingApproval:
		return "the invoice awaits an approval"
	}
	return withheld(status, now, notAfter)
}

// CompleteMessage records the outcome of a claimed message: status sent (providerID
// set) or failed (errText set). In the same transaction a sent message writes one
// notices row per covered invoice step (key <invoice>/<step>/<channel>, status sent,
// message_key naming this message). Completing again with the stored status is a
// no-op; another final status returns ErrNoticeFinal; an unknown key ErrNotFound.
func (s *Store) CompleteMessage(ctx context.Context, key string, status MessageStatus, providerID, errText string, at time.Time) error {
	const op = "complete message"
	switch {
	case status != MessageSent && status != MessageFailed:
		return invalid(op, "message %s: %q is not a final status", key, status)
	case at.IsZero():
		return invalid(op, "message %s: time is zero", key)
	}
	var sentAt *time.Time
	if status == MessageSent {
		sentAt = &at
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var m MessageRow
		err := scanMessage(tx.QueryRow(ctx, `SELECT `+messageColumns+` FROM account_messages WHERE message_key = $1 FOR UPDATE`, key), &m)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("message %s: %w", key, ErrNotFound)
		case err != nil:
			return err
		case m.Status == status:
			return nil
		case m.Status != MessageSending:
			return fmt.Errorf("message %s is %s: %w", key, m.Status, ErrNoticeFinal)
		}
		if _, err := tx.Exec(ctx, `
			UPDATE account_messages SET status = $2, provider_id = $3, error = $4, sent_at = $5, updated_at = $6
			WHERE message_key = $1`, key, string(status), providerID, errText, sentAt, at); err != nil {
			return err
		}
		if status != MessageSent {
			return nil
		}
		for _, l := range m.Covered {
			if _, err := tx.Exec(ctx, `
				INSERT INTO notices (notice_key, invoice_id, step, channel, status, provider_id, attempts,
					claimed_at, sent_at, updated_at, message_key)
				VALUES ($1, $2, $3, $4, 'sent', $5, 1, $6, $7, $7, $8)
				ON CONFLICT (notice_key) DO NOTHING`,
				l.InvoiceID+"/"+l.Step+"/"+m.Channel, l.InvoiceID, l.Step, m.Channel, providerID, m.ClaimedAt, at, key); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap(op+" "+key, err)
}

// GetMessage returns one account message by key, or ErrNotFound.
func (s *Store) GetMessage(ctx context.Context, key string) (MessageRow, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var m MessageRow
	if err := scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageColumns+` FROM account_messages WHERE message_key = $1`, key), &m); err != nil {
		return MessageRow{}, wrap("get message "+key, err)
	}
	return m, nil
}

// ListMessages returns the customer's account messages in the order they were first
// claimed. An unknown customer yields an empty list.
func (s *Store) ListMessages(ctx context.Context, customerID string) ([]MessageRow, error) {
	return queryRows(ctx, s, "list messages", func(row pgx.CollectableRow) (MessageRow, error) {
		var m MessageRow
		err := scanMessage(row, &m)
		return m, err
	}, `SELECT `+messageColumns+` FROM account_messages WHERE customer_id = $1 ORDER BY claimed_at, message_key`, customerID)
}

// MessageOfNotice returns the key of the account message that covered a notice, or ""
// for a notice sent on its own; ErrNotFound for an unknown notice key.
func (s *Store) MessageOfNotice(ctx context.Context, noticeKey string) (string, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var key *string
	if err := s.pool.QueryRow(ctx, `SELECT message_key FROM notices WHERE notice_key = $1`, noticeKey).Scan(&key); err != nil {
		return "", wrap("message of notice "+noticeKey, err)
	}
	if key == nil {
		return "", nil
	}
	return *key, nil
}

// NoticesOfMessage returns the keys of the invoice notices a message covered, in key
// order: a provider's delivery report names the message, and each covered invoice
// hears of it through its own notice. None for a message that covered nothing or is
// unknown.
func (s *Store) NoticesOfMessage(ctx context.Context, messageKey string) ([]string, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT notice_key FROM notices WHERE message_key = $1 ORDER BY notice_key`, messageKey)
	if err != nil {
		return nil, wrap("notices of message "+messageKey, err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrap("notices of message "+messageKey, err)
	}
	return keys, nil
}

func scanMessage(row pgx.Row, m *MessageRow, extra ...any) error {
	var covered, leftOut []byte
	dest := append([]any{&m.Key, &m.CustomerID, &m.Channel, &m.WindowDay, &m.Status, &m.ProviderID, &m.Error,
		&covered, &leftOut, &m.Attempts, &m.ClaimedAt, &m.SentAt, &m.UpdatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return err
	}
	if err := json.Unmarshal(covered, &m.Covered); err != nil {
		return fmt.Errorf("message %s: covered: %w", m.Key, err)
	}
	if err := json.Unmarshal(leftOut, &m.LeftOut); err != nil {
		return fmt.Errorf("message %s: left_out: %w", m.Key, err)
	}
	m.ClaimedAt, m.UpdatedAt, m.SentAt = m.ClaimedAt.UTC(), m.UpdatedAt.UTC(), utcPtr(m.SentAt)
	return nil
}

func validateMessageClaim(op string, c MessageClaim) error {
	switch {
	case c.Key == "" || len(c.Key) > 400:
		return invalid(op, "message key %q must be 1-400 characters", c.Key)
	case c.CustomerID == "":
		return invalid(op, "message %s: empty customer id", c.Key)
	case c.Channel != "email" && c.Channel != "sms":
		return invalid(op, "message %s: channel %q is not email or sms", c.Key, c.Channel)
	case len(c.Lines) == 0:
		return invalid(op, "message %s: no lines", c.Key)
	}
	if _, err := time.Parse(time.DateOnly, c.WindowDay); err != nil {
		return invalid(op, "message %s: window day %q is not a date like 2026-12-07", c.Key, c.WindowDay)
	}
	seen := map[string]bool{}
	for i, l := range c.Lines {
		if l.InvoiceID == "" || l.Step == "" {
			return invalid(op, "message %s: lines[%d]: invoice_id and step are required", c.Key, i)
		}
		if seen[l.InvoiceID+"/"+l.Step] {
			return invalid(op, "message %s: lines[%d]: invoice %s step %s is listed twice", c.Key, i, l.InvoiceID, l.Step)
		}
		seen[l.InvoiceID+"/"+l.Step] = true
	}
	return nil
}
