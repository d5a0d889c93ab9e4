// Command devrun runs Dunwell's whole stack on one machine for `make run`: a Temporal
// dev server with its UI, a throwaway PostgreSQL cluster (unless DATABASE_URL is set),
// the fake SendGrid/Twilio providers, the worker and the API. It prints the URLs and
// stops everything, leaving nothing running, on Ctrl-C.
//
// Ports: Temporal 7233, Temporal UI 8233, API 8080, fake providers 8025 (override with
// FAKES_ADDR). With TEMPORAL_ADDRESS set (e.g. to the cluster `make cluster` prints),
// devrun starts no dev server and no UI: the worker and the API use that Temporal. Provider keys set in the environment (SENDGRID_API_KEY,
// TWILIO_ACCOUNT_SID) switch that provider to the real service.
//
// The development key: with the throwaway cluster, the published devAPIKey. With
// DATABASE_URL set, the database outlives the run, so devrun refuses one that is not on
// this machine (unless DUNWELL_DEV_KEY_DATABASE_HOST names its host), registers a
// random key for the run instead of the published one, never takes over another
// token's key named dev, and revokes its key when it stops (see devkey.go).
//
// Payload encryption: unless DUNWELL_CODEC_KEYS (or DUNWELL_CODEC_DISABLED) is set,
// each run generates a random key ring and gives it to the worker and the API, and the
// Temporal UI decodes through the API's codec endpoint (--ui-codec-endpoint). A fresh
// key per run is enough because the dev server keeps its history in memory: nothing
// encrypted outlives the run. A fixed key in the source would be a published secret
// that someone would one day copy into production.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/dunwell/dunwell/internal/codec"
	"github.com/dunwell/dunwell/internal/fakeprovider"
	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

const (
	temporalAddr = "127.0.0.1:7233"
	uiPort       = "8233"
	apiAddr      = "127.0.0.1:8080"
	// codecEndpoint is where the Temporal UI (in the browser) decodes payloads. The
	// API serves the UI under /ui/ (DUNWELL_UI_UPSTREAM), so UI and codec share the
	// API's origin and the browser sends the sign-in session cookie with every
	// decode. A path, so it works whichever host name the browser used.
	codecEndpoint = "/codec"
	// uiPublicPath is where the UI server serves the UI; the API proxies that path.
	uiPublicPath = "/ui"
	// devAPIKey is the development key (every scope) that `make run` registers in its
	// throwaway cluster unless DUNWELL_DEV_API_KEY is set. It is printed and in the
	// README, so it is never registered in a database that outlives the run: there the
	// run registers a random key of its own and revokes it at exit.
	devAPIKey = "dw_local-development-key-not-for-production"
	// devKeyName is the name `starter serve` registers the development key under.
	devKeyName     = "dev"
	startupTimeout = 90 * time.Second
	// publicURL is where the fake providers post webhooks (the API).
	publicURL = "http://" + apiAddr
	// devTwilioToken is the fake Twilio's auth token: it checks sends with it and
	// signs webhooks with it.
	devTwilioToken = "local-fake-token"
)

// devStripeSecret and devPaymentsSecret sign the webhook curl examples of docs/api.md
// (STRIPE_WEBHOOK_SECRET, PAYMENTS_WEBHOOK_SECRET). Local use only, like the key.
const (
	devStripeSecret   = "whsec_local-development-stripe-secret"
	devPaymentsSecret = "whsec_ZHVud2VsbC1sb2NhbC1kZXYtd2ViaG9vay1zZWNyZXQ=" // base64("dunwell-local-dev-webhook-secret")
	// devInboundToken is the path token of the Inbound Parse webhook (replies):
	// POST /v1/webhooks/sendgrid/inbound/<token>.
	devInboundToken = "local-development-inbound-parse-token"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("devrun failed", "error", err)
		os.Exit(1)
	}
}

// proc is a started child; done closes when it has exited.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// stack is the set of processes started so far, stopped in reverse order.
type stack struct {
	logger *slog.Logger
	procs  []proc
	stops  []func()
}

