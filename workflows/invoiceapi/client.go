package invoiceapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/policy"
)

// Client reaches invoices' collection workflows through a Temporal client: it starts
// them, sends their updates and signals, and queries their state. Its errors are
// ErrNotFound, ErrClosed, ErrUnavailable (with errors.Is), *ConflictError and
// *InvalidError (with errors.As), or another error for a fault.
//
// Every update takes an updateID: the same id again is answered from Temporal's record
// of the first, so a caller that retries a whole event (the webhook forwarder) applies
// it once. An empty updateID lets Temporal choose one.
type Client struct {
	Temporal client.Client
	// Timeout, when set, bounds each call on top of the caller's context.
	Timeout time.Duration
}

// Started reports an Issue.
type Started struct {
	RunID string
	// Existing: the workflow had been started by an earlier request (perhaps one whose
	// answer was lost); nothing was started this time.
	Existing bool
}

// Issue starts the invoice's collection workflow under pol, idempotently (see
// StartOptions): a second Issue of the same invoice starts nothing and reports the
// existing run.
func (c *Client) Issue(ctx context.Context, inv collection.Invoice, pol *policy.Policy, now time.Time) (Started, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	run, err := c.Temporal.ExecuteWorkflow(ctx, StartOptions(inv, pol, now), CollectionWorkflowName,
		CollectionInput{Invoice: inv, Policy: *pol})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &already):
		return Started{RunID: already.RunId, Existing: true}, nil
	case err != nil:
		return Started{}, c.classify(ctx, inv.ID, "start", err)
	}
	return Started{RunID: run.GetRunID()}, nil
}

// Policy queries the snapshot of the policy the invoice runs under (its terms); it
// answers for a closed workflow too, as State does.
func (c *Client) Policy(ctx context.Context, invoiceID string) (policy.Policy, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	var pol policy.Policy
	val, err := c.Temporal.QueryWorkflow(ctx, WorkflowID(invoiceID), "", QueryPolicy)
	if err == nil {
		err = val.Get(&pol)
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return pol, fmt.Errorf("invoice %s: %w", invoiceID, ErrNotFound)
	}
	if err != nil {
		return pol, c.fault(invoiceID, "policy query", err)
	}
	return pol, nil
}

// State queries the invoice's state; it answers for a closed workflow too, until the
// namespace's retention removes it.
func (c *Client) State(ctx context.Context, invoiceID string) (collection.View, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	var view collection.View
	val, err := c.Temporal.QueryWorkflow(ctx, WorkflowID(invoiceID), "", QueryState)
	if err == nil {
		err = val.Get(&view)
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return view, fmt.Errorf("invoice %s: %w", invoiceID, ErrNotFound)
	}
	if err != nil {
		return view, c.fault(invoiceID, "state query", err)
	}
	return view, nil
}

// Pay applies a payment (UpdatePayment). An empty updateID is PaymentUpdateID(in):
// the same payment sent again is the same update.
func (c *Client) Pay(ctx context.Context, invoiceID, updateID string, in PaymentInput) (PaymentResult, error) {
	if updateID == "" {
		updateID = PaymentUpdateID(in)
	}
	var res PaymentResult
	return res, c.update(ctx, invoiceID, updateID, UpdatePayment, in, &res)
}

