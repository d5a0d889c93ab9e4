package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/dunwell/dunwell/internal/fakeprovider"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// invoice returns a demo-policy invoice issued 14 s ago, so its first reminder (15 s
// after issue) is due about a second after the workflow starts.
func invoice(id string) map[string]any {
	now := time.Now().UTC()
	return map[string]any{
		"id": id,
		"customer": map[string]any{
			"id": "C-" + id, "name": "Ada Lovelace", "email": strings.ToLower(id) + "@example.com",
			"phone": "+14155550100", "timezone": "UTC", "channels": []string{"email"},
		},
		"currency":    "USD",
		"amount_due":  "1250.00",
		"issued_at":   now.Add(-14 * time.Second).Format(time.RFC3339),
		"due_date":    now.Format(time.DateOnly),
		"payment_url": "https://pay.example.com/" + id,
		"policy":      "demo",
	}
}

func call(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, env.api.URL+path, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+env.apiKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := map[string]any{}
	require.NoError(t, json.Unmarshal(data, &out), "answer is not a JSON object: %s", data)
	return resp.StatusCode, out
}

func pay(t *testing.T, invoiceID, paymentID, amount string) (int, map[string]any) {
	t.Helper()
	return call(t, http.MethodPost, "/v1/invoices/"+invoiceID+"/payments",
		map[string]any{"payment_id": paymentID, "amount": amount, "currency": "USD"})
}

// eventually polls cond until it holds or the deadline passes. Reminders and
// visibility are asynchronous; this is a wait, not a timing assertion.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// historyOf returns the events of the invoice's workflow's latest run.
func historyOf(t *testing.T, id string) []*historypb.HistoryEvent {
	t.Helper()
	var events []*historypb.HistoryEvent
	it := env.client.GetWorkflowHistory(context.Background(), invoiceapi.WorkflowID(id), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		events = append(events, ev)
	}
	return events
}

