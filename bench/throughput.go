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

	"go.temporal.io/sdk/client"
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
}

// shape is how one run issues, pays and waits for an invoice.
type shape struct {
	id func(i int) string
	// armPayment arranges for fire to be called when invoice i's second reminder
	// has gone out.
	armPayment func(i int, fire func(time.Time))
	issue      func(ctx context.Context, i int) error
	pay        func(ctx context.Context, i int) error
	wait       func(ctx context.Context, i int) error
}

// runShape pushes n invoices through sh with conc concurrent issuers: each is paid
// once its second reminder went out, and the run ends when every workflow closed
// (or ctx ends).
func runShape(ctx context.Context, n, conc int, policyWait time.Duration, sh shape) Throughput {
	res := Throughput{Invoices: n, PolicyWaitSec: policyWait.Seconds()}
	var (
		mu         sync.Mutex
		firstErr   error
		errs       int
		lastClosed time.Time
		closed     int
		issuedEnd  time.Time
		wg         sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs++
		if firstErr == nil {
			firstErr = err
		}
	}
	start := time.Now()
	// fail counts every error, so the issuers never stop early and forEach has
	// nothing to report.
	_ = forEach(ctx, n, conc, func(ctx context.Context, i int) error {
		sh.armPayment(i, func(time.Time) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := sh.pay(ctx, i); err != nil {
					fail(fmt.Errorf("paying %s: %w", sh.id(i), err))
				}
			}()
		})
		if err := sh.issue(ctx, i); err != nil {
			fail(fmt.Errorf("issuing %s: %w", sh.id(i), err))
			return nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sh.wait(ctx, i); err != nil {
				fail(fmt.Errorf("waiting for %s: %w", sh.id(i), err))
				return
			}
			mu.Lock()
			closed++
			lastClosed = time.Now()
			mu.Unlock()
		}()
		return nil
	})
	issuedEnd = time.Now()
	wg.Wait()
	res.Closed, res.Errors = closed, errs
	if firstErr != nil {
		res.FirstError = firstErr.Error()
	}
	if closed > 0 {
		span := lastClosed.Sub(start)
		res.MakespanSec = round2(span.Seconds())
		res.PerSecond = round2(float64(closed) / max(span-policyWait, time.Millisecond).Seconds())
	}
	res.IssuePerSecond = round2(float64(n) / issuedEnd.Sub(start).Seconds())
	return res
}

// ceilingWarmup bare invoices run, unmeasured, before the ceiling: the dev server's
// first workflows (task queue creation, caches) are slower than the rest.
const ceilingWarmup = 50

// runCeiling runs cfg.Invoices bare workflows on their own in-process worker, after
// an unmeasured warm-up.
func runCeiling(ctx context.Context, s *stack, cfg Config) (Throughput, error) {
	acts := &bareActivities{}
	w := worker.New(s.client, bareTaskQueue, assembly.CollectionWorkerOptions()) // as Dunwell's worker
	w.RegisterWorkflow(BareInvoice)
	if err := w.Start(); err != nil {
		return Throughput{}, fmt.Errorf("starting the ceiling worker: %w", err)
	}
	defer w.Stop()
	// The sends run on send queues of their own, unlimited, as Dunwell's do in this step.
	for _, q := range bareSendQueues {
		sw := worker.New(s.client, q, assembly.SendWorkerOptions(0))
		sw.RegisterActivity(acts)
		if err := sw.Start(); err != nil {
			return Throughput{}, fmt.Errorf("starting the ceiling's send worker: %w", err)
		}
		defer sw.Stop()
	}
	in := BareInput{Reminders: []time.Duration{cfg.Reminder1, cfg.Reminder2}, EscalateAfter: time.Hour}
	warm := bareShape(s, acts, in, "warmup")
	if res := runShape(ctx, ceilingWarmup, cfg.Concurrency, cfg.Reminder2, warm); res.Errors > 0 {
		return res, fmt.Errorf("warm-up: %s", res.FirstError)
	}
	return runShape(ctx, cfg.Invoices, cfg.Concurrency, cfg.Reminder2, bareShape(s, acts, in, "ceiling")), nil
}

// bareShape issues bare workflows "<prefix>-000000"... with the client.
func bareShape(s *stack, acts *bareActivities, in BareInput, prefix string) shape {
	id := func(i int) string { return fmt.Sprintf("%s-%06d", prefix, i) }
	return shape{
		id:         id,
		armPayment: func(i int, fire func(time.Time)) { acts.await(id(i), fire) },
		issue: func(ctx context.Context, i int) error {
			_, err := s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id(i), TaskQueue: bareTaskQueue}, BareInvoice, in)
			return err
		},
		pay: func(ctx context.Context, i int) error {
			h, err := s.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
				WorkflowID: id(i), UpdateName: bareUpdate, WaitForStage: client.WorkflowUpdateStageCompleted,
				Args: []any{BarePayment{PaymentID: "p-" + id(i), Amount: 125000}},
			})
			if err != nil {
				return err
			}
			return h.Get(ctx, nil)
		},
		wait: func(ctx context.Context, i int) error { return s.client.GetWorkflow(ctx, id(i), "").Get(ctx, nil) },
	}
}

// runDunwell runs cfg.Invoices invoices through the HTTP API on the compressed
// policy: issued, reminded by email then SMS, paid in full once the SMS went out.
func runDunwell(ctx context.Context, s *stack, cfg Config) Throughput {
	ids := newInvoices("thr", cfg.Invoices)
	sh := shape{
		id: func(i int) string { return ids[i].ID },
		armPayment: func(i int, fire func(time.Time)) {
			s.sends.await("twilio:"+ids[i].Customer.Phone, fire)
		},
		issue: func(ctx context.Context, i int) error {
			return s.issue(ctx, ids[i].request(policyFlow, time.Now()))
		},
		pay: func(ctx context.Context, i int) error {
			_, err := s.pay(ctx, ids[i].ID, "pay-"+ids[i].ID, ids[i].Amount)
			return err
		},
		wait: func(ctx context.Context, i int) error {
			return s.client.GetWorkflow(ctx, invoiceapi.WorkflowID(ids[i].ID), "").Get(ctx, nil)
		},
	}
	return runShape(ctx, cfg.Invoices, cfg.Concurrency, cfg.Reminder2, sh)
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
	code, body, err := s.post(ctx, "/v1/invoices", req)
	if err != nil {
		return err
	}
	if code != http.StatusCreated {
		return fmt.Errorf("POST /v1/invoices answered %d: %s", code, body)
	}
	return nil
}

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
	b, err := json.Marshal(v)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.apiURL+path, bytes.NewReader(b))
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
