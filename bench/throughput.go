package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/worker/assembly"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// Throughput is one run of N invoices through the whole shape.
type Throughput struct {
	Invoices int `json:"invoices"`
	Closed   int `json:"closed"`
	Errors   int `json:"errors"`
	// Makespan runs from the first issue to the last workflow closed.
	MakespanSec float64 `json:"makespan_sec"`
	// PolicyWaitSec is the part of any invoice's life the policy itself imposes (the
	// second reminder's offset): no system can close an invoice sooner.
	PolicyWaitSec float64 `json:"policy_wait_sec"`
	// PerSecond = Invoices / (Makespan - PolicyWait).
	PerSecond float64 `json:"per_second"`
	// IssuePerSecond is how fast the invoices were issued (started).
	IssuePerSecond float64 `json:"issue_per_second"`
	FirstError     string  `json:"first_error,omitempty"`
	// CPUSec is the CPU time the whole stack (this process, the Temporal server,
	// PostgreSQL) used from the first issue to the last close; CPUPerInvoiceMs that per
	// closed invoice. Unlike the rate, it hardly depends on what else the machine runs.
	CPUSec          float64 `json:"cpu_sec,omitempty"`
	CPUPerInvoiceMs float64 `json:"cpu_per_invoice_ms,omitempty"`
	// CPUPerInvoiceMsBy splits CPUPerInvoiceMs by part of the stack (see stackCPUBy):
	// where one invoice's cost goes.
	CPUPerInvoiceMsBy map[string]float64 `json:"cpu_per_invoice_ms_by,omitempty"`
	// Phases are where an invoice's time went: "issue" the issuing request, "sms_late"
	// how long after its due time (issue + Reminder2) the second reminder was accepted
	// by the fake, "pay" the payment request, "close" from the payment's answer to
	// the workflow's close seen by the client.
	Phases map[string]Latencies `json:"phases,omitempty"`
	// EventsPerInvoice is the mean count of each history event type over a sample of
	// the run's workflows (every historySample-th): a timed-out task or a retried
	// activity shows here.
	EventsPerInvoice map[string]float64 `json:"events_per_invoice,omitempty"`
}

// shape is how one run issues, pays and waits for an invoice.
type shape struct {
	id func(i int) string
	// workflowID is invoice i's workflow id.
	workflowID func(i int) string
	// armPayment arranges for fire to be called when invoice i's second reminder
	// has gone out.
	armPayment func(i int, fire func(time.Time))
	issue      func(ctx context.Context, i int) error
	pay        func(ctx context.Context, i int) error
	wait       func(ctx context.Context, i int) error
}

// shapeRun is what one runShape measured, before it is summed with other runs of the
// same shape into a Throughput.
type shapeRun struct {
	invoices, closed, errors int
	firstErr                 error
	// span runs from the first issue to the last close; issuing until the last issue
	// answered.
	span, issuing time.Duration
	cpu           time.Duration
	cpuBy         map[string]time.Duration
	cpuOK         bool
	phases        map[string][]time.Duration
	// sampled histories: how many, and their events by type.
	histories int
	events    map[string]int
}

