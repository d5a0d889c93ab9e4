package reports_test

import (
	"os"
	"testing"
	"time"

	"github.com/dunwell/dunwell/internal/ledgertest"
	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/reports"
)

// testPG is one PostgreSQL server; every test gets its own database on it, so report
// totals see only that test's rows.
var testPG *testenv.Postgres

func TestMain(m *testing.M) {
	os.Exit(testenv.RunWithPostgres(m, "reports", testenv.KeepPostgres(&testPG)))
}

// newLedger opens a fresh, migrated ledger database for one test.
func newLedger(t *testing.T) (*ledger.Store, *reports.Reporter) {
	t.Helper()
	store := ledgertest.OnNewDatabase(t, testPG)
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
