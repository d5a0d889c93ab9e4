// Package reports computes Dunwell's collections reports from the ledger in
// PostgreSQL: KPIs (DSO, CEI, days to pay, collection, write-off and escalation rates),
// the aging of the open balance, step effectiveness and one customer's payment
// behaviour. docs/kpis.md defines every figure; each report is one SQL query or a
// few, run in one read-only snapshot, never a query per invoice or per workflow.
//
// Money is summed exactly in integer minor units and always per currency.
package reports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dunwell/dunwell/money"
)

// Limits of the parameters.
const (
	// MaxPeriodDays is the longest period a report covers.
	MaxPeriodDays = 3660
	// DefaultPeriodDays is the period when none is given: the 30 days ending today.
	DefaultPeriodDays = 30
	// DefaultWithinDays is step effectiveness's default window after a notice.
	DefaultWithinDays = 7
	// MaxWithinDays bounds that window.
	MaxWithinDays = 365
	// queryTimeout bounds one report.
	queryTimeout = 30 * time.Second
)

// ErrNotFound is returned for a customer without any invoice.
var ErrNotFound = errors.New("not found")

// Reporter runs the reports against the ledger's database. It is safe for
// concurrent use.
type Reporter struct {
	pool *pgxpool.Pool
	// Now is the clock (default time.Now); it decides "today".
	Now func() time.Time
}

// New returns a Reporter on the ledger's pool (ledger.Store.Pool()).
func New(pool *pgxpool.Pool) *Reporter { return &Reporter{pool: pool} }

func (r *Reporter) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

// Today returns the current UTC date at midnight.
func (r *Reporter) Today() time.Time { return Day(r.now()) }

// Day returns t's UTC calendar date at midnight.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Money is an amount in minor units of a currency; it travels in JSON as a decimal
// string in major units ("1250.00", "1250" for JPY, "1.250" for KWD).
type Money struct {
	Minor    int64
	Currency string
}

// String formats m in major units without the currency code.
func (m Money) String() string { return money.Format(m.Minor, m.Currency) }

// MarshalJSON writes the decimal string.
func (m Money) MarshalJSON() ([]byte, error) { return json.Marshal(m.String()) }

// Filter restricts the invoices a report looks at; empty fields match everything.
type Filter struct {
	Currency string // ISO 4217
	Segment  string
	Policy   string // policy id
}

var (
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
	// labelRE is what a segment or policy id may look like in a filter.
	labelRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)
)

// Validate names each bad field ("currency", "segment", "policy").
func (f Filter) Validate() map[string]string {
	bad := map[string]string{}
	if f.Currency != "" && (!currencyRE.MatchString(f.Currency) || !money.ValidCurrency(f.Currency)) {
		bad["currency"] = "must be an ISO 4217 code like USD"
	}
	if f.Segment != "" && !labelRE.MatchString(f.Segment) {
		bad["segment"] = "must be 1-64 letters, digits or . _ : -"
	}
	if f.Policy != "" && !labelRE.MatchString(f.Policy) {
		bad["policy"] = "must be 1-64 letters, digits or . _ : -"
	}
	return bad
}

// Period is a range of UTC calendar dates, both included.
type Period struct {
	From time.Time // midnight UTC
	To   time.Time // midnight UTC, >= From
}

// Start is the first instant of the period.
func (p Period) Start() time.Time { return p.From }

// End is the instant just after the period (To + 1 day, 00:00 UTC): "T" in docs/kpis.md.
func (p Period) End() time.Time { return p.To.AddDate(0, 0, 1) }

// Days is the number of days in the period.
func (p Period) Days() int64 { return int64(p.End().Sub(p.Start()) / (24 * time.Hour)) }

// Validate checks order and length.
func (p Period) Validate() map[string]string {
	bad := map[string]string{}
	switch {
	case p.To.Before(p.From):
		bad["to"] = "must not be before from"
	case p.Days() > MaxPeriodDays:
		bad["from"] = fmt.Sprintf("the period is longer than %d days", MaxPeriodDays)
	}
	return bad
}

// rate returns num/den rounded to 4 decimals, or nil when den is 0.
func rate(num, den int64) *float64 {
	if den == 0 {
		return nil
	}
	return round(float64(num)/float64(den), 4)
}

func round(v float64, places int) *float64 {
	f := math.Pow10(places)
	r := math.Round(v*f) / f
	return &r
}

// snapshot runs fn in one read-only, repeatable-read transaction so that every query
// of a report sees the same ledger.
func (r *Reporter) snapshot(ctx context.Context, fn func(pgx.Tx) error) error {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	return pgx.BeginTxFunc(ctx, r.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// parallelSlot lets one report at a time in the process spread its queries over
// several connections, so that reports never take the whole pool from the API's
// payments; any other runs its queries one after the other.
var parallelSlot = make(chan struct{}, 1)

// minParallelConns is the smallest pool that parallel spreads queries over.
const minParallelConns = 8

// parallel runs each fn in its own read-only transaction, at the same time on
// separate connections, all on one snapshot: the first transaction exports its
// snapshot (pg_export_snapshot) and the others import it, so together they see the
// ledger as one query would. When another report holds the parallel slot, or the
// pool is small, the fns run in turn in one transaction instead. The fns must only
// read and must not share state unguarded.
func (r *Reporter) parallel(ctx context.Context, fns ...func(pgx.Tx) error) error {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	lead, err := r.pool.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer func() { _ = lead.Rollback(ctx) }()
	sequential := func() error {
		for _, fn := range fns {
			if err := fn(lead); err != nil {
				return err
			}
		}
		return nil
	}
	if r.pool.Config().MaxConns < minParallelConns {
		return sequential()
	}
	select {
	case parallelSlot <- struct{}{}:
		defer func() { <-parallelSlot }()
	default:
		return sequential()
	}
	var snap string
	if err := lead.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&snap); err != nil {
		return err
	}
	errs := make(chan error, len(fns))
	for _, fn := range fns[1:] {
		go func() {
			errs <- pgx.BeginTxFunc(ctx, r.pool, opts, func(tx pgx.Tx) error {
				// The snapshot id is PostgreSQL's own token; it cannot be a parameter.
				if _, err := tx.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+strings.ReplaceAll(snap, "'", "")+"'"); err != nil {
					return err
				}
				return fn(tx)
			})
		}()
	}
	first := fns[0](lead)
	var all []error
	for range fns[1:] {
		all = append(all, <-errs) // the lead stays open until every import is done
	}
	return errors.Join(append(all, first)...)
}

// currencies returns the keys of m in order.
func currencies[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
