package accountapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// ErrNotFound: the customer has no account workflow (nothing of theirs is open, or it
// never was).
var ErrNotFound = errors.New("the customer has no account workflow")

// Client reaches customers' account workflows. Attach and Remind start the account
// when it is not running (UpdateWithStart with WorkflowIDConflictPolicy USE_EXISTING),
// so two invoices of a new customer issued at the same instant start exactly one
// account, and a missing or closed account is started again. A refused update comes
// back as *invoiceapi.InvalidError (errors.As).
type Client struct {
	Temporal client.Client
	// Timeout, when set, bounds each call on top of the caller's context.
	Timeout time.Duration
}

// StartOptions starts the account of a customer: one running account per customer
// (USE_EXISTING), and a closed one may be started again (ALLOW_DUPLICATE).
func StartOptions(customerID string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       WorkflowID(customerID),
		TaskQueue:                invoiceapi.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:            "Account of customer " + customerID + ": one message per window for all their open invoices",
	}
}

// Attach tells the customer's account an invoice is open, starting the account if
// needed. updateID makes a retry the same update.
func (c *Client) Attach(ctx context.Context, updateID string, r AttachRequest) (Ack, error) {
	return c.updateWithStart(ctx, r.CustomerID, updateID, UpdateAttach, r)
}

// Remind hands the account one reminder, starting the account if needed.
func (c *Client) Remind(ctx context.Context, updateID string, r ReminderRequest) (Ack, error) {
	return c.updateWithStart(ctx, r.CustomerID, updateID, UpdateRemind, r)
}

// Announce tells the customer's account an invoice was issued (SignalIssued), starting
// the account if needed: one server round trip, no worker in it, so the account knows
// the invoice before it is due however loaded the workers are.
func (c *Client) Announce(ctx context.Context, r AttachRequest) error {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	opts := StartOptions(r.CustomerID)
	opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED // signal-with-start uses the running one
	if _, err := c.Temporal.SignalWithStartWorkflow(ctx, WorkflowID(r.CustomerID), SignalIssued, r, opts, WorkflowName,
		Input{CustomerID: r.CustomerID}); err != nil {
		return fmt.Errorf("account of customer %s: announcing invoice %s: %w", r.CustomerID, r.InvoiceID, err)
	}
	return nil
}

func (c *Client) updateWithStart(ctx context.Context, customerID, updateID, name string, arg any) (Ack, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	start := c.Temporal.NewWithStartWorkflowOperation(StartOptions(customerID), WorkflowName, Input{CustomerID: customerID})
	h, err := c.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID: updateID, UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	var ack Ack
	if err == nil {
		err = h.Get(ctx, &ack)
	}
	if err != nil {
		err = invoiceapi.DecodeError(err)
		var invalid *invoiceapi.InvalidError
		if errors.As(err, &invalid) {
			return ack, err
		}
		return ack, fmt.Errorf("account of customer %s: %s: %w", customerID, name, err)
	}
	return ack, nil
}

// State queries the customer's account; ErrNotFound when it is not running or gone.
func (c *Client) State(ctx context.Context, customerID string) (View, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	var v View
	val, err := c.Temporal.QueryWorkflow(ctx, WorkflowID(customerID), "", QueryState)
	if err == nil {
		err = val.Get(&v)
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return v, fmt.Errorf("customer %s: %w", customerID, ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("customer %s: account state: %w", customerID, err)
	}
	return v, nil
}

func (c *Client) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.Timeout > 0 {
		return context.WithTimeout(ctx, c.Timeout)
	}
	return context.WithCancel(ctx)
}
