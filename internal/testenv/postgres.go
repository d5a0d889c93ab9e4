package testenv

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// pgSuperuser is the superuser InitCluster creates; clusters trust local TCP logins.
	pgSuperuser = "postgres"
	// pgOSUser is the OS account the server runs as when the caller is root, because
	// initdb and postgres refuse to run as root.
	pgOSUser = "postgres"
	// tempPrefix names the temporary directories StartPostgres creates.
	tempPrefix = "dunwell-pg-"
	// ownerLockName is a file in each temporary directory that its owning process
	// keeps flock'ed; a directory whose lock can be taken was left by a dead process.
	ownerLockName = ".owner.lock"
	// defaultStartTimeout bounds initdb plus server start when ctx has no deadline.
	defaultStartTimeout = 90 * time.Second
	// stopTimeout bounds how long Stop waits for an immediate shutdown before SIGKILL.
	stopTimeout = 10 * time.Second
	// TestDatabase is the database StartPostgres creates in a throwaway cluster.
	TestDatabase = "dunwell_test"
)

// Postgres is a PostgreSQL database for one test package: either a fresh database on
// the server named by TEST_DATABASE_URL / DATABASE_URL, or a throwaway cluster of its
// own. Stop it when done (typically at the end of TestMain).
type Postgres struct {
	url      string
	adminURL string // the same server's maintenance database, for CREATE/DROP DATABASE
	dbName   string
	external bool     // true when the server is not ours: drop the database on Stop
	cluster  *Cluster // nil when external
	root     string   // temporary directory holding the cluster; "" when external
	lock     *os.File // flock'ed owner lock inside root

	stopped  atomic.Bool
	stopOnce onceErr
}

// StartPostgres returns a PostgreSQL database that belongs to the caller alone.
//
// If TEST_DATABASE_URL (preferred) or DATABASE_URL is set, it creates a uniquely named
// database on that server and drops it on Stop. Otherwise it initdb's a throwaway
// cluster in a new temporary directory, starts it on a free 127.0.0.1 port, waits until
// it accepts connections and creates TestDatabase in it; Stop kills the server and
// removes the directory. If the calling process dies without calling Stop, the kernel
// kills the server (Linux parent-death signal) and a later StartPostgres removes the
// stale directory.
func StartPostgres(ctx context.Context) (*Postgres, error) {
	if u := cmp.Or(os.Getenv("TEST_DATABASE_URL"), os.Getenv("DATABASE_URL")); u != "" {
		return startExternal(ctx, u)
	}
	return startThrowaway(ctx)
}

// URL returns the connection URL of the caller's database.
func (p *Postgres) URL() string { return p.url }

// Database returns the name of the caller's database.
func (p *Postgres) Database() string { return p.dbName }

// Stop releases everything StartPostgres acquired: it drops the database on an
// external server, or kills the throwaway server and removes its directory. It is
// safe to call more than once and on a nil *Postgres; later calls return the first
// result.
func (p *Postgres) Stop() error {
	if p == nil {
		return nil
	}
	return p.stopOnce.do(p.stop)
}