// runShape pushes n invoices through sh with conc concurrent issuers: each is paid
// once its second reminder went out, and the run ends when every workflow closed
// (or ctx ends).
func runShape(ctx context.Context, n, conc int, policyWait time.Duration, sh shape) shapeRun {
	res := shapeRun{invoices: n}
	var (
		mu         sync.Mutex
		lastClosed time.Time
		wg         sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		res.errors++
		if res.firstErr == nil {
			res.firstErr = err
		}
	}
	type times struct{ issue, issued, sms, payStart, paid, closed time.Time }
	ts := make([]times, n)
	cpu0, cpuOK := stackCPUBy()
	start := time.Now()
	// fail counts every error, so the issuers never stop early and forEach has
	// nothing to report.
	_ = forEach(ctx, n, conc, func(ctx context.Context, i int) error {
		// An invoice whose payment failed will not close: its wait ends there.
		waitCtx, cancelWait := context.WithCancel(ctx)
		sh.armPayment(i, func(at time.Time) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				payStart := time.Now()
				err := sh.pay(ctx, i)
				if err != nil {
					cancelWait()
				}
				mu.Lock()
				ts[i].sms, ts[i].payStart = at, payStart
				if err == nil {
					ts[i].paid = time.Now()
				}
				mu.Unlock()
				if err != nil {
					fail(fmt.Errorf("paying %s: %w", sh.id(i), err))
				}
			}()
		})
		issue := time.Now()
		if err := sh.issue(ctx, i); err != nil {
			cancelWait()
			fail(fmt.Errorf("issuing %s: %w", sh.id(i), err))
			return nil
		}
		mu.Lock()
		ts[i].issue, ts[i].issued = issue, time.Now()
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cancelWait()
			if err := sh.wait(waitCtx, i); err != nil {
				if waitCtx.Err() == nil || ctx.Err() != nil {
					fail(fmt.Errorf("waiting for %s: %w", sh.id(i), err))
				}
				return
			}
			mu.Lock()
			res.closed++
			lastClosed = time.Now()
			ts[i].closed = lastClosed
			mu.Unlock()
		}()
		return nil
	})
	res.issuing = time.Since(start)
	wg.Wait()
	if cpu1, ok := stackCPUBy(); ok && cpuOK {
		res.cpuBy, res.cpuOK = map[string]time.Duration{}, true
		for k, v := range cpu1 {
			res.cpuBy[k] = v - cpu0[k]
			res.cpu += v - cpu0[k]
		}
	}
	if res.closed > 0 {
		res.span = lastClosed.Sub(start)
	}
	res.phases = map[string][]time.Duration{}
	for _, t := range ts {
		add := func(name string, from, to time.Time) {
			if !from.IsZero() && !to.IsZero() {
				res.phases[name] = append(res.phases[name], to.Sub(from))
			}
		}
		add("issue", t.issue, t.issued)
		add("sms_late", t.issue.Add(policyWait), t.sms)
		add("pay", t.payStart, t.paid)
		add("close", t.paid, t.closed)
	}
	return res
}

// throughputOf sums runs of one shape: PerSecond is every closed invoice over the
// runs' spans less policyWait each.
func throughputOf(policyWait time.Duration, runs ...shapeRun) Throughput {
	res := Throughput{PolicyWaitSec: policyWait.Seconds(), Phases: map[string]Latencies{}}
	var busy, issuing, cpu time.Duration
	cpuBy := map[string]time.Duration{}
	cpuOK := len(runs) > 0
	phases := map[string][]time.Duration{}
	events, histories := map[string]int{}, 0
	for _, r := range runs {
		histories += r.histories
		for k, v := range r.events {
			events[k] += v
		}
		res.Invoices += r.invoices
		res.Closed += r.closed
		res.Errors += r.errors
		if r.firstErr != nil && res.FirstError == "" {
			res.FirstError = r.firstErr.Error()
		}
		if r.closed > 0 {
			res.MakespanSec += r.span.Seconds()
			busy += max(r.span-policyWait, time.Millisecond)
		}
		issuing += r.issuing
		cpu += r.cpu
		for k, v := range r.cpuBy {
			cpuBy[k] += v
		}
		cpuOK = cpuOK && r.cpuOK
		for k, v := range r.phases {
			phases[k] = append(phases[k], v...)
		}
	}
	res.MakespanSec = round2(res.MakespanSec)
	if busy > 0 {
		res.PerSecond = round2(float64(res.Closed) / busy.Seconds())
	}
	if issuing > 0 {
		res.IssuePerSecond = round2(float64(res.Invoices) / issuing.Seconds())
	}
	if cpuOK {
		res.CPUSec = round2(cpu.Seconds())
		if res.Closed > 0 {
			res.CPUPerInvoiceMs = round2(float64(cpu/time.Microsecond) / 1000 / float64(res.Closed))
			res.CPUPerInvoiceMsBy = map[string]float64{}
			for k, v := range cpuBy {
				if ms := round2(float64(v/time.Microsecond) / 1000 / float64(res.Closed)); ms > 0 {
					res.CPUPerInvoiceMsBy[k] = ms
				}
			}
		}
	}
	for k, v := range phases {
		res.Phases[k] = summarize(v, 0)
	}
	if histories > 0 {
		res.EventsPerInvoice = map[string]float64{}
		for k, v := range events {
			res.EventsPerInvoice[k] = round2(float64(v) / float64(histories))
		}
	}
	return res
}

