package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dunwell/dunwell/activities"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// StatementRunWorkflowName is the name StatementRun is registered under.
const StatementRunWorkflowName = "StatementRun"

// StatementRunInput is one statement run: the customers it covers and the statement
// date (YYYY-MM-DD; empty: the day the run starts, UTC).
type StatementRunInput struct {
	Selection activities.StatementSelection `json:"selection"`
	AsOf      string                        `json:"as_of,omitempty"`
}

// StatementRunResult counts what the run did.
type StatementRunResult struct {
	AsOf        string            `json:"as_of"`
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
	asOf := in.AsOf
	if asOf == "" {
		asOf = workflow.Now(ctx).UTC().Format(time.DateOnly)
	}
	out := StatementRunResult{AsOf: asOf, Skipped: map[string]string{}, Failed: map[string]string{}}
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
		futures[i] = workflow.ExecuteActivity(sendCtx, a.SendStatement, activities.StatementRequest{CustomerID: c, AsOf: asOf})
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
	workflow.GetLogger(ctx).Info("Statement run done", "as_of", asOf, "sent", out.Sent, "already_sent", out.AlreadySent,
		"skipped", len(out.Skipped), "failed", len(out.Failed))
	return out, nil
}