// PaymentUpdateID names a payment's update after all it carries. A caller that was
// answered "did not complete in time" and sends the same payment again sends the same
// update: Temporal waits for the first one, or answers with its outcome, and the
// history holds it once, whether or not the first had been accepted. The same payment
// id with another amount, currency or date is another update, which the workflow
// refuses as a conflict.
func PaymentUpdateID(in PaymentInput) string {
	h := sha256.New()
	for _, part := range []string{in.PaymentID, strconv.FormatInt(in.Amount, 10), in.Currency, in.PaidAt} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return "payment-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// Refund gives money back: a refund or a chargeback (UpdateRefund).
func (c *Client) Refund(ctx context.Context, invoiceID, updateID string, in RefundInput) (EventResult, error) {
	return c.event(ctx, invoiceID, updateID, UpdateRefund, in)
}

// Adjust changes the amount due: an adjustment or a credit note (UpdateAdjust).
func (c *Client) Adjust(ctx context.Context, invoiceID, updateID string, in AdjustInput) (EventResult, error) {
	return c.event(ctx, invoiceID, updateID, UpdateAdjust, in)
}

// OpenDispute opens a dispute (UpdateDispute).
func (c *Client) OpenDispute(ctx context.Context, invoiceID, updateID string, in DisputeInput) (EventResult, error) {
	return c.event(ctx, invoiceID, updateID, UpdateDispute, in)
}

// ResolveDispute closes the open dispute (UpdateResolveDispute).
func (c *Client) ResolveDispute(ctx context.Context, invoiceID, updateID string, in ResolveDisputeInput) (EventResult, error) {
	return c.event(ctx, invoiceID, updateID, UpdateResolveDispute, in)
}

// Promise records a promise to pay (UpdatePromise).
func (c *Client) Promise(ctx context.Context, invoiceID, updateID string, in PromiseInput) (EventResult, error) {
	return c.event(ctx, invoiceID, updateID, UpdatePromise, in)
}

// Plan agrees a payment plan (UpdatePlan).
func (c *Client) Plan(ctx context.Context, invoiceID, updateID string, in PlanInput) (EventResult, error) {
	return c.event(ctx, invoiceID, updateID, UpdatePlan, in)
}

// Pause holds dunning (UpdatePause).
func (c *Client) Pause(ctx context.Context, invoiceID, updateID string, in PauseInput) (EventResult, error) {
	return c.event(ctx, invoiceID, updateID, UpdatePause, in)
}

// Resume ends a pause (UpdateResume).
func (c *Client) Resume(ctx context.Context, invoiceID, updateID string, in ReasonInput) (EventResult, error) {
	return c.event(ctx, invoiceID, updateID, UpdateResume, in)
}

// Approve approves what awaits approval: a reminder step or the escalation
// (UpdateApprove).
func (c *Client) Approve(ctx context.Context, invoiceID, updateID string, in ReasonInput) (EventResult, error) {
	return c.event(ctx, invoiceID, updateID, UpdateApprove, in)
}

// Reject rejects what awaits approval (UpdateReject).
func (c *Client) Reject(ctx context.Context, invoiceID, updateID string, in ReasonInput) (EventResult, error) {
	return c.event(ctx, invoiceID, updateID, UpdateReject, in)
}

// Cancel voids the invoice; the workflow ends (UpdateCancel).
func (c *Client) Cancel(ctx context.Context, invoiceID, updateID string, in ReasonInput) (EventResult, error) {
	return c.event(ctx, invoiceID, updateID, UpdateCancel, in)
}

// WriteOff writes the balance off; the workflow ends (UpdateWriteOff).
func (c *Client) WriteOff(ctx context.Context, invoiceID, updateID string, in ReasonInput) (EventResult, error) {
	return c.event(ctx, invoiceID, updateID, UpdateWriteOff, in)
}

// ChangePolicy moves the invoice to another policy or policy version
// (UpdateChangePolicy).
func (c *Client) ChangePolicy(ctx context.Context, invoiceID, updateID string, in ChangePolicyInput) (EventResult, error) {
	return c.event(ctx, invoiceID, updateID, UpdateChangePolicy, in)
}

// ChangeDueDate moves the due date (UpdateChangeDueDate).
func (c *Client) ChangeDueDate(ctx context.Context, invoiceID, updateID string, in ChangeDueDateInput) (EventResult, error) {
	return c.event(ctx, invoiceID, updateID, UpdateChangeDueDate, in)
}

// OptOut tells the workflow an address no longer takes messages (SignalOptOut).
func (c *Client) OptOut(ctx context.Context, invoiceID string, in OptOutInput) error {
	return c.signal(ctx, invoiceID, SignalOptOut, in)
}

// OptIn undoes an opt-out (SignalOptIn).
func (c *Client) OptIn(ctx context.Context, invoiceID string, in OptOutInput) error {
	return c.signal(ctx, invoiceID, SignalOptIn, in)
}

// Delivery reports a provider's final delivery status of a notice (SignalDelivery).
func (c *Client) Delivery(ctx context.Context, invoiceID string, in DeliveryInput) error {
	return c.signal(ctx, invoiceID, SignalDelivery, in)
}

func (c *Client) event(ctx context.Context, invoiceID, updateID, name string, in any) (EventResult, error) {
	var res EventResult
	return res, c.update(ctx, invoiceID, updateID, name, in, &res)
}

// updateSends bounds how often one update is sent while the workflow task that saw it
// keeps failing (see update); updateResendWait spaces the sends.
const (
	updateSends      = 5
	updateResendWait = 50 * time.Millisecond
)

// update sends the update and waits for its outcome. Temporal fails the workflow task
// that closes the run when a signal arrives while the worker runs it (the workflow has
// to see the signal first), and answers the updates that task had received with
// WorkflowNotReady ("unexpected workflow task failure"): they were not accepted, so
// nothing of them was applied. Such an update is sent again, with the same id, to the
// next workflow task, a few times; a workflow task that keeps failing stays a fault.
func (c *Client) update(ctx context.Context, invoiceID, updateID, name string, arg, out any) error {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	if updateID == "" {
		updateID = uuid.NewString() // every send below is the one update
	}
	var err error
	for send := 1; ; send++ {
		var handle client.WorkflowUpdateHandle
		handle, err = c.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID:   WorkflowID(invoiceID),
			UpdateID:     updateID,
			UpdateName:   name,
			WaitForStage: client.WorkflowUpdateStageCompleted,
			Args:         []any{arg},
		})
		if err == nil {
			err = handle.Get(ctx, out)
		}
		var notReady *serviceerror.WorkflowNotReady
		if !errors.As(err, &notReady) || send == updateSends {
			break
		}
		select {
		case <-ctx.Done():
			return c.classify(ctx, invoiceID, name+" update", fmt.Errorf("%w (sending it again after: %w)", ctx.Err(), err))
		case <-time.After(time.Duration(send) * updateResendWait):
		}
	}
	return c.classify(ctx, invoiceID, name+" update", err)
}

