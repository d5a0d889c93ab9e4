package reports

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The trend: DSO and the collection rate month by month (docs/kpis.md, "Trend").

// Limits of the trend.
const (
	// DefaultTrendMonths is how many months the trend covers when none is given.
	DefaultTrendMonths = 12
	// MaxTrendMonths bounds it.
	MaxTrendMonths = 36
)

// trendReceivablesSQL: the receivables as a running total. Each row of the ledger
// moves the sum of the balances of issued invoices: an invoice adds its amount due
// when it is issued, an adjustment its amount and a payment minus its applied amount,
// each at the later of its own time and the invoice's issue (an invoice counts only
// once issued). Before $1 (the window's first month) the moves are summed in one row
// (month NULL); inside the window, per month; nothing at or after $2 (T of the last
// month).
const trendReceivablesSQL = `
SELECT currency, month, COALESCE(sum(delta), 0)::bigint
FROM (
	SELECT i.currency,
		CASE WHEN x.t < $1 THEN NULL ELSE date_trunc('month', x.t AT TIME ZONE 'UTC')::date END AS month,
		x.delta
	FROM invoices i
	CROSS JOIN LATERAL (
		SELECT i.issued_at AS t, i.amount_due_minor AS delta
		UNION ALL
		SELECT GREATEST(a.at, i.issued_at), a.amount_minor FROM adjustments a WHERE a.invoice_id = i.invoice_id
		UNION ALL
		SELECT GREATEST(p.paid_at, i.issued_at), -p.applied_minor FROM payments p WHERE p.invoice_id = i.invoice_id
	) x
	WHERE i.issued_at < $2 AND x.t < $2 AND ` + filterSQL + `
) m
GROUP BY 1, 2`

// trendIssuedSQL: the invoices issued per month in [$1, $2).
const trendIssuedSQL = `
SELECT i.currency, date_trunc('month', i.issued_at AT TIME ZONE 'UTC')::date, count(*),
	COALESCE(sum(i.amount_due_minor), 0)::bigint
FROM invoices i
WHERE i.issued_at >= $1 AND i.issued_at < $2 AND ` + filterSQL + `
GROUP BY 1, 2`

// trendDueSQL: the invoices falling due per month, from $1's date up to the day
// before $2, with what they owed and what was collected on them as of the end of
// their month (T of the month: the first of the next month, or $2 for the last).
const trendDueSQL = `
SELECT i.currency, m.month::date, count(*),
	COALESCE(sum(i.amount_due_minor + a.billing - a.voided), 0)::bigint,
	COALESCE(sum(p.applied - a.refunded), 0)::bigint
FROM invoices i
CROSS JOIN LATERAL (SELECT date_trunc('month', i.due_date::timestamp) AS month) m
CROSS JOIN LATERAL (SELECT LEAST((m.month + interval '1 month') AT TIME ZONE 'UTC', $2) AS t) e
CROSS JOIN LATERAL (
	SELECT COALESCE(sum(p.applied_minor), 0)::bigint AS applied
	FROM payments p WHERE p.invoice_id = i.invoice_id AND p.paid_at < e.t) p
CROSS JOIN LATERAL (
	SELECT COALESCE(sum(a.amount_minor) FILTER (WHERE a.kind IN
			('adjustment', 'credit_note', 'late_fee', 'interest', 'discount', 'compensation')), 0)::bigint AS billing,
		COALESCE(sum(a.amount_minor) FILTER (WHERE a.kind IN ('refund', 'chargeback')), 0)::bigint AS refunded,
		COALESCE(-sum(a.amount_minor) FILTER (WHERE a.kind = 'void'), 0)::bigint AS voided
	FROM adjustments a WHERE a.invoice_id = i.invoice_id AND a.at < e.t) a
WHERE i.due_date >= ($1 AT TIME ZONE 'UTC')::date AND i.due_date < ($2 AT TIME ZONE 'UTC')::date
	AND i.issued_at < e.t AND ` + filterSQL + `
GROUP BY 1, 2`

// TrendMonth is one month of one currency's trend. The month's period runs from its
// first day to its last, or to the report's end date for the last month (Partial).
type TrendMonth struct {
	Month   string `json:"month"` // YYYY-MM
	From    string `json:"from"`
	To      string `json:"to"`
	Days    int64  `json:"days"`
	Partial bool   `json:"partial"`
	// DSO: ClosingReceivables / AmountIssued × Days, as the KPIs of that period.
	InvoicesIssued     int64    `json:"invoices_issued"`
	AmountIssued       Money    `json:"amount_issued"`
	ClosingReceivables Money    `json:"closing_receivables"`
	DSO                *float64 `json:"dso"`
	// The collection rate: of the invoices that fell due in the month, what was
	// collected by the month's end over what they owed (billed, net of voids).
	InvoicesDue    int64    `json:"invoices_due"`
	AmountDue      Money    `json:"amount_due"`
	CollectedOnDue Money    `json:"collected_on_due"`
	CollectionRate *float64 `json:"collection_rate"`
}

// Trend is one currency's months, oldest first, every month of the window.
type Trend struct {
	Currency string       `json:"currency"`
	Months   []TrendMonth `json:"months"`
}

// TrendReport answers GET /v1/reports/trend.
type TrendReport struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Months   int    `json:"months"`
	Currency string `json:"currency,omitempty"`
	Segment  string `json:"segment,omitempty"`
	Policy   string `json:"policy,omitempty"`
	// Currencies has one entry per currency with receivables or activity in the window.
	Currencies []Trend `json:"currencies"`
}

