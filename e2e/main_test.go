// Package e2e tests Dunwell end to end through its HTTP API, against a real Temporal
// dev server, a real PostgreSQL and the fake SendGrid/Twilio servers, with the worker
// running as a separate process so that a test can kill it.
package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/dunwell/dunwell/api"
	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/internal/codec"
	"github.com/dunwell/dunwell/internal/fakeprovider"
	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/policies"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// env is the stack every test in the package shares.
var env struct {
	temporal *testenv.Temporal
	pg       *testenv.Postgres
	fakes    *fakeprovider.Server
	fakesURL string
	// limiter sits in front of the fakes: a test may give a provider a rate limit.
	limiter *fakeprovider.RateLimiter
	// temporalProxy carries the worker's connection to Temporal, so a test can cut it.
	temporalProxy *tcpProxy
	ledger        *ledger.Store
	// client is the API's Temporal client, with the payload codec like the worker's;
	// env.temporal.Client() sees the raw (encrypted) payloads.
	client client.Client
	// apiKey has every scope; the tests send it on every API request.
	apiKey string
	// codecKeys is the DUNWELL_CODEC_KEYS of the worker and the API.
	codecKeys *codec.KeyRing
	api       *httptest.Server
	worker    *workerProcess
}

func TestMain(m *testing.M) {
	testenv.IsolateDefaultClient()
	code, err := runTests(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		code = 1
	}
	os.Exit(code)
}

func runTests(m *testing.M) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	var err error
	tmp, err := os.MkdirTemp("", "dunwell-e2e-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(tmp)
	workerBin := filepath.Join(tmp, "worker")
	build := exec.CommandContext(ctx, "go", "build", "-o", workerBin, "github.com/dunwell/dunwell/worker")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return 1, fmt.Errorf("building the worker: %w", err)
	}

	if env.pg, err = testenv.StartPostgres(ctx); err != nil {
		return 1, err
	}
	defer env.pg.Stop()
	// The UI runs under /ui, proxied by the API like `make run` does, and decodes
	// through the API's own /codec (see ui_browser_test.go).
	uiArgs := append(invoiceapi.DevServerFlags(), "--ui-public-path", "/ui", "--ui-codec-endpoint", "/codec",
		// The server suggests continue-as-new at this history length, so a test can see
		// a real run continue (see continue_test.go); the other tests stay far below it.
		"--dynamic-config-value", fmt.Sprintf("limit.historyCount.suggestContinueAsNew=%d", suggestContinueAsNewAt))
	if env.temporal, err = testenv.StartTemporal(ctx, testenv.TemporalOptions{ExtraArgs: uiArgs, EnableUI: true}); err != nil {
		return 1, err
	}
	defer env.temporal.Stop()
	if env.ledger, err = ledger.Open(ctx, env.pg.URL()); err != nil {
		return 1, err
	}
	defer env.ledger.Close()
	keySpec, err := codec.GenerateKeySpec("e2e")
	if err != nil {
		return 1, err
	}
	if env.codecKeys, err = codec.ParseKeyRing(keySpec); err != nil {
		return 1, err
	}
	env.client, err = client.DialContext(ctx, client.Options{
		HostPort:         env.temporal.HostPort(),
		Namespace:        env.temporal.Namespace(),
		DataConverter:    codec.NewDataConverter(env.codecKeys),
		FailureConverter: codec.NewFailureConverter(env.codecKeys),
		Logger:           sdklog.NewStructuredLogger(logger),
	})
	if err != nil {
		return 1, fmt.Errorf("connecting the API's Temporal client: %w", err)
	}
	defer env.client.Close()
	set, err := e2ePolicies()
	if err != nil {
		return 1, err
	}
	eventKey, eventPub, err := fakeprovider.NewEventKey()
	if err != nil {
		return 1, err
	}
	sgKey, err := api.NewSendGridKey(eventPub)
	if err != nil {
		return 1, err
	}
	authn, err := auth.New(env.ledger, logger)
	if err != nil {
		return 1, err
	}
	if env.apiKey, _, err = env.ledger.CreateAPIKey(ctx, "e2e", auth.Strings(auth.AllScopes())); err != nil {
		return 1, fmt.Errorf("creating the e2e API key: %w", err)
	}
	apiServer := &api.Server{Temporal: env.client, Ledger: env.ledger, Policies: set, Logger: logger, Auth: authn,
		Codec:      codec.HTTPHandler(env.codecKeys),
		UIUpstream: &url.URL{Scheme: "http", Host: env.temporal.UIHostPort()}}
	env.api = httptest.NewServer(apiServer.Handler())
	defer env.api.Close()
	// The providers post their webhooks to the API, signed like the real ones.
	apiServer.Delivery = &api.DeliveryWebhooks{PublicURL: env.api.URL, TwilioAuthToken: twilioToken, SendGridPublicKey: sgKey}
	env.fakes = fakeprovider.New(fakeprovider.Options{Logger: logger, TwilioAuthToken: twilioToken,
		SendGridEventURL: env.api.URL + "/v1/webhooks/sendgrid", SendGridEventKey: eventKey,
		TwilioInboundURL: env.api.URL + "/v1/webhooks/twilio"})
	defer env.fakes.Close()
	env.limiter = fakeprovider.NewRateLimiter(env.fakes)
	fakesSrv := httptest.NewServer(env.limiter)
	defer fakesSrv.Close()
	env.fakesURL = fakesSrv.URL
	if env.temporalProxy, err = startProxy(env.temporal.HostPort()); err != nil {
		return 1, err
	}
	defer env.temporalProxy.close()

	env.worker = &workerProcess{bin: workerBin, env: append(os.Environ(),
		"TEMPORAL_ADDRESS="+env.temporalProxy.addr(),
		"TEMPORAL_NAMESPACE="+env.temporal.Namespace(),
		"DATABASE_URL="+env.pg.URL(),
		"SENDGRID_API_KEY=SG.e2e", "SENDGRID_BASE_URL="+env.fakesURL, "EMAIL_FROM=billing@dunwell.test",
		"TWILIO_ACCOUNT_SID=AC00000000000000000000000000000000", "TWILIO_AUTH_TOKEN="+twilioToken,
		"TWILIO_FROM_NUMBER=+15005550006", "TWILIO_BASE_URL="+env.fakesURL,
		"PROVIDER_TIMEOUT=5s", "LOG_LEVEL=warn",
		"DUNWELL_PUBLIC_URL="+env.api.URL,
		"DUNWELL_PRINT_URL="+env.fakesURL, "DUNWELL_PRINT_KEY=e2e-print-key", "DUNWELL_PRINT_FROM=adr_e2e",
		fmt.Sprintf("SENDGRID_RATE_PER_SECOND=%d", e2eRate), fmt.Sprintf("TWILIO_RATE_PER_SECOND=%d", e2eRate),
		codec.EnvKeys+"="+keySpec,
	)}
	if err := env.worker.start(); err != nil {
		return 1, err
	}
	defer env.worker.kill()
	return m.Run(), nil
}