func (p *Postgres) stop() error {
	p.stopped.Store(true)
	var errs []error
	if p.external {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if err := dropDatabase(ctx, p.adminURL, p.dbName); err != nil {
			errs = append(errs, err)
		}
	}
	if p.cluster != nil {
		if err := p.cluster.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	if p.root != "" {
		if err := os.RemoveAll(p.root); err != nil {
			errs = append(errs, fmt.Errorf("testenv: remove %s: %w", p.root, err))
		}
	}
	if p.lock != nil {
		_ = p.lock.Close() // closing releases the flock
	}
	return errors.Join(errs...)
}

// StopServer shuts the throwaway server down (immediately, as a crash would) and
// keeps its data, so a test can see what the rest of the system does while the
// database is gone; StartServer brings it back on the same port. Both refuse a server
// that is not ours (TEST_DATABASE_URL / DATABASE_URL).
//
// The crash loses nothing committed before it, as with a production server's
// synchronous commits: this one does not wait for its log at commit
// (synchronous_commit=off), so a row written just before the stop would otherwise be
// gone after the restart. A checkpoint writes everything out first.
func (p *Postgres) StopServer() error {
	if p.cluster == nil {
		return errors.New("testenv: the database server is not a throwaway cluster; it cannot be stopped")
	}
	if err := adminExec(context.Background(), p.adminURL, "CHECKPOINT"); err != nil {
		return err
	}
	return p.cluster.Stop()
}

// StartServer starts the server StopServer stopped, from the same data directory and
// on the same port, and waits until it accepts connections.
func (p *Postgres) StartServer(ctx context.Context) error {
	if p.cluster == nil {
		return errors.New("testenv: the database server is not a throwaway cluster; it cannot be started")
	}
	select {
	case <-p.cluster.Done():
	default:
		return errors.New("testenv: the database server is running")
	}
	c, err := StartCluster(ctx, p.cluster.Dir(), p.cluster.Port())
	if err != nil {
		return err
	}
	p.cluster = c
	return nil
}

// CreateDatabase creates another empty database on the same server and returns its
// URL; it lives as long as the server (for programs, not tests: see NewDatabase).
func (p *Postgres) CreateDatabase(ctx context.Context, prefix string) (string, error) {
	name := uniqueName(prefix)
	if err := createDatabase(ctx, p.adminURL, name); err != nil {
		return "", err
	}
	return withDatabase(p.adminURL, name)
}

// NewDatabase creates another empty database on the same server, registers its
// removal with t.Cleanup and returns its URL. It fails the test if the database
// cannot be created.
func (p *Postgres) NewDatabase(ctx context.Context, t testing.TB) string {
	t.Helper()
	name := uniqueName("dunwell_t")
	if err := createDatabase(ctx, p.adminURL, name); err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if p.stopped.Load() && !p.external {
			return // the throwaway server is gone, and the database with it
		}
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if err := dropDatabase(ctx, p.adminURL, name); err != nil {
			t.Logf("%v", err)
		}
	})
	u, err := withDatabase(p.adminURL, name)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return u
}

func startExternal(ctx context.Context, adminURL string) (*Postgres, error) {
	if _, err := pgx.ParseConfig(adminURL); err != nil {
		return nil, fmt.Errorf("testenv: TEST_DATABASE_URL/DATABASE_URL is not a valid PostgreSQL URL: %w", err)
	}
	name := uniqueName("dunwell_test")
	u, err := withDatabase(adminURL, name)
	if err != nil {
		return nil, err
	}
	if err := createDatabase(ctx, adminURL, name); err != nil {
		return nil, err
	}
	return &Postgres{url: u, adminURL: adminURL, dbName: name, external: true}, nil
}

func startThrowaway(ctx context.Context) (_ *Postgres, retErr error) {
	sweepStaleDirs()
	root, err := os.MkdirTemp("", tempPrefix)
	if err != nil {
		return nil, fmt.Errorf("testenv: create temp dir: %w", err)
	}
	p := &Postgres{root: root, dbName: TestDatabase}
	defer func() {
		if retErr != nil {
			_ = p.Stop()
		}
	}()
	if p.lock, err = lockOwner(root); err != nil {
		return nil, err
	}
	if p.cluster, err = StartCluster(ctx, root, 0); err != nil {
		return nil, err
	}
	p.adminURL = p.cluster.URL("postgres")
	if err := createDatabase(ctx, p.adminURL, TestDatabase); err != nil {
		return nil, err
	}
	p.url = p.cluster.URL(TestDatabase)
	return p, nil
}

// Cluster is a PostgreSQL server running from a data directory under Dir, listening
// on 127.0.0.1:Port with its unix socket in Dir. It is what cmd/devdb and
// StartPostgres build on.
type Cluster struct {
	dir     string
	port    int
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed once the server process has exited
	waitErr error         // the server's exit status; read only after done is closed

	stopOnce onceErr
}

// ClusterDataDir returns the data directory InitCluster creates inside dir.
func ClusterDataDir(dir string) string { return filepath.Join(dir, "data") }

// InitCluster runs initdb into ClusterDataDir(dir) unless that directory already holds
// a cluster. dir must exist (it is made owned by the postgres OS user when running as
// root). The cluster trusts every local connection, uses UTF8 with the C locale and
// has superuser "postgres".
func InitCluster(ctx context.Context, dir string) error {
	data := ClusterDataDir(dir)
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err == nil {
		return nil
	}
	attr, err := serverProcAttr(dir)
	if err != nil {
		return err
	}
	ctx, cancel := withDefaultTimeout(ctx, defaultStartTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "initdb",
		"--pgdata="+data,
		"--username="+pgSuperuser,
		"--auth=trust",
		"--encoding=UTF8",
		"--locale=C",
		"--no-sync",
		"--no-instructions",
	)
	cmd.Dir = dir
	cmd.SysProcAttr = attr
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("testenv: initdb %s: %w\n%s", data, err, tail(out, 4096))
	}
	return nil
}

