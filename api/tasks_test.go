package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/activities"
	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// workflowRecordsCallOutcomes makes the fake Temporal's invoice workflows do their
// part of a call's outcome (the update call-outcome): record the task's completion in
// the ledger, as activities.CompleteCallTask does for the real workflow.
func workflowRecordsCallOutcomes(t *testing.T, srv *testServer) {
	acts := &activities.Activities{Ledger: testStore}
	srv.temporal.onUpdate = func(name string, arg any) error {
		if name != invoiceapi.UpdateCallOutcome {
			return nil
		}
		in := arg.(invoiceapi.CallOutcomeInput)
		return acts.CompleteCallTask(t.Context(), invoiceapi.CallCompletion{TaskID: in.TaskID, Outcome: in.Outcome, Note: in.Note,
			PromiseDate: in.PromiseDate, PromiseAmount: in.PromiseAmount, By: in.By, At: time.Now().UTC()})
	}
}

func listTasks(t *testing.T, srv *testServer, token, query string) []Task {
	t.Helper()
	a := call(t, srv, http.MethodGet, "/v1/tasks"+query, "", bearer(token)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	var out TasksResponse
	require.NoError(t, json.Unmarshal(a.body, &out))
	return out.Tasks
}

func TestTaskScore(t *testing.T) {
	require.InDelta(t, 3.0, taskScore(99_900, "EUR", 0, "prompt"), 0.01, "999.00 is about 10^3")
	require.Greater(t, taskScore(100, "EUR", 30, "slow"), taskScore(100, "EUR", 3, "slow"), "older first")
	require.Greater(t, taskScore(100, "EUR", 3, "at_risk"), taskScore(100, "EUR", 3, "prompt"), "worse payers first")
	require.Greater(t, taskScore(1_000_000, "EUR", 3, "new"), taskScore(100, "EUR", 3, "new"), "larger debts first")
	require.Equal(t, taskScore(100, "EUR", 90, "new"), taskScore(100, "EUR", 900, "new"), "days overdue count up to 90")
	require.Equal(t, taskScore(1000, "JPY", 0, "new"), taskScore(100_000, "EUR", 0, "new"), "by the currency's minor unit")
}

func TestTasksListedByPriorityAndCompleted(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore)
	admin, _ := newKey(t, testStore, auth.AllScopes()...)
	operator, opKey := newKey(t, testStore, auth.ScopeOperator)
	reader, _ := newKey(t, testStore, auth.ScopeRead)
	ctx := t.Context()
	cust := uid("C")
	small := issueFor(t, srv, admin, cust, "10.00")
	large := issueFor(t, srv, admin, cust, "9000.00")
	mk := func(inv string) ledger.Task {
		task, _, err := testStore.CreateTask(ctx, ledger.NewTask{Key: "call:" + inv + "/call", Kind: ledger.TaskCall,
			CustomerID: cust, InvoiceID: inv, Step: "call", Title: "Call about " + inv})
		require.NoError(t, err)
		return task
	}
	first, second := mk(small), mk(large)
	workflowRecordsCallOutcomes(t, srv)

	tasks := listTasks(t, srv, reader, "?status=open&kind=call&customer_id="+cust)
	require.Len(t, tasks, 2)
	require.Equal(t, second.ID, tasks[0].ID, "the larger debt first")
	require.Equal(t, "9000.00", tasks[0].Priority.Balance)
	require.Equal(t, "EUR", tasks[0].Priority.Currency)
	require.Equal(t, "new", tasks[0].Priority.Band)
	require.Greater(t, tasks[0].Priority.DaysOverdue, 0, "due 2026-03-31")
	require.Empty(t, listTasks(t, srv, reader, "?status=done&customer_id="+cust))

	// Bad parameters are named.
	a := call(t, srv, http.MethodGet, "/v1/tasks?status=later&kind=visit&colour=red", "", bearer(reader)...)
	require.Equal(t, http.StatusBadRequest, a.code)
	var e ErrorBody
	require.NoError(t, json.Unmarshal(a.body, &e))
	require.Contains(t, e.Fields, "status")
	require.Contains(t, e.Fields, "kind")
	require.Contains(t, e.Fields, "colour")

	path := "/v1/tasks/" + strconv.FormatInt(first.ID, 10)
	complete := func(body string) answer {
		return call(t, srv, http.MethodPost, path+"/complete", body, bearer(operator)...)
	}

	// Bad completions: 422 naming the field; nothing changes.
	for body, field := range map[string]string{
		`{"outcome": "maybe"}`:                                                         "outcome",
		`{"outcome": "promised"}`:                                                      "promise.date",
		`{"outcome": "promised", "promise": {"amount": "5.00"}}`:                       "promise.date",
		`{"outcome": "promised", "promise": {"date": "2026-04-10", "amount": "five"}}`: "promise.amount",
		`{"outcome": "reached", "promise": {"date": "2026-04-10"}}`:                    "promise",
	} {
		a := complete(body)
		require.Equal(t, http.StatusUnprocessableEntity, a.code, body+": "+string(a.body))
		var e ErrorBody
		require.NoError(t, json.Unmarshal(a.body, &e))
		require.Contains(t, e.Fields, field, body)
	}
	a = complete(`{"outcome": 7}`)
	require.Equal(t, http.StatusBadRequest, a.code, "a malformed body")

	require.Empty(t, srv.temporal.updateNames(), "a refused completion reaches no workflow")

	// A promise: delivered to the invoice's workflow, which records it in the ledger.
	a = complete(`{"outcome": "promised", "note": "pays on the 10th", "promise": {"date": "2026-04-10", "amount": "5.00"}}`)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.Equal(t, []string{invoiceapi.UpdateCallOutcome}, srv.temporal.updateNames())
	require.Equal(t, []string{"task-" + strconv.FormatInt(first.ID, 10)}, srv.temporal.updateIDs)
	require.Equal(t, invoiceapi.CallOutcomeInput{TaskID: first.ID, Outcome: "promised", Note: "pays on the 10th",
		PromiseDate: "2026-04-10", PromiseAmount: 500, By: "key:" + opKey.Name}, srv.temporal.args["invoice-"+small][0])
	var done Task
	require.NoError(t, json.Unmarshal(a.body, &done))
	require.Equal(t, ledger.TaskDone, done.Status)
	require.Equal(t, "promised", done.Outcome)
	require.Equal(t, "key:"+opKey.Name, done.CompletedBy)
	require.Equal(t, &TaskPromise{Date: "2026-04-10", Amount: "5.00", Currency: "EUR"}, done.Promise)

	// The second completion: 409 with the first outcome.
	a = complete(`{"outcome": "no_answer"}`)
	require.Equal(t, http.StatusConflict, a.code, string(a.body))
	var conflict TaskConflict
	require.NoError(t, json.Unmarshal(a.body, &conflict))
	require.Equal(t, "promised", conflict.Task.Outcome)
	require.Contains(t, conflict.Error, "already completed as promised")

	// Snooze and assign the other; unknown tasks are 404.
	other := "/v1/tasks/" + strconv.FormatInt(second.ID, 10)
	a = call(t, srv, http.MethodPost, other+"/snooze", `{"until": "yesterday"}`, bearer(operator)...)
	require.Equal(t, http.StatusUnprocessableEntity, a.code)
	a = call(t, srv, http.MethodPost, other+"/snooze", `{"until": "2000-01-01"}`, bearer(operator)...)
	require.Equal(t, http.StatusUnprocessableEntity, a.code, "the past")
	a = call(t, srv, http.MethodPost, other+"/snooze", `{"until": "2999-01-01T00:00:00Z"}`, bearer(operator)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.Empty(t, listTasks(t, srv, reader, "?status=open&customer_id="+cust), "snoozed: off the open list")
	a = call(t, srv, http.MethodPost, other+"/assign", `{"assignee": "ann smith"}`, bearer(operator)...)
	require.Equal(t, http.StatusUnprocessableEntity, a.code)
	// A name no collector signs in with: the task would be on nobody's worklist.
	a = call(t, srv, http.MethodPost, other+"/assign", `{"assignee": "nobody-such"}`, bearer(operator)...)
	require.Equal(t, http.StatusUnprocessableEntity, a.code, string(a.body))
	require.Contains(t, string(a.body), `"assignee": "\"nobody-such\" is not a collector`)
	require.Empty(t, listTasks(t, srv, reader, "?assignee=nobody-such&customer_id="+cust), "nothing changed")
	a = call(t, srv, http.MethodPost, other+"/assign", fmt.Sprintf(`{"assignee": %q}`, opKey.Name), bearer(operator)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	tasks = listTasks(t, srv, reader, "?assignee="+opKey.Name+"&customer_id="+cust)
	require.Len(t, tasks, 1)
	require.Equal(t, ledger.TaskSnoozed, tasks[0].Status)
	for _, p := range []string{"/v1/tasks/0", "/v1/tasks/abc", fmt.Sprintf("/v1/tasks/%d", int64(1)<<60)} {
		require.Equal(t, http.StatusNotFound, call(t, srv, http.MethodGet, p, "", bearer(reader)...).code, p)
	}

	// The customer's timeline shows the outcome and the note, once.
	tl := readTimeline(t, srv, reader, cust, "?kind=task")
	var outcomes []string
	for _, e := range tl.Entries {
		if e.Details["event"] == "done" {
			outcomes = append(outcomes, e.Summary)
		}
	}
	require.Equal(t, []string{"Call about invoice " + small + ": promised to pay 5.00 EUR by 2026-04-10: pays on the 10th"}, outcomes)
}

// The invoice's workflow has the last word on a call's outcome: what its validator
// refuses (a promise past the policy's limit, a task it does not wait for) is
// answered with the field, and the task stays open, unrecorded.
func TestCallOutcomeRefusedByTheWorkflowChangesNothing(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore)
	admin, _ := newKey(t, testStore, auth.AllScopes()...)
	operator, _ := newKey(t, testStore, auth.ScopeOperator)
	ctx := t.Context()
	cust := uid("C")
	inv := issueFor(t, srv, admin, cust, "100.00")
	task, _, err := testStore.CreateTask(ctx, ledger.NewTask{Key: "call:" + inv + "/call", Kind: ledger.TaskCall,
		CustomerID: cust, InvoiceID: inv, Step: "call", Title: "Call about " + inv})
	require.NoError(t, err)
	path := "/v1/tasks/" + strconv.FormatInt(task.ID, 10) + "/complete"

	srv.temporal.rejects[invoiceapi.UpdateCallOutcome] = invoiceapi.EncodeError(&collection.InvalidError{Field: "promise.date", Reason: "must be within a year"})
	a := call(t, srv, http.MethodPost, path, `{"outcome": "promised", "promise": {"date": "2099-01-01"}}`, bearer(operator)...)
	require.Equal(t, http.StatusUnprocessableEntity, a.code, string(a.body))
	var e ErrorBody
	require.NoError(t, json.Unmarshal(a.body, &e))
	require.Equal(t, "must be within a year", e.Fields["promise.date"])

	srv.temporal.rejects[invoiceapi.UpdateCallOutcome] = invoiceapi.EncodeError(&collection.ConflictError{Field: "task_id", Reason: "waits for no call task"})
	a = call(t, srv, http.MethodPost, path, `{"outcome": "reached"}`, bearer(operator)...)
	require.Equal(t, http.StatusConflict, a.code, string(a.body))
	require.Contains(t, string(a.body), "waits for no call task")

	stored, err := testStore.GetTask(ctx, task.ID)
	require.NoError(t, err)
	require.Equal(t, ledger.TaskOpen, stored.Status, "nothing recorded")
	require.Empty(t, stored.Outcome)
}
