package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// TestNoReminderAfterHandOffWhileTheLedgerIsDown stops the ledger's PostgreSQL while
// three invoices' first reminders are due, so their sends fail on the ledger claim and
// are retried. During the outage one invoice passes its hand-off to the agency and
// another is paid; then the database comes back. Neither may get the reminder that
// was being retried; the third, still open, must get it exactly once.
//
// It stops the server every test shares, so it does not run in parallel (parallel
// tests start only after it).
func TestNoReminderAfterHandOffWhileTheLedgerIsDown(t *testing.T) {
	escalated, paid, open := "E2E-OUTAGE-ESC", "E2E-OUTAGE-PAID", "E2E-OUTAGE-OPEN"
	issued := issueNow(t, escalated, "e2e-handoff") // reminder at +3 s, hand-off at +8 s
	issueNow(t, paid, "e2e-lifecycle")              // reminders at +3 s and +14 s
	issueNow(t, open, "e2e-lifecycle")

	require.NoError(t, env.pg.StopServer())
	restarted := false
	defer func() {
		if !restarted {
			_ = env.pg.StartServer(context.Background())
		}
	}()

	// Every first reminder is being retried: its claim in the ledger failed.
	for _, id := range []string{escalated, paid, open} {
		eventually(t, 30*time.Second, id+"'s reminder retried", func() bool { return sendRetried(t, id) })
	}

	// Paid during the outage: the payment update needs no database (its ledger write
	// waits in the workflow), as when the forwarder applies a webhook.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := env.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: invoiceapi.WorkflowID(paid), UpdateName: invoiceapi.UpdatePayment,
		Args:         []any{invoiceapi.PaymentInput{PaymentID: "outage-pay", Amount: 125_000, Currency: "USD"}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	require.NoError(t, err)
	var res invoiceapi.PaymentResult
	require.NoError(t, h.Get(ctx, &res))
	require.Equal(t, "paid", string(res.Status))

	// The hand-off time passes with the database still down.
	time.Sleep(time.Until(issued.Add(9 * time.Second)))
	require.NoError(t, env.pg.StartServer(ctx))
	restarted = true

	eventually(t, 90*time.Second, escalated+" handed off to the agency in the ledger", func() bool {
		e, err := env.ledger.GetEscalation(context.Background(), escalated)
		return err == nil && e.InvoiceID == escalated
	})
	for _, id := range []string{escalated, paid} {
		eventually(t, 60*time.Second, id+"'s send finished", func() bool { return noticeStatuses(t, id) != "" })
		require.Equal(t, "withheld", noticeStatuses(t, id))
		require.Empty(t, outboxFor(id), "no reminder after the hand-off or the payment")
		notices, err := env.ledger.ListNotices(context.Background(), id)
		require.NoError(t, err)
		for _, n := range notices {
			require.NotEqual(t, "sent", string(n.Status), "notice %s", n.Key)
		}
	}
	require.True(t, historyHas(t, paid, enums.EVENT_TYPE_ACTIVITY_TASK_CANCELED), "the payment cancelled the retried send")
	require.Equal(t, "escalated", state(t, escalated)["status"])
	require.Equal(t, "paid", state(t, paid)["status"])

	// Nothing that should go was lost: the open invoice's reminder went out, once.
	key := open + "/first/email"
	eventually(t, 90*time.Second, open+"'s first reminder sent after the outage", func() bool {
		return strings.HasPrefix(noticeStatuses(t, open), "sent")
	})
	count := 0
	for _, m := range outboxFor(open) {
		if m.CustomArgs["notice_key"] == key {
			count++
		}
	}
	require.Equal(t, 1, count, "the outbox holds exactly one copy of %s", key)

	recordHistory(t, escalated, "escalated-while-send-retried")
	recordHistory(t, paid, "paid-while-send-retried") // open for its refund window
}

// sendRetried reports whether the invoice's workflow has a SendNotice activity past
// its first attempt.
func sendRetried(t *testing.T, id string) bool {
	t.Helper()
	d, err := env.client.DescribeWorkflowExecution(context.Background(), invoiceapi.WorkflowID(id), "")
	require.NoError(t, err)
	for _, a := range d.PendingActivities {
		if a.GetActivityType().GetName() == "SendNotice" && a.GetAttempt() >= 2 {
			return true
		}
	}
	return false
}

// noticeStatuses is the status of the invoice's notices in its workflow state, joined
// by commas ("" for none).
func noticeStatuses(t *testing.T, id string) string {
	t.Helper()
	return strings.Join(noticeField(state(t, id), "status"), ",")
}

// historyHas reports whether the invoice's workflow history holds an event of type et.
func historyHas(t *testing.T, id string, et enums.EventType) bool {
	t.Helper()
	return slices.ContainsFunc(historyOf(t, id), func(ev *historypb.HistoryEvent) bool { return ev.GetEventType() == et })
}
