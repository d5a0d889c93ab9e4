package reports

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The SQL below follows docs/kpis.md; its names (applied, billed, refunded, ...) are
// the building blocks defined there. Every query takes the invoice filter as $3
// (currency), $4 (segment) and $5 (policy id), ” meaning any.
const filterSQL = `($3::text = '' OR i.currency = $3::bpchar)
	AND ($4::text = '' OR i.segment = $4::text)
	AND ($5::text = '' OR i.policy_id = $5::text)`

// asOfSQL sums an invoice's payments and adjustments before $2 (T). It is joined
// LATERAL to invoices i.
const asOfSQL = `
	CROSS JOIN LATERAL (
		SELECT COALESCE(sum(p.applied_minor), 0)::bigint AS applied,
			max(p.paid_at) FILTER (WHERE p.applied_minor > 0) AS last_paid
		FROM payments p WHERE p.invoice_id = i.invoice_id AND p.paid_at < $2) p
	CROSS JOIN LATERAL (
		SELECT COALESCE(sum(a.amount_minor), 0)::bigint AS total,
			COALESCE(sum(a.amount_minor) FILTER (WHERE a.kind IN
				('adjustment', 'credit_note', 'late_fee', 'interest', 'discount', 'compensation')), 0)::bigint AS billing,
			COALESCE(sum(a.amount_minor) FILTER (WHERE a.kind IN ('refund', 'chargeback')), 0)::bigint AS refunded,
			COALESCE(-sum(a.amount_minor) FILTER (WHERE a.kind = 'write_off'), 0)::bigint AS written_off,
			COALESCE(-sum(a.amount_minor) FILTER (WHERE a.kind = 'void'), 0)::bigint AS voided,
			count(*) FILTER (WHERE a.kind IN ('write_off', 'void')) AS closes,
			count(*) FILTER (WHERE a.kind = 'write_off') AS write_offs
		FROM adjustments a WHERE a.invoice_id = i.invoice_id AND a.at < $2) a`

// paidSQL: the invoice is paid as of T (balance 0, money kept, nothing written off or
// voided).
const paidSQL = `(i.amount_due_minor + a.total - p.applied = 0 AND p.applied - a.refunded > 0 AND a.closes = 0)`

// cohortSQL: the invoices issued in [$1, $2).
const cohortSQL = `
SELECT i.currency,
	count(*),
	COALESCE(sum(i.amount_due_minor), 0)::bigint,
	COALESCE(sum(i.amount_due_minor + a.billing - a.voided), 0)::bigint,
	COALESCE(sum(p.applied - a.refunded), 0)::bigint,
	COALESCE(sum(a.written_off), 0)::bigint,
	count(*) FILTER (WHERE EXISTS (
		SELECT 1 FROM escalations e WHERE e.invoice_id = i.invoice_id AND e.escalated_at < $2))
FROM invoices i` + asOfSQL + `
WHERE i.issued_at >= $1 AND i.issued_at < $2 AND ` + filterSQL + `
GROUP BY i.currency`

// paidInPeriodSQL: invoices paid as of T whose final payment is in [$1, $2).
const paidInPeriodSQL = `
SELECT i.currency,
	count(*),
	COALESCE(sum((p.last_paid AT TIME ZONE 'UTC')::date - (i.issued_at AT TIME ZONE 'UTC')::date), 0)::bigint,
	COALESCE(sum(GREATEST(0, (p.last_paid AT TIME ZONE 'UTC')::date - i.due_date)), 0)::bigint
FROM invoices i` + asOfSQL + `
WHERE i.invoice_id IN (
		SELECT invoice_id FROM payments WHERE paid_at >= $1 AND paid_at < $2 AND applied_minor > 0)
	AND ` + filterSQL + `
	AND p.last_paid >= $1 AND ` + paidSQL + `
GROUP BY i.currency`