// twilioToken is the fake Twilio's auth token: the worker sends with it, the fake
// signs its webhooks with it, the API checks them with it.
const twilioToken = "e2e-twilio-token"

// e2eRate is the worker's send rate per provider (sends per second, across workers).
const e2eRate = 20

// workerProcess is the real worker binary, started and killed by the tests.
type workerProcess struct {
	bin string
	env []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func (w *workerProcess) start() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	cmd := exec.Command(w.bin)
	cmd.Env = w.env
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the worker: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	w.cmd, w.done = cmd, done
	return nil
}

// kill ends the worker at once (SIGKILL): no graceful shutdown, like a crash.
func (w *workerProcess) kill() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cmd == nil {
		return
	}
	_ = w.cmd.Process.Kill()
	<-w.done
	w.cmd = nil
}

// e2ePolicies is the shipped policies plus the fast ones in testdata/policies, all
// sending one notice per invoice (consolidate: off): most tests here prove that path.
// accounts_test.go proves the consolidated one with "demo-accounts", the shipped demo
// policy as it is (it consolidates, with a 5 s gather).
func e2ePolicies() (*policy.Set, error) {
	shipped, err := policies.Shipped()
	if err != nil {
		return nil, err
	}
	extra, err := policies.Load("testdata/policies", "e2e-lifecycle")
	if err != nil {
		return nil, err
	}
	var all []*policy.Policy
	for _, set := range []*policy.Set{shipped, extra} {
		for _, id := range set.IDs() {
			p, _ := set.Get(id)
			single := *p
			single.Consolidate = &policy.Consolidate{Off: true}
			all = append(all, &single)
		}
	}
	demo, _ := shipped.Get("demo")
	accounts := *demo
	accounts.ID = "demo-accounts"
	all = append(all, &accounts)
	// "demo-portal" is the demo with its hand-off ten minutes away, so the portal's
	// browser test has time to act before the invoices escalate.
	portal := accounts
	portal.ID = "demo-portal"
	esc := *demo.Escalation
	if esc.After, err = policy.ParseOffset("+10m"); err != nil {
		return nil, err
	}
	portal.Escalation = &esc
	all = append(all, &portal)
	set, err := policy.NewSet(policies.DefaultID, all...)
	if err != nil {
		return nil, err
	}
	return set, set.SetSegments(shipped.Segments())
}