// historySample: the throughput runs read the history of every historySample-th
// workflow for EventsPerInvoice.
const historySample = 10

// throughputWarmup invoices of each kind run, unmeasured, before the throughput runs:
// the dev server's first workflows (task queue creation, caches) are slower than the
// rest.
const throughputWarmup = 50

// runThroughput measures the ceiling (bare workflows through the bare front) and
// Dunwell (invoices through the API), whichever cfg runs, cfg.Invoices each. When both
// run they alternate in halves, ceiling, Dunwell, Dunwell, ceiling (ABBA), after a
// warm-up of each, so a change in the machine's load during the step weighs on both
// alike; each figure sums its two halves. profile names a CPU profile for the first
// half of each.
func runThroughput(ctx context.Context, s *stack, cfg Config, profile func(name string) func()) (ceiling, dunwell Throughput, err error) {
	both := cfg.Runs("ceiling") && cfg.Runs("dunwell")
	wait := cfg.Reminder2
	if cfg.Runs("ceiling") {
		stop, err := startCeilingWorkers(s)
		if err != nil {
			return Throughput{FirstError: err.Error()}, Throughput{}, err
		}
		defer stop()
		s.bare.reminders = []time.Duration{cfg.Reminder1, cfg.Reminder2}
		if r := runShape(ctx, throughputWarmup, cfg.Concurrency, wait, bareShape(s, "warmup", throughputWarmup)); r.errors > 0 {
			return Throughput{FirstError: "warm-up: " + r.firstErr.Error()}, Throughput{}, fmt.Errorf("ceiling warm-up: %w", r.firstErr)
		}
	}
	if both {
		if r := runShape(ctx, throughputWarmup, cfg.Concurrency, wait, dunwellShape(s, "thr-warmup", throughputWarmup)); r.errors > 0 {
			return Throughput{}, Throughput{FirstError: "warm-up: " + r.firstErr.Error()}, fmt.Errorf("the Dunwell warm-up: %w", r.firstErr)
		}
	}
	measure := func(name, prefix string, n int, mk func(*stack, string, int) shape) shapeRun {
		s.log.Info("Throughput run", "of", name, "invoices", n)
		if profile != nil {
			defer profile(name)()
		}
		sh := mk(s, prefix, n)
		r := runShape(ctx, n, cfg.Concurrency, wait, sh)
		r.events = map[string]int{}
		for i := 0; i < n; i += historySample {
			if ev, err := history(ctx, s.client, sh.workflowID(i)); err == nil {
				r.histories++
				for _, e := range ev {
					r.events[shortType(e.GetEventType())]++
				}
			}
		}
		return r
	}
	switch {
	case both:
		half := cfg.Invoices / 2
		c1 := measure("ceiling", "ceiling", half, bareShape)
		d1 := measure("dunwell", "thr", half, dunwellShape)
		profile = nil
		d2 := measure("dunwell", "thr2", cfg.Invoices-half, dunwellShape)
		c2 := measure("ceiling", "ceiling2", cfg.Invoices-half, bareShape)
		return throughputOf(wait, c1, c2), throughputOf(wait, d1, d2), nil
	case cfg.Runs("ceiling"):
		return throughputOf(wait, measure("ceiling", "ceiling", cfg.Invoices, bareShape)), Throughput{}, nil
	default:
		return Throughput{}, throughputOf(wait, measure("dunwell", "thr", cfg.Invoices, dunwellShape)), nil
	}
}

