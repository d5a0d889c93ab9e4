package testenv

// This file starts a Temporal cluster (StartTemporalCluster): the server built from
// its Go module, as separate frontend, history, matching and worker processes on
// loopback, persisting to a PostgreSQL cluster of its own with SQL visibility.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	mathrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/dunwell/dunwell/internal/temporalx"
)

const (
	// TemporalServerVersion is the Temporal server `make cluster` builds; the
	// Makefile's TEMPORAL_SERVER_VERSION must name the same.
	TemporalServerVersion = "v1.29.1"
	// EnvTemporalServerDir names the environment variable that overrides the directory
	// holding the server binary ("server"), the schema tool ("sql") and the schema
	// files ("schema/temporal", "schema/visibility").
	EnvTemporalServerDir = "TEMPORAL_SERVER_DIR"

	// clusterServiceStop is how long a service gets to exit after SIGTERM.
	clusterServiceStop = 15 * time.Second
	// clusterStartTimeout bounds the whole start-up when ctx has no deadline.
	clusterStartTimeout = 3 * time.Minute
	// historyShards is the cluster's fixed shard count (it can never change).
	historyShards = 4
)

// ClusterServices are the Temporal services StartTemporalCluster runs, one process
// each, in start order.
var ClusterServices = []string{"frontend", "history", "matching", "worker"}

// TemporalClusterOptions configures StartTemporalCluster. The zero value is usable.
type TemporalClusterOptions struct {
	// Dir holds everything the cluster writes (PostgreSQL's data, the server's
	// configuration, each service's log); a new temporary directory, removed by Stop,
	// if empty. A Dir given here is kept.
	Dir string
	// ServerDir holds "server", "sql" and "schema/": $TEMPORAL_SERVER_DIR if empty,
	// else <repository root>/bin/temporal-server-<TemporalServerVersion>.
	ServerDir string
	// Namespace is registered at start-up; "default" if empty.
	Namespace string
	// SearchAttributes are registered on Namespace, and Start returns once a workflow
	// can be started with them.
	SearchAttributes map[string]enumspb.IndexedValueType
	// SinglePartitionQueues are task queues given one partition (read and write)
	// through dynamic config constrained to them, so a rate limit their workers set
	// holds for the queue as a whole; other queues keep the server's default (4).
	SinglePartitionQueues []string
	// LogLevel of the services: "debug", "info", "warn" (the default) or "error".
	LogLevel string
	// Logger receives the SDK client's logs; slog.Default() if nil.
	Logger *slog.Logger
}

// TemporalCluster is a running Temporal cluster with a connected client. Stop it
// when done.
type TemporalCluster struct {
	dir, serverDir string
	ownDir         bool
	namespace      string
	searchAttrs    map[string]enumspb.IndexedValueType
	ports          map[string]servicePorts
	pg             *Cluster
	client         client.Client

	mu       sync.Mutex
	services map[string]*clusterService

	stopOnce onceErr
}

// servicePorts are one service's loopback ports.
type servicePorts struct{ GRPC, Membership, HTTP int }

// clusterService is one running service process.
type clusterService struct {
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
}

