package ledger

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func callTask(invoiceID string) NewTask {
	return NewTask{Key: "call:" + invoiceID + "/call", Kind: TaskCall, CustomerID: "cust-" + invoiceID,
		InvoiceID: invoiceID, Title: "Call about invoice " + invoiceID, Step: "call",
		Details: map[string]any{"phone": "+15550001111"}, DueAt: t0.Add(48 * time.Hour)}
}

func TestCreateTaskOncePerKey(t *testing.T) {
	ctx := parallel(t)
	inv := issue(t)
	first, created, err := testStore.CreateTask(ctx, callTask(inv))
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, TaskOpen, first.Status)
	require.Equal(t, []string{inv}, first.InvoiceIDs)
	require.Equal(t, "EUR", first.Currency)
	require.Equal(t, int64(12_345), first.Balance)
	require.Equal(t, "2026-03-31", first.DueDate)
	require.Equal(t, "+15550001111", first.Details["phone"])

	again := callTask(inv)
	again.Title = "something else"
	second, created, err := testStore.CreateTask(ctx, again)
	require.NoError(t, err)
	require.False(t, created, "a retried creation finds the first task")
	require.Equal(t, first.ID, second.ID)
	require.Equal(t, first.Title, second.Title)
	require.Equal(t, 12, second.DaysOverdue(time.Date(2026, 4, 12, 23, 0, 0, 0, time.UTC)))
	require.Equal(t, 0, second.DaysOverdue(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)))
}

func TestCreateTaskRefusals(t *testing.T) {
	ctx := parallel(t)
	inv := issue(t)
	for name, mut := range map[string]func(*NewTask){
		"no key":          func(n *NewTask) { n.Key = "" },
		"unknown kind":    func(n *NewTask) { n.Kind = "visit" },
		"call no invoice": func(n *NewTask) { n.InvoiceID = "" },
		"bad assignee":    func(n *NewTask) { n.Assignee = "two words" },
		"other customer":  func(n *NewTask) { n.CustomerID = "someone-else" },
	} {
		n := callTask(inv)
		n.Key += "/" + name
		mut(&n)
		_, _, err := testStore.CreateTask(ctx, n)
		require.ErrorIs(t, err, ErrInvalid, name)
	}
	n := callTask(uid("inv"))
	_, _, err := testStore.CreateTask(ctx, n)
	require.ErrorIs(t, err, ErrNotFound, "an unknown invoice")
}

