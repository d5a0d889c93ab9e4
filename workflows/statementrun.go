package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dunwell/dunwell/activities"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// StatementRunWorkflowName is the name StatementRun is registered under.
const StatementRunWorkflowName = "StatementRun"

// StatementRunInput is one statement run: the customers it covers and the statement
// date (YYYY-MM-DD; empty: the day the run starts in Timezone, UTC when empty). A
// scheduled run (statements.yaml) names its Schedule and Period (day, week, month):
// a customer already sent a statement in the period is not sent another.
type StatementRunInput struct {
	Selection activities.StatementSelection `json:"selection"`
	AsOf      string                        `json:"as_of,omitempty"`
	Schedule  string                        `json:"schedule,omitempty"`
	Timezone  string                        `json:"timezone,omitempty"`
	Period    string                        `json:"period,omitempty"`
}

// StatementRunResult counts what the run did.
type StatementRunResult struct {
	AsOf        string            `json:"as_of"`
	PeriodStart string            `json:"period_start,omitempty"`
	Sent        int               `json:"sent"`
	AlreadySent int               `json:"already_sent"`
	Skipped     map[string]string `json:"skipped,omitempty"` // customer -> reason
	Failed      map[string]string `json:"failed,omitempty"`  // customer -> error
}

// statementSendTimeout bounds one statement's send (building, rendering, the call).
const statementSendTimeout = 2 * time.Minute

// StatementRun emails every selected customer with open invoices their statement
// dated AsOf, each at most once (SendStatement's ledger claim), on the rate-limited
// email queue. One customer's failure does not stop the others.
func StatementRun(ctx workflow.Context, in StatementRunInput) (StatementRunResult, error) {
	loc, err := time.LoadLocation(in.Timezone)
	if err != nil || in.Timezone == "Local" {
		return StatementRunResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("statement run: timezone %q is not an IANA time zone", in.Timezone), "InvalidInput", err)
	}
	asOf := in.AsOf
	if asOf == "" {
		asOf = workflow.Now(ctx).In(loc).Format(time.DateOnly)
	}
	day, err := time.Parse(time.DateOnly, asOf)
	if err != nil {
		return StatementRunResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("statement run: as_of %q is not a date like 2026-12-01", asOf), "InvalidInput", err)
	}
	out := StatementRunResult{AsOf: asOf, Skipped: map[string]string{}, Failed: map[string]string{}}
	switch in.Period {
	case "":
	case policy.PeriodDay, policy.PeriodWeek, policy.PeriodMonth:
		out.PeriodStart = policy.PeriodStart(in.Period, day).Format(time.DateOnly)
	default:
		return out, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("statement run: period %q is not day, week or month", in.Period), "InvalidInput", nil)
	}
	var a *activities.Activities
	listCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var customers []string
	if err := workflow.ExecuteActivity(listCtx, a.StatementCustomers, in.Selection).Get(ctx, &customers); err != nil {
		return out, err
	}
	sendCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue: invoiceapi.EmailTaskQueue, StartToCloseTimeout: statementSendTimeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Hour,
			MaximumAttempts: 20},
	})
	futures := make([]workflow.Future, len(customers))
	for i, c := range customers {
		futures[i] = workflow.ExecuteActivity(sendCtx, a.SendStatement, activities.StatementRequest{CustomerID: c, AsOf: asOf, PeriodStart: out.PeriodStart})
	}
	for i, f := range futures {
		var res activities.StatementResult
		switch err := f.Get(ctx, &res); {
		case err != nil:
			out.Failed[customers[i]] = err.Error()
		case res.Outcome == "skipped":
			out.Skipped[customers[i]] = res.Reason
		case res.AlreadySent:
			out.AlreadySent++
		default:
			out.Sent++
		}
	}
	workflow.GetLogger(ctx).Info("Statement run done", "schedule", in.Schedule, "as_of", asOf, "period_start", out.PeriodStart, "sent", out.Sent, "already_sent", out.AlreadySent,
		"skipped", len(out.Skipped), "failed", len(out.Failed))
	return out, nil
}
