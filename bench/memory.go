package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// targetOpenWorkflows is the open-workflow count the memory target is stated for.
const targetOpenWorkflows = 10_000

// Memory is the process's memory with many invoice workflows asleep in the worker's
// cache. The worker shares the process with the API, the fakes and the load
// generator, so RSS is an upper bound for a worker alone; the delta over the
// baseline is what the open workflows cost.
type Memory struct {
	OpenWorkflows  int     `json:"open_workflows"`
	Instantiated   int     `json:"instantiated"`
	StartPerSecond float64 `json:"start_per_second"`
	BaselineRSSMB  float64 `json:"baseline_rss_mb"`
	RSSMB          float64 `json:"rss_mb"`
	DeltaRSSMB     float64 `json:"delta_rss_mb"`
	BaselineHeapMB float64 `json:"baseline_heap_mb"`
	HeapMB         float64 `json:"heap_mb"`
	// WorkflowCache is the worker's workflow cache size; Cached how many of the open
	// workflows it can hold (the others are evicted and replayed on their next task).
	WorkflowCache int `json:"workflow_cache"`
	Cached        int `json:"cached"`
	// PerWorkflowKB is the RSS delta per cached workflow.
	PerWorkflowKB float64 `json:"per_workflow_kb"`
	Goroutines    int     `json:"goroutines"`
	// ProjectedRSSMB is RSS at 10 000 open workflows: measured when OpenWorkflows is
	// 10 000, else the baseline plus the per-workflow delta times the workflows the
	// cache holds at 10 000 (min(10 000, WorkflowCache)).
	ProjectedRSSMB float64 `json:"projected_rss_mb"`
	Projected      bool    `json:"projected"`
	Error          string  `json:"error,omitempty"`
}

// runMemory starts cfg.OpenWorkflows invoice workflows directly (no API: the memory
// of interest is the worker's) under the one-hour policy, waits until the worker has
// run each one's first task and is idle, and reads the process's memory.
func runMemory(ctx context.Context, s *stack, cfg Config, heapProfile func(name string)) Memory {
	n := cfg.OpenWorkflows
	res := Memory{OpenWorkflows: n, WorkflowCache: cfg.WorkflowCache}
	pol, _ := s.policies.Get(policySleep)
	baseRSS, baseHeap := memoryNow()
	res.BaselineRSSMB, res.BaselineHeapMB = baseRSS, baseHeap

	inv := newInvoices("mem", n)
	start := time.Now()
	var started atomic.Int64
	progress, startsDone := time.NewTicker(15*time.Second), make(chan struct{})
	defer progress.Stop()
	go func() {
		for {
			select {
			case <-startsDone:
				return
			case <-progress.C:
				s.log.Info("Memory: starting workflows", "started", started.Load(), "of", n)
			}
		}
	}()
	// Few concurrent starts (the dev server shares the CPUs), each sent again while
	// Temporal does not answer in time: a start is idempotent on the workflow id.
	err := forEach(ctx, n, min(cfg.Concurrency, 16), func(ctx context.Context, i int) error {
		req := inv[i].request(policySleep, time.Now())
		in, fe := req.Validate(time.Now())
		if len(fe) > 0 {
			return fmt.Errorf("invoice %s: %s", inv[i].ID, fe.Error())
		}
		giveUp := time.Now().Add(resendFor)
		for {
			_, err := s.client.ExecuteWorkflow(ctx, invoiceapi.StartOptions(in, pol, time.Now()), invoiceapi.CollectionWorkflowName,
				invoiceapi.CollectionInput{Invoice: in, Policy: *pol})
			var already *serviceerror.WorkflowExecutionAlreadyStarted
			switch {
			case err == nil || errors.As(err, &already):
				started.Add(1)
				return nil
			case !invoiceapi.Unavailable(err) || time.Now().After(giveUp) || ctx.Err() != nil:
				return fmt.Errorf("starting %s: %w", inv[i].ID, err)
			}
			time.Sleep(time.Second)
		}
	})
	close(startsDone)
	starting := time.Since(start)
	res.StartPerSecond = round2(float64(n) / starting.Seconds())
	// The worker runs each one's first task after its start: give it as long again as
	// the starts took, at least two minutes.
	deadline := time.Now().Add(max(2*time.Minute, starting, time.Duration(n)*20*time.Millisecond))
	prefix := invoiceapi.WorkflowID("mem-")
	for time.Now().Before(deadline) && ctx.Err() == nil && s.starts.count(prefix) < n {
		time.Sleep(250 * time.Millisecond)
	}
	res.Instantiated = s.starts.count(prefix)
	time.Sleep(3 * time.Second) // their first tasks complete; the worker goes idle
	res.RSSMB, res.HeapMB = memoryNow()
	res.Goroutines = runtime.NumGoroutine()
	heapProfile("memory")
	res.DeltaRSSMB = round2(res.RSSMB - res.BaselineRSSMB)
	// Every open workflow beyond the cache was evicted; its delta (if any) is charged
	// to the cached ones, which over- rather than under-states the projection.
	res.Cached = min(res.Instantiated, cfg.WorkflowCache)
	if res.Cached > 0 {
		res.PerWorkflowKB = round2(res.DeltaRSSMB * 1024 / float64(res.Cached))
	}
	res.ProjectedRSSMB, res.Projected = res.RSSMB, n != targetOpenWorkflows
	if res.Projected {
		res.ProjectedRSSMB = round2(res.BaselineRSSMB + res.PerWorkflowKB*float64(min(targetOpenWorkflows, cfg.WorkflowCache))/1024)
	}
	if err != nil {
		res.Error = err.Error()
	} else if res.Instantiated < n {
		res.Error = fmt.Sprintf("only %d of %d workflows reached the worker in time", res.Instantiated, n)
	}
	return res
}

// memoryNow collects garbage, returns freed memory to the OS, and reads the
// process's resident set (VmRSS) and the Go heap in use, in MB.
func memoryNow() (rssMB, heapMB float64) {
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return round2(float64(residentKB()) / 1024), round2(float64(ms.HeapInuse) / (1 << 20))
}

// residentKB reads VmRSS from /proc/self/status (0 where there is none).
func residentKB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}
