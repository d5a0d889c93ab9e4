package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// The lifecycle through the real stack: HTTP API → Temporal update → workflow →
// activities → PostgreSQL and the fake providers. The e2e-lifecycle policy reminds
// at +3 s and +14 s after issue; e2e-approval escalates at +5 s after an approval
// that times out 6 s later (see testdata/policies).

// lifecycleInvoice is an invoice issued now under policy.
func lifecycleInvoice(id, policy string) (map[string]any, time.Time) {
	inv := invoice(id)
	issued := time.Now().UTC().Truncate(time.Second)
	inv["issued_at"] = issued.Format(time.RFC3339)
	inv["policy"] = policy
	return inv, issued
}

func issueNow(t *testing.T, id, policy string) time.Time {
	t.Helper()
	inv, issued := lifecycleInvoice(id, policy)
	code, body := call(t, http.MethodPost, "/v1/invoices", inv)
	require.Equal(t, http.StatusCreated, code, body)
	return issued
}

func act(t *testing.T, id, action string, body any) (int, map[string]any) {
	t.Helper()
	return call(t, http.MethodPost, "/v1/invoices/"+id+"/"+action, body)
}

func state(t *testing.T, id string) map[string]any {
	t.Helper()
	code, body := call(t, http.MethodGet, "/v1/invoices/"+id, nil)
	require.Equal(t, http.StatusOK, code, body)
	return body
}

func eventKinds(t *testing.T, id string) []string {
	t.Helper()
	events, err := env.ledger.ListLifecycleEvents(context.Background(), id)
	require.NoError(t, err)
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	return kinds
}

// requireEventKinds waits for the invoice's lifecycle events in the ledger to be want:
// ledger writes land just after the workflow answers.
func requireEventKinds(t *testing.T, id string, want []string) {
	t.Helper()
	var got []string
	eventually(t, 10*time.Second, fmt.Sprintf("lifecycle events %v", want), func() bool {
		got = eventKinds(t, id)
		return slices.Equal(got, want)
	})
}

// noticeSteps lists the step of each notice in the invoice's state.
func noticeSteps(st map[string]any) []string { return noticeField(st, "step") }

// noticeField lists one text field of each notice in the invoice's state ("" where a
// notice has none).
func noticeField(st map[string]any, field string) []string {
	var out []string
	notices, _ := st["notices"].([]any)
	for _, n := range notices {
		v, _ := n.(map[string]any)[field].(string)
		out = append(out, v)
	}
	return out
}

// noticeSentAt is when the i-th notice in the invoice's state was sent.
func noticeSentAt(t *testing.T, st map[string]any, i int) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, noticeField(st, "sent_at")[i])
	require.NoError(t, err)
	return at
}

func TestBrokenPromiseResumesDunning(t *testing.T) {
	t.Parallel()
	id := "E2E-PROMISE"
	issued := issueNow(t, id, "e2e-lifecycle")
	eventually(t, 20*time.Second, "the first reminder", func() bool { return len(outboxFor(id)) == 1 })

	// A promise that covers the second reminder's time (+14 s) and is not kept.
	code, body := act(t, id, "promise", map[string]any{"date": issued.Add(20 * time.Second).Format(time.RFC3339), "amount": "1250.00", "reason": "customer called"})
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "promised", body["status"])
	code, body = act(t, id, "pause", map[string]any{"reason": "x"})
	require.Equal(t, http.StatusConflict, code, body)
	require.Equal(t, "the invoice is promised; only an open or overdue invoice can be paused", body["fields"].(map[string]any)["status"])

	// The workflow sleeps until the promise's deadline and nothing sooner: the second
	// reminder (+14 s) has no timer of its own while the promise stands.
	promiseDeadline := issued.Add(20 * time.Second)
	waitAsleep(t, id, "the workflow asleep until the promise's deadline", promiseDeadline, func(st map[string]any) bool {
		next := st["next_action"].(map[string]any)
		return st["status"] == "promised" && next["kind"] == "promise_due"
	})
	require.Len(t, outboxFor(id), 1, "the second reminder waits while the promise stands")
	require.Equal(t, "promised", state(t, id)["status"])

	eventually(t, 30*time.Second, "the second reminder after the broken promise", func() bool { return len(outboxFor(id)) == 2 })
	requireEventKinds(t, id, []string{"promise_made", "promise_broken"})
	var st map[string]any
	eventually(t, 10*time.Second, "the second notice in the state", func() bool {
		st = state(t, id)
		return slices.Equal([]string{"first", "second"}, noticeSteps(st))
	})
	second := noticeSentAt(t, st, 1)
	require.False(t, second.Before(promiseDeadline), "the second reminder went out at %v, before the promise's deadline %v", second, promiseDeadline)

	code, body = pay(t, id, "pay-after-promise", "1250.00")
	require.Equal(t, http.StatusOK, code, body)
	waitClosedOrWindow(t, id)
	recordHistory(t, id, "promise-broken-then-paid")
}

