package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// Ledger writes from update handlers and signals queue for one writer coroutine
// instead of running inside the handler, so a handler never blocks on the database
// and the writes keep their order. Every write is idempotent and retries until it
// lands, and a run waits for the queue to drain before it ends or continues as new,
// so nothing queued is lost. The writer runs local activities (see ledgerCall): the
// write happens in the very task that applied the update, and the answer leaves with
// it, a few milliseconds later and after the payment is in the ledger.

// ledgerWrite is one ledger activity to run.
type ledgerWrite struct {
	summary  string
	activity any
	arg      any
}

// writeLedger queues the writes, in order, for the writer.
func (c *collector) writeLedger(writes ...ledgerWrite) {
	c.ledgerQueue = append(c.ledgerQueue, writes...)
}

// startLedgerWriter starts the coroutine that drains the queue. It runs on a
// disconnected context: a cancelled workflow still records what it decided.
func (c *collector) startLedgerWriter(ctx workflow.Context) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	workflow.Go(dctx, func(gctx workflow.Context) {
		for {
			if err := workflow.Await(gctx, func() bool { return len(c.ledgerQueue) > 0 }); err != nil {
				return
			}
			c.runLedgerWrite(gctx, c.ledgerQueue[0])
			c.ledgerQueue = c.ledgerQueue[1:] // popped after the write: ledgerIdle covers it
		}
	})
}

// ledgerIdle reports whether no ledger write is queued or running.
func (c *collector) ledgerIdle() bool { return len(c.ledgerQueue) == 0 }

// settled reports whether the run may end: no update handler running, no ledger write
// pending.
func (c *collector) settled(ctx workflow.Context) bool {
	return workflow.AllHandlersFinished(ctx) && c.ledgerIdle()
}

func (c *collector) runLedgerWrite(ctx workflow.Context, w ledgerWrite) {
	if err := c.ledgerCall(ctx, w.summary, w.activity, w.arg, nil); err != nil {
		// Ledger writes retry until they land; only a record the ledger refuses (a
		// non-retryable error) ends here. The state already changed: report it.
		c.logger.Error("Ledger write failed", "write", w.summary, "error", err)
	}
}

// ledgerCall runs one ledger activity (a write, or ReserveContact's locked
// read-and-write) and decodes its result into result, if not nil.
//
// It runs as a local activity: the ledger is Dunwell's own
// PostgreSQL, a write takes milliseconds and is idempotent, so it needs no task queue
// and no separate workflow task. A payment's update is then answered in the one
// workflow task that applied and recorded it (one MarkerRecorded event instead of an
// activity's three events and a second workflow task), which halves the work the
// Temporal server does per payment. A local activity retries inside the workflow
// task; should the database stay down past ledgerLocalFor, the write falls back to a
// regular activity, whose retries cost no history, so a long outage cannot grow the
// history while invoices wait for it.
func (c *collector) ledgerCall(ctx workflow.Context, summary string, activity, arg, result any) error {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: ledgerStartToClose, ScheduleToCloseTimeout: ledgerLocalFor, Summary: summary,
		RetryPolicy: ledgerRetryPolicy(),
	})
	err := workflow.ExecuteLocalActivity(lctx, activity, arg).Get(ctx, result)
	if err == nil || isFinal(err) {
		return err
	}
	c.logger.Warn("Ledger write still failing as a local activity; retrying it as an activity", "write", summary, "error", err)
	return workflow.ExecuteActivity(c.ledgerOptions(ctx, summary), activity, arg).Get(ctx, result)
}

// isFinal reports whether a ledger activity's error must not be retried: the ledger
// refused the record, or the workflow was cancelled while it ran.
func isFinal(err error) bool {
	return temporal.IsCanceledError(err) || isErrorType(err, invoiceapi.ErrTypeBadRequest)
}
