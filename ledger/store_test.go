package ledger

import (
	"context"
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOpenRejectsBadURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "   ", "postgres://host:notaport/db", "not a url at all=%"} {
		s, err := Open(context.Background(), u)
		require.Error(t, err, "url %q", u)
		require.Nil(t, s)
	}
}

func TestMigrateTwice(t *testing.T) {
	ctx := parallel(t)
	url := testPG.NewDatabase(ctx, t)
	for range 2 {
		s, err := Open(ctx, url, quiet)
		require.NoError(t, err)
		require.NoError(t, s.Ping(ctx))
		var applied, latest int64
		require.NoError(t, s.pool.QueryRow(ctx,
			`SELECT count(*), max(version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&applied, &latest))
		require.EqualValues(t, embeddedMigrations(t), applied, "each migration is recorded once")
		require.EqualValues(t, latestMigration(t), latest)
		s.Close()
	}
}

// latestMigration is the highest embedded migration number (numbers may be reserved
// for work in progress, so they need not be contiguous).
func latestMigration(t *testing.T) int {
	t.Helper()
	files, err := fs.Glob(Migrations(), "*.sql")
	require.NoError(t, err)
	latest := 0
	for _, f := range files {
		n, err := strconv.Atoi(strings.SplitN(f, "_", 2)[0])
		require.NoError(t, err, f)
		latest = max(latest, n)
	}
	return latest
}

// embeddedMigrations counts the embedded migrations.
func embeddedMigrations(t *testing.T) int {
	t.Helper()
	files, err := fs.Glob(Migrations(), "*.sql")
	require.NoError(t, err)
	return len(files)
}

func TestConcurrentOpenMigratesOnce(t *testing.T) {
	ctx := parallel(t)
	url := testPG.NewDatabase(ctx, t)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	stores := make([]*Store, n)
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(ctx, url, quiet) })
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		defer stores[i].Close()
	}
	var applied int64
	require.NoError(t, stores[0].pool.QueryRow(ctx,
		`SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied))
	require.EqualValues(t, embeddedMigrations(t), applied)
	// Every store works.
	for _, s := range stores {
		_, err := s.GetInvoice(ctx, "missing")
		require.True(t, errors.Is(err, ErrNotFound), "got %v", err)
	}
}
