package workflows

import (
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/money"
)

// StartOptions starts an invoice's collection workflow idempotently: a running or
// closed invoice workflow is never started again (REJECT_DUPLICATE), and a second start
// reports the existing run instead of silently returning it. The search attributes are
// set here, at start, where they cost nothing.
func StartOptions(inv collection.Invoice, policyID string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                                       WorkflowID(inv.ID),
		TaskQueue:                                TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary: fmt.Sprintf("Invoice %s: %s %s due %s (customer %s, policy %s)", inv.ID,
			money.Format(inv.AmountDue, inv.Currency), inv.Currency, inv.DueDate, inv.Customer.ID, policyID),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			AttrStatus.ValueSet(string(collection.StatusOpen)),
			AttrCustomerID.ValueSet(inv.Customer.ID),
			AttrCurrency.ValueSet(inv.Currency),
			AttrAmountDue.ValueSet(inv.AmountDue),
			AttrDueDate.ValueSet(inv.DueDate.In(inv.Location()).UTC()),
			AttrDunningStage.ValueSet("issued"),
			AttrSegment.ValueSet(inv.Customer.Segment),
			AttrPolicyID.ValueSet(policyID),
		),
	}
}
