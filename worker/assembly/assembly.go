// Package assembly builds Dunwell's Temporal workers: the collection worker (the
// invoice workflows and their ledger activities on invoiceapi.TaskQueue) and one send
// worker per provider queue. The worker binary and the benchmark both use it, so they
// run, and measure, the same thing.
package assembly

import (
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/dunwell/dunwell/activities"
	"github.com/dunwell/dunwell/workflows"
	"github.com/dunwell/dunwell/workflows/accountapi"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// Pollers. The SDK's default of two long polls per queue lets a burst of payments
// queue behind two workflow-task polls; idle polls cost the server little. A send
// queue has several partitions, each holding part of a month-end backlog and part of
// the rate: with two pollers some partitions waited for a poll and a spike drained
// below the limit (make bench). Eight alone let bursts through to the provider; with
// each worker pacing itself as well, none.
const (
	workflowPollers = 8
	activityPollers = 4
	sendPollers     = 8
)

// CollectionWorker returns the (unstarted) worker of invoiceapi.TaskQueue with the
// collection workflow, the customer account workflow and acts registered under their
// contract names; acts reaches the accounts through c unless it has its own client.
// opts usually starts from CollectionWorkerOptions.
func CollectionWorker(c client.Client, acts *activities.Activities, opts worker.Options) worker.Worker {
	if acts.Accounts == nil {
		acts.Accounts = &accountapi.Client{Temporal: c}
	}
	w := worker.New(c, invoiceapi.TaskQueue, opts)
	w.RegisterWorkflowWithOptions(workflows.InvoiceCollection, workflow.RegisterOptions{Name: invoiceapi.CollectionWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.StatementRun, workflow.RegisterOptions{Name: workflows.StatementRunWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.CustomerAccount, workflow.RegisterOptions{Name: accountapi.WorkflowName})
	// The ledger activities run here, as local activities or as their fallback.
	w.RegisterActivity(acts)
	return w
}

// CollectionWorkerOptions are the options of the worker of invoiceapi.TaskQueue.
func CollectionWorkerOptions() worker.Options {
	return worker.Options{MaxConcurrentWorkflowTaskPollers: workflowPollers, MaxConcurrentActivityTaskPollers: activityPollers}
}

// ProviderWorkers returns the (unstarted) workers of the per-provider send queues:
// invoiceapi.EmailTaskQueue at emailPerSecond and invoiceapi.SMSTaskQueue at
// smsPerSecond activities per second. TaskQueueActivitiesPerSecond is enforced by the
// Temporal server for the whole task queue, so the limit holds however many workers
// run. The server's limiter lets a burst through after a quiet moment, so each worker
// also paces itself (WorkerActivitiesPerSecond: the SDK starts tasks evenly, a token
// bucket of one) and a provider never sees a second's worth of sends at once. A 429
// that gets through anyway is retried after the provider's Retry-After (the
// activity's NextRetryDelay). A rate of 0 leaves the queue unlimited.
func ProviderWorkers(c client.Client, acts *activities.Activities, emailPerSecond, smsPerSecond float64) []worker.Worker {
	var out []worker.Worker
	for _, q := range []struct {
		name string
		rate float64
	}{{invoiceapi.EmailTaskQueue, emailPerSecond}, {invoiceapi.SMSTaskQueue, smsPerSecond}} {
		w := worker.New(c, q.name, SendWorkerOptions(q.rate))
		w.RegisterActivity(acts)
		out = append(out, w)
	}
	return out
}

// SendWorkerOptions are the options of a worker of a send queue limited to perSecond
// activities per second (0: unlimited), shared with the benchmark's ceiling.
func SendWorkerOptions(perSecond float64) worker.Options {
	return worker.Options{
		TaskQueueActivitiesPerSecond: perSecond, WorkerActivitiesPerSecond: perSecond,
		MaxConcurrentActivityTaskPollers: sendPollers, DisableWorkflowWorker: true,
	}
}
