package reports

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Buckets are the aging buckets in order, by days past due.
var Buckets = []string{"current", "1_30", "31_60", "61_90", "90_plus"}

// agingSQL: the open balance as of $2 (T) by currency and bucket of days past due on
// $1 (the date D = T - 1 day). Invoices closed before T hold a zero balance and are
// skipped (invoices_closed_at_idx); the sums are index-only scans.
const agingSQL = `
SELECT i.currency,
	CASE WHEN $1::date - i.due_date <= 0 THEN 0
		WHEN $1::date - i.due_date <= 30 THEN 1
		WHEN $1::date - i.due_date <= 60 THEN 2
		WHEN $1::date - i.due_date <= 90 THEN 3
		ELSE 4 END AS bucket,
	count(*),
	sum(i.amount_due_minor + a.total - p.applied)::bigint
FROM invoices i
CROSS JOIN LATERAL (SELECT COALESCE(sum(a.amount_minor), 0)::bigint AS total
	FROM adjustments a WHERE a.invoice_id = i.invoice_id AND a.at < $2) a
CROSS JOIN LATERAL (SELECT COALESCE(sum(p.applied_minor), 0)::bigint AS applied
	FROM payments p WHERE p.invoice_id = i.invoice_id AND p.paid_at < $2) p
WHERE i.issued_at < $2 AND (i.closed_at IS NULL OR i.closed_at >= $2)
	AND ` + filterSQL + `
	AND i.amount_due_minor + a.total - p.applied > 0
GROUP BY 1, 2`

type agingRow struct {
	currency string
	bucket   int
	count    int64
	amount   int64
}

// agingRows runs agingSQL as of end (T) with days past due counted on day.
func agingRows(ctx context.Context, tx pgx.Tx, end, day time.Time, f Filter) ([]agingRow, error) {
	var (
		out []agingRow
		row agingRow
	)
	err := each(ctx, tx, agingSQL, []any{day, end, f.Currency, f.Segment, f.Policy},
		[]any{&row.currency, &row.bucket, &row.count, &row.amount}, func() { out = append(out, row) })
	return out, err
}

// Bucket is one aging bucket of one currency.
type Bucket struct {
	Bucket   string `json:"bucket"`
	Invoices int64  `json:"invoices"`
	Amount   Money  `json:"amount"`
}

// Aging is one currency's open balance by bucket.
type Aging struct {
	Currency string   `json:"currency"`
	Buckets  []Bucket `json:"buckets"` // every bucket of Buckets, in order
	Invoices int64    `json:"invoices"`
	Total    Money    `json:"total"`
}

// AgingReport answers GET /v1/reports/aging.
type AgingReport struct {
	AsOf       string  `json:"as_of"`
	Currency   string  `json:"currency,omitempty"`
	Segment    string  `json:"segment,omitempty"`
	Policy     string  `json:"policy,omitempty"`
	Currencies []Aging `json:"currencies"`
}

// Aging returns the open balance at the end of day asOf (a UTC date), per currency.
func (r *Reporter) Aging(ctx context.Context, asOf time.Time, f Filter) (AgingReport, error) {
	asOf = Day(asOf)
	out := AgingReport{AsOf: asOf.Format(time.DateOnly), Currency: f.Currency, Segment: f.Segment,
		Policy: f.Policy, Currencies: []Aging{}}
	var rows []agingRow
	err := r.snapshot(ctx, func(tx pgx.Tx) error {
		var err error
		rows, err = agingRows(ctx, tx, asOf.AddDate(0, 0, 1), asOf, f)
		return err
	})
	if err != nil {
		return AgingReport{}, fmt.Errorf("reports: aging: %w", err)
	}
	by := map[string]*Aging{}
	for _, row := range rows {
		a, ok := by[row.currency]
		if !ok {
			a = &Aging{Currency: row.currency, Total: Money{Currency: row.currency}}
			for _, name := range Buckets {
				a.Buckets = append(a.Buckets, Bucket{Bucket: name, Amount: Money{Currency: row.currency}})
			}
			by[row.currency] = a
		}
		b := &a.Buckets[row.bucket]
		b.Invoices += row.count
		b.Amount.Minor += row.amount
		a.Invoices += row.count
		a.Total.Minor += row.amount
	}
	for _, c := range currencies(by) {
		out.Currencies = append(out.Currencies, *by[c])
	}
	return out, nil
}