// StartCluster starts PostgreSQL on the cluster in dir (running InitCluster first if
// dir holds none yet) and waits until it accepts connections. port 0 picks a free
// port (retrying if another process grabs it first). The server is tuned for
// throwaway use: fsync and synchronous commit are off. It is started with a
// parent-death signal, so it dies with the calling process; call Stop to end it
// earlier. The server log is Dir()/postgres.log.
func StartCluster(ctx context.Context, dir string, port int) (*Cluster, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("testenv: cluster dir: %w", err)
	}
	ctx, cancel := withDefaultTimeout(ctx, defaultStartTimeout)
	defer cancel()
	if err := InitCluster(ctx, dir); err != nil {
		return nil, err
	}
	const attempts = 5
	for i := 1; ; i++ {
		p := port
		if p == 0 {
			if p, err = FreePort(); err != nil {
				return nil, err
			}
		}
		c, err := startServer(ctx, dir, p)
		if err == nil {
			return c, nil
		}
		if port != 0 || i == attempts || !errors.Is(err, errPortInUse) {
			return nil, err
		}
		slog.Debug("testenv: postgres port taken, retrying", "port", p, "attempt", i)
	}
}

var errPortInUse = errors.New("port already in use")

func startServer(ctx context.Context, dir string, port int) (*Cluster, error) {
	c := &Cluster{
		dir:     dir,
		port:    port,
		logPath: filepath.Join(dir, "postgres.log"),
		done:    make(chan struct{}),
	}
	attr, err := serverProcAttr(dir)
	if err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("testenv: open postgres log: %w", err)
	}
	defer logf.Close() // the child holds its own copy of the descriptor
	logStart, _ := logf.Seek(0, io.SeekEnd)

	c.cmd = exec.Command("postgres",
		"-D", ClusterDataDir(dir),
		"-p", strconv.Itoa(port),
		"-k", dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "shared_buffers=32MB",
		"-c", "max_connections=200",
	)
	c.cmd.Dir = dir
	c.cmd.Stdout = logf
	c.cmd.Stderr = logf
	c.cmd.SysProcAttr = attr
	if err := c.spawn(); err != nil {
		return nil, fmt.Errorf("testenv: start postgres: %w", err)
	}
	if err := c.waitReady(ctx); err != nil {
		_ = c.Stop()
		log := readTail(c.logPath, logStart, 4096)
		if strings.Contains(log, "could not bind") || strings.Contains(log, "already in use") {
			return nil, fmt.Errorf("testenv: postgres on port %d: %w", port, errPortInUse)
		}
		return nil, fmt.Errorf("testenv: postgres on port %d did not become ready: %w\n%s", port, err, log)
	}
	return c, nil
}

// spawn starts the server from a goroutine locked to its OS thread. The kernel sends
// the parent-death signal when the *thread* that forked the child exits, so that
// thread must live exactly as long as the server: the goroutine stays in cmd.Wait
// until the server has exited and only then lets the thread go.
func (c *Cluster) spawn() error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		if err := c.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.waitErr = c.cmd.Wait()
		close(c.done)
	}()
	return <-started
}

