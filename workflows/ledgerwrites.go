package workflows

import (
	"go.temporal.io/sdk/workflow"
)

// Ledger writes from update handlers and signals. Since changeAsyncLedger (v1) they
// queue for one writer coroutine instead of running inside the handler: an update
// (a payment through the API) is answered as soon as the workflow has applied it, in
// the same workflow task, without waiting for PostgreSQL. The writer keeps the
// writes in order; every write is idempotent and retries until it lands, and a run
// waits for the queue to drain before it ends or continues as new, so nothing queued
// is lost. Runs that started before the change write inline, as they did.

// ledgerWrite is one ledger activity to run.
type ledgerWrite struct {
	summary  string
	activity any
	arg      any
}

// writeLedger runs the writes in order: queued for the writer, or inline for runs
// that started before changeAsyncLedger.
func (c *collector) writeLedger(ctx workflow.Context, writes ...ledgerWrite) {
	if !c.asyncLedger {
		for _, w := range writes {
			c.runLedgerWrite(ctx, w)
		}
		return
	}
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
	if err := workflow.ExecuteActivity(c.ledgerOptions(ctx, w.summary), w.activity, w.arg).Get(ctx, nil); err != nil {
		// Ledger writes retry until they land; only a record the ledger refuses (a
		// non-retryable error) ends here. The state already changed: report it.
		c.logger.Error("Ledger write failed", "write", w.summary, "error", err)
	}
}
