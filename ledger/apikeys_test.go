package ledger

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"
)

func TestCreateAndLookupAPIKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	name := uid("ci")
	token, k, err := testStore.CreateAPIKey(ctx, name, []string{"read", "invoices:write", "read"})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(token, TokenPrefix))
	require.Len(t, token, len(TokenPrefix)+43, "dw_ + base64url of 32 bytes")
	require.True(t, ValidToken(token))
	require.Equal(t, name, k.Name)
	require.Equal(t, []string{"invoices:write", "read"}, k.Scopes, "deduplicated and sorted")
	require.Nil(t, k.RevokedAt)
	require.Nil(t, k.LastUsedAt)

	got, err := testStore.LookupAPIKey(ctx, token)
	require.NoError(t, err)
	require.Equal(t, k.ID, got.ID)
	require.True(t, got.HasScope("read"))
	require.False(t, got.HasScope("payments:write"))
	require.NotNil(t, got.LastUsedAt, "first use is recorded")

	// Only the hash is stored.
	var n int
	require.NoError(t, testStore.pool.QueryRow(ctx,
		`SELECT count(*) FROM api_keys WHERE token_sha256 = $1 AND position($2::bytea IN token_sha256) = 0`,
		hashToken(token), []byte(token)).Scan(&n))
	require.Equal(t, 1, n)

	// A second token for the same name is refused while the first is active.
	_, _, err = testStore.CreateAPIKey(ctx, name, []string{"read"})
	require.ErrorIs(t, err, ErrInvalid)

	for _, bad := range []string{"", "dw_", "Bearer " + token, token + "x!", strings.ToUpper(token), TokenPrefix + strings.Repeat("A", 43)} {
		_, err := testStore.LookupAPIKey(ctx, bad)
		require.ErrorIs(t, err, ErrNotFound, "%q", bad)
	}
}

func TestCreateAPIKeyInvalid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		scopes []string
	}{
		{"", []string{"read"}},
		{"123", []string{"read"}},
		{"has space", []string{"read"}},
		{strings.Repeat("a", 65), []string{"read"}},
		{uid("k"), nil},
		{uid("k"), []string{"admin"}},
		{uid("k"), []string{"read", ""}},
	} {
		_, _, err := testStore.CreateAPIKey(ctx, tc.name, tc.scopes)
		require.ErrorIs(t, err, ErrInvalid, "%q %v", tc.name, tc.scopes)
	}
	// The CHECK constraint holds even if validation is bypassed.
	_, err := testStore.pool.Exec(ctx, `INSERT INTO api_keys (name, token_sha256, scopes) VALUES ($1, $2, $3)`,
		uid("k"), hashToken(uid("t")), []string{"root"})
	require.Error(t, err)
}

func TestRevokeAPIKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	byName := uid("byname")
	token1, k1, err := testStore.CreateAPIKey(ctx, byName, []string{"read"})
	require.NoError(t, err)
	token2, k2, err := testStore.CreateAPIKey(ctx, uid("byid"), []string{"operator"})
	require.NoError(t, err)

	r1, err := testStore.RevokeAPIKey(ctx, byName)
	require.NoError(t, err)
	require.Equal(t, k1.ID, r1.ID)
	require.NotNil(t, r1.RevokedAt)
	r2, err := testStore.RevokeAPIKey(ctx, strconv.FormatInt(k2.ID, 10))
	require.NoError(t, err)
	require.NotNil(t, r2.RevokedAt)
	again, err := testStore.RevokeAPIKey(ctx, strconv.FormatInt(k2.ID, 10))
	require.NoError(t, err, "revoking by id is idempotent")
	require.Equal(t, r2.RevokedAt.UnixMicro(), again.RevokedAt.UnixMicro(), "first revocation time kept")

	for _, tok := range []string{token1, token2} {
		k, err := testStore.LookupAPIKey(ctx, tok)
		require.ErrorIs(t, err, ErrKeyRevoked)
		require.NotErrorIs(t, err, ErrNotFound)
		require.NotNil(t, k.RevokedAt)
	}
	_, err = testStore.RevokeAPIKey(ctx, byName)
	require.ErrorIs(t, err, ErrNotFound, "no active key of that name left")
	_, err = testStore.RevokeAPIKey(ctx, "999999999")
	require.ErrorIs(t, err, ErrNotFound)

	// The name is free again.
	_, k3, err := testStore.CreateAPIKey(ctx, byName, []string{"read"})
	require.NoError(t, err)
	require.NotEqual(t, k1.ID, k3.ID)

	got, err := testStore.GetAPIKey(ctx, k1.ID)
	require.NoError(t, err)
	require.True(t, got.Revoked())
	_, err = testStore.GetAPIKey(ctx, -1)
	require.ErrorIs(t, err, ErrNotFound)

	keys, err := testStore.ListAPIKeys(ctx)
	require.NoError(t, err)
	seen := map[int64]bool{}
	for _, k := range keys {
		seen[k.ID] = k.Revoked()
	}
	require.Equal(t, map[int64]bool{k1.ID: true, k2.ID: true, k3.ID: false},
		map[int64]bool{k1.ID: seen[k1.ID], k2.ID: seen[k2.ID], k3.ID: seen[k3.ID]})
}

func TestEnsureAPIKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	name := uid("dev")
	token := TokenPrefix + "dev-" + strings.Repeat("x", 40) + uid("")

	// Concurrent start-ups register the token once.
	var wg sync.WaitGroup
	ids := make([]int64, 4)
	errs := make([]error, 4)
	for i := range ids {
		wg.Go(func() {
			k, err := testStore.EnsureAPIKey(ctx, name, token, []string{"read"})
			ids[i], errs[i] = k.ID, err
		})
	}
	wg.Wait()
	for i := range ids {
		require.NoError(t, errs[i])
		require.Equal(t, ids[0], ids[i])
	}
	k, err := testStore.EnsureAPIKey(ctx, name, token, []string{"read", "operator"})
	require.NoError(t, err)
	require.Equal(t, ids[0], k.ID)
	require.Equal(t, []string{"operator", "read"}, k.Scopes, "scopes follow the configuration")
	got, err := testStore.LookupAPIKey(ctx, token)
	require.NoError(t, err)
	require.Equal(t, k.ID, got.ID)

	// A new configured token replaces (revokes) the old one of that name.
	token2 := token + "2"
	k2, err := testStore.EnsureAPIKey(ctx, name, token2, []string{"read"})
	require.NoError(t, err)
	require.NotEqual(t, k.ID, k2.ID)
	_, err = testStore.LookupAPIKey(ctx, token)
	require.ErrorIs(t, err, ErrKeyRevoked)

	// A revoked token is never brought back.
	_, err = testStore.RevokeAPIKey(ctx, name)
	require.NoError(t, err)
	_, err = testStore.EnsureAPIKey(ctx, name, token2, []string{"read"})
	require.ErrorIs(t, err, ErrKeyRevoked)
	_, err = testStore.LookupAPIKey(ctx, token2)
	require.ErrorIs(t, err, ErrKeyRevoked)

	for _, weak := range []string{"dev", "dw_short", "nodw_" + strings.Repeat("x", 40)} {
		_, err := testStore.EnsureAPIKey(ctx, uid("dev"), weak, []string{"read"})
		require.ErrorIs(t, err, ErrInvalid, weak)
	}
}

func TestAPIKeyLastUsedIsThrottled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	token, k, err := testStore.CreateAPIKey(ctx, uid("busy"), []string{"read"})
	require.NoError(t, err)
	first, err := testStore.LookupAPIKey(ctx, token)
	require.NoError(t, err)
	require.NotNil(t, first.LastUsedAt)
	for range 5 {
		got, err := testStore.LookupAPIKey(ctx, token)
		require.NoError(t, err)
		require.Equal(t, first.LastUsedAt.UnixMicro(), got.LastUsedAt.UnixMicro(), "no write within a minute")
	}
	// Pretend the last use was long ago: the next lookup records the use again.
	_, err = testStore.pool.Exec(ctx, `UPDATE api_keys SET last_used_at = now() - interval '2 minutes' WHERE id = $1`, k.ID)
	require.NoError(t, err)
	got, err := testStore.LookupAPIKey(ctx, token)
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), *got.LastUsedAt, 30*time.Second)
}

func TestAPIKeysMigrationDownAndUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, testPG.NewDatabase(ctx, t), quiet)
	require.NoError(t, err)
	defer s.Close()
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, Migrations(), goose.WithDisableGlobalRegistry(true))
	require.NoError(t, err)
	_, err = p.DownTo(ctx, 1)
	require.NoError(t, err)
	var n int
	require.NoError(t, s.pool.QueryRow(ctx,
		`SELECT count(*) FROM pg_tables WHERE tablename IN ('api_keys', 'audit_log')`).Scan(&n))
	require.Zero(t, n)
	_, err = p.Up(ctx)
	require.NoError(t, err)
	_, _, err = s.CreateAPIKey(ctx, "again", []string{"read"})
	require.NoError(t, err)
}
