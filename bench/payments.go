package bench

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/worker/assembly"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// PaymentLatency is the payment API against its ceiling, a bare workflow answering a
// no-op update (BareAccount) sent over HTTP by the same open loop through the bare
// front: at each rate of a rising ladder the bare updates run first, then Dunwell's
// payments through the API, so both meet the machine in the same state.
type PaymentLatency struct {
	Invoices int `json:"invoices"`
	// SettleSec is how long after issuing the server took to show every invoice asleep.
	SettleSec float64 `json:"settle_sec"`
	// Steps are the ladder's rates, each with the bare updates' and Dunwell's
	// latencies.
	Steps []PaymentStep `json:"steps"`
	// CeilingHz and SustainedHz are the highest rates at which the bare updates and
	// Dunwell's payments kept p99 under BoundMs with no error (0 if none did);
	// Bounded reports whether the ladder ended on a rate both failed (false: it
	// stopped at its top or ran out of time). Ratio = SustainedHz / CeilingHz.
	// BoundMs is the p99 bound: cfg.LadderP99 (100 ms), or twice the bare updates' p99
	// at the first rate if that is more.
	BoundMs     float64 `json:"bound_ms"`
	CeilingHz   float64 `json:"ceiling_hz"`
	SustainedHz float64 `json:"sustained_hz"`
	Bounded     bool    `json:"bounded"`
	Ratio       float64 `json:"ratio"`
	// AtHalf is both again at half CeilingHz (at the ladder's first rate if the bare
	// updates failed even there), and P50Ratio and P99Ratio Dunwell's percentiles
	// there over the bare ones'.
	AtHalf     PaymentStep `json:"at_half_ceiling"`
	P50Ratio   float64     `json:"p50_ratio"`
	P99Ratio   float64     `json:"p99_ratio"`
	FirstError string      `json:"first_error,omitempty"`
}

// PaymentStep is one rate of the payment ladder.
type PaymentStep struct {
	RateHz  float64   `json:"rate_hz"`
	Bare    Latencies `json:"bare"`
	Dunwell Latencies `json:"dunwell"`
}

// The payment ladder rises by half each step from cfg.PaymentRateFrom up to
// paymentRateCap; each step lasts cfg.LadderStep or long enough for
// paymentStepSamples requests.
const (
	paymentRateCap     = 3000.0
	paymentStepSamples = 150.0
)

