package activities

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/templates"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// The call activities against the real ledger: the task opens once per invoice and
// step with the voicemail script filled in; a completion repeated (the activity
// retried) is recorded once; a wrong number opts the phone out of SMS and calls, so
// the next call task of that phone is not opened.
func TestCallTaskOpensOnceCompletesOnceAndAWrongNumberStopsTheNext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	acts := &Activities{Ledger: testStore, Business: templates.Business{Name: "Acme Supplies", Phone: "+1 555 010 0100"}}
	n := request(t, policy.SMS)
	phone := fmt.Sprintf("+1415%07d", seq.Add(1))
	due := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	req := invoiceapi.CallTaskRequest{InvoiceID: n.InvoiceID, CustomerID: n.CustomerID, Step: "call", Phone: phone,
		Title: "Call Ada", VoicemailScript: policy.DefaultVoicemailScript, Due: due}

	first, err := acts.OpenCallTask(ctx, req)
	require.NoError(t, err)
	again, err := acts.OpenCallTask(ctx, req)
	require.NoError(t, err)
	require.Equal(t, first, again, "one task per invoice and step")
	require.Equal(t, "open", first.Status)
	require.True(t, due.Equal(first.Due))
	task, err := testStore.GetTask(ctx, first.TaskID)
	require.NoError(t, err)
	require.Equal(t, "Hello, this is Acme Supplies. Please call us back at +1 555 010 0100. Thank you.", task.Details["voicemail_script"])
	require.Equal(t, phone, task.Details["phone"])

	done := invoiceapi.CallCompletion{TaskID: first.TaskID, InvoiceID: n.InvoiceID, CustomerID: n.CustomerID,
		Outcome: ledger.OutcomeWrongNumber, Note: "a bakery", By: "key:ada", At: time.Now().UTC(), Phone: phone}
	require.NoError(t, acts.CompleteCallTask(ctx, done))
	require.NoError(t, acts.CompleteCallTask(ctx, done), "a retry finds it done")
	task, err = testStore.GetTask(ctx, first.TaskID)
	require.NoError(t, err)
	require.Equal(t, ledger.TaskDone, task.Status)
	require.Equal(t, "a bakery", task.Note)
	require.NotNil(t, task.DeliveredAt)
	for _, ch := range []string{ledger.ChannelCall, ledger.ChannelSMS} {
		o, out, err := testStore.OptedOut(ctx, ch, phone)
		require.NoError(t, err)
		require.True(t, out, ch)
		require.Equal(t, ledger.SourceWrongNumber, o.Source)
	}

	next := req
	next.Step = "call-again"
	res, err := acts.OpenCallTask(ctx, next)
	require.NoError(t, err)
	require.True(t, res.OptedOut)
	_, err = testStore.GetTaskByKey(ctx, invoiceapi.CallTaskKey(n.InvoiceID, "call-again"))
	require.ErrorIs(t, err, ledger.ErrNotFound, "no task for a bad number")

	// A task nobody answered closes at the timeout, once.
	other := req
	other.Step, other.Phone = "call-3", fmt.Sprintf("+1415%07d", seq.Add(1))
	open, err := acts.OpenCallTask(ctx, other)
	require.NoError(t, err)
	closed, err := acts.CloseCallTask(ctx, invoiceapi.CloseCallTaskRequest{TaskID: open.TaskID, Reason: "no outcome before the call step's timeout", At: time.Now().UTC()})
	require.NoError(t, err)
	require.Equal(t, ledger.TaskClosed, closed.Status)
	closed, err = acts.CloseCallTask(ctx, invoiceapi.CloseCallTaskRequest{TaskID: open.TaskID, Reason: "again", At: time.Now().UTC()})
	require.NoError(t, err)
	require.Equal(t, ledger.TaskClosed, closed.Status)
}
