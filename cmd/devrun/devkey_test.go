package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/internal/ledgertest"
	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/ledger"
)

func TestCheckDevKeyDatabase(t *testing.T) {
	for _, tc := range []struct {
		name, url, pgHost, override string
		refused                     string // part of the error; "" means allowed
	}{
		{"the throwaway cluster", "", "", "", ""},
		{"loopback IPv4", "postgres://u:p@127.0.0.1:5432/db", "", "", ""},
		{"loopback elsewhere in 127/8", "postgres://u@127.0.0.2/db", "", "", ""},
		{"loopback IPv6", "postgres://u@[::1]:5432/db", "", "", ""},
		{"localhost", "postgresql://u@LocalHost/db", "", "", ""},
		{"a Unix socket", "postgres:///db?host=/var/run/postgresql", "", "", ""},
		{"no host: the default socket", "postgres:///db", "", "", ""},
		{"no host: PGHOST local", "postgres:///db", "127.0.0.1", "", ""},
		{"no host: PGHOST remote", "postgres:///db", "db.internal", "", "not this machine"},
		{"a shared database", "postgres://u@db.internal:5432/dunwell", "", "", "DUNWELL_DEV_KEY_DATABASE_HOST=db.internal"},
		{"a private address is still another machine", "postgres://u@10.0.0.5/db", "", "", "10.0.0.5"},
		{"a name that resolves locally is not trusted", "postgres://u@myhost/db", "", "", "myhost"},
		{"host parameter wins", "postgres://u@localhost/db?host=db.internal", "", "", "db.internal"},
		{"one remote host of several", "postgres://u@localhost:5432,db2.internal:5432/db", "", "", "db2.internal"},
		{"override naming the host", "postgres://u@db.internal:5432/dunwell", "", "DB.internal", ""},
		{"override naming every remote host", "postgres://u@a.internal,localhost,b.internal/db", "", "b.internal, a.internal", ""},
		{"override naming another host", "postgres://u@db.internal/dunwell", "", "db.other", "DUNWELL_DEV_KEY_DATABASE_HOST: is \"db.other\""},
		{"override naming too few hosts", "postgres://u@a.internal,b.internal/db", "", "a.internal", "must name exactly"},
		{"override is not a wildcard", "postgres://u@db.internal/db", "", "*", "must name exactly"},
		{"not a postgres URL", "mysql://u@localhost/db", "", "", "DATABASE_URL: must be a postgres:// URL"},
		{"an empty host in a list", "postgres://u@localhost,/db", "", "", "empty host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkDevKeyDatabase(tc.url, tc.pgHost, tc.override)
			if tc.refused == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.refused)
		})
	}
}

// TestRunRefusesASharedDatabase runs devrun's real entry point against a database on
// another machine: it refuses before starting anything.
func TestRunRefusesASharedDatabase(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://dunwell@db.example.com:5432/dunwell")
	t.Setenv(envDevKeyDatabaseHost, "")
	t.Setenv("PGHOST", "")
	err := run(slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "db.example.com, which is not this machine")
	require.ErrorContains(t, err, envDevKeyDatabaseHost)
}

// TestDevKeyRevokedAtExit: the exit path revokes exactly the run's key (by token),
// with an audit entry, and leaves another key named dev alone.
func TestDevKeyRevokedAtExit(t *testing.T) {
	ctx := context.Background()
	pg := testenv.NewPostgres(t)
	store := ledgertest.Open(t, pg.URL())
	token, err := ledger.NewAPIKeyToken()
	require.NoError(t, err)
	k, err := store.EnsureAPIKey(ctx, devKeyName, token, []string{"read"})
	require.NoError(t, err)

	revokeDevKey(slog.New(slog.DiscardHandler), pg.URL(), token)
	_, err = store.LookupAPIKey(ctx, token)
	require.ErrorIs(t, err, ledger.ErrKeyRevoked)
	trail, err := store.ListKeyAudit(ctx, k.ID)
	require.NoError(t, err)
	require.Equal(t, ledger.AuditKeyRevoke, trail[len(trail)-1].Action)
	require.Equal(t, "devrun (exit)", trail[len(trail)-1].Details["by"])

	// Someone else's key named dev: this run's token is not it, so it stays active.
	otherToken, other, err := store.CreateAPIKey(ctx, devKeyName, []string{"read"})
	require.NoError(t, err)
	runToken, err := ledger.NewAPIKeyToken()
	require.NoError(t, err)
	_, err = store.EnsureAPIKey(ctx, devKeyName, runToken, []string{"read"})
	require.ErrorIs(t, err, ledger.ErrKeyNameInUse)
	revokeDevKey(slog.New(slog.DiscardHandler), pg.URL(), runToken)
	got, err := store.LookupAPIKey(ctx, otherToken)
	require.NoError(t, err)
	require.Equal(t, other.ID, got.ID)
}

// TestDevKeyToken: the published key only in the throwaway cluster, a fresh random
// one in a database that outlives the run, the caller's whenever it names one.
func TestDevKeyToken(t *testing.T) {
	t.Setenv("DUNWELL_DEV_API_KEY", "")
	token, err := devKeyToken(false)
	require.NoError(t, err)
	require.Equal(t, devAPIKey, token)
	first, err := devKeyToken(true)
	require.NoError(t, err)
	second, err := devKeyToken(true)
	require.NoError(t, err)
	require.NotEqual(t, devAPIKey, first)
	require.NotEqual(t, first, second)

	t.Setenv("DUNWELL_DEV_API_KEY", "dw_mine")
	for _, kept := range []bool{false, true} {
		token, err := devKeyToken(kept)
		require.NoError(t, err)
		require.Equal(t, "dw_mine", token)
	}
}
