package ledger

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Channels a notice, an address and an opt-out belong to.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
	// ChannelCall is a phone number's calls: its opt-out stops call tasks (the
	// customer asked not to be called, or a collector found the number wrong).
	ChannelCall = "call"
)

// optOutChannel reports whether channel may be opted out of.
func optOutChannel(channel string) bool {
	return channel == ChannelEmail || channel == ChannelSMS || channel == ChannelCall
}

// OptOutSource says what opted an address out, or back in.
type OptOutSource string

// Opt-out sources. The first six opt out; SourceStart and SourceResubscribe opt back
// in; SourceOperator and SourcePortal may do either; SourceWrongNumber opts a phone
// out of SMS and calls.
const (
	SourceStop        OptOutSource = "stop"         // an SMS keyword: STOP, STOPALL, UNSUBSCRIBE, ...
	SourceUnsubscribe OptOutSource = "unsubscribe"  // an email unsubscribe (link or group)
	SourceSpamReport  OptOutSource = "spamreport"   // the recipient marked an email as spam
	SourceBounce      OptOutSource = "bounce"       // a hard bounce: the address does not exist
	SourceDropped     OptOutSource = "dropped"      // the provider refused to send (suppressed address)
	SourceInvalid     OptOutSource = "invalid"      // the provider said the address can never receive
	SourceStart       OptOutSource = "start"        // an SMS keyword: START, YES, UNSTOP
	SourceResubscribe OptOutSource = "resubscribe"  // an email group resubscribe
	SourceOperator    OptOutSource = "operator"     // an operator's decision
	SourcePortal      OptOutSource = "portal"       // the customer's choice on the portal (either way)
	SourceWrongNumber OptOutSource = "wrong_number" // a collector's call reached someone else
)

var optOutSources = map[OptOutSource]bool{
	SourceStop: true, SourceUnsubscribe: true, SourceSpamReport: true, SourceBounce: true,
	SourceDropped: true, SourceInvalid: true, SourceStart: true, SourceResubscribe: true, SourceOperator: true,
	SourcePortal: true, SourceWrongNumber: true,
}

// NormalizeAddress is how addresses are stored and compared: email addresses trimmed
// and lower-cased, phone numbers trimmed (they are E.164 already).
func NormalizeAddress(channel, address string) string {
	address = strings.TrimSpace(address)
	if channel == ChannelEmail {
		return strings.ToLower(address)
	}
	return address
}

// OptOutChange is one opt-out or opt-in reported by a provider (or an operator).
type OptOutChange struct {
	// EventID de-duplicates: "<provider>:<provider event id>". A change with an
	// EventID already recorded changes nothing.
	EventID string
	Channel string // ChannelEmail or ChannelSMS
	Address string
	// CustomerIDs are the customers the change is known to concern (the invoice's
	// customer of an email event). Those seen at Address in contact_addresses are
	// added to them.
	CustomerIDs []string
	// OptedOut is true for an opt-out, false for an opt back in.
	OptedOut bool
	Source   OptOutSource
	// At is when the provider saw it; an older change never overrides a newer one.
	At time.Time
}

// OptOutResult says what RecordOptOut did.
type OptOutResult struct {
	// Duplicate is true when the event id was recorded before; nothing changed.
	Duplicate bool
	// CustomerIDs are every customer known at the address (from the change and from
	// contact_addresses), sorted: whose open invoices to tell.
	CustomerIDs []string
}

func validateOptOut(op string, c OptOutChange) error {
	switch {
	case c.EventID == "" || len(c.EventID) > 300:
		return invalid(op, "event id must be 1-300 characters")
	case !optOutChannel(c.Channel):
		return invalid(op, "unknown channel %q", c.Channel)
	case strings.TrimSpace(c.Address) == "" || len(c.Address) > 320:
		return invalid(op, "address must be 1-320 characters")
	case !optOutSources[c.Source]:
		return invalid(op, "unknown source %q", c.Source)
	case c.At.IsZero():
		return invalid(op, "time is zero")
	}
	for _, id := range c.CustomerIDs {
		if id == "" {
			return invalid(op, "empty customer id")
		}
	}
	return nil
}

