package workflows

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/dunwell/dunwell/workflows/accountapi"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// TestReplayRecordedHistories replays every history recorded from a real dev server
// (testdata/histories, see its README) against the current workflow code. A change
// that would break open invoices in production fails here: version it as
// docs/workflow-changes.md says.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories to replay")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := os.Open(file)
			require.NoError(t, err)
			defer f.Close()
			history, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			require.NoError(t, err)
			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflowWithOptions(InvoiceCollection, workflow.RegisterOptions{Name: invoiceapi.CollectionWorkflowName})
			replayer.RegisterWorkflowWithOptions(CustomerAccount, workflow.RegisterOptions{Name: accountapi.WorkflowName})
			require.NoError(t, replayer.ReplayWorkflowHistory(nil, history))
		})
	}
}
