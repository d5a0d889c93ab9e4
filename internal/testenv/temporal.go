package testenv

// This file starts a Temporal dev server (StartTemporal); the package doc is in doc.go.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
)

// EnvTemporalCLI names the environment variable that overrides the path of the
// Temporal CLI binary used by StartTemporal.
const EnvTemporalCLI = "TEMPORAL_CLI"

// defaultCLIPath is where `make bin/temporal` installs the CLI, relative to the
// repository root.
var defaultCLIPath = filepath.Join("bin", "temporal")

const (
	// stopGrace is how long Stop waits for the server to exit after SIGINT
	// before it kills it.
	stopGrace = 15 * time.Second
	// outputTail is how much of the server's output is kept for error messages.
	outputTail = 16 << 10
	// watchInterval is how often the start-up watchdog looks at the server process.
	watchInterval = 100 * time.Millisecond
)

// TemporalOptions configures StartTemporal. The zero value is usable.
type TemporalOptions struct {
	// Namespace is registered at start-up and used by Client; "default" if empty.
	Namespace string
	// ExtraArgs are appended to `temporal server start-dev`, typically
	// workflows.DevServerFlags() to register the search attributes.
	ExtraArgs []string
	// LogLevel is the server's log level: "debug", "info", "warn" (the default)
	// or "error".
	LogLevel string
	// EnableUI also starts the web UI, on a free port (see UIHostPort).
	EnableUI bool
	// CLIPath is the Temporal CLI binary. If empty, $TEMPORAL_CLI is used, else
	// <repository root>/bin/temporal.
	CLIPath string
	// Logger receives the SDK client's logs; slog.Default() if nil.
	Logger *slog.Logger
	// Output, if set, receives the server's stdout and stderr. The last few
	// kilobytes are always kept and included in start-up errors.
	Output io.Writer
}

// Temporal is a running Temporal dev server (`temporal server start-dev`) with a
// connected client. Stop it when done.
type Temporal struct {
	srv        *testsuite.DevServer
	namespace  string
	uiHostPort string
	dir        string
	pid        int
	out        *tailBuffer

	stopOnce onceErr
}

// sqlitePragmas: the dev server keeps everything in one SQLite database behind a
// single connection, and by default every commit waits for the disk (a rollback
// journal synced in full). On a machine busy with other work that made 60 concurrent
// workflow starts take over 10 s and the API answer 503; with a write-ahead log and no
// syncs they take 2 to 3 times less. The database is thrown away with the server.
var sqlitePragmas = []string{"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=off"}

// StartTemporal starts a Temporal dev server on a free port with its own SQLite
// database in a temporary directory and waits until its frontend answers. The
// CLI binary is never downloaded: if it is missing, the error says how to build it.
// Cancelling ctx aborts the start-up; it does not stop a server already started.
func StartTemporal(ctx context.Context, opts TemporalOptions) (*Temporal, error) {
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	switch opts.LogLevel {
	case "":
		opts.LogLevel = "warn"
	case "debug", "info", "warn", "error":
	default:
		return nil, fmt.Errorf("start temporal dev server: unknown log level %q (want debug, info, warn or error)", opts.LogLevel)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}

	cli, err := temporalCLIPath(opts.CLIPath)
	if err != nil {
		return nil, err
	}

	dir, err := os.MkdirTemp("", "dunwell-temporal-")
	if err != nil {
		return nil, fmt.Errorf("start temporal dev server: create temp dir: %w", err)
	}
	// The database file lives in our own directory, so its path also identifies
	// the server process among our children (see watchdog.find).
	dbFile := filepath.Join(dir, "temporal.db")

	var uiPort string
	if opts.EnableUI {
		if uiPort, err = freeUIPort(); err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("start temporal dev server: pick UI port: %w", err)
		}
	}

	out := &tailBuffer{max: outputTail}
	var w io.Writer = out
	if opts.Output != nil {
		w = io.MultiWriter(out, opts.Output)
	}

	startCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	dog := startWatchdog(cancel, cli, dbFile)

	srv, err := testsuite.StartDevServer(startCtx, testsuite.DevServerOptions{
		ExistingPath: cli,
		ClientOptions: &client.Options{
			// HostPort is left empty: StartDevServer picks a free port.
			Namespace: opts.Namespace,
			Logger:    sdklog.NewStructuredLogger(logger),
			// The server is on this machine: gzip would only cost CPU on both ends.
			ConnectionOptions: client.ConnectionOptions{GrpcCompression: &client.GrpcCompressionNone{}},
		},
		DBFilename: dbFile,
		EnableUI:   opts.EnableUI,
		UIPort:     uiPort,
		LogLevel:   opts.LogLevel,
		ExtraArgs:  append(slices.Clone(sqlitePragmas), opts.ExtraArgs...),
		Stdout:     w,
		Stderr:     w,
	})
	pid, exited := dog.stop()
	if err != nil {
		// StartDevServer does not stop the process it started when the server
		// never became ready: do it here so nothing is left running.
		reap(pid)
		_ = os.RemoveAll(dir)
		what := "wait for it to become ready"
		if exited {
			what = "server exited during start-up"
		}
		return nil, fmt.Errorf("start temporal dev server %s: %s: %w\nserver output:\n%s", cli, what, err, out.String())
	}

	t := &Temporal{
		srv:       srv,
		namespace: opts.Namespace,
		dir:       dir,
		pid:       pid,
		out:       out,
	}
	if opts.EnableUI {
		t.uiHostPort = net.JoinHostPort(hostOf(srv.FrontendHostPort()), uiPort)
	}
	return t, nil
}

