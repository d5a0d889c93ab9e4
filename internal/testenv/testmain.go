package testenv

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// setupTimeout bounds a test package's PostgreSQL start plus its setup.
const setupTimeout = 2 * time.Minute

// KeepPostgres is a RunWithPostgres setup that only stores the server in *dst, for
// tests that make their own databases on it.
func KeepPostgres(dst **Postgres) func(context.Context, *Postgres) (func(), error) {
	return func(_ context.Context, pg *Postgres) (func(), error) {
		*dst = pg
		return nil, nil
	}
}

// RunWithPostgres is the body of the TestMain of a package whose tests share one
// PostgreSQL database: it starts it (StartPostgres), calls setup (if not nil) with it,
// runs the tests and then calls the cleanup setup returned (if not nil) and stops the
// database. setup's ctx expires two minutes after the start, or when the tests end.
// It returns the exit code for os.Exit: 1, after printing the error to stderr prefixed
// with "<name> tests:", if PostgreSQL or setup fails.
func RunWithPostgres(m *testing.M, name string, setup func(ctx context.Context, pg *Postgres) (cleanup func(), err error)) int {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	pg, err := StartPostgres(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, name+" tests:", err)
		return 1
	}
	defer func() {
		if err := pg.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, name+" tests: stop postgres:", err)
		}
	}()
	if setup != nil {
		cleanup, err := setup(ctx, pg)
		if err != nil {
			fmt.Fprintln(os.Stderr, name+" tests:", err)
			return 1
		}
		if cleanup != nil {
			defer cleanup()
		}
	}
	return m.Run()
}

// NewPostgres starts a PostgreSQL database for one test (StartPostgres, given two
// minutes) and stops it when the test ends (tb.Cleanup). It fails the test if the
// database cannot be started.
func NewPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	pg, err := StartPostgres(ctx)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(func() { _ = pg.Stop() })
	return pg
}
