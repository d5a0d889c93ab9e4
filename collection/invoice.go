// Package collection is Dunwell's pure decision logic: the invoice, its collection
// state, and what happens next and when. It imports neither Temporal nor a database,
// so every rule is unit-tested with plain values; the workflow calls it to decide and
// then does what it says.
package collection

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/dunwell/dunwell/policy"
)

// Customer is who an invoice is addressed to. Name, Email, Phone and Address are
// personal data.
type Customer struct {
	ID       string           `json:"id"`
	Name     string           `json:"name"`
	Email    string           `json:"email,omitempty"`
	Phone    string           `json:"phone,omitempty"` // E.164
	Timezone string           `json:"timezone"`        // IANA
	Locale   string           `json:"locale,omitempty"`
	Segment  string           `json:"segment,omitempty"`
	Channels []policy.Channel `json:"channels,omitempty"` // channels the customer may be contacted on; empty means every channel they have an address for
	// Address is the postal address letters go to; nil: none, and letter steps fall
	// back to their next channel.
	Address *Address `json:"address,omitempty"`
}

// Invoice is an issued invoice, with amounts in minor units of Currency.
type Invoice struct {
	ID         string            `json:"id"`
	Customer   Customer          `json:"customer"`
	Currency   string            `json:"currency"`
	AmountDue  int64             `json:"amount_due_minor"`
	IssuedAt   time.Time         `json:"issued_at"`
	DueDate    Date              `json:"due_date"`
	PaymentURL string            `json:"payment_url,omitempty"`
	PolicyID   string            `json:"policy,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
}

// Location returns the customer's timezone; an unknown zone (validated away at the
// API) falls back to UTC rather than failing inside a workflow.
func (inv *Invoice) Location() *time.Location {
	loc, err := time.LoadLocation(inv.Customer.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// DueEnd is the first instant after the due date in the customer's timezone: from then
// on the invoice is overdue.
func (inv *Invoice) DueEnd() time.Time {
	return inv.DueDate.In(inv.Location()).AddDate(0, 0, 1)
}

// Reachable reports whether the customer can be contacted on channel c: they have an
// address for it and have not limited themselves to other channels.
func (c *Customer) Reachable(ch policy.Channel) bool {
	switch ch {
	case policy.Email:
		if c.Email == "" {
			return false
		}
	case policy.SMS, policy.Call:
		if c.Phone == "" {
			return false
		}
	case policy.Letter:
		if c.Address == nil {
			return false
		}
	default:
		return false
	}
	if len(c.Channels) == 0 {
		return true
	}
	for _, allowed := range c.Channels {
		if allowed == ch {
			return true
		}
	}
	return false
}

// Date is a calendar date without a time or zone ("2026-12-01").
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads "YYYY-MM-DD" and rejects impossible dates (2026-02-30).
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date like \"2026-12-01\"", s)
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

// In returns midnight at the start of the date in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d == Date{} }

// String renders YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// MarshalJSON writes the date as "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "YYYY-MM-DD".
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// DateOf is the calendar date of t in t's location.
func DateOf(t time.Time) Date { return Date{t.Year(), t.Month(), t.Day()} }

// AddDays returns the date n days later (earlier for negative n).
func (d Date) AddDays(n int) Date { return DateOf(d.In(time.UTC).AddDate(0, 0, n)) }

// Before reports whether d comes before e.
func (d Date) Before(e Date) bool { return d.In(time.UTC).Before(e.In(time.UTC)) }

// After reports whether d comes after e.
func (d Date) After(e Date) bool { return e.Before(d) }

// ParseDeadline reads a date ("2026-12-10": the end of that day in loc) or an exact
// RFC 3339 time ("2026-12-10T17:00:00Z"), and returns the local date and, for a time,
// the instant (zero for a plain date).
func ParseDeadline(s string, loc *time.Location) (Date, time.Time, error) {
	if len(s) > len(time.DateOnly) {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return Date{}, time.Time{}, fmt.Errorf("%q is neither a date like \"2026-12-01\" nor an RFC 3339 time", s)
		}
		return DateOf(t.In(loc)), t.UTC(), nil
	}
	d, err := ParseDate(s)
	return d, time.Time{}, err
}