// HostPort is the frontend's gRPC address, e.g. "127.0.0.1:41234".
func (t *Temporal) HostPort() string { return t.srv.FrontendHostPort() }

// Namespace is the namespace registered at start-up, which Client uses.
func (t *Temporal) Namespace() string { return t.namespace }

// UIHostPort is the web UI's address, or "" if the UI was not enabled.
func (t *Temporal) UIHostPort() string { return t.uiHostPort }

// ServerOutput returns the last few kilobytes the server wrote to stdout and
// stderr, for diagnosing a failed test.
func (t *Temporal) ServerOutput() string { return t.out.String() }

// Client is a client connected to the server and its namespace. Stop closes it.
func (t *Temporal) Client() client.Client { return t.srv.Client() }

// onceErr runs a function once and keeps its result for every later call: the Stop
// methods are safe to call more than once.
type onceErr struct {
	once sync.Once
	err  error
}

func (o *onceErr) do(f func() error) error {
	o.once.Do(func() { o.err = f() })
	return o.err
}

// Stop closes the client, stops the server (SIGINT, then SIGKILL after a grace
// period) and removes its temporary directory; stop workers built on Client
// first. It is safe to call more than once (later calls return the first call's
// result) and on a nil *Temporal.
func (t *Temporal) Stop() error {
	if t == nil {
		return nil
	}
	return t.stopOnce.do(t.stop)
}

func (t *Temporal) stop() error {
	t.srv.Client().Close()

	done := make(chan error, 1)
	go func() { done <- t.srv.Stop() }()

	var err error
	select {
	case err = <-done:
		if err != nil {
			err = fmt.Errorf("stop temporal dev server: %w", err)
		}
	case <-time.After(stopGrace):
		if t.pid == 0 {
			// Without the pid (not on Linux) there is nothing more to do than wait.
			err = <-done
			if err != nil {
				err = fmt.Errorf("stop temporal dev server: %w", err)
			}
			break
		}
		if p, ferr := os.FindProcess(t.pid); ferr == nil {
			_ = p.Kill()
		}
		<-done
		err = fmt.Errorf("stop temporal dev server: no exit %s after SIGINT, killed it", stopGrace)
	}
	if rerr := os.RemoveAll(t.dir); rerr != nil {
		err = errors.Join(err, fmt.Errorf("stop temporal dev server: remove %s: %w", t.dir, rerr))
	}
	return err
}

// temporalCLIPath returns the CLI binary to run: explicit, else $TEMPORAL_CLI,
// else <repository root>/bin/temporal. It fails if the file is not there.
func temporalCLIPath(explicit string) (string, error) {
	path, from := explicit, "TemporalOptions.CLIPath"
	if path == "" {
		path, from = os.Getenv(EnvTemporalCLI), "$"+EnvTemporalCLI
	}
	if path == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", fmt.Errorf("locate temporal CLI (set %s to its path): %w", EnvTemporalCLI, err)
		}
		path, from = filepath.Join(root, defaultCLIPath), "the default location"
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("temporal CLI not found at %s (%s): run `make bin/temporal` in the repository root, or set %s to an existing binary", path, from, EnvTemporalCLI)
	case err != nil:
		return "", fmt.Errorf("locate temporal CLI at %s (%s): %w", path, from, err)
	case fi.IsDir() || fi.Mode().Perm()&0o111 == 0:
		return "", fmt.Errorf("temporal CLI at %s (%s) is not an executable file: run `make bin/temporal`", path, from)
	}
	return path, nil
}