func run(logger *slog.Logger) error {
	// Before anything starts: a database that outlives the run must be one where a key
	// with every scope harms nobody.
	dbURL := os.Getenv("DATABASE_URL")
	if err := checkDevKeyDatabase(dbURL, os.Getenv("PGHOST"), os.Getenv(envDevKeyDatabaseHost)); err != nil {
		return err
	}
	keptDB := dbURL != "" // the database outlives the run
	devToken, err := devKeyToken(keptDB)
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding ./bin: %w", err)
	}
	bin := filepath.Dir(exe)
	s := &stack{logger: logger}
	defer s.stopAll()

	runDir, err := os.MkdirTemp("", "dunwell-run-")
	if err != nil {
		return fmt.Errorf("creating a run directory: %w", err)
	}
	s.stops = append(s.stops, func() { _ = os.RemoveAll(runDir) })
	// As root, PostgreSQL runs as the postgres user, which must be able to enter here.
	if err := os.Chmod(runDir, 0o711); err != nil {
		return fmt.Errorf("opening the run directory: %w", err)
	}

	// An external Temporal (TEMPORAL_ADDRESS, e.g. `make cluster`): no dev server, no UI.
	external := os.Getenv("TEMPORAL_ADDRESS")
	addrs := []string{temporalAddr, "127.0.0.1:" + uiPort, apiAddr}
	if external != "" {
		addrs = []string{apiAddr}
	}
	for _, addr := range addrs {
		if inUse(addr) {
			return fmt.Errorf("%s is already in use: is another `make run` going?", addr)
		}
	}

	if !keptDB {
		port, err := testenv.FreePort()
		if err != nil {
			return err
		}
		pgDir := filepath.Join(runDir, "pg")
		if err := os.Mkdir(pgDir, 0o700); err != nil {
			return fmt.Errorf("creating the PostgreSQL directory: %w", err)
		}
		cluster, err := testenv.StartCluster(ctx, pgDir, port)
		if err != nil {
			return fmt.Errorf("starting PostgreSQL: %w", err)
		}
		s.stops = append(s.stops, func() { _ = cluster.Stop() })
		dbURL = cluster.URL("postgres")
		logger.Info("PostgreSQL started", "url", dbURL)
	}

	codecKeys := ""
	if os.Getenv(codec.EnvKeys) == "" && os.Getenv("DUNWELL_CODEC_DISABLED") == "" {
		if codecKeys, err = codec.GenerateKeySpec("dev-" + time.Now().UTC().Format("20060102T150405")); err != nil {
			return err
		}
		logger.Info("Generated a payload encryption key for this run", "variable", codec.EnvKeys)
	}

	if external == "" {
		if err := s.startDevServer(ctx, bin); err != nil {
			return err
		}
	}

	fakesAddr := envOr("FAKES_ADDR", "127.0.0.1:8025")
	// The fakes post delivery events and inbound SMS to the API, signed like the real
	// providers: SendGrid's with a key pair made for this run, Twilio's with the
	// development auth token.
	eventKey, eventPub, err := fakeprovider.NewEventKey()
	if err != nil {
		return err
	}
	eventKeySpec, err := fakeprovider.MarshalEventKey(eventKey)
	if err != nil {
		return err
	}
	fakeArgs := []string{"-addr", fakesAddr,
		"-sendgrid-event-url", publicURL + "/v1/webhooks/sendgrid",
		"-twilio-inbound-url", publicURL + "/v1/webhooks/twilio", "-twilio-auth-token", devTwilioToken,
		"-stripe-webhook-url", publicURL + "/v1/webhooks/stripe", "-stripe-webhook-secret", envOr("STRIPE_WEBHOOK_SECRET", devStripeSecret)}
	if err := s.start(ctx, "fakeproviders", filepath.Join(bin, "fakeproviders"), fakeArgs,
		append(os.Environ(), "FAKE_SENDGRID_EVENT_KEY="+eventKeySpec)); err != nil {
		return err
	}
	if err := waitTCP(ctx, fakesAddr); err != nil {
		return fmt.Errorf("waiting for the fake providers: %w", err)
	}

	env := serviceEnv(dbURL, "http://"+fakesAddr, codecKeys, eventPub, devToken, external == "")
	if err := s.start(ctx, "worker", filepath.Join(bin, "worker"), nil, env); err != nil {
		return err
	}
	if keptDB {
		// The API registers the key at start-up; it is taken back once the API has
		// stopped (stops run after the processes end).
		s.stops = append(s.stops, func() { revokeDevKey(logger, dbURL, devToken) })
	}
	if err := s.start(ctx, "starter", filepath.Join(bin, "starter"), []string{"serve"}, env); err != nil {
		return err
	}
	if err := waitHTTP(ctx, "http://"+apiAddr+"/readyz"); err != nil {
		return fmt.Errorf("waiting for the API: %w", err)
	}
	if external != "" {
		fmt.Printf(`
Dunwell is running on the Temporal at %s (no dev server, no UI).
  API             http://%s   (try: curl http://%s/healthz)
  API key         %s   (development only; export DUNWELL_API_KEY=... for the CLI)
  Fake outbox     http://%s/
  PostgreSQL      %s

Press Ctrl-C to stop everything.
`, external, apiAddr, apiAddr, devToken, fakesAddr, dbURL)
		<-ctx.Done()
		logger.Info("Stopping")
		return nil
	}
	fmt.Printf(`
Dunwell is running.
  API             http://%s   (try: curl http://%s/healthz)
  API key         %s   (development only; export DUNWELL_API_KEY=... for the CLI)
  Webhooks        POST /v1/webhooks/stripe, /v1/webhooks/payments   (development secrets: see docs/api.md)
  Pages           http://%s/worklist, /reports, /bank   (sign in with the key)
  Temporal UI     http://localhost:8080/ui/namespaces/default/workflows   (sign in with the key; decodes payloads via %s)
  (unproxied UI   http://localhost:%s/ui/ shows payloads encrypted)
  Temporal        %s (namespace default)
  Fake outbox     http://%s/
  PostgreSQL      %s

Press Ctrl-C to stop everything.
`, apiAddr, apiAddr, devToken, apiAddr, codecEndpoint, uiPort, temporalAddr, fakesAddr, dbURL)
	<-ctx.Done()
	logger.Info("Stopping")
	return nil
}