func TestMissedInstallmentBreaksThePlanAndDunningResumes(t *testing.T) {
	t.Parallel()
	id := "E2E-PLAN"
	issued := issueNow(t, id, "e2e-lifecycle")
	eventually(t, 20*time.Second, "the first reminder", func() bool { return len(outboxFor(id)) == 1 })

	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	bad := map[string]any{"installments": []map[string]any{{"due_date": tomorrow, "amount": "100.00"}}}
	code, body := act(t, id, "plan", bad)
	require.Equal(t, http.StatusUnprocessableEntity, code, body)
	require.Contains(t, body["error"], "installments")

	plan := map[string]any{"installments": []map[string]any{
		{"due_date": issued.Add(9 * time.Second).Format(time.RFC3339), "amount": "625.00"},
		{"due_date": tomorrow, "amount": "625.00"},
	}, "reason": "agreed by phone"}
	code, body = act(t, id, "plan", plan)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "on_plan", body["status"])
	// The installment's reminder goes at once (its three-day lead has passed).
	eventually(t, 20*time.Second, "the installment reminder", func() bool { return len(outboxFor(id)) == 2 })
	code, body = pay(t, id, "part", "300.00")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "on_plan", body["status"])

	// 325.00 short at +9 s: the plan breaks and the main schedule resumes with the
	// second reminder (due at +14 s).
	eventually(t, 30*time.Second, "the plan to break", func() bool { return slices.Contains(eventKinds(t, id), "plan_broken") })
	eventually(t, 30*time.Second, "the second reminder", func() bool { return slices.Contains(noticeSteps(state(t, id)), "second") })
	require.Equal(t, []string{"first", "plan1-installment-1", "second"}, noticeSteps(state(t, id)))
	st := state(t, id)
	require.Equal(t, "950.00", st["balance"])

	code, body = pay(t, id, "rest", "950.00")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "paid", body["status"])
	recordHistory(t, id, "plan-broken-then-paid")
}

func TestApprovalTimeoutTakesThePolicyDefault(t *testing.T) {
	t.Parallel()
	id := "E2E-APPROVAL"
	issueNow(t, id, "e2e-approval")
	var st map[string]any
	eventually(t, 30*time.Second, "the approval request", func() bool {
		st = state(t, id)
		return st["status"] == "awaiting_approval"
	})
	require.NotNil(t, st["approval"])
	require.Equal(t, "approve", st["approval"].(map[string]any)["default"])
	eventually(t, 10*time.Second, "the invoice in the visibility store as awaiting_approval", func() bool {
		return findByQuery(t, `WorkflowId = "invoice-`+id+`" AND CollectionStatus = "awaiting_approval"`) == 1
	})

	eventually(t, 30*time.Second, "the default approval", func() bool { return state(t, id)["status"] == "escalated" })
	esc, err := env.ledger.GetEscalation(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, "agency", esc.Target)
	requireEventKinds(t, id, []string{"approval_requested", "approved"})
	events, err := env.ledger.ListLifecycleEvents(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, "system", events[1].Actor)

	code, body := pay(t, id, "collected", "1250.00")
	require.Equal(t, http.StatusOK, code, body)
	waitClosed(t, id)
	recordHistory(t, id, "approval-timeout-escalated-then-paid")
}