// startCeilingWorkers starts the ceiling's workflow worker, with the options of
// Dunwell's, and its send workers, unlimited with the options of Dunwell's, and
// returns what stops them.
func startCeilingWorkers(s *stack) (stop func(), err error) {
	var started []worker.Worker
	stop = func() {
		for _, w := range started {
			w.Stop()
		}
	}
	w := worker.New(s.client, bareTaskQueue, assembly.CollectionWorkerOptions())
	w.RegisterWorkflow(BareInvoice)
	ws := []worker.Worker{w}
	acts := &bareActivities{email: s.acts.Email, sms: s.acts.SMS}
	for _, q := range bareSendQueues {
		sw := worker.New(s.client, q, assembly.SendWorkerOptions(0))
		sw.RegisterActivity(acts)
		ws = append(ws, sw)
	}
	for _, w := range ws {
		if err := w.Start(); err != nil {
			stop()
			return nil, fmt.Errorf("starting a ceiling worker: %w", err)
		}
		started = append(started, w)
	}
	return stop, nil
}

// bareShape issues n bare invoices "<prefix>-000000"... through the bare front and
// pays each once the fake Twilio accepted its SMS, as runDunwell does through the API.
func bareShape(s *stack, prefix string, n int) shape {
	ids := newInvoices(prefix, n)
	return shape{
		id:         func(i int) string { return ids[i].ID },
		workflowID: func(i int) string { return ids[i].ID },
		armPayment: func(i int, fire func(time.Time)) {
			s.sends.await("twilio:"+ids[i].Customer.Phone, fire)
		},
		issue: func(ctx context.Context, i int) error {
			req := ids[i].request(policyFlow, time.Now())
			return again(ctx, func() (int, error) {
				code, body, err := s.postTo(ctx, s.bareURL, "/bare/invoices", req)
				if err == nil && code != http.StatusCreated {
					err = fmt.Errorf("POST /bare/invoices answered %d: %s", code, body)
				}
				return code, err
			})
		},
		pay: func(ctx context.Context, i int) error {
			return again(ctx, func() (int, error) {
				code, body, err := s.postTo(ctx, s.bareURL, "/bare/workflows/"+ids[i].ID+"/payments",
					collection.PaymentRequest{PaymentID: "pay-" + ids[i].ID, Amount: ids[i].Amount, Currency: "USD"})
				if err == nil && code != http.StatusOK {
					err = fmt.Errorf("bare payment of %s answered %d: %s", ids[i].ID, code, body)
				}
				return code, err
			})
		},
		wait: func(ctx context.Context, i int) error { return s.client.GetWorkflow(ctx, ids[i].ID, "").Get(ctx, nil) },
	}
}

// dunwellShape issues n invoices "<prefix>-000000"... through the HTTP API on the
// compressed policy: issued, reminded by email then SMS, paid in full once the SMS
// went out.
func dunwellShape(s *stack, prefix string, n int) shape {
	ids := newInvoices(prefix, n)
	return shape{
		id:         func(i int) string { return ids[i].ID },
		workflowID: func(i int) string { return invoiceapi.WorkflowID(ids[i].ID) },
		armPayment: func(i int, fire func(time.Time)) {
			s.sends.await("twilio:"+ids[i].Customer.Phone, fire)
		},
		issue: func(ctx context.Context, i int) error {
			req := ids[i].request(policyFlow, time.Now())
			return again(ctx, func() (int, error) { return s.issueCode(ctx, req) })
		},
		pay: func(ctx context.Context, i int) error {
			return again(ctx, func() (int, error) { return s.pay(ctx, ids[i].ID, "pay-"+ids[i].ID, ids[i].Amount) })
		},
		wait: func(ctx context.Context, i int) error {
			return s.client.GetWorkflow(ctx, invoiceapi.WorkflowID(ids[i].ID), "").Get(ctx, nil)
		},
	}
}

// benchInvoice is one generated invoice: unique id, email and phone.
type benchInvoice struct {
	ID       string
	Customer collection.CustomerRequest
	Amount   string
}