func (c *Cluster) waitReady(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(attemptCtx, c.URL("postgres"))
		cancel()
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-c.done:
			return fmt.Errorf("server exited: %v", c.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("%w (last connection error: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// URL returns a connection URL for database on this server (superuser, no password).
func (c *Cluster) URL(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(pgSuperuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Port returns the TCP port the server listens on.
func (c *Cluster) Port() int { return c.port }

// Dir returns the cluster directory (data directory, socket and log live inside it).
func (c *Cluster) Dir() string { return c.dir }

// Done is closed when the server process has exited, for whatever reason.
func (c *Cluster) Done() <-chan struct{} { return c.done }

// Stop shuts the server down immediately (SIGQUIT, the same as pg_ctl stop -m
// immediate; SIGKILL if it has not exited within 10 s) and waits for it to exit. It
// leaves the directory in place. It is safe to call more than once.
func (c *Cluster) Stop() error {
	if c == nil {
		return nil
	}
	return c.stopOnce.do(c.stop)
}

func (c *Cluster) stop() error {
	select {
	case <-c.done:
		return nil
	default:
	}
	if err := c.cmd.Process.Signal(syscall.SIGQUIT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		slog.Warn("testenv: signal postgres", "pid", c.cmd.Process.Pid, "err", err)
	}
	select {
	case <-c.done:
		return nil
	case <-time.After(stopTimeout):
	}
	if err := c.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("testenv: kill postgres pid %d: %w", c.cmd.Process.Pid, err)
	}
	<-c.done
	return nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testenv: find a free port: %w", err)
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("testenv: find a free port: unexpected address %v", l.Addr())
	}
	return addr.Port, nil
}

// serverProcAttr returns the process attributes for initdb and postgres: their own
// process group (so a terminal's Ctrl-C reaches only the caller, which then stops the
// server), SIGKILL when the caller dies, and, when running as root, the postgres OS
// user, which then also gets ownership of dir.
func serverProcAttr(dir string) (*syscall.SysProcAttr, error) {
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() != 0 {
		return attr, nil
	}
	u, err := user.Lookup(pgOSUser)
	if err != nil {
		return nil, fmt.Errorf("testenv: running as root needs OS user %q for PostgreSQL: %w", pgOSUser, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("testenv: OS user %q: %w", pgOSUser, err)
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		return nil, fmt.Errorf("testenv: give %s to OS user %q: %w", dir, pgOSUser, err)
	}
	attr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	return attr, nil
}

// lockOwner creates and flocks root's owner lock; the lock lasts until the returned
// file is closed or the process dies.
func lockOwner(root string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(root, ownerLockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("testenv: create owner lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("testenv: lock %s: %w", root, err)
	}
	return f, nil
}

// sweepStaleDirs removes temporary cluster directories whose owning process died
// without calling Stop (its server was killed by the parent-death signal). Only
// directories with an owner lock nobody holds are touched; errors are ignored.
func sweepStaleDirs() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*"))
	for _, dir := range matches {
		lockPath := filepath.Join(dir, ownerLockName)
		// A lock file younger than a minute may belong to a start-up that has created
		// it but not flock'ed it yet.
		if fi, err := os.Stat(lockPath); err != nil || time.Since(fi.ModTime()) < time.Minute {
			continue
		}
		f, err := os.Open(lockPath)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			if err := os.RemoveAll(dir); err == nil {
				slog.Debug("testenv: removed stale postgres dir", "dir", dir)
			}
		}
		_ = f.Close()
	}
}

func createDatabase(ctx context.Context, adminURL, name string) error {
	return adminExec(ctx, adminURL, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
}

func dropDatabase(ctx context.Context, adminURL, name string) error {
	return adminExec(ctx, adminURL, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

// adminExec runs one statement (identifiers are sanitized by the callers; DDL takes no
// parameters) on the maintenance connection.
func adminExec(ctx context.Context, adminURL, stmt string) error {
	ctx, cancel := withDefaultTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("testenv: connect for %q: %w", stmt, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("testenv: %s: %w", stmt, err)
	}
	return nil
}

// withDatabase returns connString pointing at database name instead. It accepts both
// URL and keyword/value connection strings.
func withDatabase(connString, name string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("testenv: parse database URL: %w", err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// Later keywords win in keyword/value strings; name is [a-z0-9_] only.
	return strings.TrimSpace(connString) + " dbname=" + name, nil
}

// uniqueName returns prefix plus the process id and random hex: a valid, unquoted
// PostgreSQL identifier well under 63 bytes.
func uniqueName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return fmt.Sprintf("%s_%d_%s", prefix, os.Getpid(), hex.EncodeToString(b[:]))
}

func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// readTail returns up to max bytes from the end of the file, starting no earlier than
// offset from.
func readTail(path string, from int64, max int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if from > 0 && from <= int64(len(b)) {
		b = b[from:]
	}
	return string(tail(b, max))
}

func tail(b []byte, max int) []byte {
	if len(b) > max {
		return b[len(b)-max:]
	}
	return b
}
