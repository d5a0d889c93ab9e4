package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/dunwell/dunwell/activities"
	"github.com/dunwell/dunwell/api"
	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/internal/fakeprovider"
	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/notify"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/worker/assembly"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// stack is everything one benchmark run talks to, in this process except the
// Temporal dev server and PostgreSQL (child processes).
type stack struct {
	log    *slog.Logger
	pg     *testenv.Postgres
	client client.Client

	fakes   *fakeprovider.Server
	limiter *fakeprovider.RateLimiter
	fakeSrv *http.Server
	sends   *sendTracker

	workerLedger *ledger.Store
	apiLedger    *ledger.Store
	worker       worker.Worker
	// acts and senders are the activities and the per-provider send workers
	// (workflows.EmailTaskQueue, SMSTaskQueue); setSendRates replaces the senders.
	acts    *activities.Activities
	senders []worker.Worker
	starts  *startCounter

	policies *policy.Set
	apiSrv   *http.Server
	apiURL   string
	apiKey   string
	// bare and bareURL are the ceilings' HTTP front (bareFront) and its base URL.
	bare    *bareFront
	bareURL string
	http    *http.Client
	closers []func()
	// stopWorker and stopTemporal stop the worker and the dev server once (early, in
	// quiet, or at close).
	stopWorker, stopTemporal func()
}

// quiet stops the send workers, the worker and the dev server, so what follows (the
// reports) is timed without 10 000 just-started workflows on the same cores.
func (s *stack) quiet() {
	_ = s.setSendRates(-1, -1)
	s.stopWorker()
	s.stopTemporal()
}

// setSendRates replaces the per-provider send workers with ones polling at the
// given activities per second (0: unlimited); negative rates only stop them.
func (s *stack) setSendRates(emailPerSecond, smsPerSecond float64) error {
	for _, w := range s.senders {
		w.Stop()
	}
	s.senders = nil
	if emailPerSecond < 0 {
		return nil
	}
	s.senders = assembly.ProviderWorkers(s.client, s.acts, emailPerSecond, smsPerSecond)
	for _, w := range s.senders {
		if err := w.Start(); err != nil {
			return fmt.Errorf("starting a send worker: %w", err)
		}
	}
	return nil
}

// startStack starts the dev server (or, onCluster, a Temporal cluster), PostgreSQL, the fakes behind a rate limiter, the
// API on a loopback port and an in-process Dunwell worker.
// The stack's own logs (SDK client and worker, API, ledger, fakes) at warn level and
// above go to stackLog, not the terminal: a rate-limited spike logs every retry.
func startStack(ctx context.Context, log *slog.Logger, pols *policy.Set, stackLog io.Writer, workflowCache int, onCluster bool) (_ *stack, err error) {
	s := &stack{log: log, sends: newSendTracker(), policies: pols}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	quiet := slog.New(slog.NewTextHandler(stackLog, &slog.HandlerOptions{Level: slog.LevelWarn}))

	startCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if s.pg, err = testenv.StartPostgres(startCtx); err != nil {
		return nil, fmt.Errorf("starting PostgreSQL: %w", err)
	}
	s.closers = append(s.closers, func() { _ = s.pg.Stop() })
	if onCluster {
		// The cluster `make cluster` runs: four services on a PostgreSQL of their own,
		// the send queues (Dunwell's and the ceilings') on one partition.
		c, err := testenv.StartTemporalCluster(startCtx, testenv.TemporalClusterOptions{
			SearchAttributes:      invoiceapi.SearchAttributes,
			SinglePartitionQueues: append([]string{invoiceapi.EmailTaskQueue, invoiceapi.SMSTaskQueue, bareSendQueue}, bareSendQueues...),
			Logger:                quiet,
		})
		if err != nil {
			return nil, fmt.Errorf("starting the Temporal cluster: %w", err)
		}
		s.stopTemporal = sync.OnceFunc(func() { _ = c.Stop() })
		s.client = c.Client()
	} else {
		// In memory, as the issue asks: testenv names a SQLite file, and a later empty
		// --db-filename overrides it (the CLI's default is an in-memory store). On a
		// shared disk the file's fsyncs, not Temporal, would bound every figure.
		devArgs := append(invoiceapi.DevServerFlags(), "--db-filename=")
		t, err := testenv.StartTemporal(startCtx, testenv.TemporalOptions{ExtraArgs: devArgs, Logger: quiet})
		if err != nil {
			return nil, fmt.Errorf("starting the Temporal dev server: %w", err)
		}
		s.stopTemporal = sync.OnceFunc(func() { _ = t.Stop() })
		s.client = t.Client()
	}
	s.closers = append(s.closers, s.stopTemporal)

	s.fakes = fakeprovider.New(fakeprovider.Options{Logger: quiet})
	s.limiter = fakeprovider.NewRateLimiter(s.fakes)
	s.limiter.OnSend(s.sends.record)
	fakeURL, srv, err := serveLoopback(s.limiter)
	if err != nil {
		return nil, err
	}
	s.fakeSrv = srv
	s.closers = append(s.closers, func() { s.fakes.Close(); _ = srv.Close() })

	if s.workerLedger, err = ledger.Open(startCtx, s.pg.URL(), ledger.WithLogger(quiet)); err != nil {
		return nil, fmt.Errorf("opening the worker's ledger: %w", err)
	}
	s.closers = append(s.closers, s.workerLedger.Close)
	if s.apiLedger, err = ledger.Open(startCtx, s.pg.URL(), ledger.WithLogger(quiet)); err != nil {
		return nil, fmt.Errorf("opening the API's ledger: %w", err)
	}
	s.closers = append(s.closers, s.apiLedger.Close)

	email, err := notify.NewSendGrid(notify.SendGridConfig{APIKey: "SG.bench", From: "billing@dunwell.test", BaseURL: fakeURL, Timeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	sms, err := notify.NewTwilio(notify.TwilioConfig{AccountSID: "AC00000000000000000000000000000000", AuthToken: "bench",
		FromNumber: "+15005550006", BaseURL: fakeURL, Timeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	// The worker as worker/main.go builds it: its options, one task queue, its
	// workflow cache bounded.
	worker.SetStickyWorkflowCacheSize(workflowCache)
	s.starts = &startCounter{seen: map[string]struct{}{}}
	opts := assembly.CollectionWorkerOptions()
	opts.Interceptors = []interceptor.WorkerInterceptor{s.starts}
	s.acts = &activities.Activities{Ledger: s.workerLedger, Email: email, SMS: sms}
	s.worker = assembly.CollectionWorker(s.client, s.acts, opts)
	if err := s.worker.Start(); err != nil {
		return nil, fmt.Errorf("starting the Dunwell worker: %w", err)
	}
	s.stopWorker = sync.OnceFunc(s.worker.Stop)
	s.closers = append(s.closers, s.stopWorker)
	// Sends run on their provider's queue, unlimited until the spike sets a rate.
	if err := s.setSendRates(0, 0); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { _ = s.setSendRates(-1, -1) })

	// The API as `starter serve` builds it, with API keys: the bench creates one key
	// with every scope through the ledger and sends it on each request.
	authn, err := auth.New(s.apiLedger, quiet)
	if err != nil {
		return nil, err
	}
	if s.apiKey, _, err = s.apiLedger.CreateAPIKey(startCtx, "bench", auth.Strings(auth.AllScopes())); err != nil {
		return nil, fmt.Errorf("creating the benchmark's API key: %w", err)
	}
	handler := (&api.Server{Temporal: s.client, Ledger: s.apiLedger, Policies: pols, Logger: quiet, Auth: authn}).Handler()
	if s.apiURL, s.apiSrv, err = serveLoopback(handler); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { _ = s.apiSrv.Close() })
	s.bare = &bareFront{client: s.client}
	bareURL, bareSrv, err := serveLoopback(s.bare.handler())
	if err != nil {
		return nil, err
	}
	s.bareURL = bareURL
	s.closers = append(s.closers, func() { _ = bareSrv.Close() })
	s.http = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute,
	}}
	return s, nil
}

