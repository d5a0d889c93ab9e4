package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dunwell/dunwell/money"
)

// The cash-in forecast: the open balance spread over the coming weeks by when each
// part is expected (docs/kpis.md, "Cash-in forecast").

// Limits of the forecast.
const (
	// DefaultForecastWeeks is how many weeks the forecast covers when none is given.
	DefaultForecastWeeks = 12
	// MaxForecastWeeks bounds it.
	MaxForecastWeeks = 26
)

// Where a forecast amount comes from.
const (
	SourcePromise = "promise"
	SourcePlan    = "plan"
	SourceDue     = "due"
)

// forecastOpenSQL: every invoice with a balance as of $1 (now), with its latest
// promise while it is promised and its latest plan while it is on a plan, and what
// was applied since that promise was made. Disputed and escalated invoices are held:
// the balance is not expected from the customer.
const forecastOpenSQL = `
SELECT i.invoice_id, i.customer_id, i.currency, i.status, i.due_date,
	i.amount_due_minor + a.total - p.applied,
	pr.details, COALESCE(pr.paid_since, 0)::bigint, pl.details
FROM invoices i
CROSS JOIN LATERAL (SELECT COALESCE(sum(a.amount_minor), 0)::bigint AS total
	FROM adjustments a WHERE a.invoice_id = i.invoice_id AND a.at < $1) a
CROSS JOIN LATERAL (SELECT COALESCE(sum(p.applied_minor), 0)::bigint AS applied
	FROM payments p WHERE p.invoice_id = i.invoice_id AND p.paid_at < $1) p
LEFT JOIN LATERAL (
	SELECT e.details, (SELECT sum(p.applied_minor) FROM payments p
			WHERE p.invoice_id = i.invoice_id AND p.paid_at >= e.at AND p.paid_at < $1) AS paid_since
	FROM lifecycle_events e
	WHERE e.invoice_id = i.invoice_id AND e.kind = 'promise_made' AND e.at < $1
	ORDER BY e.at DESC, e.recorded_at DESC LIMIT 1) pr ON i.status = 'promised'
LEFT JOIN LATERAL (
	SELECT e.details FROM lifecycle_events e
	WHERE e.invoice_id = i.invoice_id AND e.kind = 'plan_agreed' AND e.at < $1
	ORDER BY e.at DESC, e.recorded_at DESC LIMIT 1) pl ON i.status = 'on_plan'
WHERE i.issued_at < $1 AND (i.closed_at IS NULL OR i.closed_at >= $1)
	AND ($2::text = '' OR i.currency = $2::bpchar)
	AND ($3::text = '' OR i.segment = $3::text)
	AND ($4::text = '' OR i.policy_id = $4::text)
	AND i.amount_due_minor + a.total - p.applied > 0
ORDER BY i.invoice_id`

// forecastCustomersSQL: per customer, as of $1, its paid invoices and their days late
// in total (as the customer view counts them), and its promises kept and broken.
var forecastCustomersSQL = `
SELECT customer_id, sum(paid)::bigint, sum(late)::bigint, sum(kept)::bigint, sum(broken)::bigint
FROM (
	SELECT i.customer_id,
		count(*) FILTER (WHERE ` + paidSQL + `) AS paid,
		COALESCE(sum(GREATEST(0, (p.last_paid AT TIME ZONE 'UTC')::date - i.due_date)) FILTER (WHERE ` + paidSQL + `), 0) AS late,
		0 AS kept, 0 AS broken
	FROM invoices i` + asOfSQLAt1 + `
	WHERE i.issued_at < $1
	GROUP BY 1
	UNION ALL
	SELECT i.customer_id, 0, 0,
		count(*) FILTER (WHERE e.kind = 'promise_kept'), count(*) FILTER (WHERE e.kind = 'promise_broken')
	FROM lifecycle_events e JOIN invoices i ON i.invoice_id = e.invoice_id
	WHERE e.kind IN ('promise_kept', 'promise_broken') AND e.at < $1
	GROUP BY 1
) x
GROUP BY 1`

// asOfSQLAt1 is asOfSQL with T as $1.
var asOfSQLAt1 = strings.ReplaceAll(asOfSQL, "$2", "$1")

// ForecastWeek is one week of one currency's forecast: from From to To, both included.
type ForecastWeek struct {
	Week     int    `json:"week"` // 1 is the week starting today
	From     string `json:"from"`
	To       string `json:"to"`
	Promises Money  `json:"promises"`
	Plans    Money  `json:"plans"`
	Due      Money  `json:"due"`
	Total    Money  `json:"total"`
}