// startDevServer starts the Temporal dev server with its UI and waits for it.
func (s *stack) startDevServer(ctx context.Context, bin string) error {
	args := append([]string{"server", "start-dev", "--ip", "127.0.0.1", "--port", "7233", "--ui-port", uiPort,
		"--namespace", "default", "--log-level", "warn", "--ui-codec-endpoint", codecEndpoint,
		"--ui-public-path", uiPublicPath}, invoiceapi.DevServerFlags()...)
	if err := s.start(ctx, "temporal", filepath.Join(bin, "temporal"), args, nil); err != nil {
		return err
	}
	if err := waitTCP(ctx, temporalAddr); err != nil {
		return fmt.Errorf("waiting for Temporal: %w", err)
	}
	return nil
}

// serviceEnv is the worker's and starter's environment: the caller's, with local
// defaults for whatever it does not set. codecKeys is the run's generated key ring,
// empty when the caller set DUNWELL_CODEC_KEYS or DUNWELL_CODEC_DISABLED; devToken is
// the development key the API registers; devUI says the dev server's UI runs (the API
// proxies it).
func serviceEnv(dbURL, fakesURL, codecKeys, eventPub, devToken string, devUI bool) []string {
	env := os.Environ()
	set := func(k, v string) {
		if os.Getenv(k) == "" {
			env = append(env, k+"="+v)
		}
	}
	set("TEMPORAL_ADDRESS", temporalAddr)
	set("TEMPORAL_NAMESPACE", "default")
	set("TEMPORAL_GRPC_COMPRESSION", "none") // the dev server is on this machine
	set("DATABASE_URL", dbURL)
	set("LISTEN_ADDR", apiAddr)
	set("DUNWELL_DEV_API_KEY", devToken)
	set("STRIPE_WEBHOOK_SECRET", devStripeSecret)
	set("PAYMENTS_WEBHOOK_SECRET", devPaymentsSecret)
	set("SENDGRID_INBOUND_TOKEN", devInboundToken)
	if os.Getenv("SENDGRID_API_KEY") == "" {
		set("SENDGRID_API_KEY", "SG.local-fake-key")
		set("SENDGRID_BASE_URL", fakesURL)
		set("SENDGRID_WEBHOOK_PUBLIC_KEY", eventPub)
	}
	set("EMAIL_FROM", "billing@dunwell.local")
	// Who the demo reminders say they come from (see config.ParseBusiness).
	set("DUNWELL_BUSINESS_NAME", "Dunwell Demo Supplies")
	set("DUNWELL_BUSINESS_ADDRESS", "1 Example Street, Springfield")
	set("DUNWELL_REPLY_TO", "accounts@dunwell.local")
	set("DUNWELL_BUSINESS_PHONE", "+1 555 010 0100")
	if os.Getenv("TWILIO_ACCOUNT_SID") == "" {
		set("TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000000")
		set("TWILIO_AUTH_TOKEN", devTwilioToken)
		set("TWILIO_BASE_URL", fakesURL)
	}
	set("TWILIO_FROM_NUMBER", "+15005550006")
	// The portal's pay form goes to the fake Stripe's checkout page, whose Pay button
	// posts the signed webhook back (STRIPE_WEBHOOK_SECRET above).
	if os.Getenv("STRIPE_API_KEY") == "" {
		set("STRIPE_API_KEY", "sk_test_local-fake-stripe-key")
		set("STRIPE_BASE_URL", fakesURL)
	}
	// Letters of letter steps (policy demo-personal) go to the fake print-and-mail
	// provider; its outbox links each letter's PDF. The bank account on the letters'
	// payment slip is the standard example IBAN.
	if os.Getenv("DUNWELL_PRINT_URL") == "" {
		set("DUNWELL_PRINT_URL", fakesURL)
		set("DUNWELL_PRINT_KEY", "test_local_fake_print_key")
		set("DUNWELL_PRINT_FROM", "adr_dunwelldemo")
	}
	set("DUNWELL_BANK_IBAN", "DE89 3704 0044 0532 0130 00")
	set("DUNWELL_BANK_BIC", "COBADEFFXXX")
	// Where the providers (here: the fakes) post their webhooks; Twilio's status
	// callback URL follows from it.
	set("DUNWELL_PUBLIC_URL", publicURL)
	if codecKeys != "" {
		set(codec.EnvKeys, codecKeys)
	}
	if devUI {
		set(codec.EnvCORSOrigins, "http://localhost:"+uiPort+",http://127.0.0.1:"+uiPort)
		set("DUNWELL_UI_UPSTREAM", "http://127.0.0.1:"+uiPort)
	}
	return env
}

func (s *stack) start(ctx context.Context, name, path string, args, env []string) error {
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = prefixed(name), prefixed(name)
	cmd.Env = env
	cmd.SysProcAttr = childAttrs()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s (%s): %w", name, path, err)
	}
	p := proc{name: name, cmd: cmd, done: make(chan struct{})}
	s.procs = append(s.procs, p)
	go func() {
		err := cmd.Wait()
		close(p.done)
		if ctx.Err() == nil {
			s.logger.Error("Process exited; stopping the stack", "process", name, "error", err)
			_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
		}
	}()
	return nil
}

// stopAll stops processes newest first (API before worker before Temporal), each with
// SIGTERM and a grace period, then SIGKILL; then runs the other clean-ups.
func (s *stack) stopAll() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			s.logger.Warn("Killing", "process", p.name)
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func inUse(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

func waitTCP(ctx context.Context, addr string) error {
	return poll(ctx, func() bool { return inUse(addr) })
}

func waitHTTP(ctx context.Context, url string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	return poll(ctx, func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func poll(ctx context.Context, ok func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	for !ok() {
		select {
		case <-ctx.Done():
			return errors.New("not ready in time")
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}
