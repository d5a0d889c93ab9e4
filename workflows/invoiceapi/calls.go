package invoiceapi

import (
	"context"
	"strconv"
	"time"
)

// Call steps (docs/collectors.md): a policy step on the channel call opens a task for
// a collector (ActivityOpenCallTask) and the invoice waits for the call's outcome,
// which the API delivers as the update UpdateCallOutcome, until the step's timeout
// (ActivityCloseCallTask). The workflow applies the outcome and records the task's
// completion in the ledger (ActivityCompleteCallTask) before it answers.

// UpdateCallOutcome delivers a collector's outcome of the invoice's open call task:
// CallOutcomeInput → EventResult. Its update id is CallOutcomeUpdateID(task id), so
// a completion sent twice is applied once.
const UpdateCallOutcome = "call-outcome"

// CallOutcomeUpdateID is the update id of a call task's outcome: "task-<id>".
func CallOutcomeUpdateID(taskID int64) string { return "task-" + strconv.FormatInt(taskID, 10) }

// Activities of call steps: the method names of activities.Activities.
const (
	// ActivityOpenCallTask opens the call task of a call step, once per invoice and
	// step: CallTaskRequest → CallTaskResult.
	ActivityOpenCallTask = "OpenCallTask"
	// ActivityCloseCallTask closes a call task nobody completed in time:
	// CloseCallTaskRequest → CallTaskResult.
	ActivityCloseCallTask = "CloseCallTask"
	// ActivityCompleteCallTask records a call's outcome as the task's completion
	// (and, for a wrong number, the phone's opt-out of SMS and calls): CallCompletion.
	ActivityCompleteCallTask = "CompleteCallTask"
)

// CallOutcomeInput is a collector's outcome of a call task.
type CallOutcomeInput struct {
	TaskID int64 `json:"task_id"`
	// Outcome is one of collection.CallOutcomes.
	Outcome string `json:"outcome"`
	Note    string `json:"note,omitempty"`
	// PromiseDate (YYYY-MM-DD, by the end of that day in the customer's timezone)
	// and PromiseAmount (minor units; 0: the whole balance) come with "promised" only.
	PromiseDate   string `json:"promise_date,omitempty"`
	PromiseAmount int64  `json:"promise_amount_minor,omitempty"`
	By            Actor  `json:"by"`
}

// CallTaskRequest opens the call task of a call step. The task's key is
// "call:<invoice>/<step>" (CallTaskKey).
type CallTaskRequest struct {
	InvoiceID  string `json:"invoice_id"`
	CustomerID string `json:"customer_id"`
	Step       string `json:"step"`
	// Phone is the number to call (E.164).
	Phone string `json:"phone"`
	Title string `json:"title"`
	// VoicemailScript is the policy's limited-content script, its {business} and
	// {phone} filled in by the activity from the worker's business details.
	VoicemailScript string `json:"voicemail_script"`
	// Due is when the invoice stops waiting (the step's timeout).
	Due time.Time `json:"due"`
	// At is the workflow's now; QuietAfterConversation is the policy's quiet days. No
	// task opens while the customer's last conversation, about any of their invoices,
	// is less than that before At (CallTaskResult.NotBefore).
	At                     time.Time     `json:"at,omitzero"`
	QuietAfterConversation time.Duration `json:"quiet_after_conversation,omitempty"`
}

// CallTaskKey is the business key of a call step's task.
func CallTaskKey(invoiceID, step string) string { return "call:" + invoiceID + "/" + step }

// CallTaskResult is the call task as the ledger holds it.
type CallTaskResult struct {
	TaskID int64     `json:"task_id"`
	Due    time.Time `json:"due,omitzero"`
	Status string    `json:"status"`
	// OptedOut: the phone is opted out of calls (or was found wrong) in the ledger,
	// for any customer; no task was opened.
	OptedOut bool `json:"opted_out,omitempty"`
	// NotBefore, when set, is when the quiet days after the customer's last
	// conversation (LastConversationAt, on another invoice's call) end; no task was opened.
	NotBefore          time.Time `json:"not_before,omitzero"`
	LastConversationAt time.Time `json:"last_conversation_at,omitzero"`
}

// CloseCallTaskRequest closes a call task without an outcome.
type CloseCallTaskRequest struct {
	TaskID int64     `json:"task_id"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// CallCompletion is a call's outcome, applied by the workflow, for the ledger.
type CallCompletion struct {
	TaskID        int64     `json:"task_id"`
	InvoiceID     string    `json:"invoice_id"`
	CustomerID    string    `json:"customer_id"`
	Outcome       string    `json:"outcome"`
	Note          string    `json:"note,omitempty"`
	PromiseDate   string    `json:"promise_date,omitempty"`
	PromiseAmount int64     `json:"promise_amount_minor,omitempty"`
	By            Actor     `json:"by"`
	At            time.Time `json:"at"`
	// Phone is the number a wrong_number outcome opts out of SMS and calls.
	Phone string `json:"phone,omitempty"`
}

// CallOutcome delivers a call task's outcome to the invoice's workflow
// (UpdateCallOutcome, update id CallOutcomeUpdateID).
func (c *Client) CallOutcome(ctx context.Context, invoiceID string, in CallOutcomeInput) (EventResult, error) {
	return c.event(ctx, invoiceID, CallOutcomeUpdateID(in.TaskID), UpdateCallOutcome, in)
}
