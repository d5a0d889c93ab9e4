package main

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/internal/ledgertest"
	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/ledger"
)

// TestKeysCommands runs `starter keys create|list|revoke` against a real PostgreSQL.
func TestKeysCommands(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg := testenv.NewPostgres(t)
	t.Setenv("DATABASE_URL", pg.URL())

	starter := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(ctx, args, strings.NewReader(""), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, errOut := starter("keys", "create", "--name", "ci", "--scope", "invoices:write,read")
	require.Equal(t, 0, code, errOut)
	token := regexp.MustCompile(`token:\s+(dw_\S+)`).FindStringSubmatch(out)
	require.Len(t, token, 2, out)
	require.Contains(t, out, "scopes: invoices:write,read")

	code, out, errOut = starter("keys", "list")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "ci")
	require.NotContains(t, out, token[1], "list never prints tokens")
	require.NotContains(t, out, "dw_")

	code, out, errOut = starter("keys", "revoke", "ci")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "revoked key 1 (ci)")
	code, _, errOut = starter("keys", "revoke", "ci")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "no active key")

	for _, args := range [][]string{
		{"keys"}, {"keys", "create", "--name", "x"}, {"keys", "create", "--name", "x", "--scope", "admin"},
		{"keys", "revoke"}, {"keys", "frobnicate"}, {"audit"},
	} {
		code, _, _ := starter(args...)
		require.Equal(t, 2, code, "%v", args)
	}
	t.Setenv("DATABASE_URL", "")
	code, _, errOut = starter("keys", "list")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "DATABASE_URL")
}

// TestServeRegistersTheDevKey checks serve's start-up part: DUNWELL_DEV_API_KEY is
// registered with every scope, idempotently, with a warning that never shows it.
func TestServeRegistersTheDevKey(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg := testenv.NewPostgres(t)
	store := ledgertest.Open(t, pg.URL())

	const devToken = "dw_local-development-key-not-for-production"
	t.Setenv(envDevAPIKey, devToken)
	t.Setenv(auth.EnvSessionSecret, "")
	for range 2 {
		var logs bytes.Buffer
		m, err := setupAuth(ctx, store, slog.New(slog.NewTextHandler(&logs, nil)))
		require.NoError(t, err)
		require.NotNil(t, m)
		require.Contains(t, logs.String(), "DEVELOPMENT API KEY IS ACTIVE")
		require.NotContains(t, logs.String(), devToken)
	}
	k, err := store.LookupAPIKey(ctx, devToken)
	require.NoError(t, err)
	require.Equal(t, "dev", k.Name)
	require.Len(t, k.Scopes, len(auth.AllScopes()))
	keys, err := store.ListAPIKeys(ctx)
	require.NoError(t, err)
	require.Len(t, keys, 1, "registered once")

	// Another token does not take over the key named dev, and says what to do.
	t.Setenv(envDevAPIKey, devToken+"-other-run")
	_, err = setupAuth(ctx, store, slog.New(slog.DiscardHandler))
	require.ErrorIs(t, err, ledger.ErrKeyNameInUse)
	require.ErrorContains(t, err, "starter keys revoke dev")
	_, err = store.LookupAPIKey(ctx, devToken)
	require.NoError(t, err, "the existing dev key is left alone")

	t.Setenv(envDevAPIKey, "weak")
	_, err = setupAuth(ctx, store, slog.New(slog.DiscardHandler))
	require.Error(t, err)
	require.NotContains(t, err.Error(), "weak")
	t.Setenv(envDevAPIKey, "")
	t.Setenv(auth.EnvSessionSecret, "too-short")
	_, err = setupAuth(ctx, store, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, auth.EnvSessionSecret)
}
