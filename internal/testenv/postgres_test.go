package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestStartPostgres(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	pg, err := StartPostgres(ctx)
	if err != nil {
		t.Fatalf("StartPostgres: %v", err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	t.Logf("StartPostgres took %v (url %s)", time.Since(start), pg.URL())

	queryOne(t, pg.URL())
	extra := pg.NewDatabase(ctx, t)
	if extra == pg.URL() {
		t.Fatalf("NewDatabase returned the package database URL")
	}
	queryOne(t, extra)

	if err := pg.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := pg.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if pg.cluster != nil {
		select {
		case <-pg.cluster.Done():
		default:
			t.Fatalf("server still running after Stop")
		}
		if _, err := os.Stat(pg.root); !os.IsNotExist(err) {
			t.Fatalf("cluster dir %s not removed: %v", pg.root, err)
		}
		conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(pg.cluster.Port())), time.Second)
		if err == nil {
			_ = conn.Close()
			t.Fatalf("port %d still accepts connections after Stop", pg.cluster.Port())
		}
	}
}

func TestStopNil(t *testing.T) {
	var pg *Postgres
	if err := pg.Stop(); err != nil {
		t.Fatalf("Stop on nil: %v", err)
	}
}

func TestWithDatabase(t *testing.T) {
	cases := map[string]string{
		"postgres://u:p@h:5432/old?sslmode=disable": "postgres://u:p@h:5432/newdb?sslmode=disable",
		"postgresql://h/":          "postgresql://h/newdb",
		"host=h user=u dbname=old": "host=h user=u dbname=old dbname=newdb",
	}
	for in, want := range cases {
		got, err := withDatabase(in, "newdb")
		if err != nil || got != want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func queryOne(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil || n != 1 {
		t.Fatalf("SELECT 1 = %d, %v", n, err)
	}
}

// TestServerDiesWithCaller starts a cluster in a child process that exits without
// calling Stop, and checks that the server goes away with it.
func TestServerDiesWithCaller(t *testing.T) {
	if os.Getenv("TEST_DATABASE_URL") != "" || os.Getenv("DATABASE_URL") != "" {
		t.Skip("uses an external server")
	}
	if os.Getenv("TESTENV_CRASH_CHILD") == "1" {
		pg, err := StartPostgres(context.Background())
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(2)
		}
		fmt.Printf("port=%d root=%s\n", pg.cluster.Port(), pg.root)
		os.Exit(1) // no Stop
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithCaller$")
	cmd.Env = append(os.Environ(), "TESTENV_CRASH_CHILD=1")
	out, _ := cmd.Output()
	var (
		port int
		root string
	)
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "port=%d root=%s", &port, &root); err != nil {
		t.Fatalf("child output %q: %v", out, err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) }) // what a later sweepStaleDirs would do
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(20 * time.Second); ; {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return // the server is gone
		}
		_ = conn.Close()
		if time.Now().After(deadline) {
			t.Fatalf("postgres on %s outlived its parent process", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
