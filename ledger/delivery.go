package ledger

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// DeliveryStatus is what a provider said became of a message it accepted.
type DeliveryStatus string

// Delivery statuses. Queued and sent are on the way; the others are final.
const (
	DeliveryQueued      DeliveryStatus = "queued"
	DeliverySent        DeliveryStatus = "sent" // handed to the carrier or the receiving server
	DeliveryDelivered   DeliveryStatus = "delivered"
	DeliveryBounced     DeliveryStatus = "bounced"     // email: the receiving server refused it
	DeliveryDropped     DeliveryStatus = "dropped"     // email: the provider did not send it
	DeliveryUndelivered DeliveryStatus = "undelivered" // SMS: the carrier could not deliver it
	DeliveryFailed      DeliveryStatus = "failed"      // SMS: the provider could not send it
)

var deliveryFinal = map[DeliveryStatus]bool{
	DeliveryQueued: false, DeliverySent: false,
	DeliveryDelivered: true, DeliveryBounced: true, DeliveryDropped: true, DeliveryUndelivered: true, DeliveryFailed: true,
}

// Valid reports whether s is a known delivery status.
func (s DeliveryStatus) Valid() bool { _, ok := deliveryFinal[s]; return ok }

// Final reports whether s is the provider's last word on the message.
func (s DeliveryStatus) Final() bool { return deliveryFinal[s] }

// Failed reports whether s is a permanent delivery failure: the notice did not reach
// the customer on its channel.
func (s DeliveryStatus) Failed() bool { return s.Final() && s != DeliveryDelivered }

// DeliveryUpdate is one delivery report for a notice.
type DeliveryUpdate struct {
	NoticeKey  string
	Status     DeliveryStatus
	Error      string // the provider's reason for a failure, without personal data
	ProviderID string // the provider's message id, when the report carries it
	At         time.Time
}

// Delivery is a notice's stored delivery status.
type Delivery struct {
	NoticeKey  string
	InvoiceID  string
	Status     DeliveryStatus
	Error      string
	ProviderID string
	At         time.Time
	UpdatedAt  time.Time
}

// DeliveryOutcome says what RecordDelivery did with an update.
type DeliveryOutcome int

// Delivery outcomes.
const (
	// DeliveryRecorded: the update is now the stored status.
	DeliveryRecorded DeliveryOutcome = iota + 1
	// DeliveryUnchanged: the same status was already stored (a repeated report).
	DeliveryUnchanged
	// DeliveryIgnored: the stored status is final, or newer, and stays.
	DeliveryIgnored
)

// RecordDelivery stores a delivery report for a sent notice and returns the status
// stored afterwards. It is idempotent and never regresses: a final status (delivered,
// bounced, ...) is never replaced, and a non-final one only by a final one or a later
// one. An unknown notice key returns ErrNotFound.
func (s *Store) RecordDelivery(ctx context.Context, u DeliveryUpdate) (Delivery, DeliveryOutcome, error) {
	const op = "record delivery"
	switch {
	case u.NoticeKey == "":
		return Delivery{}, 0, invalid(op, "empty notice key")
	case !u.Status.Valid():
		return Delivery{}, 0, invalid(op, "notice %s: unknown delivery status %q", u.NoticeKey, u.Status)
	case u.At.IsZero():
		return Delivery{}, 0, invalid(op, "notice %s: time is zero", u.NoticeKey)
	}
	errText := u.Error
	if len(errText) > 1000 {
		errText = strings.ToValidUTF8(errText[:1000], "")
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var (
		d       Delivery
		outcome DeliveryOutcome
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var prev Delivery
		err := tx.QueryRow(ctx, `
			SELECT status, at FROM notice_deliveries WHERE notice_key = $1 FOR UPDATE`, u.NoticeKey).
			Scan(&prev.Status, &prev.At)
		exists := err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		switch {
		case !exists:
			outcome = DeliveryRecorded
			_, err = tx.Exec(ctx, `
				INSERT INTO notice_deliveries (notice_key, status, final, error, provider_id, at)
				VALUES ($1, $2, $3, $4, $5, $6)`,
				u.NoticeKey, string(u.Status), u.Status.Final(), errText, u.ProviderID, u.At)
		case prev.Status == u.Status:
			outcome = DeliveryUnchanged
		case prev.Status.Final(), !u.Status.Final() && u.At.Before(prev.At):
			outcome = DeliveryIgnored
		default:
			outcome = DeliveryRecorded
			_, err = tx.Exec(ctx, `
				UPDATE notice_deliveries
				SET status = $2, final = $3, error = $4, provider_id = COALESCE(NULLIF($5, ''), provider_id),
					at = $6, updated_at = now()
				WHERE notice_key = $1`,
				u.NoticeKey, string(u.Status), u.Status.Final(), errText, u.ProviderID, u.At)
		}
		if err != nil {
			return err
		}
		d, err = getDelivery(ctx, tx, u.NoticeKey)
		return err
	})
	if err != nil {
		return Delivery{}, 0, wrap(op+" "+u.NoticeKey, err)
	}
	return d, outcome, nil
}

// GetDelivery returns a notice's delivery status, or ErrNotFound when no report came.
func (s *Store) GetDelivery(ctx context.Context, noticeKey string) (Delivery, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	d, err := getDelivery(ctx, s.pool, noticeKey)
	return d, wrap("get delivery "+noticeKey, err)
}

func getDelivery(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, key string) (Delivery, error) {
	var d Delivery
	err := q.QueryRow(ctx, `
		SELECT d.notice_key, n.invoice_id, d.status, d.error, d.provider_id, d.at, d.updated_at
		FROM notice_deliveries d JOIN notices n USING (notice_key) WHERE d.notice_key = $1`, key).
		Scan(&d.NoticeKey, &d.InvoiceID, &d.Status, &d.Error, &d.ProviderID, &d.At, &d.UpdatedAt)
	d.At, d.UpdatedAt = d.At.UTC(), d.UpdatedAt.UTC()
	return d, err
}

// NoticeByProviderID finds the notice a provider's message id belongs to, for
// delivery reports that carry no notice key; ErrNotFound when none does.
func (s *Store) NoticeByProviderID(ctx context.Context, channel, providerID string) (NoticeRow, error) {
	if providerID == "" {
		return NoticeRow{}, wrap("notice by provider id", pgx.ErrNoRows)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var n NoticeRow
	row := s.pool.QueryRow(ctx, `SELECT `+noticeColumns+` FROM notices
		WHERE channel = $1 AND provider_id = $2 ORDER BY claimed_at DESC LIMIT 1`, channel, providerID)
	if err := scanNotice(row, &n); err != nil {
		return NoticeRow{}, wrap("notice by provider id", err)
	}
	return n, nil
}