// pendingTimers returns when each timer of the invoice's workflow that was started and
// has neither fired nor been cancelled will fire, read from its history: what the
// workflow sleeps until.
func pendingTimers(t *testing.T, id string) []time.Time {
	t.Helper()
	started := map[int64]time.Time{}
	for _, ev := range historyOf(t, id) {
		switch {
		case ev.GetTimerStartedEventAttributes() != nil:
			started[ev.GetEventId()] = ev.GetEventTime().AsTime().Add(ev.GetTimerStartedEventAttributes().GetStartToFireTimeout().AsDuration())
		case ev.GetTimerFiredEventAttributes() != nil:
			delete(started, ev.GetTimerFiredEventAttributes().GetStartedEventId())
		case ev.GetTimerCanceledEventAttributes() != nil:
			delete(started, ev.GetTimerCanceledEventAttributes().GetStartedEventId())
		}
	}
	out := make([]time.Time, 0, len(started))
	for _, at := range started {
		out = append(out, at)
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// waitAsleep waits until the invoice's workflow has handled what came before and sleeps
// until wakeAt: its state satisfies cond and its only pending timer fires at wakeAt
// (within a second: the timer runs from the workflow task's time), or it has no timer
// at all when wakeAt is zero. Nothing can then happen to the invoice before wakeAt
// unless something from outside wakes it, so a test can assert what did not happen
// without sleeping past the moment in question. It returns the state.
func waitAsleep(t *testing.T, id, what string, wakeAt time.Time, cond func(st map[string]any) bool) map[string]any {
	t.Helper()
	var st map[string]any
	var timers []time.Time
	defer func() {
		if t.Failed() {
			t.Logf("%s: last state %v; pending timers %v", id, st, timers)
		}
	}()
	eventually(t, 30*time.Second, what, func() bool {
		if st = state(t, id); !cond(st) {
			return false
		}
		timers = pendingTimers(t, id)
		if wakeAt.IsZero() {
			return len(timers) == 0
		}
		return len(timers) == 1 && timers[0].Sub(wakeAt).Abs() < time.Second
	})
	return st
}

func outboxFor(id string) []fakeprovider.Message {
	return env.fakes.OutboxFor(strings.ToLower(id) + "@example.com")
}

func findByQuery(t *testing.T, query string) int {
	t.Helper()
	resp, err := env.client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
	require.NoError(t, err)
	return len(resp.Executions)
}

func TestInvoiceIsRemindedPaidAndFoundByStatus(t *testing.T) {
	t.Parallel()
	id := "E2E-PAID"
	code, body := call(t, http.MethodPost, "/v1/invoices", invoice(id))
	require.Equal(t, http.StatusCreated, code, body)
	require.Equal(t, invoiceapi.WorkflowID(id), body["workflow_id"])

	eventually(t, 60*time.Second, "the first reminder in the outbox", func() bool { return len(outboxFor(id)) > 0 })
	msg := outboxFor(id)[0]
	require.Equal(t, fakeprovider.SendGrid, msg.Provider)
	require.Contains(t, msg.Text, "1,250.00 USD")
	require.Equal(t, id+"/first-reminder/email", msg.CustomArgs["notice_key"])

	code, state := call(t, http.MethodGet, "/v1/invoices/"+id, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "1250.00", state["balance"])

	code, body = pay(t, id, "pay-1", "250.00")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "1000.00", body["balance"])
	require.Equal(t, false, body["duplicate"])
	code, body = pay(t, id, "pay-2", "1000.00")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "paid", body["status"])
	require.Equal(t, "0.00", body["balance"])

	var res invoiceapi.CollectionResult
	require.NoError(t, env.client.GetWorkflow(context.Background(), invoiceapi.WorkflowID(id), "").Get(context.Background(), &res))
	require.Equal(t, "paid", string(res.Status))
	eventually(t, 30*time.Second, "the invoice found by CollectionStatus", func() bool {
		return findByQuery(t, fmt.Sprintf("CollectionStatus = 'paid' AND WorkflowId = '%s'", invoiceapi.WorkflowID(id))) == 1
	})

	ctx := context.Background()
	notices, err := env.ledger.ListNotices(ctx, id)
	require.NoError(t, err)
	require.NotEmpty(t, notices)
	require.Equal(t, "sent", string(notices[0].Status))
	payments, err := env.ledger.ListPayments(ctx, id)
	require.NoError(t, err)
	require.Len(t, payments, 2)
	inv, err := env.ledger.GetInvoice(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "paid", inv.Status)

	recordHistory(t, id, "paid-after-reminder")

	// A payment after the invoice closed: the same request again gets its first answer
	// (it is the same update), the same id in another request is a duplicate, a new one
	// a conflict.
	code, body = pay(t, id, "pay-2", "1000.00")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, false, body["duplicate"])
	require.Equal(t, "1000.00", body["applied"])
	code, body = call(t, http.MethodPost, "/v1/invoices/"+id+"/payments", map[string]any{
		"payment_id": "pay-2", "amount": "1000.00", "currency": "USD", "paid_at": time.Now().UTC().Format(time.RFC3339)})
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, true, body["duplicate"])
	code, body = pay(t, id, "pay-3", "5.00")
	require.Equal(t, http.StatusConflict, code, body)
}

func TestIssuingTwiceStartsOneWorkflow(t *testing.T) {
	t.Parallel()
	id := "E2E-TWICE"
	inv := invoice(id)
	code, body := call(t, http.MethodPost, "/v1/invoices", inv)
	require.Equal(t, http.StatusCreated, code, body)
	firstRun := body["run_id"]
	code, body = call(t, http.MethodPost, "/v1/invoices", inv)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, firstRun, body["run_id"], "the repeat names the running workflow")

	inv["amount_due"] = "999.00"
	code, body = call(t, http.MethodPost, "/v1/invoices", inv)
	require.Equal(t, http.StatusConflict, code, body)

	resp, err := env.client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowId = '%s'", invoiceapi.WorkflowID(id)),
	})
	require.NoError(t, err)
	require.Len(t, resp.Executions, 1)
	require.NoError(t, env.client.TerminateWorkflow(context.Background(), invoiceapi.WorkflowID(id), "", "test done"))
}

