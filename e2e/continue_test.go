package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"

	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// suggestContinueAsNewAt is the history length at which the e2e dev server suggests
// continue-as-new (limit.historyCount.suggestContinueAsNew). The longest recorded
// path without it stays under 100 events.
const suggestContinueAsNewAt = 200

// continuePayments partial payments make a history longer than suggestContinueAsNewAt
// (each one is an update, a ledger write and a workflow task: about seven events).
const continuePayments = 40

// TestLongRunContinuesAsNewWithItsState pays an invoice in many small parts until the
// server suggests continue-as-new: the run continues as new carrying its state (every
// payment, the reminders sent), and the next run takes the final payment and closes
// the invoice as paid.
func TestLongRunContinuesAsNewWithItsState(t *testing.T) {
	t.Parallel()
	id := "E2E-CONTINUE"
	issueNow(t, id, "e2e-lifecycle")
	d, err := env.client.DescribeWorkflowExecution(context.Background(), invoiceapi.WorkflowID(id), "")
	require.NoError(t, err)
	firstRun := d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	eventually(t, 20*time.Second, "the first reminder", func() bool { return len(outboxFor(id)) == 1 })

	for i := range continuePayments {
		code, body := pay(t, id, fmt.Sprintf("part-%d", i+1), "1.00")
		require.Equal(t, http.StatusOK, code, body)
	}
	eventually(t, 30*time.Second, "the first run continued as new", func() bool {
		d, err := env.client.DescribeWorkflowExecution(context.Background(), invoiceapi.WorkflowID(id), firstRun)
		require.NoError(t, err)
		return d.GetWorkflowExecutionInfo().GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
	})

	st := state(t, id)
	require.Equal(t, "1210.00", st["balance"], "the new run carries every payment")
	require.NotEmpty(t, st["notices"], "and the reminder sent before")
	code, body := pay(t, id, "rest", "1210.00")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "paid", body["status"])
	requirePayments(t, id, continuePayments+1)

	recordRun(t, id, firstRun, "continued-as-new")
	recordHistory(t, id, "continued-as-new-then-paid") // open for its refund window
}
