package temporalx

import (
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/dunwell/dunwell/activities"
	"github.com/dunwell/dunwell/workflows"
)

// ProviderWorkers returns the (unstarted) workers of the per-provider send queues:
// workflows.EmailTaskQueue at emailPerSecond and workflows.SMSTaskQueue at
// smsPerSecond activities per second. TaskQueueActivitiesPerSecond is enforced by the
// Temporal server for the whole task queue, so the limit holds however many workers
// run; a 429 that gets through anyway is retried after the provider's Retry-After
// (the activity's NextRetryDelay). A rate of 0 leaves the queue unlimited.
func ProviderWorkers(c client.Client, acts *activities.Activities, emailPerSecond, smsPerSecond float64) []worker.Worker {
	var out []worker.Worker
	for _, q := range []struct {
		name string
		rate float64
	}{{workflows.EmailTaskQueue, emailPerSecond}, {workflows.SMSTaskQueue, smsPerSecond}} {
		w := worker.New(c, q.name, worker.Options{TaskQueueActivitiesPerSecond: q.rate, DisableWorkflowWorker: true})
		w.RegisterActivity(acts)
		out = append(out, w)
	}
	return out
}

// Pollers of the collection worker. The SDK's default of two long polls per queue
// lets a burst of payments queue behind two workflow-task polls; idle polls cost the
// server little. The send workers keep the SDK's two on purpose: with eight, the
// queue's rate limit let bursts through and the fake provider refused 12-15 sends per
// spike, some of them the same message twice in a row (e2e
// TestMonthEndSpikeDrainsAtProviderLimit); with two it refused 0-3, none twice, at the
// same pace.
const (
	workflowPollers = 8
	activityPollers = 4
)

// CollectionWorkerOptions are the options of the worker of workflows.TaskQueue (the
// invoice workflows and their ledger activities), shared by the worker binary and
// the benchmark so both measure the same thing.
func CollectionWorkerOptions() worker.Options {
	return worker.Options{MaxConcurrentWorkflowTaskPollers: workflowPollers, MaxConcurrentActivityTaskPollers: activityPollers}
}