// close stops everything, newest first.
func (s *stack) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// serveLoopback serves h on a free 127.0.0.1 port and returns its base URL.
func serveLoopback(h http.Handler) (string, *http.Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listening on loopback: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("Benchmark HTTP server stopped", "addr", ln.Addr().String(), "error", err)
		}
	}()
	return "http://" + ln.Addr().String(), srv, nil
}

// sendTracker follows every send the fake providers answered: accepted sends per
// message (a message accepted twice is a duplicate) and callbacks waiting for one.
type sendTracker struct {
	mu       sync.Mutex
	accepted map[string]int
	// waiters run once when a message whose key starts with their prefix is accepted.
	waiters map[string]func(time.Time)
	// firstOK and lastOK are the first and last acceptances.
	firstOK, lastOK time.Time
	okCount         int
	rejected        int
}

func newSendTracker() *sendTracker {
	return &sendTracker{accepted: map[string]int{}, waiters: map[string]func(time.Time){}}
}

func (t *sendTracker) record(o fakeprovider.SendOutcome) {
	if o.Status < 200 || o.Status > 299 {
		t.mu.Lock()
		t.rejected++
		t.mu.Unlock()
		return
	}
	t.mu.Lock()
	t.accepted[o.Key]++
	t.okCount++
	if o.At.After(t.lastOK) {
		t.lastOK = o.At
	}
	if t.firstOK.IsZero() || o.At.Before(t.firstOK) {
		t.firstOK = o.At
	}
	var fn func(time.Time)
	prefix, _, _ := strings.Cut(o.Key, "\n")
	if w, ok := t.waiters[prefix]; ok {
		fn = w
		delete(t.waiters, prefix)
	}
	t.mu.Unlock()
	if fn != nil {
		fn(o.At)
	}
}

// await calls fn (on the fake's goroutine: it must not block) when a message whose
// key up to its first newline is prefix is accepted, e.g. "twilio:+14155550100".
func (t *sendTracker) await(prefix string, fn func(time.Time)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.waiters[prefix] = fn
}

// reset forgets everything recorded.
func (t *sendTracker) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.accepted, t.waiters = map[string]int{}, map[string]func(time.Time){}
	t.lastOK, t.firstOK, t.okCount, t.rejected = time.Time{}, time.Time{}, 0, 0
}

// first returns the time of the first acceptance since the last reset.
func (t *sendTracker) first() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.firstOK
}

// snapshot returns accepted sends, duplicates (extra acceptances of one message)
// and the time of the last acceptance.
func (t *sendTracker) snapshot() (accepted, duplicates int, last time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, n := range t.accepted {
		duplicates += n - 1
	}
	return t.okCount, duplicates, t.lastOK
}

// startCounter counts the distinct invoice workflows the worker has instantiated
// (their first workflow task), so the memory run knows when all are asleep.
type startCounter struct {
	interceptor.WorkerInterceptorBase
	mu   sync.Mutex
	seen map[string]struct{}
}

// InterceptWorkflow records the workflow's id and changes nothing else.
func (c *startCounter) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	c.mu.Lock()
	c.seen[id] = struct{}{}
	c.mu.Unlock()
	return next
}

// count returns how many distinct workflows with the prefix were instantiated.
func (c *startCounter) count(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for id := range c.seen {
		if strings.HasPrefix(id, prefix) {
			n++
		}
	}
	return n
}
