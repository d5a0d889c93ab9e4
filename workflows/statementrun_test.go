package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/dunwell/dunwell/activities"
)

func TestStatementRun(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	start := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	env.RegisterActivityWithOptions(func(context.Context, activities.StatementSelection) ([]string, error) { return nil, nil },
		activity.RegisterOptions{Name: "StatementCustomers"})
	env.RegisterActivityWithOptions(func(context.Context, activities.StatementRequest) (activities.StatementResult, error) {
		return activities.StatementResult{}, nil
	}, activity.RegisterOptions{Name: "SendStatement"})
	env.OnActivity("StatementCustomers", mock.Anything, activities.StatementSelection{Segments: []string{"smb"}}).
		Return([]string{"C-1", "C-2", "C-3", "C-4"}, nil)
	var sentAt []time.Time
	attempts := 0
	env.OnActivity("SendStatement", mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.StatementRequest) (activities.StatementResult, error) {
			require.Equal(t, "2026-12-01", req.AsOf, "the day the run started")
			switch req.CustomerID {
			case "C-1":
				attempts++
				if attempts == 1 {
					return activities.StatementResult{}, errors.New("provider unavailable")
				}
				sentAt = append(sentAt, env.Now())
				return activities.StatementResult{Outcome: "sent", ProviderID: "m-1"}, nil
			case "C-2":
				return activities.StatementResult{Outcome: "sent", AlreadySent: true}, nil
			case "C-3":
				return activities.StatementResult{Outcome: "skipped", Reason: "no email address known for the customer"}, nil
			}
			return activities.StatementResult{Outcome: "sent", ProviderID: "m-4"}, nil
		})
	env.ExecuteWorkflow(StatementRun, StatementRunInput{Selection: activities.StatementSelection{Segments: []string{"smb"}}})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res StatementRunResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, StatementRunResult{AsOf: "2026-12-01", Sent: 2, AlreadySent: 1,
		Skipped: map[string]string{"C-3": "no email address known for the customer"}}, res)
	require.Equal(t, 2, attempts, "the failed send was retried")
	require.Len(t, sentAt, 1)
	require.GreaterOrEqual(t, sentAt[0].Sub(start), 10*time.Second, "after the retry interval")
}

// TestStatementRunPeriod: a scheduled run dates its statements in its zone and asks
// each send to count a statement already sent since the period began.
func TestStatementRunPeriod(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC)) // 1 January in Berlin
	env.RegisterActivityWithOptions(func(context.Context, activities.StatementSelection) ([]string, error) { return nil, nil },
		activity.RegisterOptions{Name: "StatementCustomers"})
	env.RegisterActivityWithOptions(func(context.Context, activities.StatementRequest) (activities.StatementResult, error) {
		return activities.StatementResult{}, nil
	}, activity.RegisterOptions{Name: "SendStatement"})
	env.OnActivity("StatementCustomers", mock.Anything, mock.Anything).Return([]string{"C-1"}, nil)
	env.OnActivity("SendStatement", mock.Anything, activities.StatementRequest{CustomerID: "C-1", AsOf: "2027-01-01", PeriodStart: "2027-01-01"}).
		Return(activities.StatementResult{Outcome: "sent", AlreadySent: true}, nil)
	env.ExecuteWorkflow(StatementRun, StatementRunInput{Schedule: "monthly", Timezone: "Europe/Berlin", Period: "month"})
	require.NoError(t, env.GetWorkflowError())
	var res StatementRunResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "2027-01-01", res.AsOf)
	require.Equal(t, "2027-01-01", res.PeriodStart)
	require.Equal(t, 1, res.AlreadySent)

	bad := s.NewTestWorkflowEnvironment()
	bad.ExecuteWorkflow(StatementRun, StatementRunInput{Period: "year"})
	require.ErrorContains(t, bad.GetWorkflowError(), `period "year" is not day, week or month`)
}
