package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWebhooksParkedCallsTheAPI(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"events": []}`))
	}))
	defer srv.Close()
	t.Setenv("DUNWELL_API_URL", srv.URL)
	t.Setenv("DUNWELL_API_KEY", "dw_test")

	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"webhooks", "parked", "--held", "--limit", "7"}, strings.NewReader(""), &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	require.Equal(t, "/v1/webhooks/events", got.URL.Path)
	require.Equal(t, "parked,held", got.URL.Query().Get("status"))
	require.Equal(t, "7", got.URL.Query().Get("limit"))
	require.Equal(t, "Bearer dw_test", got.Header.Get("Authorization"))
	require.JSONEq(t, `{"events": []}`, out.String())

	code = run(context.Background(), []string{"webhooks", "retry", "42"}, strings.NewReader(""), &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	require.Equal(t, http.MethodPost, got.Method)
	require.Equal(t, "/v1/webhooks/events/42/retry", got.URL.Path)

	for _, args := range [][]string{{"webhooks"}, {"webhooks", "list"}, {"webhooks", "parked", "extra"}, {"webhooks", "parked", "--nope"},
		{"webhooks", "retry", "x"}, {"webhooks", "retry"}} {
		require.Equal(t, 2, run(context.Background(), args, strings.NewReader(""), &out, &errOut), "%v", args)
	}
}
