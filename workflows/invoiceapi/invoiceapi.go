// Package invoiceapi is the contract of the invoice collection workflow: its task
// queues, workflow, update, signal and query names, input and result types, search
// attributes, workflow-id helper, activity names with their request and result types,
// and the typed errors that cross the update boundary. The workflow (package
// workflows), its activities, the worker, the API, the CLI and the forwarder all
// import it, so no name is typed twice; Client is how callers reach the workflow.
//
// Everything here is serialized into workflow histories: renaming a name or a JSON
// field breaks the replay of open invoices.
package invoiceapi

import (
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/policy"
)

// TaskQueue is the task queue the collection workflow and its activities run on.
const TaskQueue = "dunwell-collections"

// Task queues of the send activity, one per provider. Workers poll them with
// worker.Options.TaskQueueActivitiesPerSecond set to the provider's rate limit, which
// the Temporal server enforces per task queue, so the limit holds across all workers
// and a month-end spike drains at the provider's pace instead of tripping it.
const (
	EmailTaskQueue = "dunwell-email"
	SMSTaskQueue   = "dunwell-sms"
)

// NoticeTaskQueue returns the task queue SendNotice runs on for a channel.
func NoticeTaskQueue(ch policy.Channel) string {
	if ch == policy.SMS {
		return SMSTaskQueue
	}
	return EmailTaskQueue
}

// Names of the workflow type, its updates and its queries.
const (
	CollectionWorkflowName = "InvoiceCollection"
	// UpdatePayment applies a payment; see PaymentInput and PaymentResult.
	UpdatePayment = "payment"
	// QueryState returns collection.View.
	QueryState = "state"
	// QueryPolicy returns the snapshot of the policy the invoice runs under
	// (policy.Policy): the terms that apply to this invoice, whatever the policy's
	// current version says.
	QueryPolicy = "policy"
)

// WorkflowID is the id of the invoice's collection workflow.
func WorkflowID(invoiceID string) string { return "invoice-" + invoiceID }

// CollectionInput starts (or continues) an invoice's collection.
type CollectionInput struct {
	Invoice collection.Invoice `json:"invoice"`
	// Policy is a snapshot of the policy version the invoice runs under.
	Policy policy.Policy `json:"policy"`
	// State is set when the workflow continues as new; nil on the first run.
	State *collection.State `json:"state,omitempty"`
}

// CollectionResult is how the collection ended.
type CollectionResult struct {
	Status  collection.Status `json:"status"`
	Balance int64             `json:"balance_minor"`
	Credit  int64             `json:"credit_minor"`
}

// PaymentInput is the argument of the payment update.
type PaymentInput struct {
	PaymentID string `json:"payment_id"`
	// Amount in minor units of Currency.
	Amount   int64  `json:"amount_minor"`
	Currency string `json:"currency"`
	PaidAt   string `json:"paid_at"` // RFC 3339; empty means now
}

// PaymentResult answers the payment update.
type PaymentResult struct {
	Duplicate bool              `json:"duplicate"`
	Status    collection.Status `json:"status"`
	Balance   int64             `json:"balance_minor"`
	Credit    int64             `json:"credit_minor"`
	Applied   int64             `json:"applied_minor"`
}

// Search attributes kept current on every invoice workflow. None carries personal
// data: the payload codec does not encrypt search attributes.
var (
	AttrStatus       = temporal.NewSearchAttributeKeyKeyword("CollectionStatus")
	AttrCustomerID   = temporal.NewSearchAttributeKeyKeyword("CustomerId")
	AttrCurrency     = temporal.NewSearchAttributeKeyKeyword("Currency")
	AttrDunningStage = temporal.NewSearchAttributeKeyKeyword("DunningStage")
	AttrSegment      = temporal.NewSearchAttributeKeyKeyword("Segment")
	AttrPolicyID     = temporal.NewSearchAttributeKeyKeyword("PolicyId")
	// AttrAmountDue is the outstanding balance in minor units of Currency.
	AttrAmountDue    = temporal.NewSearchAttributeKeyInt64("AmountDue")
	AttrDueDate      = temporal.NewSearchAttributeKeyTime("DueDate")
	AttrNextActionAt = temporal.NewSearchAttributeKeyTime("NextActionAt")
)

// SearchAttributes lists every custom search attribute with its type, for
// registration on a namespace (the worker does it at start-up, the dev server gets
// them as --search-attribute flags).
var SearchAttributes = map[string]enums.IndexedValueType{
	AttrStatus.GetName():       enums.INDEXED_VALUE_TYPE_KEYWORD,
	AttrCustomerID.GetName():   enums.INDEXED_VALUE_TYPE_KEYWORD,
	AttrCurrency.GetName():     enums.INDEXED_VALUE_TYPE_KEYWORD,
	AttrDunningStage.GetName(): enums.INDEXED_VALUE_TYPE_KEYWORD,
	AttrSegment.GetName():      enums.INDEXED_VALUE_TYPE_KEYWORD,
	AttrPolicyID.GetName():     enums.INDEXED_VALUE_TYPE_KEYWORD,
	AttrAmountDue.GetName():    enums.INDEXED_VALUE_TYPE_INT,
	AttrDueDate.GetName():      enums.INDEXED_VALUE_TYPE_DATETIME,
	AttrNextActionAt.GetName(): enums.INDEXED_VALUE_TYPE_DATETIME,
}

// DevServerFlags returns the `temporal server start-dev` flags that register the
// search attributes ("--search-attribute", "CollectionStatus=Keyword", ...).
func DevServerFlags() []string {
	names := map[enums.IndexedValueType]string{
		enums.INDEXED_VALUE_TYPE_KEYWORD:  "Keyword",
		enums.INDEXED_VALUE_TYPE_INT:      "Int",
		enums.INDEXED_VALUE_TYPE_DATETIME: "Datetime",
	}
	var out []string
	for _, k := range sortedAttrNames() {
		out = append(out, "--search-attribute", k+"="+names[SearchAttributes[k]])
	}
	return out
}
