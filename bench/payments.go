package bench

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/dunwell/dunwell/worker/assembly"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// PaymentLatency is the payment API under a fixed rate, then under rising rates.
type PaymentLatency struct {
	Invoices int `json:"invoices"`
	// SettleSec is how long after issuing the server took to show every invoice asleep.
	SettleSec float64     `json:"settle_sec"`
	Fixed     Latencies   `json:"fixed"`
	Ladder    []Latencies `json:"ladder"`
	// SustainedHz is the highest rate tried whose p99 stayed under the ladder bound
	// with no errors (0 if none did); Bounded reports whether the ladder stopped on a
	// failing rate (false: the true limit is above the highest rate tried).
	SustainedHz float64 `json:"sustained_hz"`
	Bounded     bool    `json:"bounded"`
	FirstError  string  `json:"first_error,omitempty"`
	// Ceiling is the payment ceiling in the same run: bare workflows answering a
	// no-op update (BareAccount), sent through the Temporal client at rising rates by
	// the same open loop. CeilingHz is its highest rate with p99 under the ladder
	// bound (CeilingBounded as Bounded), Ratio = SustainedHz / CeilingHz.
	Ceiling        []Latencies `json:"ceiling"`
	CeilingHz      float64     `json:"ceiling_hz"`
	CeilingBounded bool        `json:"ceiling_bounded"`
	Ratio          float64     `json:"ratio"`
	// AtHalfCeiling is Dunwell's payments at half CeilingHz.
	AtHalfCeiling Latencies `json:"at_half_ceiling"`
	CeilingError  string    `json:"ceiling_error,omitempty"`
}

// The payment ceiling's ladder starts at ceilingRateFrom updates per second and rises
// by half each step, up to ceilingRateCap.
const (
	ceilingRateFrom = 25.0
	ceilingRateCap  = 3000.0
)

// runPayments measures the payment ceiling (runPaymentCeiling), then issues
// cfg.PaymentInvoices large invoices that sleep for an hour and pays them small amounts
// round-robin at cfg.PaymentRate for cfg.PaymentDuration, at half the ceiling's rate,
// then at each ladder rate in turn.
func runPayments(ctx context.Context, s *stack, cfg Config, profile func(name string) func()) (PaymentLatency, error) {
	ok := func(l Latencies) bool {
		return l.Errors == 0 && l.P99ms < float64(cfg.LadderP99)/float64(time.Millisecond)
	}
	// The ceiling first, on a server with nothing behind it, as the throughput's.
	var res PaymentLatency
	if err := runPaymentCeiling(ctx, s, cfg, &res, ok); err != nil {
		res.CeilingError = err.Error()
	}
	inv := newInvoices("pay", cfg.PaymentInvoices)
	for i := range inv {
		inv[i].Amount = "1000000.00"
	}
	if err := issueAll(ctx, s, inv, policySleep, cfg.Concurrency, func(benchInvoice) time.Time { return time.Now() }, nil); err != nil {
		return res, err
	}
	res.Invoices = len(inv)
	var seq atomic.Int64
	var firstErr atomic.Value
	pay := func(ctx context.Context, k int) error {
		b := inv[k%len(inv)]
		_, err := s.pay(ctx, b.ID, fmt.Sprintf("lat-%d", seq.Add(1)), "0.01")
		if err != nil {
			firstErr.CompareAndSwap(nil, err.Error())
		}
		return err
	}
	// Measure a settled system: issuing leaves the server with work behind the API's
	// answers (first workflow tasks, visibility records) that stalled the first payments
	// for over a second. The invoices are asleep once each one's first task is done
	// and none is pending.
	settleStart := time.Now()
	ids := make([]string, len(inv))
	for i, b := range inv {
		ids[i] = invoiceapi.WorkflowID(b.ID)
	}
	if err := waitAsleep(ctx, s, ids); err != nil {
		return res, err
	}
	res.SettleSec = round2(time.Since(settleStart).Seconds())
	s.log.Info("Payment invoices asleep", "invoices", len(inv), "settle_sec", res.SettleSec)
	stop := profile("payments")
	res.Fixed = openLoop(ctx, cfg.PaymentRate, cfg.PaymentDuration, pay)
	stop()
	if ok(res.Fixed) {
		res.SustainedHz = cfg.PaymentRate
	}
	// Before the ladder, whose last step overloads the server on purpose.
	if res.CeilingHz > 0 {
		res.AtHalfCeiling = openLoop(ctx, res.CeilingHz/2, cfg.LadderStep, pay)
		s.log.Info("Payments at half the ceiling", "rate", res.CeilingHz/2, "p99_ms", res.AtHalfCeiling.P99ms, "errors", res.AtHalfCeiling.Errors)
	}
	for _, rate := range cfg.LadderRates {
		if ctx.Err() != nil {
			break
		}
		l := openLoop(ctx, rate, cfg.LadderStep, pay)
		res.Ladder = append(res.Ladder, l)
		s.log.Info("Payment ladder step", "rate", rate, "p50_ms", l.P50ms, "p99_ms", l.P99ms, "errors", l.Errors)
		if !ok(l) {
			res.Bounded = true
			break
		}
		res.SustainedHz = rate
	}
	if v, _ := firstErr.Load().(string); v != "" {
		res.FirstError = v
	}
	if res.CeilingHz > 0 {
		res.Ratio = round2(res.SustainedHz / res.CeilingHz)
	}
	return res, nil
}

