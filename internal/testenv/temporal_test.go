package testenv

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// echoWorkflow is the trivial workflow the dev-server test runs.
func echoWorkflow(_ workflow.Context, in string) (string, error) { return in, nil }

var attrStatus = temporal.NewSearchAttributeKeyKeyword("CollectionStatus")

// devServerTest skips a test that starts a dev server under -short, runs it in
// parallel and bounds it at two minutes.
func devServerTest(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a Temporal dev server")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// stopAtEnd stops srv when the test ends, failing it with the server's output if
// the stop fails.
func stopAtEnd(t *testing.T, srv *Temporal) {
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stop: %v\nserver output:\n%s", err, srv.ServerOutput())
		}
	})
}

func TestStartTemporalSearchAttributeFromFlagsIsQueryable(t *testing.T) {
	ctx := devServerTest(t)

	began := time.Now()
	srv, err := StartTemporal(ctx, TemporalOptions{
		ExtraArgs: []string{"--search-attribute", attrStatus.GetName() + "=Keyword"},
	})
	require.NoError(t, err)
	t.Logf("dev server ready at %s in %s", srv.HostPort(), time.Since(began).Round(time.Millisecond))
	stopAtEnd(t, srv)
	require.Equal(t, "default", srv.Namespace())
	require.Empty(t, srv.UIHostPort())

	c := srv.Client()
	const taskQueue = "testenv-echo"
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(echoWorkflow, workflow.RegisterOptions{Name: "Echo"})
	require.NoError(t, w.Start())
	defer w.Stop()

	const id = "testenv-echo-paid"
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             taskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(attrStatus.ValueSet("paid")),
	}, "Echo", "hello")
	require.NoError(t, err)
	var got string
	require.NoError(t, run.Get(ctx, &got))
	require.Equal(t, "hello", got)

	// Visibility is eventually consistent: poll until the workflow shows up.
	list := func(query string) []string {
		t.Helper()
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: srv.Namespace(),
			Query:     query,
		})
		require.NoError(t, err, "query %q", query)
		var ids []string
		for _, e := range resp.GetExecutions() {
			if e.GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
				ids = append(ids, e.GetExecution().GetWorkflowId())
			}
		}
		return ids
	}
	for {
		if ids := list("CollectionStatus = 'paid'"); len(ids) > 0 {
			require.Equal(t, []string{id}, ids)
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("workflow %s not found by CollectionStatus = 'paid' before the deadline", id)
		case <-time.After(100 * time.Millisecond):
		}
	}
	require.Empty(t, list("CollectionStatus = 'open'"))
}

func TestStartTemporalWithDevServerFlagsRegistersOurSearchAttributes(t *testing.T) {
	ctx := devServerTest(t)

	srv, err := StartTemporal(ctx, TemporalOptions{ExtraArgs: invoiceapi.DevServerFlags()})
	require.NoError(t, err)
	stopAtEnd(t, srv)
	resp, err := srv.Client().OperatorService().ListSearchAttributes(ctx,
		&operatorservice.ListSearchAttributesRequest{Namespace: srv.Namespace()})
	require.NoError(t, err)
	for name, typ := range invoiceapi.SearchAttributes {
		require.Equal(t, typ, resp.GetCustomAttributes()[name], "search attribute %s", name)
	}
}

func TestTemporalStopIsIdempotentAndLeavesNoProcess(t *testing.T) {
	ctx := devServerTest(t)

	srv, err := StartTemporal(ctx, TemporalOptions{Namespace: "testenv-ns", LogLevel: "error", EnableUI: true})
	require.NoError(t, err)
	require.Equal(t, "testenv-ns", srv.Namespace())
	require.NotEmpty(t, srv.UIHostPort())
	_, err = srv.Client().DescribeWorkflowExecution(ctx, "no-such-workflow", "")
	var notFound *serviceerror.NotFound
	require.ErrorAs(t, err, &notFound, "the client should reach the testenv-ns namespace")
	for {
		resp, err := http.Get("http://" + srv.UIHostPort() + "/")
		if err == nil {
			_ = resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("UI at %s never answered: %v", srv.UIHostPort(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	dir, pid := srv.dir, srv.pid

	began := time.Now()
	require.NoError(t, srv.Stop())
	t.Logf("dev server stopped in %s", time.Since(began).Round(time.Millisecond))
	require.NoError(t, srv.Stop())
	var none *Temporal
	require.NoError(t, none.Stop())

	_, err = net.Dial("tcp", srv.HostPort())
	require.Error(t, err, "frontend port still accepts connections after Stop")
	_, err = os.Stat(dir)
	require.ErrorIs(t, err, os.ErrNotExist, "temp dir left behind")
	if pid != 0 {
		require.False(t, alive(pid), "server process %d still running", pid)
	}
}

func TestStartTemporalBadFlagFailsAndLeavesNoProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Temporal CLI")
	}
	// Not parallel: it counts our child servers, so none may start meanwhile.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	before := children(t, "start-dev")
	_, err := StartTemporal(ctx, TemporalOptions{ExtraArgs: []string{"--no-such-flag"}})
	require.Error(t, err)
	require.ErrorContains(t, err, "exited during start-up")
	require.ErrorContains(t, err, "no-such-flag", "error should carry the server's output")
	require.LessOrEqual(t, children(t, "start-dev"), before, "server process left running or unreaped")
}

func TestStartTemporalMissingCLI(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-temporal")

	_, err := StartTemporal(t.Context(), TemporalOptions{CLIPath: missing})
	require.ErrorContains(t, err, "make bin/temporal")
	require.ErrorContains(t, err, missing)

	t.Setenv(EnvTemporalCLI, missing)
	_, err = StartTemporal(t.Context(), TemporalOptions{})
	require.ErrorContains(t, err, "make bin/temporal")
	require.ErrorContains(t, err, "$"+EnvTemporalCLI)
}

func TestStartTemporalRejectsUnknownLogLevel(t *testing.T) {
	_, err := StartTemporal(t.Context(), TemporalOptions{LogLevel: "chatty"})
	require.ErrorContains(t, err, "chatty")
}

func TestRepoRootHasGoMod(t *testing.T) {
	root, err := RepoRoot()
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(root, "go.mod"))
}

// children counts our child processes, running or zombie, with arg among their
// arguments; 0 where there is no /proc.
func children(t *testing.T, arg string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, ok := procStat(pid); !ok || ppid != os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for _, a := range bytes.Split(cmdline, []byte{0}) {
			if string(a) == arg {
				n++
				break
			}
		}
	}
	return n
}

func TestStartTemporalCancelledLeavesNoProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Temporal CLI")
	}
	// Not parallel: it counts our child servers, so none may start meanwhile.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	before := children(t, "start-dev")
	_, err := StartTemporal(ctx, TemporalOptions{})
	require.ErrorIs(t, err, context.Canceled)
	require.LessOrEqual(t, children(t, "start-dev"), before, "server process left running or unreaped")
}