func TestRejectedEscalationIsNeverHandedOff(t *testing.T) {
	t.Parallel()
	id := "E2E-REJECT"
	issueNow(t, id, "e2e-approval")
	code, body := act(t, id, "escalation/approve", map[string]any{})
	require.Equal(t, http.StatusConflict, code, body, "nothing awaits approval yet")
	eventually(t, 30*time.Second, "the approval request", func() bool { return state(t, id)["status"] == "awaiting_approval" })
	code, body = act(t, id, "escalation/reject", map[string]any{"reason": "key account"})
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "open", body["status"])
	_, err := env.ledger.GetEscalation(context.Background(), id)
	require.Error(t, err, "no hand-off")

	actions := auditActions(t, id)
	require.Contains(t, actions, "invoice.escalation.approve:rejected")
	require.Contains(t, actions, "invoice.escalation.reject:applied")

	code, body = act(t, id, "write-off", map[string]any{"reason": "insolvent"})
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "written_off", body["status"])
	waitClosed(t, id)
	code, body = act(t, id, "resume", map[string]any{})
	require.Equal(t, http.StatusConflict, code, body)
	require.Contains(t, body["error"], "written_off")
	require.NotContains(t, body["error"], "retryable", "no Temporal internals in the answer")
}

func TestRefundAfterPaidReopensTheInvoice(t *testing.T) {
	t.Parallel()
	id := "E2E-REFUND"
	issueNow(t, id, "e2e-lifecycle")
	code, body := pay(t, id, "p1", "1250.00")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "paid", body["status"])

	code, body = act(t, id, "refunds", map[string]any{"refund_id": "r1", "payment_id": "p1", "amount": "1250.01", "currency": "USD"})
	require.Equal(t, http.StatusConflict, code, body)
	code, body = act(t, id, "refunds", map[string]any{"refund_id": "r1", "kind": "chargeback", "payment_id": "p1", "amount": "1250.00", "currency": "USD"})
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "open", body["status"])
	require.Equal(t, "1250.00", body["balance"])
	code, body = act(t, id, "refunds", map[string]any{"refund_id": "r1", "kind": "chargeback", "payment_id": "p1", "amount": "1250.00", "currency": "USD"})
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, true, body["duplicate"])

	// The ledger rows land just after the answer (see workflows/ledgerwrites.go).
	var adjustments []ledger.Adjustment
	eventually(t, 10*time.Second, "the chargeback in the ledger", func() bool {
		var err error
		adjustments, err = env.ledger.ListAdjustments(context.Background(), id)
		require.NoError(t, err)
		return len(adjustments) == 1
	})
	require.Equal(t, "chargeback", adjustments[0].Kind)
	require.EqualValues(t, 125000, adjustments[0].Amount)
	var inv ledger.Invoice
	eventually(t, 10*time.Second, "the invoice re-opened in the ledger", func() bool {
		var err error
		inv, err = env.ledger.GetInvoice(context.Background(), id)
		require.NoError(t, err)
		return inv.Status == "open"
	})
	require.Nil(t, inv.ClosedAt)

	// Dunning runs again: the reminders that fell due meanwhile are sent.
	eventually(t, 30*time.Second, "a reminder after the chargeback", func() bool { return len(outboxFor(id)) > 0 })
	code, body = pay(t, id, "p2", "1250.00")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "paid", body["status"])
	requireEventKinds(t, id, []string{"refunded", "reopened"})
	recordHistory(t, id, "paid-refunded-reopened-paid")
}

