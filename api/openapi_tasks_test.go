package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/ledger"
)

// runTaskCases exercises the task routes of the live API for the OpenAPI test: a
// customer's reply task (no workflow waits for it) listed, read, snoozed, assigned,
// completed, and the refusals.
func (l *liveAPI) runTaskCases(t *testing.T, customer, inv string, withAll, withRead []string) {
	t.Helper()
	reply, _, err := testStore.CreateTask(t.Context(), ledger.NewTask{Key: "reply:" + uid("msg"), Kind: ledger.TaskReply,
		CustomerID: customer, InvoiceIDs: []string{inv}, Title: "Ada answered"})
	require.NoError(t, err)
	path := fmt.Sprintf("/v1/tasks/%d", reply.ID)
	_, ann := newKey(t, testStore, auth.ScopeOperator)
	for _, c := range []apiCase{
		{name: "tasks", method: "GET", path: "/v1/tasks?status=open&kind=reply&customer_id=" + customer + "&limit=10", headers: withRead, want: http.StatusOK},
		{name: "unassigned tasks", method: "GET", path: "/v1/tasks?assignee=", headers: withRead, want: http.StatusOK},
		{name: "tasks of no status", method: "GET", path: "/v1/tasks?status=later", headers: withRead, want: http.StatusBadRequest, brokenRequest: true},
		{name: "a task", method: "GET", path: path, headers: withRead, want: http.StatusOK},
		{name: "an unknown task", method: "GET", path: "/v1/tasks/999999999", headers: withRead, want: http.StatusNotFound},
		{name: "assign a task", method: "POST", path: path + "/assign", body: fmt.Sprintf(`{"assignee": %q}`, ann.Name), headers: withAll, want: http.StatusOK},
		{name: "assign to no collector", method: "POST", path: path + "/assign", body: `{"assignee": "nobody-such"}`, headers: withAll, want: http.StatusUnprocessableEntity},
		{name: "assign to a bad name", method: "POST", path: path + "/assign", body: `{"assignee": "ann smith"}`, headers: withAll, want: http.StatusUnprocessableEntity},
		{name: "snooze a task", method: "POST", path: path + "/snooze", body: `{"until": "2999-01-01"}`, headers: withAll, want: http.StatusOK},
		{name: "snooze into the past", method: "POST", path: path + "/snooze", body: `{"until": "2000-01-01"}`, headers: withAll, want: http.StatusUnprocessableEntity},
		{name: "complete without an outcome", method: "POST", path: path + "/complete", body: `{"note": "x"}`, headers: withAll, want: http.StatusUnprocessableEntity, brokenRequest: true},
		{name: "complete with a read key", method: "POST", path: path + "/complete", body: `{"outcome": "answered"}`, headers: withRead, want: http.StatusForbidden},
		{name: "complete a task", method: "POST", path: path + "/complete", body: `{"outcome": "answered", "note": "will pay Friday"}`, headers: withAll, want: http.StatusOK},
		{name: "complete it again", method: "POST", path: path + "/complete", body: `{"outcome": "answered"}`, headers: withAll, want: http.StatusConflict},
		{name: "snooze a done task", method: "POST", path: path + "/snooze", body: `{"until": "2999-01-01"}`, headers: withAll, want: http.StatusConflict},
	} {
		a := l.run(t, c)
		if c.name == "complete it again" {
			var conflict TaskConflict
			require.NoError(t, json.Unmarshal(a.body, &conflict))
			require.Equal(t, "answered", conflict.Task.Outcome)
		}
	}
}
