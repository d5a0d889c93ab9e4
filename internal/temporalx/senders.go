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
	}{{workflows.EmailTaskQueue, emailPerSecond}, {workflows.SMSTaskQueue, smsPerSecond}} {
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

// Pollers. The SDK's default of two long polls per queue lets a burst of payments
// queue behind two workflow-task polls; idle polls cost the server little. A send
// queue has several partitions, each holding part of a month-end backlog and part of
// the rate: with two pollers some partitions waited for a poll and a spike drained at
// 0.67-0.90 of the limit (make bench). Eight alone let bursts through (12-15 refusals
// per e2e spike, some to the same message twice); with each worker pacing itself as
// well, none.
const (
	workflowPollers = 8
	activityPollers = 4
	sendPollers     = 8
)

// CollectionWorkerOptions are the options of the worker of workflows.TaskQueue (the
// invoice workflows and their ledger activities), shared by the worker binary and
// the benchmark so both measure the same thing.
func CollectionWorkerOptions() worker.Options {
	return worker.Options{MaxConcurrentWorkflowTaskPollers: workflowPollers, MaxConcurrentActivityTaskPollers: activityPollers}
}