func TestDisputeDuringAScheduledReminderSendsNothing(t *testing.T) {
	t.Parallel()
	id := "E2E-DISPUTE"
	issued := issueNow(t, id, "e2e-lifecycle")
	code, body := act(t, id, "dispute", map[string]any{"dispute_id": "d-1", "reason": "wrong quantity"})
	disputed := time.Now()
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "disputed", body["status"])
	code, body = act(t, id, "dispute", map[string]any{"dispute_id": "d-2", "reason": "again"})
	require.Equal(t, http.StatusConflict, code, body)

	// The dispute holds the invoice with nothing scheduled: the first reminder's timer
	// (+3 s) is cancelled and no other is started, so no reminder can go out until the
	// dispute is resolved.
	waitAsleep(t, id, "the workflow asleep with nothing scheduled", time.Time{}, func(st map[string]any) bool {
		return st["status"] == "disputed" && st["next_action"].(map[string]any)["kind"] == "none"
	})
	require.Empty(t, outboxFor(id), "no reminder while disputed")
	st := state(t, id)
	require.Equal(t, "disputed", st["status"])
	require.Empty(t, st["notices"])
	eventually(t, 10*time.Second, "the invoice in the visibility store as disputed", func() bool {
		return findByQuery(t, `WorkflowId = "invoice-`+id+`" AND CollectionStatus = "disputed"`) == 1
	})

	resolving := time.Now()
	code, body = act(t, id, "dispute/resolve", map[string]any{"outcome": "upheld", "adjust_amount": "250.00", "reason": "ten units short"})
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "1000.00", body["balance"])
	// Re-anchored: the first reminder comes 3 s of active dunning after the hold, so no
	// sooner than 3 s after issue plus the time the dispute lasted.
	eventually(t, 20*time.Second, "the first reminder after the dispute", func() bool { return len(outboxFor(id)) == 1 })
	require.True(t, strings.Contains(outboxFor(id)[0].Text, "1,000.00") || strings.Contains(outboxFor(id)[0].Text, "1000.00"), outboxFor(id)[0].Text)
	eventually(t, 10*time.Second, "the first notice in the state", func() bool {
		st = state(t, id)
		return len(noticeSteps(st)) == 1
	})
	sentAt := noticeSentAt(t, st, 0)
	earliest := issued.Add(3 * time.Second).Add(resolving.Sub(disputed))
	require.False(t, sentAt.Before(earliest), "the first reminder went out at %v, before %v", sentAt, earliest)

	code, body = act(t, id, "cancel", map[string]any{"reason": "order voided"})
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "cancelled", body["status"])
	waitClosed(t, id)
	requireEventKinds(t, id, []string{"dispute_opened", "dispute_upheld", "adjusted", "cancelled"})
	recordHistory(t, id, "disputed-upheld-adjusted-cancelled")
}

// waitClosedOrWindow waits until a paid invoice's workflow is in its refund window or
// closed: the e2e-lifecycle policy keeps paid invoices open for two minutes.
func waitClosedOrWindow(t *testing.T, id string) {
	t.Helper()
	eventually(t, 20*time.Second, "the invoice to be paid", func() bool { return state(t, id)["status"] == "paid" })
}

// TestDailyCapDefersTheSecondInvoicesReminder: two invoices of one customer under a
// policy allowing one reminder per customer per day: one is sent, the other moves to
// the next day with the reason recorded, and nothing is lost.
func TestDailyCapDefersTheSecondInvoicesReminder(t *testing.T) {
	t.Parallel()
	ids := []string{"E2E-CAP-A", "E2E-CAP-B"}
	for _, id := range ids {
		inv, _ := lifecycleInvoice(id, "e2e-cap")
		inv["customer"].(map[string]any)["id"] = "C-CAPPED"
		code, body := call(t, http.MethodPost, "/v1/invoices", inv)
		require.Equal(t, http.StatusCreated, code, body)
	}
	sent := func() int { return len(outboxFor(ids[0])) + len(outboxFor(ids[1])) }
	eventually(t, 30*time.Second, "one reminder", func() bool { return sent() == 1 })
	var deferred map[string]any
	var deferredID string
	eventually(t, 30*time.Second, "the other invoice's reminder deferred", func() bool {
		for _, id := range ids {
			if d, ok := state(t, id)["deferred"].(map[string]any); ok {
				deferred, deferredID = d, id
				return true
			}
		}
		return false
	})
	defer recordHistory(t, deferredID, "daily-cap-deferred")
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	require.True(t, strings.HasPrefix(deferred["at"].(string), tomorrow), deferred)
	require.Contains(t, deferred["reason"], "at most 1 reminders per customer per day")
	require.Equal(t, 1, sent(), "the cap held")
}

