package e2e

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/dunwell/dunwell/internal/fakeprovider"
	"github.com/dunwell/dunwell/internal/statementsched"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/workflows"
)

// statementMails are the emails at the address that carry a statement PDF.
func statementMails(t *testing.T, address string) []fakeprovider.Message {
	t.Helper()
	var out []fakeprovider.Message
	for _, m := range env.fakes.OutboxFor(address) {
		if len(m.Attachments) > 0 {
			out = append(out, m)
		}
	}
	return out
}

// scheduledRun waits for the schedule's nth action (1-based) and returns its result.
func scheduledRun(t *testing.T, h client.ScheduleHandle, n int) workflows.StatementRunResult {
	t.Helper()
	ctx := context.Background()
	var d *client.ScheduleDescription
	eventually(t, 30*time.Second, "the schedule's run", func() bool {
		var err error
		d, err = h.Describe(ctx)
		require.NoError(t, err)
		return len(d.Info.RecentActions) >= n
	})
	wf := d.Info.RecentActions[n-1].StartWorkflowResult
	var res workflows.StatementRunResult
	require.NoError(t, env.client.GetWorkflow(ctx, wf.WorkflowID, wf.FirstExecutionRunID).Get(ctx, &res))
	return res
}

// TestScheduledStatementsOncePerCustomerAndPeriod: a statement schedule ensured from
// its configuration and triggered (not waited for) emails each selected customer one
// statement with the PDF attached; triggered again in the same period it sends none.
func TestScheduledStatementsOncePerCustomerAndPeriod(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ids := []string{"E2E-STMT-A", "E2E-STMT-B"}
	for _, id := range ids {
		issueInvoice(t, invoice(id))
		defer endAccount(t, "C-"+id, id)
	}
	// A customer's statement goes to the address they were reminded at.
	for _, id := range ids {
		eventually(t, 60*time.Second, "the first reminder of "+id, func() bool { return len(outboxFor(id)) > 0 })
	}
	sched := policy.StatementSchedule{Name: "e2e", Day: 1, At: "08:00", Timezone: "Europe/Berlin",
		Customers: []string{"C-E2E-STMT-A", "C-E2E-STMT-B"}}
	res, err := statementsched.Ensure(ctx, env.client, []policy.StatementSchedule{sched})
	require.NoError(t, err)
	require.Equal(t, []string{"statements-e2e"}, res.Created)
	defer func() { _, _ = statementsched.Ensure(ctx, env.client, nil) }()
	again, err := statementsched.Ensure(ctx, env.client, []policy.StatementSchedule{sched})
	require.NoError(t, err)
	require.Equal(t, statementsched.Result{Updated: []string{"statements-e2e"}}, again, "ensuring again changes it in place")

	h := env.client.ScheduleClient().GetHandle(ctx, "statements-e2e")
	d, err := h.Describe(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, d.Info.NextActionTimes)
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	next := d.Info.NextActionTimes[0]
	require.Equal(t, 1, next.In(berlin).Day(), "monthly on day 1")
	require.Equal(t, 8, next.In(berlin).Hour(), "at 08:00 Berlin time")

	require.NoError(t, statementsched.Trigger(ctx, env.client, "e2e"))
	first := scheduledRun(t, h, 1)
	require.Equal(t, 2, first.Sent, "%+v", first)
	for _, id := range ids {
		got := statementMails(t, strings.ToLower(id)+"@example.com")
		require.Len(t, got, 1, "one statement for %s", id)
		pdf, err := got[0].Attachments[0].Bytes()
		require.NoError(t, err)
		require.True(t, bytes.HasPrefix(pdf, []byte("%PDF-")), "a PDF is attached")
		require.Equal(t, "application/pdf", got[0].Attachments[0].Type)
		require.Contains(t, got[0].Text, "Hello Ada Lovelace,", "the email names the customer")
		require.Equal(t, "Ada Lovelace", got[0].ToName)
	}

	require.NoError(t, statementsched.Trigger(ctx, env.client, "e2e"))
	second := scheduledRun(t, h, 2)
	require.Equal(t, 0, second.Sent, "%+v", second)
	require.Equal(t, 2, second.AlreadySent, "%+v", second)
	require.Equal(t, first.PeriodStart, second.PeriodStart)
	for _, id := range ids {
		require.Len(t, statementMails(t, strings.ToLower(id)+"@example.com"), 1, "still one statement for %s", id)
	}

	// Removed from the configuration, the schedule goes (once the list of schedules,
	// which lags a little behind, shows it).
	eventually(t, 30*time.Second, "the schedule removed", func() bool {
		_, err := statementsched.Ensure(ctx, env.client, nil)
		require.NoError(t, err)
		_, err = h.Describe(ctx)
		var nf *serviceerror.NotFound
		return errors.As(err, &nf)
	})
}