func TestCompleteTaskOnce(t *testing.T) {
	ctx := parallel(t)
	inv := issue(t)
	task, _, err := testStore.CreateTask(ctx, callTask(inv))
	require.NoError(t, err)

	_, err = testStore.CompleteTask(ctx, task.ID, TaskCompletion{Outcome: "maybe", By: "key:ann", At: t0})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = testStore.CompleteTask(ctx, task.ID, TaskCompletion{Outcome: OutcomePromised, By: "key:ann", At: t0})
	require.ErrorIs(t, err, ErrInvalid, "a promise needs its date")

	amount := int64(5000)
	done, err := testStore.CompleteTask(ctx, task.ID, TaskCompletion{Outcome: OutcomePromised, Note: "pays Friday",
		PromiseDate: "2026-04-03", PromiseAmount: &amount, By: "key:ann", At: t0.Add(time.Hour)})
	require.NoError(t, err)
	require.Equal(t, TaskDone, done.Status)
	require.Equal(t, "2026-04-03", done.PromiseDate)
	require.Equal(t, amount, *done.PromiseAmount)
	require.Nil(t, done.DeliveredAt, "a call's outcome has yet to reach the workflow")

	_, err = testStore.CompleteTask(ctx, task.ID, TaskCompletion{Outcome: OutcomeNoAnswer, By: "key:bob", At: t0.Add(2 * time.Hour)})
	var fin *TaskFinishedError
	require.ErrorAs(t, err, &fin)
	require.ErrorIs(t, err, ErrTaskFinished)
	require.Equal(t, OutcomePromised, fin.Task.Outcome, "the conflict carries the first outcome")
	require.Equal(t, "key:ann", fin.Task.CompletedBy)

	require.NoError(t, testStore.MarkTaskDelivered(ctx, task.ID, t0.Add(time.Hour)))
	require.NoError(t, testStore.MarkTaskDelivered(ctx, task.ID, t0.Add(3*time.Hour)))
	got, err := testStore.GetTask(ctx, task.ID)
	require.NoError(t, err)
	require.True(t, got.DeliveredAt.Equal(t0.Add(time.Hour)), "the first delivery time stays")

	// Closing a done task changes nothing and says so.
	kept, closed, err := testStore.CloseTask(ctx, task.ID, "no outcome before the timeout", t0.Add(48*time.Hour))
	require.NoError(t, err)
	require.False(t, closed)
	require.Equal(t, TaskDone, kept.Status)

	_, err = testStore.GetTask(ctx, -1)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestSnoozeAssignAndList(t *testing.T) {
	ctx := parallel(t)
	inv := issue(t)
	task, _, err := testStore.CreateTask(ctx, callTask(inv))
	require.NoError(t, err)
	reply, _, err := testStore.CreateTask(ctx, NewTask{Key: "reply:" + inv, Kind: TaskReply, CustomerID: "cust-" + inv, InvoiceIDs: []string{inv}})
	require.NoError(t, err)

	_, err = testStore.AssignTask(ctx, task.ID, "bad name!")
	require.ErrorIs(t, err, ErrInvalid)
	assigned, err := testStore.AssignTask(ctx, task.ID, "ann")
	require.NoError(t, err)
	require.Equal(t, "ann", assigned.Assignee)

	now := time.Now().UTC()
	snoozed, err := testStore.SnoozeTask(ctx, task.ID, now.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, TaskSnoozed, snoozed.Status)

	list := func(f TaskFilter) []int64 {
		f.InvoiceID = inv
		tasks, err := testStore.ListTasks(ctx, f)
		require.NoError(t, err)
		var ids []int64
		for _, x := range tasks {
			ids = append(ids, x.ID)
		}
		return ids
	}
	require.Equal(t, []int64{reply.ID}, list(TaskFilter{Status: TaskOpen}), "the snoozed call is hidden")
	require.Equal(t, []int64{task.ID}, list(TaskFilter{Status: TaskSnoozed}))
	require.Equal(t, []int64{task.ID, reply.ID}, list(TaskFilter{Status: TaskOpen, Now: now.Add(2 * time.Hour)}), "the snooze ended")
	require.Equal(t, []int64{task.ID}, list(TaskFilter{Assignee: "ann", AssigneeSet: true}))
	require.Equal(t, []int64{reply.ID}, list(TaskFilter{AssigneeSet: true}), "unassigned")
	require.Equal(t, []int64{reply.ID}, list(TaskFilter{Kind: TaskReply}))
	_, err = testStore.ListTasks(ctx, TaskFilter{Status: "later"})
	require.ErrorIs(t, err, ErrInvalid)

	// A reply's outcome has no workflow to reach: it counts as delivered.
	done, err := testStore.CompleteTask(ctx, reply.ID, TaskCompletion{Outcome: "answered", By: "key:ann", At: now})
	require.NoError(t, err)
	require.NotNil(t, done.DeliveredAt)
	_, err = testStore.SnoozeTask(ctx, reply.ID, now.Add(time.Hour))
	require.ErrorIs(t, err, ErrTaskFinished)
}

func TestTasksCloseWithTheirInvoice(t *testing.T) {
	ctx := parallel(t)
	inv := issue(t)
	task, _, err := testStore.CreateTask(ctx, callTask(inv))
	require.NoError(t, err)
	now := time.Now().UTC() // the task was created now: the timeline's order is real time
	require.NoError(t, testStore.SetInvoiceStatus(ctx, inv, "overdue", 12_345, now.Add(time.Hour)))
	got, err := testStore.GetTask(ctx, task.ID)
	require.NoError(t, err)
	require.Equal(t, TaskOpen, got.Status, "an invoice still open keeps its task")

	require.NoError(t, testStore.SetInvoiceStatus(ctx, inv, "paid", 0, now.Add(2*time.Hour)))
	got, err = testStore.GetTask(ctx, task.ID)
	require.NoError(t, err)
	require.Equal(t, TaskClosed, got.Status)
	require.Equal(t, "the invoice was paid", got.ClosedReason)
	require.Empty(t, got.DueDate, "no open invoice left to prioritise by")

	_, err = testStore.CompleteTask(ctx, task.ID, TaskCompletion{Outcome: OutcomeReached, By: "key:ann", At: t0.Add(3 * time.Hour)})
	var fin *TaskFinishedError
	require.True(t, errors.As(err, &fin))
	require.Equal(t, TaskClosed, fin.Task.Status)

	page, err := testStore.Timeline(ctx, TimelineQuery{CustomerID: "cust-" + inv, Limit: 50, Kinds: []string{TimelineTask}})
	require.NoError(t, err)
	require.Len(t, page.Entries, 2)
	require.Equal(t, "closed", page.Entries[0].Details["event"])
	require.Equal(t, "the invoice was paid", page.Entries[0].Details["reason"])
	require.Equal(t, "opened", page.Entries[1].Details["event"])
}

func TestTimelineShowsTheOutcome(t *testing.T) {
	ctx := parallel(t)
	inv := issue(t)
	task, _, err := testStore.CreateTask(ctx, callTask(inv))
	require.NoError(t, err)
	_, err = testStore.CompleteTask(ctx, task.ID, TaskCompletion{Outcome: OutcomePromised, Note: "pays Friday",
		PromiseDate: "2026-04-03", By: "key:ann", At: time.Now().Add(time.Minute)})
	require.NoError(t, err)
	page, err := testStore.Timeline(ctx, TimelineQuery{CustomerID: "cust-" + inv, Limit: 50, Kinds: []string{TimelineTask}})
	require.NoError(t, err)
	require.Len(t, page.Entries, 2)
	done := page.Entries[0]
	require.Equal(t, "key:ann", done.Actor)
	require.Equal(t, inv, done.InvoiceID)
	require.Equal(t, "promised", done.Details["outcome"])
	require.Equal(t, "pays Friday", done.Details["note"])
	require.Equal(t, "2026-04-03", done.Details["promise_date"])
}

// TestNewTasksGoToTheCustomersCollector: a task its creator gives nobody goes to the
// collector whose portfolio the customer is in; one given by name keeps that name; a
// reply of no customer is the team's, and only a reply may have no customer.
func TestNewTasksGoToTheCustomersCollector(t *testing.T) {
	ctx := parallel(t)
	inv := issue(t)
	collector := uid("ann")
	_, _, err := testStore.CreateAPIKey(ctx, collector, []string{"operator", "read"})
	require.NoError(t, err)
	_, _, err = testStore.AssignCustomer(ctx, "cust-"+inv, collector, "key:test",
		func(a Assignment) AuditEntry { return AssignmentAudit(a, AuditApplied) })
	require.NoError(t, err)

	call, _, err := testStore.CreateTask(ctx, callTask(inv))
	require.NoError(t, err)
	require.Equal(t, collector, call.Assignee, "the customer's collector")
	named := NewTask{Key: "reply:" + uid("m"), Kind: TaskReply, CustomerID: "cust-" + inv, Assignee: "bob"}
	got, _, err := testStore.CreateTask(ctx, named)
	require.NoError(t, err)
	require.Equal(t, "bob", got.Assignee, "a name given wins")

	team, created, err := testStore.CreateTask(ctx, NewTask{Key: "reply:" + uid("m"), Kind: TaskReply, Title: "Reply from an unknown sender"})
	require.NoError(t, err)
	require.True(t, created)
	require.Empty(t, team.CustomerID)
	require.Empty(t, team.Assignee, "the team's")
	list, err := testStore.ListTasks(ctx, TaskFilter{Status: TaskOpen, AssigneeSet: true, Kind: TaskReply})
	require.NoError(t, err)
	require.Contains(t, taskIDs(list), team.ID, "listed among nobody's tasks")

	noCustomer := callTask(inv)
	noCustomer.Key, noCustomer.CustomerID = noCustomer.Key+"/none", ""
	_, _, err = testStore.CreateTask(ctx, noCustomer)
	require.ErrorIs(t, err, ErrInvalid, "a call task needs its customer")
}

func taskIDs(tasks []Task) []int64 {
	ids := make([]int64, 0, len(tasks))
	for _, t := range tasks {
		ids = append(ids, t.ID)
	}
	return ids
}

// A call's note the ledger cannot store (a NUL) once held the invoice's call-outcome
// update for ever; the note is checked as a customer note is, its length in
// characters as the column counts them.
func TestCheckTaskCompletionNote(t *testing.T) {
	for _, tc := range []struct {
		note, problem string
	}{
		{"", ""},
		{"pays Friday\nafter the board meets\t(ok)", ""},
		{strings.Repeat("日", MaxTaskNote), ""},
		{strings.Repeat("日", MaxTaskNote+1), "must be at most 4000 characters (has 4001)"},
		{"a\x00b", "must not contain control characters (U+0000 at byte 1)"},
		{"a\x1bb", "must not contain control characters (U+001B at byte 1)"},
		{"a\u0085b", "must not contain control characters (U+0085 at byte 1)"},
		{"a\xffb", "must be valid UTF-8"},
	} {
		field, problem := CheckTaskCompletion(TaskCall, TaskCompletion{Outcome: OutcomeReached, Note: tc.note, By: "key:ann"})
		require.Equal(t, tc.problem, problem, "note %q", tc.note)
		if tc.problem != "" {
			require.Equal(t, "note", field)
		}
	}
}