func TestRepeatedPaymentIsAppliedOnce(t *testing.T) {
	t.Parallel()
	id := "E2E-DUP"
	code, body := call(t, http.MethodPost, "/v1/invoices", invoice(id))
	require.Equal(t, http.StatusCreated, code, body)
	code, body = pay(t, id, "dup-1", "100.00")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "1150.00", body["balance"])
	// The same request again is the same update: the first answer.
	code, body = pay(t, id, "dup-1", "100.00")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, false, body["duplicate"])
	require.Equal(t, "100.00", body["applied"])
	require.Equal(t, "1150.00", body["balance"])
	// The same payment in another request (here dated) is a duplicate.
	code, body = call(t, http.MethodPost, "/v1/invoices/"+id+"/payments", map[string]any{
		"payment_id": "dup-1", "amount": "100.00", "currency": "USD", "paid_at": time.Now().UTC().Format(time.RFC3339)})
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, true, body["duplicate"])
	require.Equal(t, "0.00", body["applied"])
	require.Equal(t, "1150.00", body["balance"])

	code, body = pay(t, id, "dup-1", "300.00")
	require.Equal(t, http.StatusConflict, code, "same payment id, other amount: %v", body)
	code, body = call(t, http.MethodPost, "/v1/invoices/"+id+"/payments", map[string]any{"payment_id": "eur", "amount": "1.00", "currency": "EUR"})
	require.Equal(t, http.StatusUnprocessableEntity, code, body)
	code, body = pay(t, id, "zero", "0.00")
	require.Equal(t, http.StatusUnprocessableEntity, code, body)

	requirePayments(t, id, 1)
	require.NoError(t, env.client.TerminateWorkflow(context.Background(), invoiceapi.WorkflowID(id), "", "test done"))
}

func TestBadInputIsRejectedAndStartsNothing(t *testing.T) {
	t.Parallel()
	bad := invoice("E2E-BAD")
	bad["customer"] = map[string]any{"id": "C-1", "name": "Ada", "email": "not-an-email", "phone": "4155550100", "timezone": "Mars/Olympus"}
	bad["currency"] = "usd"
	bad["amount_due"] = "12.345"
	bad["due_date"] = "2020-01-01"
	code, body := call(t, http.MethodPost, "/v1/invoices", bad)
	require.Equal(t, http.StatusBadRequest, code)
	fields := body["fields"].(map[string]any)
	for _, f := range []string{"customer.email", "customer.phone", "customer.timezone", "currency"} {
		require.Contains(t, fields, f)
	}

	bad = invoice("E2E-BAD")
	bad["amount_due"] = "-5"
	bad["due_date"] = "2020-01-01"
	code, body = call(t, http.MethodPost, "/v1/invoices", bad)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body["fields"], "amount_due")
	require.Contains(t, body["fields"], "due_date")

	missing := map[string]any{"id": "E2E-BAD"}
	code, body = call(t, http.MethodPost, "/v1/invoices", missing)
	require.Equal(t, http.StatusBadRequest, code)
	for _, f := range []string{"customer.id", "customer.name", "customer.timezone", "currency", "amount_due", "issued_at", "due_date"} {
		require.Contains(t, body["fields"], f)
	}

	code, body = call(t, http.MethodPost, "/v1/invoices", `{"id": "E2E-BAD", `)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body["error"], "malformed JSON")
	code, body = call(t, http.MethodPost, "/v1/invoices", `{"id": 7}`)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body["fields"], "id")
	code, _ = call(t, http.MethodPost, "/v1/invoices", `{"id": "E2E-BAD", "surprise": true}`)
	require.Equal(t, http.StatusBadRequest, code)

	_, err := env.client.DescribeWorkflowExecution(context.Background(), invoiceapi.WorkflowID("E2E-BAD"), "")
	require.Error(t, err, "no workflow was started for a rejected invoice")

	code, _ = call(t, http.MethodGet, "/v1/invoices/NOPE-404", nil)
	require.Equal(t, http.StatusNotFound, code)
	code, _ = pay(t, "NOPE-404", "p", "1.00")
	require.Equal(t, http.StatusNotFound, code)
}

