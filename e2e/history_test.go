package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/dunwell/dunwell/internal/codec"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// recordEnv names the directory that recordHistory writes to. The replay test in
// package workflows replays what is recorded there (workflows/testdata/histories);
// see the README in that directory for the capture command.
const recordEnv = "DUNWELL_RECORD_HISTORIES"

// recordHistory saves the finished workflow's history as JSON when recordEnv is set.
// It never replaces a recorded file: that file is the history of runs that may still be
// open somewhere, recorded under an older version of the workflow. A new version is
// recorded under a new name.
func recordHistory(t *testing.T, invoiceID, name string) {
	t.Helper()
	recordRun(t, invoiceID, "", name)
}

// recordRun is recordHistory for one run of the invoice's workflow ("": the latest).
func recordRun(t *testing.T, invoiceID, runID, name string) {
	t.Helper()
	recordWorkflow(t, invoiceapi.WorkflowID(invoiceID), runID, name)
}

// recordWorkflow records one run of any workflow (an invoice's, a customer's account).
func recordWorkflow(t *testing.T, workflowID, runID, name string) {
	t.Helper()
	dir := os.Getenv(recordEnv)
	if dir == "" {
		return
	}
	path := filepath.Join(dir, name+".json")
	if _, err := os.Stat(path); err == nil {
		t.Logf("%s is already recorded; kept as it is (record a new version under a new name)", path)
		return
	}
	ctx := context.Background()
	it := env.temporal.Client().GetWorkflowHistory(ctx, workflowID, runID, false, 0)
	var h historypb.History
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, ev)
	}
	// The histories are encrypted under this run's random key; the checked-in copies
	// are decoded so the replay test can read them without any key.
	c := codec.New(env.codecKeys)
	require.NoError(t, proxy.VisitPayloads(ctx, &h, proxy.VisitPayloadsOptions{
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return c.Decode(ps)
		},
	}))
	data, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&h)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(path, data, 0o644))
	t.Logf("recorded %d events of %s to %s", len(h.Events), workflowID, path)
}