// RepoRoot returns the nearest directory at or above the working directory that
// contains a go.mod file.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod in the working directory or above")
		}
		dir = parent
	}
}

// freeUIPort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freeUIPort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

func hostOf(hostPort string) string {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return hostPort
	}
	return host
}

// spawnMu serialises server start-ups in this process while the watchdog looks
// for the new server's pid, so that a new child is known to be ours.
var spawnMu sync.Mutex

// watchdog follows the server process while StartDevServer waits for it: it
// learns its pid and cancels the start-up as soon as the process exits, instead of
// letting StartDevServer retry for a minute against a dead server. It relies on
// /proc and does nothing where there is none.
type watchdog struct {
	// comm is the process name the kernel shows for the server (the binary's
	// base name, cut to 15 bytes).
	comm string
	// marker is an argument only our server has (its database file).
	marker string
	// before holds our children that existed before the server was spawned.
	before  map[int]bool
	release func()

	done   chan struct{}
	wg     sync.WaitGroup
	pid    int
	exited bool
}

func startWatchdog(cancel context.CancelFunc, exe, marker string) *watchdog {
	comm := filepath.Base(exe)
	if len(comm) > 15 {
		comm = comm[:15]
	}
	d := &watchdog{comm: comm, marker: marker, done: make(chan struct{}), release: func() {}}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return d
	}
	spawnMu.Lock()
	var once sync.Once
	d.release = func() { once.Do(spawnMu.Unlock) }
	d.before = make(map[int]bool)
	for _, pid := range ourChildren() {
		d.before[pid] = true
	}

	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-d.done:
				return
			case <-tick.C:
			}
			if d.pid == 0 {
				if d.pid = d.find(); d.pid == 0 {
					continue
				}
				d.release()
				tick.Reset(watchInterval)
			}
			if !alive(d.pid) {
				d.exited = true
				cancel()
				return
			}
		}
	}()
	return d
}

// stop ends the watchdog and returns the server's pid (0 if unknown) and whether
// it saw the process exit.
func (d *watchdog) stop() (pid int, exited bool) {
	close(d.done)
	d.wg.Wait()
	if d.pid == 0 && d.before != nil {
		d.pid = d.find()
	}
	d.release()
	return d.pid, d.exited
}

// find returns the pid of the server: a child of ours, new since the watchdog
// started, with the marker among its arguments; or, as a zombie's command line is
// empty, an exited one named like the binary. It returns 0 if there is none yet.
func (d *watchdog) find() int {
	for _, pid := range ourChildren() {
		if d.before[pid] {
			continue
		}
		dir := filepath.Join("/proc", strconv.Itoa(pid))
		cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil {
			continue
		}
		if len(cmdline) > 0 {
			if slices.Contains(strings.Split(string(cmdline), "\x00"), d.marker) {
				return pid
			}
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue
		}
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open >= 0 && end > open && string(b[open+1:end]) == d.comm {
			return pid
		}
	}
	return 0
}

// reap kills the server process left behind by a failed start and waits for it.
func reap(pid int) {
	if pid == 0 {
		return
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return
	}
	_ = p.Kill()
	_, _ = p.Wait()
}

// ourChildren lists the pids of this process's children (running or zombie);
// nil where there is no /proc.
func ourChildren() []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, ok := procStat(pid); ok && ppid == self {
			out = append(out, pid)
		}
	}
	return out
}

// alive reports whether pid is still running (not gone, not a zombie).
func alive(pid int) bool {
	_, state, ok := procStat(pid)
	return ok && state != 'Z' && state != 'X'
}

// procStat reads the parent pid and state of pid from /proc/<pid>/stat.
func procStat(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	// "pid (comm) state ppid ...": comm may contain spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 2 || len(fields[0]) != 1 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(fields[1])
	if err != nil {
		return 0, 0, false
	}
	return ppid, fields[0][0], true
}

// tailBuffer is an io.Writer keeping the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
