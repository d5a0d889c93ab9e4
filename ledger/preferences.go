package ledger

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditContactPreferences is an operator's change of a customer's channel order
// (PUT /v1/customers/{id}/contact-preferences); the portal's is "portal.preferences".
const AuditContactPreferences = "customer.contact_preferences"

// Sources of a channel order.
const (
	PreferenceByPortal   = "portal"
	PreferenceByOperator = "operator"
)

// ChannelOrder is a customer's order of the message channels, most wanted first:
// a reminder step that offers several channels tries them in this order (see
// collection.InCustomerOrder).
type ChannelOrder struct {
	CustomerID string    `json:"customer_id"`
	Order      []string  `json:"channel_order"`
	Source     string    `json:"source"`
	ChangedBy  string    `json:"changed_by"`
	ChangedAt  time.Time `json:"changed_at"`
}

// ChannelOrders are the channels a customer may put in order, as the portal lists
// them.
var ChannelOrders = []string{ChannelEmail, ChannelSMS}

// ValidChannelOrder reports whether order is a channel order a customer may choose:
// one or two distinct channels among email and SMS.
func ValidChannelOrder(order []string) bool {
	if len(order) == 0 || len(order) > 2 {
		return false
	}
	for i, ch := range order {
		if ch != ChannelEmail && ch != ChannelSMS || slices.Contains(order[:i], ch) {
			return false
		}
	}
	return true
}

func scanChannelOrder(row pgx.Row) (ChannelOrder, error) {
	var o ChannelOrder
	err := row.Scan(&o.CustomerID, &o.Order, &o.Source, &o.ChangedBy, &o.ChangedAt)
	o.ChangedAt = o.ChangedAt.UTC()
	return o, err
}

const channelOrderColumns = `customer_id, channel_order, source, changed_by, changed_at`

// CustomerChannelOrder returns the customer's channel order; false when they never
// chose one (the policy's order holds).
func (s *Store) CustomerChannelOrder(ctx context.Context, customerID string) (ChannelOrder, bool, error) {
	o, err := queryOne(ctx, s, "read channel order", func(row pgx.CollectableRow) (ChannelOrder, error) { return scanChannelOrder(row) },
		`SELECT `+channelOrderColumns+` FROM contact_preferences WHERE customer_id = $1`, customerID)
	if errors.Is(err, ErrNotFound) {
		return ChannelOrder{}, false, nil
	}
	return o, err == nil, err
}

// SetChannelOrder stores the customer's channel order (source and by say who chose
// it) and, when audit is not nil, writes audit(the stored order) in the same
// transaction. A customer without invoices is ErrUnknownCustomer; an order that
// ValidChannelOrder refuses, or a bad source or author, ErrInvalid. The order the
// customer has already changes nothing and writes no entry (changed false).
func (s *Store) SetChannelOrder(ctx context.Context, customerID string, order []string, source, by string, audit func(ChannelOrder) AuditEntry) (ChannelOrder, bool, error) {
	const op = "set channel order"
	switch {
	case customerID == "" || len(customerID) > 128:
		return ChannelOrder{}, false, invalid(op, "customer id must be 1-128 characters")
	case !ValidChannelOrder(order):
		return ChannelOrder{}, false, invalid(op, "channel order %q: one or two distinct channels among email and sms", order)
	case source != PreferenceByPortal && source != PreferenceByOperator:
		return ChannelOrder{}, false, invalid(op, "unknown source %q", source)
	case by == "" || len(by) > 200:
		return ChannelOrder{}, false, invalid(op, "author must be 1-200 characters")
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var out ChannelOrder
	var changed bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var known bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM invoices WHERE customer_id = $1)`, customerID).Scan(&known); err != nil {
			return err
		}
		if !known {
			return ErrUnknownCustomer
		}
		old, err := scanChannelOrder(tx.QueryRow(ctx, `SELECT `+channelOrderColumns+` FROM contact_preferences WHERE customer_id = $1 FOR UPDATE`, customerID))
		switch {
		case err == nil && slices.Equal(old.Order, order):
			out = old
			return nil
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if out, err = scanChannelOrder(tx.QueryRow(ctx, `
			INSERT INTO contact_preferences (customer_id, channel_order, source, changed_by)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (customer_id) DO UPDATE SET channel_order = excluded.channel_order, source = excluded.source,
				changed_by = excluded.changed_by, changed_at = now()
			RETURNING `+channelOrderColumns, customerID, order, source, by)); err != nil {
			return err
		}
		changed = true
		if audit == nil {
			return nil
		}
		_, err = insertAudit(ctx, tx, audit(out))
		return err
	})
	if err != nil {
		return ChannelOrder{}, false, wrap(op, err)
	}
	return out, changed, nil
}
