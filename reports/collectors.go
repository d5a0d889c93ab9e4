package reports

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The collectors' figures (docs/kpis.md, "Per collector"): what each collector did
// in a period and what came in after it.

// collectorTasksSQL: per collector (who completed the task: "key:<name>"), the tasks
// done in [$1, $2), the conversations among them, the promises obtained, and of those
// whether the promise on the task's invoice ended kept or broken before $2 (the first
// end after the task).
const collectorTasksSQL = `
SELECT t.completed_by,
	count(*),
	count(*) FILTER (WHERE t.outcome IN ('reached', 'promised', 'disputed', 'refused')),
	count(*) FILTER (WHERE t.outcome = 'promised'),
	count(*) FILTER (WHERE t.outcome = 'promised' AND e.kind = 'promise_kept'),
	count(*) FILTER (WHERE t.outcome = 'promised' AND e.kind = 'promise_broken')
FROM tasks t
LEFT JOIN LATERAL (
	SELECT e.kind FROM lifecycle_events e
	WHERE e.invoice_id = ANY (t.invoice_ids || COALESCE(ARRAY[t.invoice_id], '{}'::text[]))
		AND e.kind IN ('promise_kept', 'promise_broken') AND e.at >= t.completed_at AND e.at < $2
	ORDER BY e.at, e.event_key LIMIT 1) e ON t.outcome = 'promised'
WHERE t.status = 'done' AND t.completed_at >= $1 AND t.completed_at < $2
GROUP BY 1`

// collectorCashSQL: the payments applied before $2 within $3 days after a task on
// their invoice was done, each counted once, for the latest such task (whoever did
// it), and kept when that task was done in [$1, $2): per its collector and currency.
const collectorCashSQL = `
SELECT d.completed_by, p.currency, count(DISTINCT p.invoice_id), COALESCE(sum(p.applied_minor), 0)::bigint
FROM payments p
CROSS JOIN LATERAL (
	SELECT t.completed_by, t.completed_at FROM tasks t
	WHERE t.status = 'done' AND p.invoice_id = ANY (t.invoice_ids || COALESCE(ARRAY[t.invoice_id], '{}'::text[]))
		AND t.completed_at <= p.paid_at AND p.paid_at < t.completed_at + make_interval(days => $3::int)
	ORDER BY t.completed_at DESC, t.task_id DESC LIMIT 1) d
WHERE p.applied_minor > 0 AND p.paid_at >= $1 AND p.paid_at < $2 AND d.completed_at >= $1
GROUP BY 1, 2`

// collectorPortfolioSQL: the customers assigned to each collector now.
const collectorPortfolioSQL = `
SELECT collector, count(*) FROM customer_assignees WHERE collector IS NOT NULL GROUP BY 1`

// CollectedAfter is what came in, in one currency, within the window after a
// collector's contacts.
type CollectedAfter struct {
	Currency string `json:"currency"`
	Invoices int64  `json:"invoices"`
	Amount   Money  `json:"amount"`
}

// Collector is one collector's figures for the period.
type Collector struct {
	// Collector is the API key name the collector works with.
	Collector string `json:"collector"`
	// Customers is the collector's portfolio now (customers assigned to them).
	Customers     int64 `json:"customers"`
	TasksDone     int64 `json:"tasks_done"`
	Conversations int64 `json:"conversations"`
	// PromisesObtained: tasks done with the outcome "promised"; of those, promises kept
	// and broken as of the period's end (the rest are still running).
	PromisesObtained int64    `json:"promises_obtained"`
	PromisesKept     int64    `json:"promises_kept"`
	PromisesBroken   int64    `json:"promises_broken"`
	PromiseKeptRate  *float64 `json:"promise_kept_rate"`
	// Collected is per currency, never summed across currencies.
	Collected []CollectedAfter `json:"collected"`
}

// CollectorReport answers GET /v1/reports/collectors.
type CollectorReport struct {
	From       string      `json:"from"`
	To         string      `json:"to"`
	WithinDays int         `json:"within_days"`
	Collectors []Collector `json:"collectors"`
}

// Collectors reports, per collector, the tasks they completed in the period, the
// promises they obtained and whether they were kept, and the payments applied within
// withinDays days after their contacts (each payment to the latest contact before it).
func (r *Reporter) Collectors(ctx context.Context, p Period, withinDays int) (CollectorReport, error) {
	if withinDays < 1 || withinDays > MaxWithinDays {
		return CollectorReport{}, fmt.Errorf("reports: collectors: within_days %d out of 1..%d", withinDays, MaxWithinDays)
	}
	out := CollectorReport{From: p.From.Format(time.DateOnly), To: p.To.Format(time.DateOnly), WithinDays: withinDays,
		Collectors: []Collector{}}
	by := map[string]*Collector{}
	get := func(who string) *Collector {
		name := strings.TrimPrefix(who, "key:")
		c, ok := by[name]
		if !ok {
			c = &Collector{Collector: name, Collected: []CollectedAfter{}}
			by[name] = c
		}
		return c
	}
	err := r.snapshot(ctx, func(tx pgx.Tx) error {
		var (
			who string
			c   Collector
		)
		err := each(ctx, tx, collectorTasksSQL, []any{p.Start(), p.End()},
			[]any{&who, &c.TasksDone, &c.Conversations, &c.PromisesObtained, &c.PromisesKept, &c.PromisesBroken}, func() {
				g := get(who)
				g.TasksDone += c.TasksDone
				g.Conversations += c.Conversations
				g.PromisesObtained += c.PromisesObtained
				g.PromisesKept += c.PromisesKept
				g.PromisesBroken += c.PromisesBroken
			})
		if err != nil {
			return wrapQ("tasks", err)
		}
		var ca CollectedAfter
		err = each(ctx, tx, collectorCashSQL, []any{p.Start(), p.End(), withinDays},
			[]any{&who, &ca.Currency, &ca.Invoices, &ca.Amount.Minor}, func() {
				g := get(who)
				ca.Amount.Currency = ca.Currency
				g.Collected = append(g.Collected, ca)
			})
		if err != nil {
			return wrapQ("collected", err)
		}
		var n int64
		return wrapQ("portfolios", each(ctx, tx, collectorPortfolioSQL, nil, []any{&who, &n}, func() {
			get(who).Customers = n
		}))
	})
	if err != nil {
		return CollectorReport{}, fmt.Errorf("reports: collectors: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(by)) {
		c := by[name]
		c.PromiseKeptRate = rate(c.PromisesKept, c.PromisesKept+c.PromisesBroken)
		slices.SortFunc(c.Collected, func(a, b CollectedAfter) int { return strings.Compare(a.Currency, b.Currency) })
		out.Collectors = append(out.Collectors, *c)
	}
	return out, nil
}
