package invoiceapi

import (
	"context"
	"strconv"
	"time"
)

// Call steps (docs/collectors.md): a policy step on the channel "call" opens a task
// for a collector (ActivityCreateTask) and waits for its outcome, which the API
// delivers as the UpdateCallOutcome update once a collector completes the task.
const (
	// UpdateCallOutcome delivers a call task's outcome; see CallOutcomeInput.
	UpdateCallOutcome = "call-outcome"
	// ActivityCreateTask opens a call task, once per key: TaskRequest → TaskResult.
	ActivityCreateTask = "CreateTask"
	// ActivityCompleteTask records a call task's outcome in the ledger (the workflow
	// writes it, so an outcome it applied is never lost): TaskCompletion.
	ActivityCompleteTask = "CompleteTask"
	// ActivityCloseTask closes a call task nobody completed in time: TaskClosing →
	// TaskResult (the task as stored: a completion that won the race is kept).
	ActivityCloseTask = "CloseTask"
	// ActivityMarkBadPhone records that a phone number is not the customer's: it is
	// opted out of SMS and calls for every invoice of theirs (BadPhone).
	ActivityMarkBadPhone = "MarkBadPhone"
)

// CallTaskKey is the business key of the call task of an invoice's step.
func CallTaskKey(invoiceID, step string) string { return "call:" + invoiceID + "/" + step }

// CallOutcomeUpdateID is the update id under which the API delivers task id's
// outcome: sending it again is the same update.
func CallOutcomeUpdateID(taskID int64) string { return "task-" + strconv.FormatInt(taskID, 10) }

// CallOutcomeInput is a collector's outcome of a call task.
type CallOutcomeInput struct {
	TaskID int64 `json:"task_id"`
	// Outcome is one of ledger.CallOutcomes.
	Outcome string `json:"outcome"`
	Note    string `json:"note,omitempty"`
	// PromiseDate (YYYY-MM-DD) and PromiseAmount (minor units; 0: the whole
	// balance) of the outcome "promised".
	PromiseDate   string `json:"promise_date,omitempty"`
	PromiseAmount int64  `json:"promise_amount_minor,omitempty"`
	By            Actor  `json:"by"`
}

// CallOutcomeResult answers UpdateCallOutcome.
type CallOutcomeResult struct {
	EventResult
	TaskID  int64  `json:"task_id"`
	Outcome string `json:"outcome"`
}

// TaskRequest opens the call task of an invoice's step.
type TaskRequest struct {
	Key        string         `json:"key"`
	InvoiceID  string         `json:"invoice_id"`
	CustomerID string         `json:"customer_id"`
	Step       string         `json:"step"`
	Title      string         `json:"title"`
	Details    map[string]any `json:"details"`
	DueAt      time.Time      `json:"due_at"`
}

// TaskResult is a task as the ledger stores it, what the workflow needs of it.
type TaskResult struct {
	TaskID  int64  `json:"task_id"`
	Status  string `json:"status"`
	Outcome string `json:"outcome,omitempty"`
	Note    string `json:"note,omitempty"`
	// PromiseDate and PromiseAmount of a done task whose outcome is "promised".
	PromiseDate   string `json:"promise_date,omitempty"`
	PromiseAmount int64  `json:"promise_amount_minor,omitempty"`
	CompletedBy   string `json:"completed_by,omitempty"`
}

// TaskCompletion records a call task's outcome in the ledger.
type TaskCompletion struct {
	TaskID        int64     `json:"task_id"`
	Outcome       string    `json:"outcome"`
	Note          string    `json:"note,omitempty"`
	PromiseDate   string    `json:"promise_date,omitempty"`
	PromiseAmount int64     `json:"promise_amount_minor,omitempty"`
	By            Actor     `json:"by"`
	At            time.Time `json:"at"`
}

// TaskClosing closes a task without an outcome.
type TaskClosing struct {
	TaskID int64     `json:"task_id"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// BadPhone marks a customer's phone number bad for SMS and calls.
type BadPhone struct {
	CustomerID string    `json:"customer_id"`
	InvoiceID  string    `json:"invoice_id"`
	Phone      string    `json:"phone"`
	TaskID     int64     `json:"task_id"`
	At         time.Time `json:"at"`
}

// CallOutcome delivers a call task's outcome (UpdateCallOutcome) under the task's
// own update id, so a repeat is answered from Temporal's record.
func (c *Client) CallOutcome(ctx context.Context, invoiceID string, in CallOutcomeInput) (CallOutcomeResult, error) {
	var out CallOutcomeResult
	err := c.update(ctx, invoiceID, CallOutcomeUpdateID(in.TaskID), UpdateCallOutcome, in, &out)
	return out, err
}
