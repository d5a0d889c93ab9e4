package reports

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// BankReport is how cash application performs, per currency: bank credits booked in
// the period and how they were applied, and what waits in the unmatched queue now.
type BankReport struct {
	From       string         `json:"from"`
	To         string         `json:"to"`
	Currencies []BankCurrency `json:"currencies"`
}

// BankCurrency is one currency's figures (docs/kpis.md#cash-application).
type BankCurrency struct {
	Currency string `json:"currency"`
	// Credits: booked credits (not reversals) imported in the period, and their sum.
	Credits      int64 `json:"credits"`
	CreditAmount Money `json:"credit_amount"`
	// AutoMatched, OperatorMatched, Unmatched, Ignored split Credits by what became of them.
	AutoMatched     int64 `json:"auto_matched"`
	OperatorMatched int64 `json:"operator_matched"`
	Unmatched       int64 `json:"unmatched"`
	Ignored         int64 `json:"ignored"`
	// AutoMatchedShare is AutoMatched / Credits (4 decimals), null without credits.
	AutoMatchedShare *float64 `json:"auto_matched_share"`
	// HoursToApplication: from the booking date to the moment the last of the
	// credit's payments was applied to its invoice, over the credits of the period
	// fully applied; average and median, in hours (2 decimals), null if none.
	Applied                   int64    `json:"applied"`
	AverageHoursToApplication *float64 `json:"average_hours_to_application"`
	MedianHoursToApplication  *float64 `json:"median_hours_to_application"`
	// UnmatchedNow and UnmatchedAmountNow: the whole unmatched queue at the time of
	// the report, whenever the credits were imported.
	UnmatchedNow       int64 `json:"unmatched_now"`
	UnmatchedAmountNow Money `json:"unmatched_amount_now"`
}

// Bank computes the cash application report for credits imported in p.
func (r *Reporter) Bank(ctx context.Context, p Period) (BankReport, error) {
	out := BankReport{From: p.From.Format(time.DateOnly), To: p.To.Format(time.DateOnly), Currencies: []BankCurrency{}}
	err := r.snapshot(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			WITH credits AS (
				SELECT t.*, (SELECT max(w.applied_at) FROM webhook_events w
						WHERE w.source = 'bank' AND w.payment_id = 'bank-' || t.id) AS last_applied,
					(SELECT bool_and(w.status = 'applied') FROM webhook_events w
						WHERE w.source = 'bank' AND w.payment_id = 'bank-' || t.id) AS all_applied
				FROM bank_transactions t
				WHERE t.credit AND NOT t.reversal AND t.booking = 'booked'
					AND t.imported_at >= $1 AND t.imported_at < $2),
			period AS (
				SELECT currency, count(*) AS credits, sum(amount_minor)::bigint AS amount,
					count(*) FILTER (WHERE status = 'matched' AND method <> 'operator') AS auto,
					count(*) FILTER (WHERE status = 'matched' AND method = 'operator') AS operator,
					count(*) FILTER (WHERE status = 'unmatched') AS unmatched,
					count(*) FILTER (WHERE status = 'ignored') AS ignored,
					count(*) FILTER (WHERE all_applied) AS applied,
					avg(extract(epoch FROM last_applied - coalesce(booked_at, imported_at)) / 3600) FILTER (WHERE all_applied) AS avg_hours,
					percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM last_applied - coalesce(booked_at, imported_at)) / 3600)
						FILTER (WHERE all_applied) AS median_hours
				FROM credits GROUP BY currency),
			queue AS (
				SELECT currency, count(*) AS n, sum(amount_minor)::bigint AS amount
				FROM bank_transactions WHERE status = 'unmatched' GROUP BY currency)
			SELECT coalesce(p.currency, q.currency), coalesce(p.credits, 0), coalesce(p.amount, 0), coalesce(p.auto, 0),
				coalesce(p.operator, 0), coalesce(p.unmatched, 0), coalesce(p.ignored, 0), coalesce(p.applied, 0),
				p.avg_hours::float8, p.median_hours::float8, coalesce(q.n, 0), coalesce(q.amount, 0)
			FROM period p FULL JOIN queue q ON q.currency = p.currency
			ORDER BY 1`, p.Start(), p.End())
		if err != nil {
			return err
		}
		var (
			c           BankCurrency
			amt, queued int64
			avg, median *float64
		)
		_, err = pgx.ForEachRow(rows, []any{&c.Currency, &c.Credits, &amt, &c.AutoMatched, &c.OperatorMatched, &c.Unmatched,
			&c.Ignored, &c.Applied, &avg, &median, &c.UnmatchedNow, &queued}, func() error {
			row := c
			row.CreditAmount = Money{Minor: amt, Currency: c.Currency}
			row.UnmatchedAmountNow = Money{Minor: queued, Currency: c.Currency}
			row.AutoMatchedShare = rate(c.AutoMatched, c.Credits)
			if avg != nil {
				row.AverageHoursToApplication = round(*avg, 2)
			}
			if median != nil {
				row.MedianHoursToApplication = round(*median, 2)
			}
			out.Currencies = append(out.Currencies, row)
			return nil
		})
		return err
	})
	return out, err
}
