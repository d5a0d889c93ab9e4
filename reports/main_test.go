package reports_test

import (
	"context"
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
	os.Exit(testenv.RunWithPostgres(m, "reports", func(_ context.Context, pg *testenv.Postgres) (func(), error) {
		testPG = pg
		return nil, nil
	}))
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