// TestWorkerCrashDuringSendSendsOnce kills the worker while the provider holds its
// send (the provider has the message but has not answered), restarts it, and checks
// that the retried activity finds the message at the provider instead of sending it
// again. It does not run in parallel: it kills the shared worker.
func TestWorkerCrashDuringSendSendsOnce(t *testing.T) {
	id := "E2E-CRASH"
	email := strings.ToLower(id) + "@example.com"
	_, err := env.fakes.Inject(fakeprovider.Fault{Kind: fakeprovider.FaultHold, To: email})
	require.NoError(t, err)

	code, body := call(t, http.MethodPost, "/v1/invoices", invoice(id))
	require.Equal(t, http.StatusCreated, code, body)

	held := waitHeld(t)
	require.Equal(t, email, held.To)

	env.worker.kill()
	env.fakes.Release()
	require.NoError(t, env.worker.start())

	eventually(t, 90*time.Second, "the notice recorded as sent after the restart", func() bool {
		notices, err := env.ledger.ListNotices(context.Background(), id)
		return err == nil && len(notices) > 0 && string(notices[0].Status) == "sent"
	})
	notices, err := env.ledger.ListNotices(context.Background(), id)
	require.NoError(t, err)
	require.GreaterOrEqual(t, notices[0].Attempts, 2, "the send was retried after the crash")

	count := 0
	for _, m := range outboxFor(id) {
		if m.CustomArgs["notice_key"] == id+"/first-reminder/email" {
			count++
		}
	}
	require.Equal(t, 1, count, "the outbox holds exactly one copy of the notice")

	// The demo policy's 2% late fee may be charged at any moment now: pay enough for it
	// either way (any excess is kept as credit).
	code, body = pay(t, id, "crash-pay", "1275.00")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "paid", body["status"])
	waitClosed(t, id)
	recordHistory(t, id, "send-retried-after-worker-crash")
}

// TestDemoCycleSkipsStaleReminderTextsAndEscalates issues a demo invoice 40 s after
// its issue time: the first reminder (+15 s) is stale and skipped, the second (+30 s)
// goes out by SMS at once, and the escalation to the agency follows at +50 s. A
// payment then closes it.
func TestDemoCycleSkipsStaleReminderTextsAndEscalates(t *testing.T) {
	t.Parallel()
	id := "E2E-ESC"
	inv := invoice(id)
	inv["issued_at"] = time.Now().UTC().Add(-40 * time.Second).Format(time.RFC3339)
	phone := "+14155550123"
	inv["customer"].(map[string]any)["phone"] = phone
	inv["customer"].(map[string]any)["channels"] = []string{"email", "sms"}
	code, body := call(t, http.MethodPost, "/v1/invoices", inv)
	require.Equal(t, http.StatusCreated, code, body)

	var state map[string]any
	eventually(t, 60*time.Second, "the escalation", func() bool {
		_, state = call(t, http.MethodGet, "/v1/invoices/"+id, nil)
		return state["status"] == "escalated"
	})
	require.Equal(t, "escalated-agency", state["dunning_stage"])
	require.Equal(t, []any{"first-reminder"}, state["skipped_steps"])
	sms := env.fakes.OutboxFor(phone)
	require.Len(t, sms, 1)
	require.Equal(t, fakeprovider.Twilio, sms[0].Provider)
	require.Contains(t, sms[0].Text, "Reply STOP")
	require.Empty(t, outboxFor(id), "the stale email reminder was not sent")

	esc, err := env.ledger.GetEscalation(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, "agency", esc.Target)
	require.Equal(t, int64(127500), esc.Balance, "1,250.00 and the demo policy's 2% late fee")
	require.Equal(t, "25.00", state["fees"])

	code, body = pay(t, id, "agency-collected", "1275.00")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "paid", body["status"])
	waitClosed(t, id)
	recordHistory(t, id, "demo-escalated-then-paid")
}

// requirePayments waits until the ledger holds exactly n payments of the invoice (the
// workflow answers before its ledger writes land; see workflows/ledgerwrites.go) and
// returns them; more than n fails at once.
func requirePayments(t *testing.T, id string, n int) []ledger.PaymentRecord {
	t.Helper()
	var payments []ledger.PaymentRecord
	eventually(t, 10*time.Second, fmt.Sprintf("%d payments of %s in the ledger", n, id), func() bool {
		var err error
		payments, err = env.ledger.ListPayments(context.Background(), id)
		require.NoError(t, err)
		require.LessOrEqual(t, len(payments), n, "more payments than applied")
		return len(payments) == n
	})
	return payments
}

// waitClosed waits for the invoice's workflow to finish.
func waitClosed(t *testing.T, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, env.client.GetWorkflow(ctx, invoiceapi.WorkflowID(id), "").Get(ctx, nil))
}
