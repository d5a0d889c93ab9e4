package invoiceapi

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/policies"
)

// fakeTemporal answers every call with the error it is given; describe is what
// DescribeWorkflowExecution answers (nil: NotFound). Other methods panic (nil
// embedded interface).
type fakeTemporal struct {
	client.Client
	err      error
	describe *enumspb.WorkflowExecutionStatus
	// lastUpdate is the last update's options.
	lastUpdate client.UpdateWorkflowOptions
	// notReady: this many updates are answered first with the WorkflowNotReady of a
	// failed workflow task; updateIDs lists the id of every update sent.
	notReady  int
	updateIDs []string
}

type fakeHandle struct {
	client.WorkflowUpdateHandle
	err error
}

func (h fakeHandle) Get(_ context.Context, out any) error {
	if h.err != nil {
		return h.err
	}
	*(out.(*EventResult)) = EventResult{Status: collection.StatusDisputed}
	return nil
}

func (f *fakeTemporal) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.lastUpdate = o
	f.updateIDs = append(f.updateIDs, o.UpdateID)
	if f.notReady > 0 {
		f.notReady--
		return nil, serviceerror.NewWorkflowNotReady("Unable to perform workflow execution update due to unexpected workflow task failure.")
	}
	var nf *serviceerror.NotFound
	if errors.As(f.err, &nf) {
		return nil, f.err // the server refuses at once
	}
	return fakeHandle{err: f.err}, nil // a validator's refusal comes with the outcome
}

func (f *fakeTemporal) SignalWorkflow(context.Context, string, string, string, any) error {
	return f.err
}

func (f *fakeTemporal) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return nil, f.err
}

func (f *fakeTemporal) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if f.describe == nil {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Status: *f.describe}}, nil
}

func status(s enumspb.WorkflowExecutionStatus) *enumspb.WorkflowExecutionStatus { return &s }

