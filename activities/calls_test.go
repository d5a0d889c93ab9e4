package activities

import (
	"context"
	"crypto/sha256"
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

// The quiet days after a conversation count the customer's conversations about any of
// their invoices: a call about a second invoice waits them out, and opens after.
func TestCallTaskWaitsOutAConversationAboutAnotherInvoice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	acts := &Activities{Ledger: testStore, Business: templates.Business{Name: "Acme Supplies", Phone: "+1 555 010 0100"}}
	first := request(t, policy.SMS)
	id := fmt.Sprintf("%s-B", first.InvoiceID)
	sum := sha256.Sum256([]byte(id))
	_, err := testStore.IssueInvoice(ctx, ledger.InvoiceRecord{InvoiceID: id, CustomerID: first.CustomerID, Currency: "USD",
		AmountDue: 125000, IssuedAt: time.Now().UTC(), DueDate: "2026-12-01", PolicyID: "standard", BodySHA256: sum[:]})
	require.NoError(t, err)
	phone := fmt.Sprintf("+1415%07d", seq.Add(1))
	const quiet = 7 * 24 * time.Hour
	open := func(invoice, step string, at time.Time) invoiceapi.CallTaskResult {
		t.Helper()
		res, err := acts.OpenCallTask(ctx, invoiceapi.CallTaskRequest{InvoiceID: invoice, CustomerID: first.CustomerID, Step: step,
			Phone: phone, Title: "Call Ada", VoicemailScript: policy.DefaultVoicemailScript, Due: at.Add(48 * time.Hour),
			At: at, QuietAfterConversation: quiet})
		require.NoError(t, err)
		return res
	}
	complete := func(task int64, invoice, outcome string, at time.Time) {
		t.Helper()
		require.NoError(t, acts.CompleteCallTask(ctx, invoiceapi.CallCompletion{TaskID: task, InvoiceID: invoice,
			CustomerID: first.CustomerID, Outcome: outcome, By: "key:ada", At: at, Phone: phone}))
	}

	now := time.Now().UTC().Truncate(time.Second)
	a := open(first.InvoiceID, "call", now)
	require.Equal(t, "open", a.Status, "no conversation yet")
	complete(a.TaskID, first.InvoiceID, ledger.OutcomeNoAnswer, now)
	b := open(id, "call", now.Add(time.Minute))
	require.Equal(t, "open", b.Status, "no answer is no conversation")
	complete(b.TaskID, id, ledger.OutcomeReached, now.Add(time.Hour))

	waits := open(first.InvoiceID, "call-again", now.Add(2*time.Hour))
	require.Equal(t, "deferred", waits.Status)
	require.Zero(t, waits.TaskID)
	require.True(t, now.Add(time.Hour+quiet).Equal(waits.NotBefore), "quiet days from the conversation: %v", waits.NotBefore)
	require.True(t, now.Add(time.Hour).Equal(waits.LastConversationAt))
	_, err = testStore.GetTaskByKey(ctx, invoiceapi.CallTaskKey(first.InvoiceID, "call-again"))
	require.ErrorIs(t, err, ledger.ErrNotFound, "no task while the customer is in their quiet days")

	after := open(first.InvoiceID, "call-again", waits.NotBefore)
	require.Equal(t, "open", after.Status, "the quiet days are over")
	require.NotZero(t, after.TaskID)
}