func (c *Client) signal(ctx context.Context, invoiceID, name string, arg any) error {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	return c.classify(ctx, invoiceID, name+" signal", c.Temporal.SignalWorkflow(ctx, WorkflowID(invoiceID), "", name, arg))
}

func (c *Client) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.Timeout > 0 {
		return context.WithTimeout(ctx, c.Timeout)
	}
	return context.WithCancel(ctx)
}

// classify maps a Temporal error onto the contract's errors. Temporal answers an update
// or a signal to a completed workflow with the same NotFound as to one that never
// existed, so a NotFound is told apart by the workflow's execution status.
func (c *Client) classify(ctx context.Context, invoiceID, what string, err error) error {
	if err == nil {
		return nil
	}
	var (
		nf       *serviceerror.NotFound
		conflict *ConflictError
		invalid  *InvalidError
	)
	err = DecodeError(err)
	switch {
	case errors.As(err, &conflict) || errors.As(err, &invalid):
		return err
	case errors.As(err, &nf):
		return c.missingOrClosed(ctx, invoiceID, what, err)
	}
	return c.fault(invoiceID, what, err)
}

// missingOrClosed says whether the invoice's workflow never existed (ErrNotFound) or
// has closed (ErrClosed), after Temporal answered NotFound.
func (c *Client) missingOrClosed(ctx context.Context, invoiceID, what string, notFound error) error {
	desc, err := c.Temporal.DescribeWorkflowExecution(ctx, WorkflowID(invoiceID), "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return fmt.Errorf("invoice %s: %w", invoiceID, ErrNotFound)
	case err != nil:
		return c.fault(invoiceID, what, fmt.Errorf("%w (then describing the workflow: %w)", notFound, err))
	}
	if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return fmt.Errorf("invoice %s: %w", invoiceID, ErrClosed)
	}
	// Running, yet the update found nothing to talk to: a run that was ending as the
	// request came in. Not final; the caller may try again.
	return c.fault(invoiceID, what, notFound)
}

// fault wraps an error that is neither a rejection nor a missing workflow, marking it
// ErrUnavailable when Temporal did not answer in time or shed load.
func (c *Client) fault(invoiceID, what string, err error) error {
	if Unavailable(err) {
		return fmt.Errorf("invoice %s: %s: %w: %w", invoiceID, what, ErrUnavailable, err)
	}
	return fmt.Errorf("invoice %s: %s: %w", invoiceID, what, err)
}

// Unavailable reports whether err is ErrUnavailable, or a Temporal (or context) error
// that says the server did not answer in time or shed load rather than a fault: the
// request may be retried.
func Unavailable(err error) bool {
	var (
		updTimeout  *client.WorkflowUpdateServiceTimeoutOrCanceledError
		deadline    *serviceerror.DeadlineExceeded
		exhausted   *serviceerror.ResourceExhausted
		unavailable *serviceerror.Unavailable
	)
	return errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &updTimeout) ||
		errors.As(err, &deadline) || errors.As(err, &exhausted) || errors.As(err, &unavailable)
}