// cashSQL: money collected and written off in [$1, $2), any invoice.
const cashSQL = `
SELECT currency, COALESCE(sum(applied), 0)::bigint, COALESCE(sum(refunded), 0)::bigint,
	COALESCE(sum(written_off), 0)::bigint
FROM (
	SELECT i.currency, p.applied_minor AS applied, 0 AS refunded, 0 AS written_off
	FROM payments p JOIN invoices i ON i.invoice_id = p.invoice_id
	WHERE p.paid_at >= $1 AND p.paid_at < $2 AND ` + filterSQL + `
	UNION ALL
	SELECT i.currency, 0,
		CASE WHEN a.kind = 'write_off' THEN 0 ELSE a.amount_minor END,
		CASE WHEN a.kind = 'write_off' THEN -a.amount_minor ELSE 0 END
	FROM adjustments a JOIN invoices i ON i.invoice_id = a.invoice_id
	WHERE a.kind IN ('refund', 'chargeback', 'write_off') AND a.at >= $1 AND a.at < $2 AND ` + filterSQL + `
) x
GROUP BY currency`

// KPI is one currency's KPIs for a period (docs/kpis.md).
type KPI struct {
	Currency              string   `json:"currency"`
	InvoicesIssued        int64    `json:"invoices_issued"`
	AmountIssued          Money    `json:"amount_issued"`
	Billed                Money    `json:"billed"`
	CollectedOnIssued     Money    `json:"collected_on_issued"`
	WrittenOffOnIssued    Money    `json:"written_off_on_issued"`
	CollectionRate        *float64 `json:"collection_rate"`
	WriteOffRate          *float64 `json:"write_off_rate"`
	InvoicesEscalated     int64    `json:"invoices_escalated"`
	EscalationRate        *float64 `json:"escalation_rate"`
	InvoicesPaid          int64    `json:"invoices_paid"`
	DaysToPayTotal        int64    `json:"days_to_pay_total"`
	DaysDelinquentTotal   int64    `json:"days_delinquent_total"`
	AverageDaysToPay      *float64 `json:"average_days_to_pay"`
	AverageDaysDelinquent *float64 `json:"average_days_delinquent"`
	Collected             Money    `json:"collected"`
	WrittenOff            Money    `json:"written_off"`
	OpeningReceivables    Money    `json:"opening_receivables"`
	ClosingReceivables    Money    `json:"closing_receivables"`
	ClosingCurrent        Money    `json:"closing_current"`
	DSO                   *float64 `json:"dso"`
	CEI                   *float64 `json:"cei"`
}

// KPIReport answers GET /v1/reports/kpis.
type KPIReport struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Currency string `json:"currency,omitempty"`
	Segment  string `json:"segment,omitempty"`
	Policy   string `json:"policy,omitempty"`
	// Currencies has one entry per currency with any activity, sorted by code.
	Currencies []KPI `json:"currencies"`
}

