package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/internal/ledgertest"
	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/ledger"
)

// realStore starts a throwaway PostgreSQL (or a fresh database on TEST_DATABASE_URL)
// with the ledger schema.
func realStore(tb testing.TB) *ledger.Store {
	tb.Helper()
	return ledgertest.Open(tb, testenv.NewPostgres(tb).URL())
}

// TestAgainstLedger runs the middleware on the real ledger: every scope can be
// granted, a key works, and its revocation (by the CLI's path, RevokeAPIKey) takes
// effect on the very next request, for the header and for a session alike.
func TestAgainstLedger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := realStore(t)
	token, key, err := store.CreateAPIKey(ctx, "ui", Strings(AllScopes()))
	require.NoError(t, err)
	m, err := New(store, nil)
	require.NoError(t, err)
	session := sessionCookie(t, startSession(t, m, token, false))

	h := m.Require(ScopeOperator)(echo)
	bearer := func() int {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	cookie := func() int {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.AddCookie(session)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	require.Equal(t, 200, bearer())
	require.Equal(t, 200, cookie())
	_, err = store.RevokeAPIKey(ctx, strconv.FormatInt(key.ID, 10))
	require.NoError(t, err)
	require.Equal(t, 401, bearer())
	require.Equal(t, 401, cookie())
}

// BenchmarkLookup measures what authentication costs a request: one indexed SELECT
// by token hash (the last-used write happens at most once a minute).
func BenchmarkLookup(b *testing.B) {
	ctx := context.Background()
	store := realStore(b)
	token, _, err := store.CreateAPIKey(ctx, "bench", []string{"read"})
	require.NoError(b, err)
	m, err := New(store, nil)
	require.NoError(b, err)
	h := m.Require(ScopeRead)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