// Forecast is one currency's expected cash-in. The open balance splits exactly into
// InWeeks + AfterWeeks + PastExpected + PromiseDiscount (+ Held, not forecast).
type Forecast struct {
	Currency string         `json:"currency"`
	Weeks    []ForecastWeek `json:"weeks"`
	// InWeeks is the sum of the weeks' totals.
	InWeeks Money `json:"in_weeks"`
	// AfterWeeks is expected after the last week.
	AfterWeeks Money `json:"after_weeks"`
	// PastExpected is open balance whose expected day has passed (a late promise or
	// installment, an invoice later than its customer usually pays): no date to put it on.
	PastExpected Money `json:"past_expected"`
	// PromiseDiscount is the part of promised amounts the kept-promise rates take off.
	PromiseDiscount Money `json:"promise_discount"`
	// Held is the balance of disputed and escalated invoices, not forecast.
	Held Money `json:"held"`
	// Open is the whole open balance: all of the above.
	Open Money `json:"open"`
	// Invoices counts the open invoices (held ones included).
	Invoices int64 `json:"invoices"`
}

// ForecastReport answers GET /v1/reports/forecast.
type ForecastReport struct {
	AsOf     string `json:"as_of"`
	Weeks    int    `json:"weeks"`
	From     string `json:"from"`
	To       string `json:"to"`
	Currency string `json:"currency,omitempty"`
	Segment  string `json:"segment,omitempty"`
	Policy   string `json:"policy,omitempty"`
	// DefaultDaysLate and DefaultKeptRate stand in for customers without a paid
	// invoice or an ended promise: the figures over every customer in the ledger.
	DefaultDaysLate int64    `json:"default_days_late"`
	DefaultKeptRate *float64 `json:"default_kept_rate"`
	// Currencies has one entry per currency with an open balance, sorted by code.
	Currencies []Forecast `json:"currencies"`
}

// customerHistory is what the forecast knows of a customer's behaviour.
type customerHistory struct {
	paid, lateDays, kept, broken int64
}

// forecastLine is one expected amount on a day.
type forecastLine struct {
	source string
	day    time.Time
	amount int64
}

type promiseDetails struct {
	Date   string `json:"date"`
	Amount int64  `json:"amount_minor"`
}

type planDetails struct {
	Schedule []struct {
		DueDate string `json:"due_date"`
		Amount  int64  `json:"amount_minor"`
	} `json:"schedule"`
}

// Forecast spreads the open balance as of now over the next weeks weeks, week 1
// starting today (UTC), per currency:
//   - a promised invoice: what is left of the promise (amount − applied since), on the
//     promise's date, times the customer's kept-promise rate;
//   - an invoice on a plan: the balance, covering the installments from the last one
//     back, each on its due date;
//   - any other balance (and what a promise does not cover): on the due date plus the
//     customer's average days late (rounded to whole days).
func (r *Reporter) Forecast(ctx context.Context, weeks int, f Filter) (ForecastReport, error) {
	if weeks < 1 || weeks > MaxForecastWeeks {
		return ForecastReport{}, fmt.Errorf("reports: forecast: weeks %d out of 1..%d", weeks, MaxForecastWeeks)
	}
	now := r.now()
	today := Day(now)
	end := today.AddDate(0, 0, 7*weeks)
	out := ForecastReport{AsOf: now.Format(time.RFC3339), Weeks: weeks, From: today.Format(time.DateOnly),
		To: end.AddDate(0, 0, -1).Format(time.DateOnly), Currency: f.Currency, Segment: f.Segment, Policy: f.Policy,
		Currencies: []Forecast{}}
	type openRow struct {
		id, customer, currency, status string
		due                            time.Time
		balance, paidSince             int64
		promise, plan                  []byte
	}
	var (
		open    []openRow
		history = map[string]customerHistory{}
	)
	err := r.parallel(ctx,
		func(tx pgx.Tx) error {
			var o openRow
			return wrapQ("open invoices", each(ctx, tx, forecastOpenSQL, []any{now, f.Currency, f.Segment, f.Policy},
				[]any{&o.id, &o.customer, &o.currency, &o.status, &o.due, &o.balance, &o.promise, &o.paidSince, &o.plan},
				func() { open = append(open, o) }))
		},
		func(tx pgx.Tx) error {
			var (
				id string
				h  customerHistory
			)
			return wrapQ("customers", each(ctx, tx, forecastCustomersSQL, []any{now},
				[]any{&id, &h.paid, &h.lateDays, &h.kept, &h.broken}, func() { history[id] = h }))
		},
	)
	if err != nil {
		return ForecastReport{}, fmt.Errorf("reports: forecast: %w", err)
	}
	var all customerHistory
	for _, h := range history {
		all.paid, all.lateDays, all.kept, all.broken = all.paid+h.paid, all.lateDays+h.lateDays, all.kept+h.kept, all.broken+h.broken
	}
	defaultLate := int64(0)
	if all.paid > 0 {
		defaultLate = money.RoundDiv(all.lateDays, all.paid)
	}
	out.DefaultDaysLate = defaultLate
	out.DefaultKeptRate = ptrTo(1.0)
	if all.kept+all.broken > 0 {
		out.DefaultKeptRate = rate(all.kept, all.kept+all.broken)
	}

	by := map[string]*Forecast{}
	for _, o := range open {
		fc, ok := by[o.currency]
		if !ok {
			fc = newForecast(o.currency, today, weeks)
			by[o.currency] = fc
		}
		fc.Invoices++
		fc.Open.Minor += o.balance
		if o.status == "disputed" || o.status == "escalated" {
			fc.Held.Minor += o.balance
			continue
		}
		h := history[o.customer]
		late := defaultLate
		if h.paid > 0 {
			late = money.RoundDiv(h.lateDays, h.paid)
		}
		kept, ended := all.kept, all.kept+all.broken
		if h.kept+h.broken > 0 {
			kept, ended = h.kept, h.kept+h.broken
		}
		lines, discount := expectLines(o.status, Day(o.due), o.balance, o.promise, o.paidSince, o.plan, late, kept, ended)
		fc.PromiseDiscount.Minor += discount
		for _, l := range lines {
			fc.place(l, today, end)
		}
	}
	for _, c := range currencies(by) {
		fc := by[c]
		for i := range fc.Weeks {
			w := &fc.Weeks[i]
			w.Total.Minor = w.Promises.Minor + w.Plans.Minor + w.Due.Minor
			fc.InWeeks.Minor += w.Total.Minor
		}
		out.Currencies = append(out.Currencies, *fc)
	}
	return out, nil
}