// KPIs computes the KPIs of the period, per currency.
func (r *Reporter) KPIs(ctx context.Context, p Period, f Filter) (KPIReport, error) {
	out := KPIReport{From: p.From.Format(time.DateOnly), To: p.To.Format(time.DateOnly),
		Currency: f.Currency, Segment: f.Segment, Policy: f.Policy, Currencies: []KPI{}}
	by := map[string]*KPI{}
	get := func(c string) *KPI {
		if k, ok := by[c]; ok {
			return k
		}
		k := &KPI{Currency: c}
		by[c] = k
		return k
	}
	start, end := p.Start(), p.End()
	args := []any{start, end, f.Currency, f.Segment, f.Policy}
	// Five queries on one snapshot, in parallel; each fills its own part, merged below.
	type cohortRow struct {
		cur                                 string
		n, issued, billed, coll, wo, escald int64
	}
	type paidRow struct {
		cur         string
		n, dtp, ddl int64
	}
	type cashRow struct {
		cur               string
		applied, refd, wo int64
	}
	var (
		cohort           []cohortRow
		paid             []paidRow
		cash             []cashRow
		opening, closing []agingRow
	)
	err := r.parallel(ctx,
		func(tx pgx.Tx) error {
			var c cohortRow
			return wrapQ("cohort", each(ctx, tx, cohortSQL, args, []any{&c.cur, &c.n, &c.issued, &c.billed, &c.coll, &c.wo, &c.escald},
				func() { cohort = append(cohort, c) }))
		},
		func(tx pgx.Tx) error {
			var c paidRow
			return wrapQ("paid in period", each(ctx, tx, paidInPeriodSQL, args, []any{&c.cur, &c.n, &c.dtp, &c.ddl},
				func() { paid = append(paid, c) }))
		},
		func(tx pgx.Tx) error {
			var c cashRow
			return wrapQ("cash", each(ctx, tx, cashSQL, args, []any{&c.cur, &c.applied, &c.refd, &c.wo},
				func() { cash = append(cash, c) }))
		},
		func(tx pgx.Tx) (err error) {
			opening, err = agingRows(ctx, tx, start, p.From.AddDate(0, 0, -1), f)
			return wrapQ("opening receivables", err)
		},
		func(tx pgx.Tx) (err error) {
			closing, err = agingRows(ctx, tx, end, p.To, f)
			return wrapQ("closing receivables", err)
		},
	)
	for _, c := range cohort {
		k := get(c.cur)
		k.InvoicesIssued, k.AmountIssued.Minor, k.Billed.Minor = c.n, c.issued, c.billed
		k.CollectedOnIssued.Minor, k.WrittenOffOnIssued.Minor, k.InvoicesEscalated = c.coll, c.wo, c.escald
	}
	for _, c := range paid {
		k := get(c.cur)
		k.InvoicesPaid, k.DaysToPayTotal, k.DaysDelinquentTotal = c.n, c.dtp, c.ddl
	}
	for _, c := range cash {
		k := get(c.cur)
		k.Collected.Minor, k.WrittenOff.Minor = c.applied-c.refd, c.wo
	}
	for _, row := range opening {
		get(row.currency).OpeningReceivables.Minor += row.amount
	}
	for _, row := range closing {
		k := get(row.currency)
		k.ClosingReceivables.Minor += row.amount
		if row.bucket == 0 {
			k.ClosingCurrent.Minor += row.amount
		}
	}
	if err != nil {
		return KPIReport{}, fmt.Errorf("reports: kpis: %w", err)
	}
	for _, c := range currencies(by) {
		k := by[c]
		k.finish(p.Days())
		out.Currencies = append(out.Currencies, *k)
	}
	return out, nil
}

// finish sets the currency on every amount and computes the ratios.
func (k *KPI) finish(days int64) {
	for _, m := range []*Money{&k.AmountIssued, &k.Billed, &k.CollectedOnIssued, &k.WrittenOffOnIssued,
		&k.Collected, &k.WrittenOff, &k.OpeningReceivables, &k.ClosingReceivables, &k.ClosingCurrent} {
		m.Currency = k.Currency
	}
	k.CollectionRate = rate(k.CollectedOnIssued.Minor, k.Billed.Minor)
	k.WriteOffRate = rate(k.WrittenOffOnIssued.Minor, k.Billed.Minor)
	k.EscalationRate = rate(k.InvoicesEscalated, k.InvoicesIssued)
	if k.InvoicesPaid > 0 {
		k.AverageDaysToPay = round(float64(k.DaysToPayTotal)/float64(k.InvoicesPaid), 2)
		k.AverageDaysDelinquent = round(float64(k.DaysDelinquentTotal)/float64(k.InvoicesPaid), 2)
	}
	if k.AmountIssued.Minor > 0 {
		k.DSO = round(float64(k.ClosingReceivables.Minor)/float64(k.AmountIssued.Minor)*float64(days), 2)
	}
	num := k.OpeningReceivables.Minor + k.AmountIssued.Minor - k.ClosingReceivables.Minor
	den := k.OpeningReceivables.Minor + k.AmountIssued.Minor - k.ClosingCurrent.Minor
	if den != 0 {
		k.CEI = round(float64(num)/float64(den)*100, 2)
	}
}

// each runs a query and calls fn after scanning every row into dest.
func each(ctx context.Context, tx pgx.Tx, sql string, args, dest []any, fn func()) error {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	_, err = pgx.ForEachRow(rows, dest, func() error { fn(); return nil })
	return err
}

// wrapQ names the query that failed.
func wrapQ(name string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