func TestClientClassifiesTemporalErrors(t *testing.T) {
	t.Parallel()
	// Temporal answers an update to a completed workflow with this NotFound; only the
	// execution status tells it from a workflow that never existed.
	completed := serviceerror.NewNotFound("workflow execution already completed")
	for _, tc := range []struct {
		name     string
		err      error
		describe *enumspb.WorkflowExecutionStatus
		check    func(t *testing.T, err error)
	}{
		{"accepted", nil, nil, func(t *testing.T, err error) { require.NoError(t, err) }},
		{"conflict", crossBoundary(EncodeError(&ConflictError{Field: "status", Reason: "dispute d1 is already open; resolve it first"})), nil,
			func(t *testing.T, err error) {
				require.Equal(t, &ConflictError{Field: "status", Reason: "dispute d1 is already open; resolve it first"}, err)
			}},
		{"invalid", crossBoundary(EncodeError(&InvalidError{Field: "currency", Reason: "is EUR but the invoice is in USD"})), nil,
			func(t *testing.T, err error) {
				require.Equal(t, &InvalidError{Field: "currency", Reason: "is EUR but the invoice is in USD"}, err)
			}},
		{"never started", serviceerror.NewNotFound("workflow not found"), nil,
			func(t *testing.T, err error) { require.ErrorIs(t, err, ErrNotFound) }},
		{"completed", completed, status(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED),
			func(t *testing.T, err error) { require.ErrorIs(t, err, ErrClosed) }},
		{"cancelled", completed, status(enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED),
			func(t *testing.T, err error) { require.ErrorIs(t, err, ErrClosed) }},
		{"not found yet running", serviceerror.NewNotFound("update target gone"), status(enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING),
			func(t *testing.T, err error) {
				require.NotErrorIs(t, err, ErrNotFound)
				require.NotErrorIs(t, err, ErrClosed)
			}},
		{"no such update handler yet", temporal.NewApplicationError("unknown update dispute. KnownUpdates=[payment]", ""), nil,
			func(t *testing.T, err error) {
				var conflict *ConflictError
				var invalid *InvalidError
				require.False(t, errors.As(err, &conflict) || errors.As(err, &invalid), "a missing handler is a fault to retry, not a refusal")
				require.False(t, Unavailable(err))
			}},
		{"server down", serviceerror.NewUnavailable("down"), nil, func(t *testing.T, err error) {
			require.ErrorIs(t, err, ErrUnavailable)
			var down *serviceerror.Unavailable
			require.ErrorAs(t, err, &down, "the cause stays in the chain")
		}},
		{"shed load", serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT, "busy"), nil,
			func(t *testing.T, err error) { require.ErrorIs(t, err, ErrUnavailable) }},
		{"update timed out", client.NewWorkflowUpdateServiceTimeoutOrCanceledError(context.DeadlineExceeded), nil,
			func(t *testing.T, err error) { require.ErrorIs(t, err, ErrUnavailable) }},
		{"caller's deadline", context.DeadlineExceeded, nil,
			func(t *testing.T, err error) { require.ErrorIs(t, err, ErrUnavailable) }},
		{"a fault", errors.New("boom"), nil, func(t *testing.T, err error) {
			require.Error(t, err)
			require.False(t, Unavailable(err))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft := &fakeTemporal{err: tc.err, describe: tc.describe}
			c := &Client{Temporal: ft}
			res, err := c.OpenDispute(t.Context(), "INV-1", "webhook:stripe:evt_1:dispute", DisputeInput{DisputeID: "d1", Reason: "why"})
			tc.check(t, err)
			if err == nil {
				require.Equal(t, collection.StatusDisputed, res.Status)
			}
			require.Equal(t, WorkflowID("INV-1"), ft.lastUpdate.WorkflowID)
			require.Equal(t, UpdateDispute, ft.lastUpdate.UpdateName)
			require.Equal(t, "webhook:stripe:evt_1:dispute", ft.lastUpdate.UpdateID, "the caller's update id makes a retry apply once")
			require.Equal(t, []any{DisputeInput{DisputeID: "d1", Reason: "why"}}, ft.lastUpdate.Args)
		})
	}
}

func TestClientSignalsAndQueriesClassifyToo(t *testing.T) {
	t.Parallel()
	closed := &fakeTemporal{err: serviceerror.NewNotFound("workflow execution already completed"), describe: status(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)}
	require.ErrorIs(t, (&Client{Temporal: closed}).OptOut(t.Context(), "INV-1", OptOutInput{Channel: "sms"}), ErrClosed)
	missing := &fakeTemporal{err: serviceerror.NewNotFound("workflow not found")}
	require.ErrorIs(t, (&Client{Temporal: missing}).Delivery(t.Context(), "INV-1", DeliveryInput{}), ErrNotFound)
	_, err := (&Client{Temporal: missing}).State(t.Context(), "INV-1")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = (&Client{Temporal: &fakeTemporal{err: serviceerror.NewDeadlineExceeded("slow")}}).State(t.Context(), "INV-1")
	require.ErrorIs(t, err, ErrUnavailable)
}

type fakeRun struct{ client.WorkflowRun }

func (fakeRun) GetRunID() string { return "run-new" }

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, wf any, _ ...any) (client.WorkflowRun, error) {
	if o.ID != WorkflowID("INV-1") || wf != CollectionWorkflowName {
		return nil, errors.New("started the wrong workflow")
	}
	if f.err != nil {
		return nil, f.err
	}
	return fakeRun{}, nil
}