// TestPromptPayersGetTheGentlePolicy: a customer who paid three invoices on time is in
// the "prompt" band, so their next invoice that names no policy (and whose segment
// maps to none) follows band:prompt's policy, gentle.
func TestPromptPayersGetTheGentlePolicy(t *testing.T) {
	t.Parallel()
	for i := 1; i <= 3; i++ {
		id := "E2E-BAND-" + string(rune('0'+i))
		inv := invoice(id)
		inv["customer"].(map[string]any)["id"] = "C-PROMPT"
		code, body := call(t, http.MethodPost, "/v1/invoices", inv)
		require.Equal(t, http.StatusCreated, code, body)
		if i == 1 {
			// Asleep on its first reminder's timer when the payment comes (the query
			// waits for the first task), as most invoices are.
			require.Equal(t, "open", state(t, id)["status"])
		}
		code, body = pay(t, id, "pay-"+id, "1250.00")
		require.Equal(t, http.StatusOK, code, body)
		require.Equal(t, "paid", body["status"])
	}
	waitClosed(t, "E2E-BAND-1")
	recordHistory(t, "E2E-BAND-1", "paid-while-asleep")
	eventually(t, 20*time.Second, "the customer's band to be prompt", func() bool {
		code, c := call(t, http.MethodGet, "/v1/customers/C-PROMPT", nil)
		return code == http.StatusOK && c["band"] == "prompt"
	})
	inv := invoice("E2E-BAND-4")
	inv["customer"].(map[string]any)["id"] = "C-PROMPT"
	delete(inv, "policy")
	code, body := call(t, http.MethodPost, "/v1/invoices", inv)
	require.Equal(t, http.StatusCreated, code, body)
	require.Equal(t, "gentle", body["policy"].(map[string]any)["id"])

	other := invoice("E2E-BAND-NEW")
	delete(other, "policy")
	code, body = call(t, http.MethodPost, "/v1/invoices", other)
	require.Equal(t, http.StatusCreated, code, body)
	require.Equal(t, "standard", body["policy"].(map[string]any)["id"], "a customer without history gets the default")
}

// TestReminderWaitsForTheContactWindow: a reminder due outside the policy's contact
// hours is moved to the next allowed moment, not sent and not dropped.
func TestReminderWaitsForTheContactWindow(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	if h, m := now.Hour(), now.Minute(); (h == 23 && m >= 58) || (h == 0 && m <= 3) {
		t.Skip("the test's own clock is inside the policy's one-minute window")
	}
	id := "E2E-WINDOW"
	inv, _ := lifecycleInvoice(id, "e2e-window")
	inv["due_date"] = now.AddDate(0, 0, 3).Format(time.DateOnly) // its overdue turn comes later
	code, body := call(t, http.MethodPost, "/v1/invoices", inv)
	require.Equal(t, http.StatusCreated, code, body)
	var next map[string]any
	eventually(t, 20*time.Second, "the reminder planned for the window", func() bool {
		next = state(t, id)["next_action"].(map[string]any)
		return next["kind"] == "reminder"
	})
	tomorrow := now.AddDate(0, 0, 1).Format(time.DateOnly)
	require.Equal(t, tomorrow+"T00:00:00Z", next["at"], next)
	// The workflow's one timer is the window's opening, not the step's time (+2 s).
	window, err := time.Parse(time.RFC3339, tomorrow+"T00:00:00Z")
	require.NoError(t, err)
	waitAsleep(t, id, "the workflow asleep until the window opens", window, func(st map[string]any) bool {
		return st["next_action"].(map[string]any)["kind"] == "reminder"
	})
	require.Empty(t, outboxFor(id), "nothing sent outside the window")
}