// RecordOptOut records an opt-out (or opt-in) of one channel address, once per event
// id, in one transaction: the event in opt_out_events and the current state in
// opt_outs, for every customer known at the address (and for no customer, the empty id, when
// none is). A change older than the stored state of a row leaves that row alone, so
// a late STOP never undoes a newer START. A duplicate event still returns the
// customers, so a caller that retries after a failure can tell them again.
func (s *Store) RecordOptOut(ctx context.Context, c OptOutChange) (OptOutResult, error) {
	const op = "record opt-out"
	if err := validateOptOut(op, c); err != nil {
		return OptOutResult{}, err
	}
	addr := NormalizeAddress(c.Channel, c.Address)
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var res OptOutResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		known, err := customersAt(ctx, tx, c.Channel, addr)
		if err != nil {
			return err
		}
		customers := append(append([]string{}, c.CustomerIDs...), known...)
		slices.Sort(customers)
		res.CustomerIDs = slices.Compact(customers)

		tag, err := tx.Exec(ctx, `
			INSERT INTO opt_out_events (event_id, channel, address, customer_ids, opted_out, source, at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (event_id) DO NOTHING`,
			c.EventID, c.Channel, addr, res.CustomerIDs, c.OptedOut, string(c.Source), c.At)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			res.Duplicate = true
			return nil
		}
		rows := res.CustomerIDs
		if len(rows) == 0 {
			rows = []string{""}
		}
		if !c.OptedOut {
			// An opt-in applies to every row of the address, whoever it was for.
			rows = append(rows, "")
			_, err = tx.Exec(ctx, `
				UPDATE opt_outs SET opted_out = false, source = $3, changed_at = $4, recorded_at = now()
				WHERE channel = $1 AND address = $2 AND changed_at <= $4`,
				c.Channel, addr, string(c.Source), c.At)
			if err != nil {
				return err
			}
		}
		for _, customer := range slices.Compact(rows) {
			_, err = tx.Exec(ctx, `
				INSERT INTO opt_outs (channel, address, customer_id, opted_out, source, changed_at)
				VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (channel, address, customer_id) DO UPDATE
				SET opted_out = EXCLUDED.opted_out, source = EXCLUDED.source,
					changed_at = EXCLUDED.changed_at, recorded_at = now()
				WHERE opt_outs.changed_at <= EXCLUDED.changed_at`,
				c.Channel, addr, customer, c.OptedOut, string(c.Source), c.At)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return OptOutResult{}, wrap(op, err)
	}
	return res, nil
}