// Issue reports a second start as the existing run instead of an error.
func TestIssueIsIdempotent(t *testing.T) {
	t.Parallel()
	shipped, err := policies.Shipped()
	require.NoError(t, err)
	set, _ := shipped.Get("standard")
	inv := collection.Invoice{ID: "INV-1", Currency: "USD", AmountDue: 100, Customer: collection.Customer{ID: "C-1", Timezone: "UTC"}}
	started, err := (&Client{Temporal: &fakeTemporal{}}).Issue(t.Context(), inv, set, inv.IssuedAt)
	require.NoError(t, err)
	require.Equal(t, Started{RunID: "run-new"}, started)
	again := &fakeTemporal{err: serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", "run-old")}
	started, err = (&Client{Temporal: again}).Issue(t.Context(), inv, set, inv.IssuedAt)
	require.NoError(t, err)
	require.Equal(t, Started{RunID: "run-old", Existing: true}, started)
	_, err = (&Client{Temporal: &fakeTemporal{err: serviceerror.NewUnavailable("down")}}).Issue(t.Context(), inv, set, inv.IssuedAt)
	require.ErrorIs(t, err, ErrUnavailable)
}

// An update whose workflow task failed (a signal arrived as the task closed the run)
// was not applied: it is sent again, as the same update, and answers like any other.
func TestUpdateIsSentAgainAfterItsWorkflowTaskFailed(t *testing.T) {
	t.Parallel()
	f := &fakeTemporal{notReady: 2}
	c := &Client{Temporal: f}
	res, err := c.Cancel(context.Background(), "INV-1", "", ReasonInput{Reason: "voided"})
	require.NoError(t, err)
	require.Equal(t, collection.StatusDisputed, res.Status)
	require.Len(t, f.updateIDs, 3)
	require.NotEmpty(t, f.updateIDs[0])
	require.Equal(t, []string{f.updateIDs[0], f.updateIDs[0], f.updateIDs[0]}, f.updateIDs, "one update, sent three times")

	// A workflow task that keeps failing (a bug in the workflow) is a fault, answered
	// after a few sends.
	f = &fakeTemporal{notReady: 100}
	c = &Client{Temporal: f}
	_, err = c.Cancel(context.Background(), "INV-1", "cancel-1", ReasonInput{Reason: "voided"})
	var notReady *serviceerror.WorkflowNotReady
	require.ErrorAs(t, err, &notReady)
	require.NotErrorIs(t, err, ErrUnavailable)
	require.Len(t, f.updateIDs, updateSends)
	require.Equal(t, "cancel-1", f.updateIDs[updateSends-1])
}

// A payment's update is named after all it carries: the same payment sent again is
// the same update, anything else about it makes another.
func TestPaymentUpdateIDIsThePayments(t *testing.T) {
	t.Parallel()
	base := PaymentInput{PaymentID: "pay-1", Amount: 125000, Currency: "USD", PaidAt: "2026-12-01T10:00:00Z"}
	id := PaymentUpdateID(base)
	require.Equal(t, id, PaymentUpdateID(base))
	for _, other := range []PaymentInput{
		{PaymentID: "pay-2", Amount: 125000, Currency: "USD", PaidAt: "2026-12-01T10:00:00Z"},
		{PaymentID: "pay-1", Amount: 125001, Currency: "USD", PaidAt: "2026-12-01T10:00:00Z"},
		{PaymentID: "pay-1", Amount: 125000, Currency: "EUR", PaidAt: "2026-12-01T10:00:00Z"},
		{PaymentID: "pay-1", Amount: 125000, Currency: "USD"},
		{PaymentID: "pay-11", Amount: 25000, Currency: "USD", PaidAt: "2026-12-01T10:00:00Z"},
	} {
		require.NotEqual(t, id, PaymentUpdateID(other), "%+v", other)
	}

	f := &fakeTemporal{err: serviceerror.NewDeadlineExceeded("slow")}
	c := &Client{Temporal: f}
	for range 2 {
		_, err := c.Pay(context.Background(), "INV-1", "", base)
		require.ErrorIs(t, err, ErrUnavailable)
	}
	require.Equal(t, []string{id, id}, f.updateIDs, "sent again, the payment is the same update")
	_, _ = c.Pay(context.Background(), "INV-1", "forwarder-ev-1", base)
	require.Equal(t, "forwarder-ev-1", f.lastUpdate.UpdateID, "a caller's own update id is kept")
}