// StartTemporalCluster starts PostgreSQL, creates the temporal and
// temporal_visibility databases with the server's schema tool, starts the four
// services, registers the namespace and the search attributes and waits until a
// workflow can be started with them. Every port is picked free at run time.
func StartTemporalCluster(ctx context.Context, opts TemporalClusterOptions) (_ *TemporalCluster, retErr error) {
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	switch opts.LogLevel {
	case "":
		opts.LogLevel = "warn"
	case "debug", "info", "warn", "error":
	default:
		return nil, fmt.Errorf("start temporal cluster: unknown log level %q (want debug, info, warn or error)", opts.LogLevel)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	serverDir, err := temporalServerDir(opts.ServerDir)
	if err != nil {
		return nil, err
	}
	ctx, cancel := withDefaultTimeout(ctx, clusterStartTimeout)
	defer cancel()

	c := &TemporalCluster{dir: opts.Dir, serverDir: serverDir, namespace: opts.Namespace,
		searchAttrs: opts.SearchAttributes, services: map[string]*clusterService{}}
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "dunwell-cluster-"); err != nil {
			return nil, fmt.Errorf("start temporal cluster: create temp dir: %w", err)
		}
		c.ownDir = true
	} else if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, fmt.Errorf("start temporal cluster: create %s: %w", c.dir, err)
	}
	if c.dir, err = filepath.Abs(c.dir); err != nil {
		return nil, fmt.Errorf("start temporal cluster: %w", err)
	}
	defer func() {
		if retErr != nil {
			_ = c.Stop()
		}
	}()
	// As root, PostgreSQL runs as the postgres user, which must be able to enter here.
	if err := os.Chmod(c.dir, 0o711); err != nil {
		return nil, fmt.Errorf("start temporal cluster: %w", err)
	}
	pgDir := filepath.Join(c.dir, "pg")
	if err := os.MkdirAll(pgDir, 0o700); err != nil {
		return nil, fmt.Errorf("start temporal cluster: %w", err)
	}
	if c.pg, err = StartCluster(ctx, pgDir, 0); err != nil {
		return nil, fmt.Errorf("start temporal cluster: PostgreSQL: %w", err)
	}
	if err := c.setupSchema(ctx); err != nil {
		return nil, err
	}
	if err := c.writeConfig(opts.LogLevel, opts.SinglePartitionQueues); err != nil {
		return nil, err
	}
	// The first service to start writes the cluster's metadata; services starting at
	// the same moment race on it and the losers exit. The frontend goes first, and
	// listens once it has done so.
	for i, name := range ClusterServices {
		if err := c.StartService(name); err != nil {
			return nil, err
		}
		if i == 0 {
			if _, err := retryUntil(ctx, c, func(ctx context.Context) (struct{}, error) {
				conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", c.HostPort())
				if err == nil {
					err = conn.Close()
				}
				return struct{}{}, err
			}); err != nil {
				return nil, c.withLogs(fmt.Errorf("temporal cluster: the frontend does not listen at %s: %w", c.HostPort(), err))
			}
		}
	}
	if c.client, err = c.dial(ctx, logger); err != nil {
		return nil, err
	}
	if err := c.registerNamespace(ctx); err != nil {
		return nil, err
	}
	if _, err := retryUntil(ctx, c, func(ctx context.Context) ([]string, error) {
		return temporalx.EnsureSearchAttributes(ctx, c.client, c.namespace, c.searchAttrs)
	}); err != nil {
		return nil, c.withLogs(fmt.Errorf("start temporal cluster: %w", err))
	}
	if err := c.WaitReady(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// HostPort is the frontend's gRPC address, e.g. "127.0.0.1:41234".
func (c *TemporalCluster) HostPort() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.ports["frontend"].GRPC))
}

// Namespace is the namespace registered at start-up.
func (c *TemporalCluster) Namespace() string { return c.namespace }

// Client is a client connected to the frontend and the namespace. Stop closes it.
func (c *TemporalCluster) Client() client.Client { return c.client }

// Dir is the directory holding the cluster's data, configuration and logs.
func (c *TemporalCluster) Dir() string { return c.dir }

// PostgresURL is the URL of database on the cluster's own PostgreSQL server.
func (c *TemporalCluster) PostgresURL(database string) string { return c.pg.URL(database) }

// LogPath is where service's output goes.
func (c *TemporalCluster) LogPath(service string) string {
	return filepath.Join(c.dir, service+".log")
}

// StartService starts one service (a name of ClusterServices) that is not running,
// with the cluster's configuration; its output is appended to LogPath(service).
func (c *TemporalCluster) StartService(name string) error {
	if !slices.Contains(ClusterServices, name) {
		return fmt.Errorf("temporal cluster: %q is not a service (want one of %s)", name, strings.Join(ClusterServices, ", "))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.services[name]; s != nil && !s.exited() {
		return fmt.Errorf("temporal cluster: %s is running", name)
	}
	logf, err := os.OpenFile(c.LogPath(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("temporal cluster: %w", err)
	}
	defer logf.Close() // the child holds its own copy
	cmd := exec.Command(filepath.Join(c.serverDir, "server"), "--root", c.dir, "--config", "config",
		"--env", "cluster", "--allow-no-auth", "start", "--service", name)
	cmd.Dir = c.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so a terminal's Ctrl-C reaches only the caller, and
	// SIGKILL if the caller dies (from a thread that lives as long as the child).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	s := &clusterService{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("temporal cluster: start %s: %w", name, err)
	}
	c.services[name] = s
	return nil
}

// KillService ends one service at once (SIGKILL), as a crash would, and waits until
// it has exited.
func (c *TemporalCluster) KillService(name string) error {
	return c.stopService(name, syscall.SIGKILL)
}

// Exited returns the services whose process has exited, with their exit status.
func (c *TemporalCluster) Exited() map[string]error {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]error{}
	for name, s := range c.services {
		if s.exited() {
			out[name] = s.waitErr
		}
	}
	return out
}

