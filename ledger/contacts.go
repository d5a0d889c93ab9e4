package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ContactReservation asks for one of a customer's daily contact slots.
type ContactReservation struct {
	// Key identifies the contact: "<invoice>/<step>".
	Key        string
	CustomerID string
	InvoiceID  string
	// LocalDay is the customer's calendar day of the contact ("2026-12-24").
	LocalDay string
	// At is when the contact is to happen.
	At time.Time
	// Max is how many contacts the customer may receive that day (at least 1).
	Max int
}

// ContactDecision answers a ContactReservation.
type ContactDecision struct {
	// Allowed: the contact holds a slot (a new one, or the one it reserved before).
	Allowed bool
	// Again: the key had reserved its slot before (an activity retry); LocalDay is then
	// the day of that reservation.
	Again    bool
	LocalDay string
	// Count is how many contacts the customer holds on LocalDay, this one included
	// when Allowed.
	Count int
}

// contactLockClass namespaces the per-customer advisory locks of ReserveContact.
const contactLockClass = 0x0c0c

// ReserveContact takes one of the customer's contact slots for r.LocalDay, unless r.Max
// are already taken. It is idempotent on r.Key: a key that holds a slot (on any day)
// is allowed again and takes no second one. Concurrent reservations for one customer
// are serialised by a transaction-scoped advisory lock on the customer id, so the cap
// holds across invoices and workers. The invoice must exist (else ErrNotFound).
func (s *Store) ReserveContact(ctx context.Context, r ContactReservation) (ContactDecision, error) {
	const op = "reserve contact"
	if r.Key == "" || r.CustomerID == "" || r.InvoiceID == "" {
		return ContactDecision{}, invalid(op, "empty key, customer or invoice")
	}
	if r.Max < 1 {
		return ContactDecision{}, invalid(op, "%s: max %d must be at least 1", r.Key, r.Max)
	}
	day, err := time.Parse(time.DateOnly, r.LocalDay)
	if err != nil {
		return ContactDecision{}, invalid(op, "%s: local day %q is not a date", r.Key, r.LocalDay)
	}
	if r.At.IsZero() {
		return ContactDecision{}, invalid(op, "%s: time is zero", r.Key)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var d ContactDecision
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, contactLockClass, r.CustomerID); err != nil {
			return err
		}
		var held time.Time
		err := tx.QueryRow(ctx, `SELECT local_day FROM contact_reservations WHERE contact_key = $1`, r.Key).Scan(&held)
		switch {
		case err == nil:
			d.Allowed, d.Again, d.LocalDay = true, true, held.Format(time.DateOnly)
			return tx.QueryRow(ctx, `SELECT count(*) FROM contact_reservations WHERE customer_id = $1 AND local_day = $2`,
				r.CustomerID, held).Scan(&d.Count)
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		d.LocalDay = r.LocalDay
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM contact_reservations WHERE customer_id = $1 AND local_day = $2`,
			r.CustomerID, day).Scan(&d.Count); err != nil {
			return err
		}
		if d.Count >= r.Max {
			return nil
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO contact_reservations (contact_key, customer_id, invoice_id, local_day, at)
			VALUES ($1, $2, $3, $4, $5)`, r.Key, r.CustomerID, r.InvoiceID, day, r.At); err != nil {
			return err
		}
		d.Allowed = true
		d.Count++
		return nil
	})
	if err != nil {
		return ContactDecision{}, wrap(fmt.Sprintf("%s %s", op, r.Key), err)
	}
	return d, nil
}