var phoneSeq atomic.Int64

// newInvoices generates n invoices with ids "<prefix>-000000"...
func newInvoices(prefix string, n int) []benchInvoice {
	out := make([]benchInvoice, n)
	for i := range out {
		id := fmt.Sprintf("%s-%06d", prefix, i)
		out[i] = benchInvoice{ID: id, Amount: "1250.00", Customer: collection.CustomerRequest{
			ID: "C-" + id, Name: "Bench Customer", Email: id + "@example.com",
			Phone: fmt.Sprintf("+1415%07d", 2_000_000+phoneSeq.Add(1)), Timezone: "UTC", Locale: "en-US", Segment: "bench",
		}}
	}
	return out
}

// request is the invoice as POST /v1/invoices takes it, issued at issuedAt under the
// policy, due thirty days later (so no overdue transition happens during a run).
func (b benchInvoice) request(policyID string, issuedAt time.Time) collection.InvoiceRequest {
	issuedAt = issuedAt.UTC().Truncate(time.Second)
	return collection.InvoiceRequest{
		ID: b.ID, Customer: b.Customer, Currency: "USD", AmountDue: b.Amount,
		IssuedAt: issuedAt.Format(time.RFC3339), DueDate: issuedAt.AddDate(0, 0, 30).Format("2006-01-02"),
		PaymentURL: "https://pay.example.com/" + b.ID, Policy: policyID,
	}
}

// issue posts an invoice to the API; 201 is the only success.
func (s *stack) issue(ctx context.Context, req collection.InvoiceRequest) error {
	code, err := s.issueCode(ctx, req)
	if err == nil && code != http.StatusCreated {
		err = fmt.Errorf("POST /v1/invoices answered %d", code)
	}
	return err
}

// issueCode posts an invoice to the API and returns the answer's status code; 201,
// and 200 for an invoice already issued (a request sent again), are successes.
func (s *stack) issueCode(ctx context.Context, req collection.InvoiceRequest) (int, error) {
	code, body, err := s.post(ctx, "/v1/invoices", req)
	if err != nil {
		return 0, err
	}
	if code != http.StatusCreated && code != http.StatusOK {
		return code, fmt.Errorf("POST /v1/invoices answered %d: %s", code, body)
	}
	return code, nil
}

// again sends a request again while it is answered 503, the API's word for "did not
// complete in time (it may have been applied); retry the same request later", after
// the answer's Retry-After (the API always says 1 s), for up to resendFor: an invoice's
// issue and a payment are safe to repeat (the same payment is the same update). A
// client that gave up sooner would leave a payment unapplied that nothing lost: a run
// at load 30 once gave up after four 503s in a minute and waited for that invoice. The
// latency a caller measures includes the resends.
func again(ctx context.Context, send func() (int, error)) error {
	giveUp := time.Now().Add(resendFor)
	for {
		code, err := send()
		if code != http.StatusServiceUnavailable || time.Now().After(giveUp) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// resendFor bounds how long again sends a request answered 503.
const resendFor = 3 * time.Minute

// pay posts a payment to the API and returns the answer's status code; anything but
// 200 is an error.
func (s *stack) pay(ctx context.Context, invoiceID, paymentID, amount string) (int, error) {
	code, body, err := s.post(ctx, "/v1/invoices/"+invoiceID+"/payments", collection.PaymentRequest{PaymentID: paymentID, Amount: amount, Currency: "USD"})
	if err != nil {
		return 0, err
	}
	if code != http.StatusOK {
		return code, fmt.Errorf("payment %s answered %d: %s", paymentID, code, body)
	}
	return code, nil
}

func (s *stack) post(ctx context.Context, path string, v any) (int, []byte, error) {
	return s.postTo(ctx, s.apiURL, path, v)
}

// postTo posts v as JSON to base+path with the API key, as every benchmark client does.
func (s *stack) postTo(ctx context.Context, base, path string, v any) (int, []byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.apiKey)
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, body, err
}