// customersAt lists the customers contacted at a channel address.
func customersAt(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, channel, addr string) ([]string, error) {
	rows, err := q.Query(ctx, `
		SELECT customer_id FROM contact_addresses WHERE channel = $1 AND address = $2
		UNION SELECT customer_id FROM opt_outs WHERE channel = $1 AND address = $2 AND customer_id <> ''
		ORDER BY 1`, channel, addr)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// OptOut is the current opt-out state of a channel address.
type OptOut struct {
	Channel    string
	Address    string
	CustomerID string // '' when no customer was known
	OptedOut   bool
	Source     OptOutSource
	ChangedAt  time.Time
}

// OptedOut reports whether a channel address is opted out, and the row that says so
// (the newest one when several customers share the address). An address never seen
// is not opted out.
func (s *Store) OptedOut(ctx context.Context, channel, address string) (OptOut, bool, error) {
	const op = "check opt-out"
	if !optOutChannel(channel) {
		return OptOut{}, false, invalid(op, "unknown channel %q", channel)
	}
	addr := NormalizeAddress(channel, address)
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	return scanOptOut(op, s.pool.QueryRow(ctx, `
		SELECT channel, address, customer_id, opted_out, source, changed_at FROM opt_outs
		WHERE channel = $1 AND address = $2 AND opted_out
		ORDER BY changed_at DESC LIMIT 1`, channel, addr))
}

// scanOptOut reads one opt_outs row; false when there is none.
func scanOptOut(op string, row pgx.Row) (OptOut, bool, error) {
	var o OptOut
	err := row.Scan(&o.Channel, &o.Address, &o.CustomerID, &o.OptedOut, &o.Source, &o.ChangedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return OptOut{}, false, nil
	}
	if err != nil {
		return OptOut{}, false, wrap(op, err)
	}
	o.ChangedAt = o.ChangedAt.UTC()
	return o, true, nil
}

// ListOptOuts returns a customer's opt-out rows (opted out or back in), newest first.
func (s *Store) ListOptOuts(ctx context.Context, customerID string) ([]OptOut, error) {
	return queryRows(ctx, s, "list opt-outs", func(row pgx.CollectableRow) (OptOut, error) {
		var o OptOut
		err := row.Scan(&o.Channel, &o.Address, &o.CustomerID, &o.OptedOut, &o.Source, &o.ChangedAt)
		o.ChangedAt = o.ChangedAt.UTC()
		return o, err
	}, `
		SELECT channel, address, customer_id, opted_out, source, changed_at FROM opt_outs
		WHERE customer_id = $1 ORDER BY changed_at DESC, channel`, customerID)
}

// RememberAddress records that a customer is contacted at a channel address, so an
// inbound STOP from it finds the customer. Repeating it only moves last_used_at.
func (s *Store) RememberAddress(ctx context.Context, channel, address, customerID string) error {
	const op = "remember address"
	addr := NormalizeAddress(channel, address)
	switch {
	case channel != ChannelEmail && channel != ChannelSMS:
		return invalid(op, "unknown channel %q", channel)
	case addr == "" || len(addr) > 320:
		return invalid(op, "address must be 1-320 characters")
	case customerID == "":
		return invalid(op, "empty customer id")
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `
		INSERT INTO contact_addresses (channel, address, customer_id) VALUES ($1, $2, $3)
		ON CONFLICT (channel, address, customer_id) DO UPDATE SET last_used_at = now()`,
		channel, addr, customerID)
	return wrap(op, err)
}

// OptedOutElseRemember is OptedOut and, when the address is not opted out,
// RememberAddress(channel, address, customerID), in one statement (one round trip):
// what a send asks right before it calls the provider. customerID "" remembers nothing.
func (s *Store) OptedOutElseRemember(ctx context.Context, channel, address, customerID string) (OptOut, bool, error) {
	const op = "check opt-out and remember the address"
	addr := NormalizeAddress(channel, address)
	switch {
	case channel != ChannelEmail && channel != ChannelSMS:
		return OptOut{}, false, invalid(op, "unknown channel %q", channel)
	case customerID != "" && (addr == "" || len(addr) > 320):
		return OptOut{}, false, invalid(op, "address must be 1-320 characters")
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	return scanOptOut(op, s.pool.QueryRow(ctx, `
		WITH opted AS (
			SELECT channel, address, customer_id, opted_out, source, changed_at FROM opt_outs
			WHERE channel = $1 AND address = $2 AND opted_out
			ORDER BY changed_at DESC LIMIT 1
		), remembered AS (
			INSERT INTO contact_addresses (channel, address, customer_id)
			SELECT $1, $2, $3 WHERE $3 <> '' AND NOT EXISTS (SELECT 1 FROM opted)
			ON CONFLICT (channel, address, customer_id) DO UPDATE SET last_used_at = now()
		)
		SELECT channel, address, customer_id, opted_out, source, changed_at FROM opted`, channel, addr, customerID))
}

// CustomersAt lists the customers contacted at a channel address, sorted.
func (s *Store) CustomersAt(ctx context.Context, channel, address string) ([]string, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	out, err := customersAt(ctx, s.pool, channel, NormalizeAddress(channel, address))
	return out, wrap("customers at address", err)
}

// maxOpenInvoices bounds how many open invoices OpenInvoicesOf returns.
const maxOpenInvoices = 10_000

// OpenInvoicesOf lists the ids of the customers' invoices that are not closed (not
// paid, cancelled or written off), at most 10,000, sorted.
func (s *Store) OpenInvoicesOf(ctx context.Context, customerIDs []string) ([]string, error) {
	if len(customerIDs) == 0 {
		return nil, nil
	}
	return queryRows(ctx, s, "open invoices of customers", pgx.RowTo[string], `
		SELECT invoice_id FROM invoices WHERE customer_id = ANY($1) AND closed_at IS NULL
		ORDER BY invoice_id LIMIT $2`, customerIDs, maxOpenInvoices)
}

// CustomerOf returns an invoice's customer id, or ErrNotFound.
func (s *Store) CustomerOf(ctx context.Context, invoiceID string) (string, error) {
	return queryOne(ctx, s, "customer of invoice "+invoiceID, pgx.RowTo[string],
		`SELECT customer_id FROM invoices WHERE invoice_id = $1`, invoiceID)
}
