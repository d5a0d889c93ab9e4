//go:build cluster

package cluster

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/internal/codec"
	"github.com/dunwell/dunwell/internal/fakeprovider"
	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// sendRate is the workers' SendGrid rate (sends per second across workers): the
// provider limit R of the spike.
const sendRate = 25

// paymentsSecret signs the generic payment webhooks the suite sends.
var paymentsSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("cluster-suite-payments-secret-01"))

// env is what every test of the package shares.
var env struct {
	temporal *testenv.TemporalCluster
	pg       *testenv.Postgres
	ledger   *ledger.Store
	fakes    *fakeprovider.Server
	apiKey   string
	workers  [2]*process
	apis     [2]*process
	// apiURLs are the two API processes' base URLs.
	apiURLs [2]string
}

func TestMain(m *testing.M) {
	code, err := runTests(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster suite setup:", err)
		code = 1
	}
	os.Exit(code)
}

func runTests(m *testing.M) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	tmp, err := os.MkdirTemp("", "dunwell-cluster-suite-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(tmp)
	build := exec.CommandContext(ctx, "go", "build", "-o", tmp+string(filepath.Separator),
		"github.com/dunwell/dunwell/worker", "github.com/dunwell/dunwell/starter")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return 1, fmt.Errorf("building the worker and the starter: %w", err)
	}

	if env.pg, err = testenv.StartPostgres(ctx); err != nil {
		return 1, err
	}
	defer env.pg.Stop()
	if env.temporal, err = testenv.StartTemporalCluster(ctx, testenv.TemporalClusterOptions{
		SearchAttributes: invoiceapi.SearchAttributes, Logger: logger,
		SinglePartitionQueues: []string{invoiceapi.EmailTaskQueue, invoiceapi.SMSTaskQueue},
	}); err != nil {
		return 1, err
	}
	defer env.temporal.Stop()
	if env.ledger, err = ledger.Open(ctx, env.pg.URL()); err != nil {
		return 1, err
	}
	defer env.ledger.Close()
	if env.apiKey, _, err = env.ledger.CreateAPIKey(ctx, "cluster-suite", auth.Strings(auth.AllScopes())); err != nil {
		return 1, fmt.Errorf("creating the suite's API key: %w", err)
	}
	keySpec, err := codec.GenerateKeySpec("cluster")
	if err != nil {
		return 1, err
	}

	env.fakes = fakeprovider.New(fakeprovider.Options{Logger: logger})
	defer env.fakes.Close()
	fakesSrv := httptest.NewServer(env.fakes)
	defer fakesSrv.Close()

	policyDir, err := filepath.Abs(filepath.Join("testdata", "policies"))
	if err != nil {
		return 1, err
	}
	common := append(os.Environ(),
		"TEMPORAL_ADDRESS="+env.temporal.HostPort(), "TEMPORAL_NAMESPACE="+env.temporal.Namespace(),
		"TEMPORAL_GRPC_COMPRESSION=none", "DATABASE_URL="+env.pg.URL(),
		"SENDGRID_API_KEY=SG.cluster", "SENDGRID_BASE_URL="+fakesSrv.URL, "EMAIL_FROM=billing@dunwell.test",
		"TWILIO_ACCOUNT_SID=AC00000000000000000000000000000000", "TWILIO_AUTH_TOKEN=cluster",
		"TWILIO_FROM_NUMBER=+15005550006", "TWILIO_BASE_URL="+fakesSrv.URL,
		"PROVIDER_TIMEOUT=5s", "LOG_LEVEL=error", "POLICY_DIR="+policyDir, "DEFAULT_POLICY=cluster-quiet",
		"SENDGRID_RATE_PER_SECOND="+strconv.Itoa(sendRate), "TWILIO_RATE_PER_SECOND="+strconv.Itoa(sendRate),
		"PAYMENTS_WEBHOOK_SECRET="+paymentsSecret, "DUNWELL_RATE_LIMIT=off",
		"WORKER_METRICS_ADDR=off", "STARTER_METRICS_ADDR=off",
		codec.EnvKeys+"="+keySpec,
	)
	for i := range env.workers {
		env.workers[i] = &process{name: fmt.Sprintf("worker-%d", i+1), bin: filepath.Join(tmp, "worker"), env: common}
		if err := env.workers[i].start(); err != nil {
			return 1, err
		}
		defer env.workers[i].kill()
	}
	for i := range env.apis {
		port, err := testenv.FreePort()
		if err != nil {
			return 1, err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		env.apiURLs[i] = "http://" + addr
		env.apis[i] = &process{name: fmt.Sprintf("api-%d", i+1), bin: filepath.Join(tmp, "starter"), args: []string{"serve"},
			env: append(common, "LISTEN_ADDR="+addr, "DUNWELL_PUBLIC_URL="+env.apiURLs[i])}
		if err := env.apis[i].start(); err != nil {
			return 1, err
		}
		defer env.apis[i].kill()
	}
	for i, u := range env.apiURLs {
		if err := waitReady(ctx, u+"/readyz", env.apis[i]); err != nil {
			return 1, err
		}
	}
	return m.Run(), nil
}

// waitReady polls url until it answers 200, p exits or ctx ends.
func waitReady(ctx context.Context, url string, p *process) error {
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		if resp, err := c.Get(url); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited():
			return fmt.Errorf("%s exited before it was ready", p.name)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %w", p.name, url, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// process is one of Dunwell's binaries, started and killed by the tests. Its output
// goes to the test's stderr (the suite runs them at LOG_LEVEL=error).
type process struct {
	name string
	bin  string
	args []string
	env  []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	p.cmd, p.done = cmd, done
	return nil
}

func (p *process) exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// kill ends the process at once (SIGKILL), like a crash, and waits for it.
func (p *process) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	p.cmd = nil
}
