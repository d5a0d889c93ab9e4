package reports

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// stepsSQL: for every notice sent in [$1, $2), whether its invoice was paid as of T
// with the final payment within $6 days after the notice.
const stepsSQL = `
SELECT i.policy_id, n.step, n.channel, i.segment,
	count(*),
	count(*) FILTER (WHERE w.hit),
	COALESCE(sum(EXTRACT(EPOCH FROM p.last_paid - n.sent_at)) FILTER (WHERE w.hit), 0)::bigint
FROM notices n
JOIN invoices i ON i.invoice_id = n.invoice_id` + asOfSQL + `
CROSS JOIN LATERAL (SELECT ` + paidSQL + ` AND p.last_paid >= n.sent_at
	AND p.last_paid < n.sent_at + make_interval(days => $6::int) AS hit) w
WHERE n.status = 'sent' AND n.sent_at >= $1 AND n.sent_at < $2 AND ` + filterSQL + `
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4`

// Step is the effectiveness of one policy step on one channel for one segment.
type Step struct {
	Policy  string `json:"policy"`
	Step    string `json:"step"`
	Channel string `json:"channel"`
	Segment string `json:"segment"`
	// Sent counts invoices that got the notice in the period.
	Sent int64 `json:"sent"`
	// PaidWithin counts those paid within WithinDays after it.
	PaidWithin     int64    `json:"paid_within"`
	PaidWithinRate *float64 `json:"paid_within_rate"`
	// SecondsToPayTotal sums the time from notice to final payment over PaidWithin.
	SecondsToPayTotal int64    `json:"seconds_to_pay_total"`
	AverageDaysToPay  *float64 `json:"average_days_to_pay"`
}

// StepReport answers GET /v1/reports/steps.
type StepReport struct {
	From       string `json:"from"`
	To         string `json:"to"`
	WithinDays int    `json:"within_days"`
	Currency   string `json:"currency,omitempty"`
	Segment    string `json:"segment,omitempty"`
	Policy     string `json:"policy,omitempty"`
	Steps      []Step `json:"steps"`
}

// Steps reports which policy step gets invoices paid within withinDays days.
func (r *Reporter) Steps(ctx context.Context, p Period, f Filter, withinDays int) (StepReport, error) {
	if withinDays < 1 || withinDays > MaxWithinDays {
		return StepReport{}, fmt.Errorf("reports: steps: within_days %d out of 1..%d", withinDays, MaxWithinDays)
	}
	out := StepReport{From: p.From.Format(time.DateOnly), To: p.To.Format(time.DateOnly), WithinDays: withinDays,
		Currency: f.Currency, Segment: f.Segment, Policy: f.Policy, Steps: []Step{}}
	err := r.snapshot(ctx, func(tx pgx.Tx) error {
		var s Step
		return each(ctx, tx, stepsSQL, []any{p.Start(), p.End(), f.Currency, f.Segment, f.Policy, withinDays},
			[]any{&s.Policy, &s.Step, &s.Channel, &s.Segment, &s.Sent, &s.PaidWithin, &s.SecondsToPayTotal}, func() {
				s.PaidWithinRate = rate(s.PaidWithin, s.Sent)
				s.AverageDaysToPay = nil
				if s.PaidWithin > 0 {
					s.AverageDaysToPay = round(float64(s.SecondsToPayTotal)/86400/float64(s.PaidWithin), 2)
				}
				out.Steps = append(out.Steps, s)
			})
	})
	if err != nil {
		return StepReport{}, fmt.Errorf("reports: steps: %w", err)
	}
	return out, nil
}