// runPaymentCeiling starts cfg.PaymentInvoices BareAccount workflows on a worker of
// their own, updates each once (so all are started and asleep), then sends no-op
// updates at rising rates (ceilingRateFrom, then half as much again each step) until
// p99 passes the bound.
func runPaymentCeiling(ctx context.Context, s *stack, cfg Config, res *PaymentLatency, ok func(Latencies) bool) error {
	w := worker.New(s.client, bareUpdateQueue, assembly.CollectionWorkerOptions()) // as Dunwell's worker
	w.RegisterWorkflow(BareAccount)
	if err := w.Start(); err != nil {
		return fmt.Errorf("starting the payment ceiling's worker: %w", err)
	}
	defer w.Stop()
	n := cfg.PaymentInvoices
	id := func(k int) string { return fmt.Sprintf("bare-account-%06d", k%n) }
	var seq atomic.Int64
	update := func(ctx context.Context, k int) error {
		h, err := s.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: id(k), UpdateName: bareUpdate, WaitForStage: client.WorkflowUpdateStageCompleted,
			Args: []any{BarePayment{PaymentID: fmt.Sprintf("bare-%d", seq.Add(1)), Amount: 1}},
		})
		if err != nil {
			return err
		}
		return h.Get(ctx, nil)
	}
	if err := forEach(ctx, n, cfg.Concurrency, func(ctx context.Context, k int) error {
		if _, err := s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id(k), TaskQueue: bareUpdateQueue}, BareAccount, time.Hour); err != nil {
			return err
		}
		return update(ctx, k)
	}); err != nil {
		return fmt.Errorf("starting the bare accounts: %w", err)
	}
	for rate := ceilingRateFrom; rate <= ceilingRateCap && ctx.Err() == nil; rate = math.Round(rate * 1.5) {
		l := openLoop(ctx, rate, cfg.LadderStep, update)
		res.Ceiling = append(res.Ceiling, l)
		s.log.Info("Payment ceiling step", "rate", rate, "p50_ms", l.P50ms, "p99_ms", l.P99ms, "errors", l.Errors)
		if !ok(l) {
			res.CeilingBounded = true
			break
		}
		res.CeilingHz = rate
	}
	return nil
}

// waitAsleep waits until every workflow of ids has run its first workflow task and
// has none pending: Describe shows no pending workflow task and more than the three
// events before the first task completes (started, task scheduled, task started).
func waitAsleep(ctx context.Context, s *stack, ids []string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	asleep := make([]atomic.Bool, len(ids))
	for {
		var left atomic.Int64
		err := forEach(ctx, len(ids), 8, func(ctx context.Context, i int) error {
			if asleep[i].Load() {
				return nil
			}
			d, err := s.client.DescribeWorkflowExecution(ctx, ids[i], "")
			if err != nil {
				return fmt.Errorf("describing %s: %w", ids[i], err)
			}
			if d.GetPendingWorkflowTask() == nil && d.GetWorkflowExecutionInfo().GetHistoryLength() > 3 {
				asleep[i].Store(true)
			} else {
				left.Add(1)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if left.Load() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d workflows not asleep yet: %w", left.Load(), len(ids), ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// maxInFlight bounds the open-loop generator: beyond it a request is counted as an
// error instead of piling up goroutines.
const maxInFlight = 2000

// openLoop sends requests at a fixed rate for d, whatever the answers' latency (an
// open loop: a slow server does not slow the load). Each latency runs from the
// request's scheduled time, so queueing in the generator is counted (no coordinated
// omission).
func openLoop(ctx context.Context, rate float64, d time.Duration, do func(ctx context.Context, k int) error) Latencies {
	interval := time.Duration(float64(time.Second) / rate)
	n := int(d / interval)
	var (
		mu       sync.Mutex
		samples  = make([]time.Duration, 0, n)
		errors   int
		inFlight atomic.Int64
		wg       sync.WaitGroup
	)
	start := time.Now()
	for k := 0; k < n && ctx.Err() == nil; k++ {
		at := start.Add(time.Duration(k) * interval)
		if wait := time.Until(at); wait > 0 {
			time.Sleep(wait)
		}
		if inFlight.Load() >= maxInFlight {
			mu.Lock()
			errors++
			mu.Unlock()
			continue
		}
		inFlight.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer inFlight.Add(-1)
			err := do(ctx, k)
			lat := time.Since(at)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errors++
				return
			}
			samples = append(samples, lat)
		}()
	}
	sent := time.Since(start)
	wg.Wait()
	l := summarize(samples, errors)
	l.RateHz = rate
	l.AchievedHz = round2(float64(n) / sent.Seconds())
	return l
}

// issueAll issues the invoices through the API with conc concurrent clients;
// issuedAt gives each one's issued_at and onIssued, if set, runs after each success.
func issueAll(ctx context.Context, s *stack, inv []benchInvoice, policyID string, conc int, issuedAt func(benchInvoice) time.Time, onIssued func()) error {
	return forEach(ctx, len(inv), conc, func(ctx context.Context, i int) error {
		if err := s.issue(ctx, inv[i].request(policyID, issuedAt(inv[i]))); err != nil {
			return fmt.Errorf("issuing %s: %w", inv[i].ID, err)
		}
		if onIssued != nil {
			onIssued()
		}
		return nil
	})
}

// forEach runs do(i) for every i in [0, n) on conc goroutines, going on past errors
// (each item is independent), and returns the first error.
func forEach(ctx context.Context, n, conc int, do func(ctx context.Context, i int) error) error {
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := do(ctx, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}
