package ledger

import (
	"context"
	"fmt"
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
	ctx := parallel(t)
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
	ctx := parallel(t)
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
	ctx := parallel(t)
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
	ctx := parallel(t)
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

	// Another token never takes the name from an active key, nor touches it.
	token2 := token + "2"
	_, err = testStore.EnsureAPIKey(ctx, name, token2, []string{"read"})
	require.ErrorIs(t, err, ErrKeyNameInUse)
	require.Contains(t, err.Error(), fmt.Sprintf("(id %d)", k.ID))
	still, err := testStore.LookupAPIKey(ctx, token)
	require.NoError(t, err, "the name's key is left alone")
	require.Equal(t, k.ID, still.ID)

	// Once that key is revoked (by its token) the name is free for another token.
	revoked, err := testStore.RevokeAPIKeyToken(ctx, token)
	require.NoError(t, err)
	require.Equal(t, k.ID, revoked.ID)
	k2, err := testStore.EnsureAPIKey(ctx, name, token2, []string{"read"})
	require.NoError(t, err)
	require.NotEqual(t, k.ID, k2.ID)

	// A revoked token is never brought back.
	_, err = testStore.RevokeAPIKey(ctx, name)
	require.NoError(t, err)
	_, err = testStore.EnsureAPIKey(ctx, name, token2, []string{"read"})
	require.ErrorIs(t, err, ErrKeyRevoked)
	_, err = testStore.LookupAPIKey(ctx, token2)
	require.ErrorIs(t, err, ErrKeyRevoked)
	_, err = testStore.RevokeAPIKeyToken(ctx, TokenPrefix+strings.Repeat("n", 43))
	require.ErrorIs(t, err, ErrNotFound)

	for _, weak := range []string{"dev", "dw_short", "nodw_" + strings.Repeat("x", 40)} {
		_, err := testStore.EnsureAPIKey(ctx, uid("dev"), weak, []string{"read"})
		require.ErrorIs(t, err, ErrInvalid, weak)
	}
}

func TestAPIKeyLastUsedIsThrottled(t *testing.T) {
	ctx := parallel(t)
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
	ctx := parallel(t)
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

// TestKeyChangesAreAudited: every change to a key writes its audit entry in the same
// transaction, naming who made it; an entry that cannot be written undoes the change.
func TestKeyChangesAreAudited(t *testing.T) {
	t.Parallel()
	ctx := WithActor(context.Background(), "starter keys (user ada)")
	type row struct{ action, outcome, by string }
	trail := func(id int64) []row {
		entries, err := testStore.ListKeyAudit(ctx, id)
		require.NoError(t, err)
		var out []row
		for _, e := range entries {
			require.Equal(t, id, e.KeyID)
			out = append(out, row{e.Action, e.Outcome, e.Details["by"].(string)})
		}
		return out
	}

	_, created, err := testStore.CreateAPIKey(ctx, uid("billing"), []string{"read"})
	require.NoError(t, err)
	_, err = testStore.RevokeAPIKey(ctx, strconv.FormatInt(created.ID, 10))
	require.NoError(t, err)
	_, err = testStore.RevokeAPIKey(ctx, strconv.FormatInt(created.ID, 10))
	require.NoError(t, err, "revoking again changes nothing and is not recorded again")
	require.Equal(t, []row{
		{AuditKeyCreate, AuditApplied, "starter keys (user ada)"},
		{AuditKeyRevoke, AuditRevoked, "starter keys (user ada)"},
	}, trail(created.ID))

	dev := WithActor(context.Background(), "devrun")
	token := TokenPrefix + strings.Repeat("d", 40) + uid("")
	name := uid("dev")
	k, err := testStore.EnsureAPIKey(dev, name, token, []string{"read"})
	require.NoError(t, err)
	_, err = testStore.EnsureAPIKey(dev, name, token, []string{"read"})
	require.NoError(t, err, "registering the same again changes nothing and is not recorded")
	_, err = testStore.EnsureAPIKey(context.Background(), name, token, []string{"operator", "read"})
	require.NoError(t, err)
	_, err = testStore.RevokeAPIKeyToken(dev, token)
	require.NoError(t, err)
	require.Equal(t, []row{
		{AuditKeyRegister, AuditApplied, "devrun"},
		{AuditKeyScopes, AuditApplied, "unknown"},
		{AuditKeyRevoke, AuditRevoked, "devrun"},
	}, trail(k.ID))

	// An entry too large to write: neither it nor the key is committed.
	huge := WithActor(context.Background(), strings.Repeat("x", 3000))
	lost := uid("lost")
	_, _, err = testStore.CreateAPIKey(huge, lost, []string{"read"})
	require.ErrorIs(t, err, ErrInvalid)
	keys, err := testStore.ListAPIKeys(context.Background())
	require.NoError(t, err)
	for _, k := range keys {
		require.NotEqual(t, lost, k.Name, "the key was created without its audit entry")
	}
}