func TestReminderStepsWaitForApproval(t *testing.T) {
	t.Parallel()
	id := "E2E-STEP-APPROVAL"
	issueNow(t, id, "e2e-step-approval")
	// awaiting: the step waits for a person, seen in the state while it waits, or in
	// its recorded approval request once a short timeout has already decided it.
	awaiting := func(step string) func() bool {
		return func() bool {
			st := state(t, id)
			if ap, _ := st["approval"].(map[string]any); st["status"] == "awaiting_approval" && ap != nil && ap["step"] == step {
				return true
			}
			for _, e := range st["events"].([]any) {
				e := e.(map[string]any)
				if e["kind"] == "approval_requested" && strings.HasPrefix(e["key"].(string), "approval/"+step+"/requested/") {
					return true
				}
			}
			return false
		}
	}
	eventually(t, 30*time.Second, "the first reminder awaiting approval", awaiting("first"))
	require.Empty(t, outboxFor(id), "nothing goes out before a person approves")

	code, body := call(t, http.MethodPost, "/v1/invoices/"+id+"/approval/approve", map[string]any{"reason": "customer is unresponsive"})
	require.Equal(t, http.StatusOK, code, body)
	eventually(t, 30*time.Second, "the approved reminder in the outbox", func() bool { return len(outboxFor(id)) == 1 })

	// The second step waits too; nobody decides, and its default rejects it.
	eventually(t, 30*time.Second, "the second reminder awaiting approval", awaiting("second"))
	eventually(t, 30*time.Second, "the third reminder", func() bool { return len(outboxFor(id)) == 2 })
	// The provider accepts a send a moment before the workflow records its notice.
	var st map[string]any
	eventually(t, 30*time.Second, "both notices recorded", func() bool {
		st = state(t, id)
		return len(noticeSteps(st)) == 2
	})
	require.Contains(t, st["skipped_steps"], "second")
	require.Equal(t, []string{"first", "third"}, noticeSteps(st))
	requireEventKinds(t, id, []string{"approval_requested", "approved", "approval_requested", "rejected"})

	actions := auditActions(t, id)
	require.Contains(t, actions, "invoice.approval.approve:applied")

	code, body = pay(t, id, "step-approval-paid", "1250.00")
	require.Equal(t, http.StatusOK, code, body)
	waitClosed(t, id)
	recordHistory(t, id, "step-approval-approved-rejected-paid")
}

// auditActions lists the invoice's audit trail as "action:outcome".
func auditActions(t *testing.T, id string) []string {
	t.Helper()
	audit, err := env.ledger.ListAudit(context.Background(), id)
	require.NoError(t, err)
	var actions []string
	for _, e := range audit {
		actions = append(actions, e.Action+":"+e.Outcome)
	}
	return actions
}

// TestCancelIsAppliedWhenASignalArrivesAsTheRunCloses: a cancel closes the run in the
// workflow task that applies it. A delivery report that arrives while the worker runs
// that task makes Temporal fail the task (the workflow must see the signal before it
// closes) and answer the cancel "unexpected workflow task failure", though nothing of
// it was applied. The API sends it again and answers 200. The task is held open by
// locking the invoice's ledger row, which the cancel's ledger write (a local activity
// in that task) waits for, until the signal has arrived.
func TestCancelIsAppliedWhenASignalArrivesAsTheRunCloses(t *testing.T) {
	t.Parallel()
	id := "E2E-CANCEL-RACE"
	inv := invoice(id)
	inv["policy"] = "standard"
	inv["issued_at"] = time.Now().UTC().Format(time.RFC3339)
	inv["due_date"] = time.Now().AddDate(0, 0, 30).Format(time.DateOnly)
	code, body := call(t, http.MethodPost, "/v1/invoices", inv)
	require.Equal(t, http.StatusCreated, code, body)
	eventually(t, 30*time.Second, "the workflow's first task done", func() bool { return state(t, id)["status"] == "open" })

	ctx := context.Background()
	tx, err := env.ledger.Pool().Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	var locker int
	require.NoError(t, tx.QueryRow(ctx, `SELECT pg_backend_pid() FROM invoices WHERE invoice_id = $1 FOR UPDATE`, id).Scan(&locker))

	type answer struct {
		code int
		body map[string]any
	}
	answered := make(chan answer, 1)
	go func() {
		code, body := act(t, id, "cancel", map[string]any{"reason": "order voided"})
		answered <- answer{code, body}
	}()
	eventually(t, 30*time.Second, "the cancel's ledger write waiting for the row", func() bool {
		var waiting int
		require.NoError(t, env.ledger.Pool().QueryRow(ctx,
			`SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, locker).Scan(&waiting))
		return waiting > 0
	})
	require.NoError(t, env.client.SignalWorkflow(ctx, invoiceapi.WorkflowID(id), "", invoiceapi.SignalDelivery,
		invoiceapi.DeliveryInput{NoticeKey: id + "/due-soon/email", Status: "delivered"}))
	require.NoError(t, tx.Rollback(ctx))

	var a answer
	select {
	case a = <-answered:
	case <-time.After(30 * time.Second):
		t.Fatal("the cancel was not answered")
	}
	require.Equal(t, http.StatusOK, a.code, a.body)
	require.Equal(t, "cancelled", a.body["status"])
	waitClosed(t, id)
	requireEventKinds(t, id, []string{"cancelled"})
}