// runPayments starts cfg.PaymentInvoices bare accounts and as many large Dunwell
// invoices asleep for an hour, then pays them small amounts round-robin, bare and
// Dunwell in turn, at rising rates, each for cfg.LadderStep, until both miss the p99
// bound; then both again at half the bare updates' highest rate.
func runPayments(ctx context.Context, s *stack, cfg Config, profile func(name string) func()) (PaymentLatency, error) {
	var res PaymentLatency
	res.BoundMs = float64(cfg.LadderP99) / float64(time.Millisecond)
	ok := func(l Latencies) bool {
		return l.Count > 0 && l.Errors == 0 && l.P99ms < res.BoundMs
	}
	bare, err := startBareAccounts(ctx, s, cfg)
	if err != nil {
		return res, err
	}
	defer bare.stop()
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
	all := append(slices.Clone(ids), bare.ids...)
	step := func(rate float64) PaymentStep {
		// Long enough for paymentStepSamples answers (a p99 of fewer is the maximum),
		// each side on a server with nothing pending from the step before.
		d := max(cfg.LadderStep, time.Duration(paymentStepSamples/rate*float64(time.Second)))
		st := PaymentStep{RateHz: rate}
		if err := waitAsleep(ctx, s, all); err != nil {
			s.log.Warn("Payment ladder: workflows still busy from the step before", "error", err)
		}
		st.Bare = openLoop(ctx, rate, d, bare.pay)
		if err := waitAsleep(ctx, s, all); err != nil {
			s.log.Warn("Payment ladder: workflows still busy from the step before", "error", err)
		}
		st.Dunwell = openLoop(ctx, rate, d, pay)
		s.log.Info("Payment step", "rate", rate, "bare_p50_ms", st.Bare.P50ms, "bare_p99_ms", st.Bare.P99ms, "bare_errors", st.Bare.Errors,
			"dunwell_p50_ms", st.Dunwell.P50ms, "dunwell_p99_ms", st.Dunwell.P99ms, "dunwell_errors", st.Dunwell.Errors)
		return st
	}
	stop := profile("payments")
	for rate := cfg.PaymentRateFrom; rate <= paymentRateCap && ctx.Err() == nil; rate = math.Round(rate * 1.5) {
		st := step(rate)
		if len(res.Steps) == 0 && st.Bare.Errors == 0 {
			// A machine so loaded that the bare updates miss the bound at the first
			// rate still gives a figure: the bound becomes twice their p99 there.
			res.BoundMs = max(res.BoundMs, math.Round(2*st.Bare.P99ms))
		}
		res.Steps = append(res.Steps, st)
		if ok(st.Bare) {
			res.CeilingHz = rate
		}
		if ok(st.Dunwell) {
			res.SustainedHz = rate
		}
		if !ok(st.Bare) && !ok(st.Dunwell) {
			res.Bounded = true
			break
		}
	}
	stop()
	half := cfg.PaymentRateFrom
	if res.CeilingHz > 0 {
		half = math.Round(res.CeilingHz/2*10) / 10
	}
	if ctx.Err() == nil {
		res.AtHalf = step(half)
	}
	if res.CeilingHz > 0 {
		res.Ratio = round2(res.SustainedHz / res.CeilingHz)
	}
	if b, d := res.AtHalf.Bare, res.AtHalf.Dunwell; b.P50ms > 0 && d.P50ms > 0 {
		res.P50Ratio, res.P99Ratio = round2(d.P50ms/b.P50ms), round2(d.P99ms/b.P99ms)
	}
	if v, _ := firstErr.Load().(string); v != "" {
		res.FirstError = v
	} else if v := bare.firstErr.Load(); v != nil {
		res.FirstError = "bare: " + v.(string)
	}
	return res, nil
}

// bareAccounts are the payment ceiling's workflows and their worker.
type bareAccounts struct {
	ids      []string
	stop     func()
	pay      func(ctx context.Context, k int) error
	firstErr atomic.Value
}

// startBareAccounts starts cfg.PaymentInvoices BareAccount workflows on a worker of
// their own (the options of Dunwell's) and updates each once, so all are started and
// asleep; pay(k) updates the k-th (round-robin) through the bare front.
func startBareAccounts(ctx context.Context, s *stack, cfg Config) (*bareAccounts, error) {
	w := worker.New(s.client, bareUpdateQueue, assembly.CollectionWorkerOptions())
	w.RegisterWorkflow(BareAccount)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("starting the payment ceiling's worker: %w", err)
	}
	b := &bareAccounts{stop: w.Stop}
	n := cfg.PaymentInvoices
	id := func(k int) string { return fmt.Sprintf("bare-account-%06d", k%n) }
	for k := range n {
		b.ids = append(b.ids, id(k))
	}
	var seq atomic.Int64
	b.pay = func(ctx context.Context, k int) error {
		code, body, err := s.postTo(ctx, s.bareURL, "/bare/workflows/"+id(k)+"/payments",
			collection.PaymentRequest{PaymentID: fmt.Sprintf("bare-%d", seq.Add(1)), Amount: "0.01", Currency: "USD"})
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("bare payment answered %d: %s", code, body)
		}
		if err != nil {
			b.firstErr.CompareAndSwap(nil, err.Error())
		}
		return err
	}
	if err := forEach(ctx, n, cfg.Concurrency, func(ctx context.Context, k int) error {
		if _, err := s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id(k), TaskQueue: bareUpdateQueue}, BareAccount, time.Hour); err != nil {
			return err
		}
		return b.pay(ctx, k)
	}); err != nil {
		w.Stop()
		return nil, fmt.Errorf("starting the bare accounts: %w", err)
	}
	return b, nil
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
