package invoiceapi

import (
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/policy"
)

// StartOptions starts an invoice's collection workflow idempotently: a running or
// closed invoice workflow is never started again (REJECT_DUPLICATE), and a second start
// reports the existing run instead of silently returning it. The search attributes are
// set here, at start, where they cost nothing: NextActionAt too, computed at now by the
// same pure function the workflow uses, so the workflow's first task finds it right
// and upserts nothing (it upserts the attribute only when it differs).
func StartOptions(inv collection.Invoice, pol *policy.Policy, now time.Time) client.StartWorkflowOptions {
	attrs := []temporal.SearchAttributeUpdate{
		AttrStatus.ValueSet(string(collection.StatusOpen)),
		AttrCustomerID.ValueSet(inv.Customer.ID),
		AttrCurrency.ValueSet(inv.Currency),
		AttrAmountDue.ValueSet(inv.AmountDue),
		AttrDueDate.ValueSet(inv.DueDate.In(inv.Location()).UTC()),
		AttrDunningStage.ValueSet("issued"),
		AttrSegment.ValueSet(inv.Customer.Segment),
		AttrPolicyID.ValueSet(pol.ID),
	}
	st := collection.NewState(&inv)
	if next := collection.Next(pol, &inv, &st, now); next.Kind != collection.ActionNone {
		attrs = append(attrs, AttrNextActionAt.ValueSet(next.At.UTC()))
	}
	return client.StartWorkflowOptions{
		ID:                                       WorkflowID(inv.ID),
		TaskQueue:                                TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary: fmt.Sprintf("Invoice %s: %s %s due %s (customer %s, policy %s)", inv.ID,
			money.Format(inv.AmountDue, inv.Currency), inv.Currency, inv.DueDate, inv.Customer.ID, pol.ID),
		TypedSearchAttributes: temporal.NewSearchAttributes(attrs...),
	}
}
