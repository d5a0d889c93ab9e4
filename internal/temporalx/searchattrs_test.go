package temporalx_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/dunwell/dunwell/internal/temporalx"
	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

func TestEnsureSearchAttributes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	// No --search-attribute flags: the namespace starts without ours.
	srv, err := testenv.StartTemporal(ctx, testenv.TemporalOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	c, ns := srv.Client(), srv.Namespace()

	added, err := temporalx.EnsureSearchAttributes(ctx, c, ns, invoiceapi.SearchAttributes)
	require.NoError(t, err)
	require.Equal(t, slices.Sorted(maps.Keys(invoiceapi.SearchAttributes)), added, "first call adds all")

	added, err = temporalx.EnsureSearchAttributes(ctx, c, ns, invoiceapi.SearchAttributes)
	require.NoError(t, err)
	require.Empty(t, added, "second call adds none")

	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	require.NoError(t, err)
	for name, typ := range invoiceapi.SearchAttributes {
		require.Equal(t, typ, resp.GetCustomAttributes()[name], "type of %s", name)
	}

	t.Run("only the missing one is added", func(t *testing.T) {
		want := maps.Clone(invoiceapi.SearchAttributes)
		want["DunwellTestFlag"] = enums.INDEXED_VALUE_TYPE_BOOL
		added, err := temporalx.EnsureSearchAttributes(ctx, c, ns, want)
		require.NoError(t, err)
		require.Equal(t, []string{"DunwellTestFlag"}, added)
	})

	t.Run("custom attribute with another type", func(t *testing.T) {
		added, err := temporalx.EnsureSearchAttributes(ctx, c, ns, map[string]enums.IndexedValueType{
			invoiceapi.AttrStatus.GetName(): enums.INDEXED_VALUE_TYPE_INT,
			"DunwellNotAddedOnConflict":     enums.INDEXED_VALUE_TYPE_KEYWORD,
		})
		require.ErrorIs(t, err, temporalx.ErrSearchAttributeConflict)
		require.ErrorContains(t, err, "CollectionStatus is Keyword, want Int")
		require.Empty(t, added)

		resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
		require.NoError(t, err)
		require.NotContains(t, resp.GetCustomAttributes(), "DunwellNotAddedOnConflict")
	})

	t.Run("system attribute with another type", func(t *testing.T) {
		_, err := temporalx.EnsureSearchAttributes(ctx, c, ns, map[string]enums.IndexedValueType{
			"WorkflowType": enums.INDEXED_VALUE_TYPE_INT,
		})
		require.ErrorIs(t, err, temporalx.ErrSearchAttributeConflict)
		require.ErrorContains(t, err, "WorkflowType")
	})

	t.Run("added attributes are usable", func(t *testing.T) {
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:        "temporalx-sa-usable",
			TaskQueue: "temporalx-no-worker", // never runs; visibility is enough
			TypedSearchAttributes: temporal.NewSearchAttributes(
				invoiceapi.AttrStatus.ValueSet("open"),
				invoiceapi.AttrCustomerID.ValueSet("cus_1"),
				invoiceapi.AttrAmountDue.ValueSet(12_50),
				invoiceapi.AttrDueDate.ValueSet(time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)),
			),
		}, "Nothing")
		require.NoError(t, err)

		query := "CustomerId = 'cus_1' AND AmountDue > 1000 AND DueDate < '2026-02-01T00:00:00Z'"
		for { // visibility is eventually consistent
			resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: ns, Query: query})
			require.NoError(t, err)
			if len(resp.GetExecutions()) == 1 {
				require.Equal(t, "temporalx-sa-usable", resp.GetExecutions()[0].GetExecution().GetWorkflowId())
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("workflow not found by %q before the deadline", query)
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

func TestEnsureSearchAttributesRejectsBadArguments(t *testing.T) {
	ctx := t.Context()
	_, err := temporalx.EnsureSearchAttributes(ctx, nil, "default", invoiceapi.SearchAttributes)
	require.ErrorContains(t, err, "nil client")

	// A lazy client never dials, so the argument checks run without a server.
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	defer c.Close()

	_, err = temporalx.EnsureSearchAttributes(ctx, c, "", invoiceapi.SearchAttributes)
	require.ErrorContains(t, err, "empty namespace")

	_, err = temporalx.EnsureSearchAttributes(ctx, c, "default", map[string]enums.IndexedValueType{"X": enums.INDEXED_VALUE_TYPE_UNSPECIFIED})
	require.ErrorContains(t, err, `"X"`)

	added, err := temporalx.EnsureSearchAttributes(ctx, c, "default", nil)
	require.NoError(t, err)
	require.Empty(t, added)
}