func (c *TemporalCluster) stopService(name string, sig syscall.Signal) error {
	c.mu.Lock()
	s := c.services[name]
	c.mu.Unlock()
	if s == nil {
		return fmt.Errorf("temporal cluster: %q was never started", name)
	}
	if err := s.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("temporal cluster: signal %s: %w", name, err)
	}
	select {
	case <-s.done:
		return nil
	case <-time.After(clusterServiceStop):
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	return nil
}

func (s *clusterService) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// StopPostgres shuts the cluster's PostgreSQL down (a fast shutdown: sessions are
// ended, nothing committed is lost) and keeps its data; StartPostgres brings it back
// on the same port.
func (c *TemporalCluster) StopPostgres() error {
	return c.pg.stopFast()
}

// StartPostgres starts the PostgreSQL StopPostgres stopped and waits until it
// accepts connections.
func (c *TemporalCluster) StartPostgres(ctx context.Context) error {
	select {
	case <-c.pg.Done():
	default:
		return errors.New("temporal cluster: PostgreSQL is running")
	}
	pg, err := StartCluster(ctx, c.pg.Dir(), c.pg.Port())
	if err != nil {
		return err
	}
	c.pg = pg
	return nil
}

// WaitReady returns once a workflow can be started on the namespace with every
// search attribute set: the frontend, history and matching all answer and the
// attributes are visible to them. The probe workflow is terminated at once (no
// worker runs its type).
func (c *TemporalCluster) WaitReady(ctx context.Context) error {
	var sa []temporal.SearchAttributeUpdate
	for _, name := range slices.Sorted(maps.Keys(c.searchAttrs)) {
		switch c.searchAttrs[name] {
		case enumspb.INDEXED_VALUE_TYPE_KEYWORD:
			sa = append(sa, temporal.NewSearchAttributeKeyKeyword(name).ValueSet("probe"))
		case enumspb.INDEXED_VALUE_TYPE_INT:
			sa = append(sa, temporal.NewSearchAttributeKeyInt64(name).ValueSet(1))
		case enumspb.INDEXED_VALUE_TYPE_DATETIME:
			sa = append(sa, temporal.NewSearchAttributeKeyTime(name).ValueSet(time.Unix(0, 0).UTC()))
		}
	}
	n := 0
	_, err := retryUntil(ctx, c, func(ctx context.Context) (struct{}, error) {
		n++
		run, err := c.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:                    fmt.Sprintf("testenv-cluster-probe-%d-%d", os.Getpid(), n),
			TaskQueue:             "testenv-cluster-probe",
			TypedSearchAttributes: temporal.NewSearchAttributes(sa...),
			WorkflowRunTimeout:    time.Minute,
		}, "testenv-cluster-probe")
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, c.client.TerminateWorkflow(ctx, run.GetID(), run.GetRunID(), "start-up probe")
	})
	if err != nil {
		return c.withLogs(fmt.Errorf("temporal cluster: not ready: %w", err))
	}
	return nil
}

// Stop closes the client, stops the services (SIGTERM, then SIGKILL after 15 s)
// and PostgreSQL, and removes the directory if StartTemporalCluster made it. It is
// safe to call more than once; later calls return the first result.
func (c *TemporalCluster) Stop() error {
	if c == nil {
		return nil
	}
	return c.stopOnce.do(c.stop)
}

func (c *TemporalCluster) stop() error {
	if c.client != nil {
		c.client.Close()
	}
	var errs []error
	for _, name := range slices.Backward(ClusterServices) {
		c.mu.Lock()
		s := c.services[name]
		c.mu.Unlock()
		if s != nil {
			if err := c.stopService(name, syscall.SIGTERM); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := c.pg.Stop(); err != nil {
		errs = append(errs, err)
	}
	if c.ownDir {
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, fmt.Errorf("temporal cluster: remove %s: %w", c.dir, err))
		}
	}
	return errors.Join(errs...)
}

