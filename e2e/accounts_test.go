package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/dunwell/dunwell/internal/fakeprovider"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/workflows/accountapi"
)

// Consolidated reminders end to end: three invoices of one customer under the
// shipped demo policy (as "demo-accounts", see e2ePolicies) through the real API,
// worker, account workflow, ledger and fake providers.

// accountInvoices issues three demo-accounts invoices of one new customer, issued 14 s
// ago so their first reminders fall due together about a second from now.
func accountInvoices(t *testing.T, prefix string) (ids []string, email, phone string) {
	t.Helper()
	customer := "C-" + prefix
	email, phone = strings.ToLower(prefix)+"@example.com", uniquePhone()
	for _, n := range []string{"1", "2", "3"} {
		id := prefix + "-" + n
		inv := customerInvoice(id, customer, phone, "demo-accounts", []string{"email", "sms"}, 14*time.Second)
		inv["customer"].(map[string]any)["email"] = email
		issueInvoice(t, inv)
		ids = append(ids, id)
	}
	return ids, email, phone
}

// noticesOf returns the invoice's notices from its state.
func noticesOf(t *testing.T, id string) []map[string]any {
	t.Helper()
	_, state := call(t, http.MethodGet, "/v1/invoices/"+id, nil)
	raw, _ := state["notices"].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, n := range raw {
		out = append(out, n.(map[string]any))
	}
	return out
}

func endAccount(t *testing.T, customer string, ids ...string) {
	t.Helper()
	terminate(t, ids...)
	_ = env.client.TerminateWorkflow(context.Background(), accountapi.WorkflowID(customer), "", "test done")
}

// TestThreeInvoicesOneEmailOneSMS: the customer gets one email listing all three
// invoices at the first step and one SMS at the second, and each invoice's state names
// the message that covered its step.
func TestThreeInvoicesOneEmailOneSMS(t *testing.T) {
	t.Parallel()
	ids, email, phone := accountInvoices(t, "E2E-ACCT")
	defer endAccount(t, "C-E2E-ACCT", ids...)

	eventually(t, 60*time.Second, "the email", func() bool { return len(env.fakes.OutboxFor(email)) > 0 })
	mails := env.fakes.OutboxFor(email)
	require.Len(t, mails, 1, "one email for three invoices")
	key := mails[0].CustomArgs["notice_key"]
	require.True(t, strings.HasPrefix(key, "C-E2E-ACCT/email/"), key)
	for _, id := range ids {
		require.Contains(t, mails[0].Text, id, "the email lists every invoice")
	}

	eventually(t, 90*time.Second, "the SMS", func() bool { return len(env.fakes.OutboxFor(phone)) > 0 })
	require.Len(t, env.fakes.OutboxFor(phone), 1, "one SMS for three invoices")
	require.Len(t, env.fakes.OutboxFor(email), 1, "still one email")

	msg, err := env.ledger.GetMessage(context.Background(), key)
	require.NoError(t, err)
	require.Equal(t, ledger.MessageSent, msg.Status)
	require.Len(t, msg.Covered, 3)
	for _, id := range ids {
		var notices []map[string]any
		eventually(t, 30*time.Second, "both steps recorded on "+id, func() bool {
			notices = noticesOf(t, id)
			return len(notices) >= 2
		})
		require.Equal(t, "sent", notices[0]["status"], id)
		require.Equal(t, key, notices[0]["message_key"], "the state of %s names the message", id)
		require.NotEmpty(t, notices[1]["message_key"], id)
		stored, err := env.ledger.MessageOfNotice(context.Background(), id+"/first-reminder/email")
		require.NoError(t, err)
		require.Equal(t, key, stored, "the ledger links %s's step to the message", id)
	}

	// Paid, the invoices close and detach; with nothing open, the account completes.
	for _, id := range ids {
		code, body := pay(t, id, "pay-"+id, "1275.00")
		require.Equal(t, http.StatusOK, code, body)
	}
	eventually(t, 60*time.Second, "the account to complete", func() bool {
		d, err := env.client.DescribeWorkflowExecution(context.Background(), accountapi.WorkflowID("C-E2E-ACCT"), "")
		return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})
	recordHistory(t, ids[0], "consolidated-reminders-then-paid")
	recordWorkflow(t, accountapi.WorkflowID("C-E2E-ACCT"), "", "account-one-message-per-step-then-closed")
}

// TestAccountCrashAfterEmailAcceptedSendsOnce: the provider accepted the consolidated
// email and the worker died before the ledger recorded it. The retry reconciles with
// the provider by the message key and sends nothing more: one email, and each
// invoice's step linked to it.
func TestAccountCrashAfterEmailAcceptedSendsOnce(t *testing.T) {
	prefix := "E2E-ACCT-CRASH"
	email := strings.ToLower(prefix) + "@example.com"
	require.NoError(t, env.fakes.Hold(fakeprovider.SendGrid, email))
	ids, _, _ := accountInvoices(t, prefix)
	defer endAccount(t, "C-"+prefix, ids...)

	held := waitHeld(t)
	key := held.CustomArgs["notice_key"]
	env.worker.kill()
	env.fakes.Release()
	msg, err := env.ledger.GetMessage(context.Background(), key)
	require.NoError(t, err)
	require.Equal(t, ledger.MessageSending, msg.Status, "claimed before the provider call, not recorded after it")
	require.NoError(t, env.worker.start())

	eventually(t, 90*time.Second, "the message recorded as sent", func() bool {
		m, err := env.ledger.GetMessage(context.Background(), key)
		return err == nil && m.Status == ledger.MessageSent
	})
	require.Equal(t, 1, sentWithKey(email, key), "exactly one email")
	msg, err = env.ledger.GetMessage(context.Background(), key)
	require.NoError(t, err)
	require.GreaterOrEqual(t, msg.Attempts, 2, "the send ran again after the crash")
	for _, id := range ids {
		eventually(t, 30*time.Second, "the outcome on "+id, func() bool {
			n := noticesOf(t, id)
			return len(n) > 0 && n[0]["message_key"] == key && n[0]["status"] == "sent"
		})
		require.Equal(t, "sent", noticeStatus(id, id+"/first-reminder/email"))
	}
}
