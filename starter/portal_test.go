package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPortalLinkAndPlanRequestCommands(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" "+string(body))
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v1/customers/C-42/portal-link" {
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"id": 7, "customer_id": "C-42", "url": "https://pay.example.com/p/AAAAAAAAAAAAAAAAAAAAAA", "expires_at": "2027-01-06T10:00:00Z"}`)
			return
		}
		_, _ = io.WriteString(w, `{}`)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("DUNWELL_API_URL", srv.URL)
	t.Setenv("DUNWELL_API_KEY", "k-test")
	ctx := context.Background()

	var out bytes.Buffer
	require.NoError(t, portalLink(ctx, []string{"C-42"}, &out))
	require.Equal(t, "https://pay.example.com/p/AAAAAAAAAAAAAAAAAAAAAA\n(link 7, works until 2027-01-06T10:00:00Z)\n", out.String())
	require.NoError(t, portalLink(ctx, []string{"revoke", "C-42", "7"}, io.Discard))
	require.NoError(t, portalLink(ctx, []string{"revoke", "C-42"}, io.Discard))
	require.NoError(t, planRequests(ctx, nil, io.Discard))
	require.NoError(t, planRequests(ctx, []string{"all"}, io.Discard))
	require.NoError(t, planRequests(ctx, []string{"approve", "3", "-reason", "fine"}, io.Discard))
	require.NoError(t, planRequests(ctx, []string{"reject", "4"}, io.Discard))
	require.Equal(t, []string{
		"POST /v1/customers/C-42/portal-link ",
		"DELETE /v1/customers/C-42/portal-links/7 ",
		"DELETE /v1/customers/C-42/portal-links ",
		"GET /v1/plan-requests?status=pending ",
		"GET /v1/plan-requests ",
		`POST /v1/plan-requests/3/approve {"reason":"fine"}`,
		`POST /v1/plan-requests/4/reject {"reason":""}`,
	}, seen)

	for _, bad := range [][]string{{}, {"revoke"}, {"revoke", "C-42", "seven"}, {"-x"}} {
		var u usageError
		require.ErrorAs(t, portalLink(ctx, bad, io.Discard), &u, "%q", bad)
	}
	for _, bad := range [][]string{{"maybe"}, {"approve", "x"}, {"approve", "3", "-why", "x"}} {
		var u usageError
		require.ErrorAs(t, planRequests(ctx, bad, io.Discard), &u, "%q", bad)
	}
}