// setupSchema runs the server's schema tool: create each database, set up its
// schema at version 0.0 and update it with the versioned files.
func (c *TemporalCluster) setupSchema(ctx context.Context) error {
	tool := filepath.Join(c.serverDir, "sql")
	for _, db := range []struct{ name, schema string }{
		{"temporal", "temporal"}, {"temporal_visibility", "visibility"},
	} {
		base := []string{"--plugin", "postgres12", "--endpoint", "127.0.0.1", "--port", strconv.Itoa(c.pg.Port()),
			"--user", pgSuperuser, "--database", db.name}
		for _, args := range [][]string{
			{"create-database"},
			{"setup-schema", "--version", "0.0"},
			{"update-schema", "--schema-dir", filepath.Join(c.serverDir, "schema", db.schema, "versioned")},
		} {
			cmd := exec.CommandContext(ctx, tool, append(slices.Clone(base), args...)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("temporal cluster: schema tool %s on %s: %w\n%s", args[0], db.name, err, tail(out, 4096))
			}
		}
	}
	return nil
}

// clusterConfig is the server's static configuration; the ports are filled in.
var clusterConfig = template.Must(template.New("cluster.yaml").Parse(`log:
  stdout: true
  level: {{.LogLevel}}
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: {{.Shards}}
  datastores:
    default:
      sql:
        pluginName: postgres12
        databaseName: temporal
        connectAddr: "127.0.0.1:{{.PGPort}}"
        connectProtocol: tcp
        user: {{.PGUser}}
        password: ""
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
    visibility:
      sql:
        pluginName: postgres12
        databaseName: temporal_visibility
        connectAddr: "127.0.0.1:{{.PGPort}}"
        connectProtocol: tcp
        user: {{.PGUser}}
        password: ""
        maxConns: 10
        maxIdleConns: 10
        maxConnLifetime: 1h
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:
{{- range $name, $p := .Ports}}
  {{$name}}:
    rpc:
      grpcPort: {{$p.GRPC}}
      membershipPort: {{$p.Membership}}
      bindOnLocalHost: true
{{- if $p.HTTP}}
      httpPort: {{$p.HTTP}}
{{- end}}
{{- end}}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:{{.FrontendPort}}"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: "{{.DynamicConfig}}"
  pollInterval: 10s
`))

// dynamicConfig is the cluster's dynamic configuration: IDs up to 255 bytes (the
// server's development default) and one partition for each of queues.
func dynamicConfig(queues []string) string {
	var b strings.Builder
	b.WriteString("limit.maxIDLength:\n  - value: 255\n")
	if len(queues) == 0 {
		return b.String()
	}
	for _, key := range []string{"matching.numTaskqueueReadPartitions", "matching.numTaskqueueWritePartitions"} {
		b.WriteString(key + ":\n")
		for _, q := range queues {
			fmt.Fprintf(&b, "  - value: 1\n    constraints: {taskQueueName: %q}\n", q)
		}
	}
	return b.String()
}

func (c *TemporalCluster) writeConfig(logLevel string, queues []string) error {
	c.ports = map[string]servicePorts{}
	for _, name := range ClusterServices {
		var p servicePorts
		var err1, err2, err3 error
		p.GRPC, err1 = FreePort()
		p.Membership, err2 = freeMembershipPort()
		if name == "frontend" {
			p.HTTP, err3 = FreePort()
		}
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		c.ports[name] = p
	}
	configDir := filepath.Join(c.dir, "config") // --config is relative to --root
	if err := os.MkdirAll(configDir, 0o755); err != nil {
		return fmt.Errorf("temporal cluster: %w", err)
	}
	dynPath := filepath.Join(configDir, "dynamicconfig.yaml")
	if err := os.WriteFile(dynPath, []byte(dynamicConfig(queues)), 0o644); err != nil {
		return fmt.Errorf("temporal cluster: %w", err)
	}
	f, err := os.Create(filepath.Join(configDir, "cluster.yaml"))
	if err != nil {
		return fmt.Errorf("temporal cluster: %w", err)
	}
	err = clusterConfig.Execute(f, map[string]any{
		"LogLevel": logLevel, "Shards": historyShards, "PGPort": c.pg.Port(), "PGUser": pgSuperuser,
		"Ports": c.ports, "FrontendPort": c.ports["frontend"].GRPC, "DynamicConfig": dynPath,
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("temporal cluster: write configuration: %w", err)
	}
	return nil
}

// dial connects a client to the frontend once it answers its health check.
func (c *TemporalCluster) dial(ctx context.Context, logger *slog.Logger) (client.Client, error) {
	cl, err := retryUntil(ctx, c, func(ctx context.Context) (client.Client, error) {
		return client.DialContext(ctx, client.Options{
			HostPort:          c.HostPort(),
			Namespace:         c.namespace,
			Logger:            sdklog.NewStructuredLogger(logger),
			ConnectionOptions: client.ConnectionOptions{GrpcCompression: &client.GrpcCompressionNone{}},
		})
	})
	if err != nil {
		return nil, c.withLogs(fmt.Errorf("temporal cluster: connect to the frontend at %s: %w", c.HostPort(), err))
	}
	return cl, nil
}

// registerNamespace registers the namespace (one day of retention) unless it exists.
func (c *TemporalCluster) registerNamespace(ctx context.Context) error {
	_, err := retryUntil(ctx, c, func(ctx context.Context) (struct{}, error) {
		_, err := c.client.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace:                        c.namespace,
			WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
		})
		var exists *serviceerror.NamespaceAlreadyExists
		if errors.As(err, &exists) {
			err = nil
		}
		return struct{}{}, err
	})
	if err != nil {
		return c.withLogs(fmt.Errorf("temporal cluster: register namespace %q: %w", c.namespace, err))
	}
	return nil
}