// expectLines says when an invoice's balance is expected; late is the customer's
// average days late, kept of ended its promises kept (ended 0: counted in full). It
// returns the lines and what the kept-promise rate took off.
func expectLines(status string, due time.Time, balance int64, promise []byte, paidSince int64, plan []byte,
	late, kept, ended int64) ([]forecastLine, int64) {
	var (
		lines    []forecastLine
		discount int64
	)
	rest := balance
	switch {
	case status == "promised" && promise != nil:
		var p promiseDetails
		if err := json.Unmarshal(promise, &p); err == nil {
			if day, ok := parseDay(p.Date); ok {
				owed := min(max(0, p.Amount-paidSince), rest)
				expected := owed
				if ended > 0 {
					expected = money.MulDivRound(owed, kept, ended)
				}
				lines = append(lines, forecastLine{SourcePromise, day, expected})
				discount = owed - expected
				rest -= owed
			}
		}
	case status == "on_plan" && plan != nil:
		var p planDetails
		if err := json.Unmarshal(plan, &p); err == nil && len(p.Schedule) > 0 {
			var items []forecastLine
			valid := true
			for _, it := range p.Schedule {
				day, ok := parseDay(it.DueDate)
				valid = valid && ok && it.Amount > 0
				items = append(items, forecastLine{SourcePlan, day, it.Amount})
			}
			for i := len(items) - 1; valid && i >= 0 && rest > 0; i-- {
				part := min(items[i].amount, rest)
				lines = append(lines, forecastLine{SourcePlan, items[i].day, part})
				rest -= part
			}
		}
	}
	if rest > 0 {
		lines = append(lines, forecastLine{SourceDue, due.AddDate(0, 0, int(late)), rest})
	}
	return lines, discount
}

// parseDay reads a promise's or an installment's date: YYYY-MM-DD, or an RFC 3339
// time (its UTC date).
func parseDay(s string) (time.Time, bool) {
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d, true
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return Day(t), true
	}
	return time.Time{}, false
}

func newForecast(cur string, today time.Time, weeks int) *Forecast {
	zero := Money{Currency: cur}
	fc := &Forecast{Currency: cur, InWeeks: zero, AfterWeeks: zero, PastExpected: zero, PromiseDiscount: zero,
		Held: zero, Open: zero}
	for i := range weeks {
		from := today.AddDate(0, 0, 7*i)
		fc.Weeks = append(fc.Weeks, ForecastWeek{Week: i + 1, From: from.Format(time.DateOnly),
			To: from.AddDate(0, 0, 6).Format(time.DateOnly), Promises: zero, Plans: zero, Due: zero, Total: zero})
	}
	return fc
}

// place adds a line to its week, or to PastExpected or AfterWeeks.
func (fc *Forecast) place(l forecastLine, today, end time.Time) {
	switch {
	case l.day.Before(today):
		fc.PastExpected.Minor += l.amount
	case !l.day.Before(end):
		fc.AfterWeeks.Minor += l.amount
	default:
		w := &fc.Weeks[int(l.day.Sub(today)/(7*24*time.Hour))]
		switch l.source {
		case SourcePromise:
			w.Promises.Minor += l.amount
		case SourcePlan:
			w.Plans.Minor += l.amount
		default:
			w.Due.Minor += l.amount
		}
	}
}

func ptrTo(v float64) *float64 { return &v }
