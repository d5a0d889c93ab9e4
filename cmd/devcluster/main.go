// Command devcluster runs a Temporal cluster on this machine for `make cluster`: the
// server built from its Go module (bin/temporal-server-<version>, see the Makefile)
// as separate frontend, history, matching and worker processes on loopback, on a
// PostgreSQL cluster of its own with SQL visibility, the namespace registered with
// Dunwell's search attributes and the send queues on one partition. It prints the
// addresses and how to point Dunwell's worker and API at it, and stops everything on
// Ctrl-C.
//
// Every port is free at start-up and the data lives in a directory of its own
// (removed at exit unless CLUSTER_DIR names one), so it runs beside `make run` and
// the tests. TEMPORAL_NAMESPACE names the namespace (default "default").
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := run(logger); err != nil {
		fmt.Fprintln(os.Stderr, "devcluster:", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	fmt.Fprintln(os.Stderr, "Starting PostgreSQL, setting up Temporal's schema, starting frontend, history, matching and worker...")
	startCtx, startCancel := context.WithTimeout(ctx, 3*time.Minute)
	defer startCancel()
	c, err := testenv.StartTemporalCluster(startCtx, testenv.TemporalClusterOptions{
		Dir:              os.Getenv("CLUSTER_DIR"),
		Namespace:        os.Getenv("TEMPORAL_NAMESPACE"),
		SearchAttributes: invoiceapi.SearchAttributes,
		// The send queues on one partition: their workers' rate limit is the queue's.
		SinglePartitionQueues: []string{invoiceapi.EmailTaskQueue, invoiceapi.SMSTaskQueue},
		Logger:                logger,
	})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(os.Stderr, "Stopping the Temporal cluster")
		if err := c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "devcluster: stop:", err)
		}
	}()
	fmt.Printf(`
Temporal %s is running as a cluster.
  Frontend (gRPC)   %s   namespace %s
  PostgreSQL        %s   (databases temporal, temporal_visibility)
  Data and logs     %s   (frontend.log, history.log, matching.log, worker.log)

Run Dunwell against it (configuration only), e.g. in another terminal:
  TEMPORAL_ADDRESS=%s TEMPORAL_NAMESPACE=%s DATABASE_URL=... ./bin/worker
  TEMPORAL_ADDRESS=%s TEMPORAL_NAMESPACE=%s DATABASE_URL=... ./bin/starter serve
or the whole local stack on it:  TEMPORAL_ADDRESS=%s make run

Press Ctrl-C to stop everything.
`, testenv.TemporalServerVersion, c.HostPort(), c.Namespace(), c.PostgresURL("temporal"), c.Dir(),
		c.HostPort(), c.Namespace(), c.HostPort(), c.Namespace(), c.HostPort())
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			for name, err := range c.Exited() {
				return fmt.Errorf("the %s service exited (%v); its log is %s", name, err, c.LogPath(name))
			}
		}
	}
}
