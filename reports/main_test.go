package reports_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/reports"
)

// testPG is one PostgreSQL server; every test gets its own database on it, so report
// totals see only that test's rows.
var testPG *testenv.Postgres

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := testenv.StartPostgres(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reports tests:", err)
		return 1
	}
	defer func() { _ = pg.Stop() }()
	testPG = pg
	return m.Run()
}

// newLedger opens a fresh, migrated ledger database for one test.
func newLedger(t *testing.T) (*ledger.Store, *reports.Reporter) {
	t.Helper()
	ctx := context.Background()
	store, err := ledger.Open(ctx, testPG.NewDatabase(ctx, t), ledger.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	t.Cleanup(store.Close)
	return store, reports.New(store.Pool())
}

func date(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func period(from, to string) reports.Period { return reports.Period{From: date(from), To: date(to)} }