// monthPeriods returns the months of the trend ending on the month of to, oldest
// first; the last ends on to.
func monthPeriods(to time.Time, months int) []Period {
	to = Day(to)
	first := time.Date(to.Year(), to.Month(), 1, 0, 0, 0, 0, time.UTC)
	out := make([]Period, months)
	for i := range months {
		from := first.AddDate(0, i-(months-1), 0)
		end := from.AddDate(0, 1, -1)
		if end.After(to) {
			end = to
		}
		out[i] = Period{From: from, To: end}
	}
	return out
}

// Trend computes DSO and the collection rate for each of the months calendar months
// ending with the month of to (up to and including the day to), per currency.
func (r *Reporter) Trend(ctx context.Context, to time.Time, months int, f Filter) (TrendReport, error) {
	if months < 1 || months > MaxTrendMonths {
		return TrendReport{}, fmt.Errorf("reports: trend: months %d out of 1..%d", months, MaxTrendMonths)
	}
	periods := monthPeriods(to, months)
	window := Period{From: periods[0].From, To: periods[len(periods)-1].To}
	out := TrendReport{From: window.From.Format(time.DateOnly), To: window.To.Format(time.DateOnly), Months: months,
		Currency: f.Currency, Segment: f.Segment, Policy: f.Policy, Currencies: []Trend{}}
	index := map[time.Time]int{}
	for i, p := range periods {
		index[p.From] = i
	}
	by := map[string][]TrendMonth{}
	get := func(cur string) []TrendMonth {
		if m, ok := by[cur]; ok {
			return m
		}
		m := make([]TrendMonth, months)
		for i, p := range periods {
			zero := Money{Currency: cur}
			m[i] = TrendMonth{Month: p.From.Format("2006-01"), From: p.From.Format(time.DateOnly),
				To: p.To.Format(time.DateOnly), Days: p.Days(), Partial: p.To.Before(p.From.AddDate(0, 1, -1)),
				AmountIssued: zero, ClosingReceivables: zero, AmountDue: zero, CollectedOnDue: zero}
		}
		by[cur] = m
		return m
	}
	type moveRow struct {
		cur   string
		month *time.Time
		delta int64
	}
	type monthRow struct {
		cur     string
		month   time.Time
		n, a, b int64
	}
	var (
		moves          []moveRow
		issued, dueRow []monthRow
	)
	args := []any{window.Start(), window.End(), f.Currency, f.Segment, f.Policy}
	err := r.parallel(ctx,
		func(tx pgx.Tx) error {
			var m moveRow
			return wrapQ("receivables", each(ctx, tx, trendReceivablesSQL, args, []any{&m.cur, &m.month, &m.delta},
				func() { moves = append(moves, m) }))
		},
		func(tx pgx.Tx) error {
			var m monthRow
			return wrapQ("issued", each(ctx, tx, trendIssuedSQL, args, []any{&m.cur, &m.month, &m.n, &m.a},
				func() { issued = append(issued, m) }))
		},
		func(tx pgx.Tx) error {
			var m monthRow
			return wrapQ("due", each(ctx, tx, trendDueSQL, args, []any{&m.cur, &m.month, &m.n, &m.a, &m.b},
				func() { dueRow = append(dueRow, m) }))
		},
	)
	if err != nil {
		return TrendReport{}, fmt.Errorf("reports: trend: %w", err)
	}
	// Running totals: the moves before the window, then month by month.
	opening := map[string]int64{}
	perMonth := map[string][]int64{}
	for _, m := range moves {
		if perMonth[m.cur] == nil {
			perMonth[m.cur] = make([]int64, months)
		}
		if m.month == nil {
			opening[m.cur] += m.delta
			continue
		}
		if i, ok := index[Day(*m.month)]; ok {
			perMonth[m.cur][i] += m.delta
		}
	}
	for cur, deltas := range perMonth {
		closing := make([]int64, months)
		run, nonzero := opening[cur], false
		for i, d := range deltas {
			run += d
			closing[i] = run
			nonzero = nonzero || run != 0
		}
		if nonzero {
			for i, ms := 0, get(cur); i < months; i++ {
				ms[i].ClosingReceivables.Minor = closing[i]
			}
		}
	}
	for _, m := range issued {
		if i, ok := index[Day(m.month)]; ok {
			tm := &get(m.cur)[i]
			tm.InvoicesIssued, tm.AmountIssued.Minor = m.n, m.a
		}
	}
	for _, m := range dueRow {
		if i, ok := index[Day(m.month)]; ok {
			tm := &get(m.cur)[i]
			tm.InvoicesDue, tm.AmountDue.Minor, tm.CollectedOnDue.Minor = m.n, m.a, m.b
		}
	}
	for _, cur := range currencies(by) {
		ms := by[cur]
		for i := range ms {
			m := &ms[i]
			if m.AmountIssued.Minor > 0 {
				m.DSO = round(float64(m.ClosingReceivables.Minor)/float64(m.AmountIssued.Minor)*float64(m.Days), 2)
			}
			m.CollectionRate = rate(m.CollectedOnDue.Minor, m.AmountDue.Minor)
		}
		out.Currencies = append(out.Currencies, Trend{Currency: cur, Months: ms})
	}
	return out, nil
}
