package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// A Temporal that does not answer in time gives 503 with Retry-After (the request is
// idempotent and safe to repeat), a fault 500; neither says more than the step.
func TestFailTellsOverloadFromFault(t *testing.T) {
	s := &Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, tc := range []struct {
		err  error
		code int
	}{
		{client.NewWorkflowUpdateServiceTimeoutOrCanceledError(context.DeadlineExceeded), http.StatusServiceUnavailable},
		{serviceerror.NewDeadlineExceeded("slow"), http.StatusServiceUnavailable},
		{serviceerror.NewResourceExhausted(0, "busy"), http.StatusServiceUnavailable},
		{serviceerror.NewUnavailable("down"), http.StatusServiceUnavailable},
		{context.DeadlineExceeded, http.StatusServiceUnavailable},
		{errors.New("pq: relation does not exist"), http.StatusInternalServerError},
	} {
		rec := httptest.NewRecorder()
		s.fail(rec, httptest.NewRequest(http.MethodPost, "/v1/invoices/INV-1/payments", nil), "applying the payment", tc.err)
		if rec.Code != tc.code {
			t.Errorf("%v: %d, want %d", tc.err, rec.Code, tc.code)
		}
		if tc.code == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") == "" {
			t.Errorf("%v: no Retry-After", tc.err)
		}
		if body := rec.Body.String(); strings.Contains(body, "pq:") || strings.Contains(body, "slow") || strings.Contains(body, "busy") {
			t.Errorf("%v: the answer leaks the cause: %s", tc.err, body)
		}
	}
}