// retryUntil calls f (each call given 10 s) every 250 ms until it succeeds, a
// service of c has exited or ctx ends.
func retryUntil[T any](ctx context.Context, c *TemporalCluster, f func(context.Context) (T, error)) (T, error) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		v, err := f(attemptCtx)
		cancel()
		if err == nil {
			return v, nil
		}
		for name, exitErr := range c.Exited() {
			return v, fmt.Errorf("the %s service exited (%v); last error: %w", name, exitErr, err)
		}
		select {
		case <-ctx.Done():
			return v, fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// withLogs adds to err which services have exited and the end of each log.
func (c *TemporalCluster) withLogs(err error) error {
	var b strings.Builder
	b.WriteString(err.Error())
	exited := c.Exited()
	for _, name := range ClusterServices {
		if e, ok := exited[name]; ok {
			fmt.Fprintf(&b, "\n%s exited: %v", name, e)
		}
		if log := readTail(c.LogPath(name), 0, 2048); log != "" {
			fmt.Fprintf(&b, "\n--- %s (end of %s)\n%s", name, c.LogPath(name), log)
		}
	}
	return errors.New(b.String())
}

// temporalServerDir returns the directory holding the server, the schema tool and
// the schema: explicit, else $TEMPORAL_SERVER_DIR, else the repository's bin.
func temporalServerDir(explicit string) (string, error) {
	dir, from := explicit, "TemporalClusterOptions.ServerDir"
	if dir == "" {
		dir, from = os.Getenv(EnvTemporalServerDir), "$"+EnvTemporalServerDir
	}
	if dir == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", fmt.Errorf("locate the Temporal server (set %s): %w", EnvTemporalServerDir, err)
		}
		dir, from = filepath.Join(root, "bin", "temporal-server-"+TemporalServerVersion), "the default location"
	}
	for _, f := range []string{"server", "sql", filepath.Join("schema", "temporal"), filepath.Join("schema", "visibility")} {
		if _, err := os.Stat(filepath.Join(dir, f)); errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("the Temporal server is not built in %s (%s): %s is missing; run `make cluster-server` in the repository root, or set %s", dir, from, f, EnvTemporalServerDir)
		} else if err != nil {
			return "", fmt.Errorf("locate the Temporal server in %s (%s): %w", dir, from, err)
		}
	}
	return filepath.Abs(dir)
}

// freeMembershipPort returns a port below 32768 that was free a moment ago: the
// server stores membership ports as a PostgreSQL smallint, and the kernel hands out
// free ports above that.
func freeMembershipPort() (int, error) {
	for range 100 {
		port := 20000 + mathrand.IntN(12000)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		_ = l.Close()
		return port, nil
	}
	return 0, errors.New("temporal cluster: no free port between 20000 and 32000 for membership")
}

// stopFast shuts the server down as `pg_ctl stop -m fast` does (SIGINT: sessions
// are ended and a checkpoint written) and waits for it to exit.
func (c *Cluster) stopFast() error {
	select {
	case <-c.done:
		return nil
	default:
	}
	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("testenv: signal postgres: %w", err)
	}
	select {
	case <-c.done:
		return nil
	case <-time.After(30 * time.Second):
	}
	return c.Stop()
}
