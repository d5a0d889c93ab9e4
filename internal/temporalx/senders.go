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
		w := worker.New(c, q.name, worker.Options{TaskQueueActivitiesPerSecond: q.rate, DisableWorkflowWorker: true,
			MaxConcurrentActivityTaskPollers: sendPollers})
		w.RegisterActivity(acts)
		out = append(out, w)
	}
	return out
}

// Pollers per worker. The SDK's default of two long polls per queue caps what one
// worker takes to about two tasks per poll round trip: under a month-end spike a
// send queue then drains below its rate limit (0.70 R in make bench), and a burst of
// payments queues behind two workflow-task polls. Idle polls cost the server little.
const (
	sendPollers     = 8
	workflowPollers = 8
	activityPollers = 4
)

// CollectionWorkerOptions are the options of the worker of workflows.TaskQueue (the
// invoice workflows and their ledger activities), shared by the worker binary and
// the benchmark so both measure the same thing.
func CollectionWorkerOptions() worker.Options {
	return worker.Options{MaxConcurrentWorkflowTaskPollers: workflowPollers, MaxConcurrentActivityTaskPollers: activityPollers}
}
