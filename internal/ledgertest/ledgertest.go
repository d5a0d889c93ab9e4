// Package ledgertest opens ledger stores for tests, on the PostgreSQL that
// internal/testenv starts, with the store's own log discarded.
package ledgertest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/ledger"
)

// Open opens a store on url (migrating it) for one test and closes it when the test
// ends; it fails the test if the store cannot be opened.
func Open(tb testing.TB, url string) *ledger.Store {
	tb.Helper()
	store, err := open(context.Background(), url)
	if err != nil {
		tb.Fatalf("opening the ledger: %v", err)
	}
	tb.Cleanup(store.Close)
	return store
}

// OnNewDatabase opens a store on a fresh database of pg for one test (Open).
func OnNewDatabase(tb testing.TB, pg *testenv.Postgres) *ledger.Store {
	tb.Helper()
	return Open(tb, pg.NewDatabase(context.Background(), tb))
}

// RunWithStore is the body of the TestMain of a package whose tests share one
// database and one store on it (testenv.RunWithPostgres): set receives both before
// the tests run, and the store is closed after them.
func RunWithStore(m *testing.M, name string, set func(*testenv.Postgres, *ledger.Store)) int {
	return testenv.RunWithPostgres(m, name, func(ctx context.Context, pg *testenv.Postgres) (func(), error) {
		store, err := open(ctx, pg.URL())
		if err != nil {
			return nil, err
		}
		set(pg, store)
		return store.Close, nil
	})
}

// open opens a store with its log discarded: tests report what matters themselves.
func open(ctx context.Context, url string) (*ledger.Store, error) {
	return ledger.Open(ctx, url, ledger.WithLogger(slog.New(slog.DiscardHandler)))
}
