package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/dunwell/dunwell/workflows/accountapi"
)

// accountView is the customer's account state, or ok false when none is running.
func accountView(t *testing.T, customer string) (accountapi.View, bool) {
	t.Helper()
	v, err := (&accountapi.Client{Temporal: env.client}).State(context.Background(), customer)
	if err != nil {
		return v, false
	}
	return v, true
}

// accountRuns lists the runs of the customer's account workflow that visibility holds.
func accountRuns(t *testing.T, customer string) []string {
	t.Helper()
	resp, err := env.client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowId = %q", accountapi.WorkflowID(customer))})
	require.NoError(t, err)
	var runs []string
	for _, e := range resp.Executions {
		runs = append(runs, e.GetExecution().GetRunId())
	}
	return runs
}

// accountRun is the run id of the customer's latest account run and its status.
func accountRun(t *testing.T, customer string) (string, enumspb.WorkflowExecutionStatus) {
	t.Helper()
	d, err := env.client.DescribeWorkflowExecution(context.Background(), accountapi.WorkflowID(customer), "")
	require.NoError(t, err)
	return d.GetWorkflowExecutionInfo().GetExecution().GetRunId(), d.GetWorkflowExecutionInfo().GetStatus()
}

// TestSimultaneousInvoicesStartOneAccount: two invoices of a new customer issued at
// the same instant (two API calls racing) start exactly one account workflow, which
// holds both.
func TestSimultaneousInvoicesStartOneAccount(t *testing.T) {
	t.Parallel()
	customer := "C-E2E-RACE"
	ids := []string{"E2E-RACE-1", "E2E-RACE-2"}
	defer endAccount(t, customer, ids...)
	phone := uniquePhone()
	var wg sync.WaitGroup
	codes := make([]int, len(ids))
	start := make(chan struct{})
	for i, id := range ids {
		inv := customerInvoice(id, customer, phone, "demo-accounts", []string{"email"}, 0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes[i], _ = call(t, http.MethodPost, "/v1/invoices", inv)
		}()
	}
	close(start)
	wg.Wait()
	require.Equal(t, []int{http.StatusCreated, http.StatusCreated}, codes)

	eventually(t, 30*time.Second, "both invoices on the account", func() bool {
		v, ok := accountView(t, customer)
		return ok && len(v.Open) == 2
	})
	run, status := accountRun(t, customer)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, status)
	eventually(t, 30*time.Second, "the account in visibility", func() bool { return len(accountRuns(t, customer)) > 0 })
	require.Equal(t, []string{run}, accountRuns(t, customer), "one account workflow, holding both invoices")
	started := 0
	for _, e := range accountHistory(t, customer, run) {
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED {
			started++
		}
	}
	require.Equal(t, 1, started)
}

// TestClosedAccountIsStartedAgain: an account terminated by an operator while its
// invoice is open is started again by the invoice's next reminder, which still goes
// out once; an account that completed (nothing open) is started again by the
// customer's next invoice.
func TestClosedAccountIsStartedAgain(t *testing.T) {
	t.Parallel()
	customer := "C-E2E-REOPEN"
	first, second := "E2E-REOPEN-1", "E2E-REOPEN-2"
	defer endAccount(t, customer, first, second)
	// Issued now: its first reminder is due in about 15 s.
	issueInvoice(t, customerInvoice(first, customer, uniquePhone(), "demo-accounts", []string{"email"}, 0))
	eventually(t, 30*time.Second, "the account", func() bool {
		v, ok := accountView(t, customer)
		return ok && slices.Contains(v.Open, first)
	})
	run1, _ := accountRun(t, customer)
	require.NoError(t, env.client.TerminateWorkflow(context.Background(), accountapi.WorkflowID(customer), run1, "operator ended it"))
	// That run, not the latest: the reminder may already have started the next one.
	d, err := env.client.DescribeWorkflowExecution(context.Background(), accountapi.WorkflowID(customer), run1)
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, d.GetWorkflowExecutionInfo().GetStatus())

	// The reminder starts a new account run, which sends it.
	eventually(t, 90*time.Second, "the reminder", func() bool { return len(outboxFor(first)) > 0 })
	require.Len(t, outboxFor(first), 1)
	run2, _ := accountRun(t, customer)
	require.NotEqual(t, run1, run2, "a new account run")
	var notices []map[string]any
	eventually(t, 30*time.Second, "the step recorded", func() bool {
		notices = noticesOf(t, first)
		return len(notices) > 0
	})
	require.NotEmpty(t, notices[0]["message_key"], "the reminder went out as the account's message")

	// Paid, the invoice detaches and the account completes; the next invoice of the
	// customer starts it again.
	code, body := pay(t, first, "pay-"+first, "1275.00")
	require.Equal(t, http.StatusOK, code, body)
	eventually(t, 60*time.Second, "the account to complete", func() bool {
		_, st := accountRun(t, customer)
		return st == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})
	run3, _ := accountRun(t, customer)
	issueInvoice(t, customerInvoice(second, customer, uniquePhone(), "demo-accounts", []string{"email"}, 0))
	eventually(t, 30*time.Second, "the account started again", func() bool {
		v, ok := accountView(t, customer)
		return ok && slices.Equal(v.Open, []string{second})
	})
	run4, status := accountRun(t, customer)
	require.NotEqual(t, run3, run4)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, status)
}

// accountHistory is the history of one run of the customer's account workflow.
func accountHistory(t *testing.T, customer, run string) []*historypb.HistoryEvent {
	t.Helper()
	var events []*historypb.HistoryEvent
	it := env.client.GetWorkflowHistory(context.Background(), accountapi.WorkflowID(customer), run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		events = append(events, ev)
	}
	return events
}
