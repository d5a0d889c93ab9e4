package api

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/policies"
	"github.com/dunwell/dunwell/workflows"
)

// The API tests run the real handlers, the real auth middleware and the real ledger
// (a throwaway PostgreSQL shared by the package); only Temporal is a fake (fakeTemporal).
var (
	testPG    *testenv.Postgres
	testStore *ledger.Store
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := testenv.StartPostgres(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "api tests:", err)
		return 1
	}
	defer func() { _ = pg.Stop() }()
	testPG = pg
	testStore, err = ledger.Open(ctx, pg.URL(), ledger.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "api tests:", err)
		return 1
	}
	defer testStore.Close()
	return m.Run()
}

var idSeq struct {
	sync.Mutex
	n int
}

// uid returns an id unique to this run (ids must match collection.IDPattern).
func uid(prefix string) string {
	idSeq.Lock()
	defer idSeq.Unlock()
	idSeq.n++
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), idSeq.n)
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeTemporal stands in for the Temporal client: starts are remembered (a second
// start of the same workflow is "already started"), queries answer a minimal state
// for started invoices and NotFound otherwise, and payment updates dedupe by payment
// id. Any other method panics (nil embedded interface), which the API turns into 500.
type fakeTemporal struct {
	client.Client
	mu       sync.Mutex
	started  map[string]bool
	payments map[string]bool
	starts   int
}

func newFakeTemporal() *fakeTemporal {
	return &fakeTemporal{started: map[string]bool{}, payments: map[string]bool{}}
}

type fakeRun struct {
	client.WorkflowRun
	id string
}

func (r fakeRun) GetID() string    { return r.id }
func (r fakeRun) GetRunID() string { return "run-" + r.id }

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts++
	if f.started[o.ID] {
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", "run-"+o.ID)
	}
	f.started[o.ID] = true
	return fakeRun{id: o.ID}, nil
}

type fakeValue struct{ v any }

func (v fakeValue) HasValue() bool { return true }
func (v fakeValue) Get(ptr any) error {
	b, err := json.Marshal(v.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}

func (f *fakeTemporal) QueryWorkflow(_ context.Context, workflowID, _, _ string, _ ...any) (converter.EncodedValue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.started[workflowID] {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	return fakeValue{collection.View{InvoiceID: strings.TrimPrefix(workflowID, "invoice-"), Status: collection.StatusOpen}}, nil
}

type fakeUpdate struct {
	client.WorkflowUpdateHandle
	res workflows.PaymentResult
}

func (u fakeUpdate) Get(_ context.Context, ptr any) error {
	*(ptr.(*workflows.PaymentResult)) = u.res
	return nil
}

func (f *fakeTemporal) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.started[o.WorkflowID] {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	in := o.Args[0].(workflows.PaymentInput)
	key := o.WorkflowID + "/" + in.PaymentID
	res := workflows.PaymentResult{Duplicate: f.payments[key], Status: collection.StatusOpen}
	if !res.Duplicate {
		res.Applied = in.Amount
	}
	f.payments[key] = true
	return fakeUpdate{res: res}, nil
}

func (f *fakeTemporal) startCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starts
}

// testServer is the API on the shared ledger with a fake Temporal.
type testServer struct {
	*httptest.Server
	temporal *fakeTemporal
	logs     *syncBuffer
}

func newTestServer(t testing.TB, store *ledger.Store, mutate ...func(*Server)) *testServer {
	t.Helper()
	set, err := policies.Load("", "standard")
	require.NoError(t, err)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	authn, err := auth.New(store, logger)
	require.NoError(t, err)
	ft := newFakeTemporal()
	s := &Server{Temporal: ft, Ledger: store, Policies: set, Logger: logger, Auth: authn}
	for _, f := range mutate {
		f(s)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return &testServer{Server: hs, temporal: ft, logs: logs}
}

// newKey creates an API key with the given scopes and returns its token.
func newKey(t testing.TB, store *ledger.Store, scopes ...auth.Scope) (string, ledger.APIKey) {
	t.Helper()
	token, k, err := store.CreateAPIKey(context.Background(), uid("k"), auth.Strings(scopes))
	require.NoError(t, err)
	return token, k
}

func invoiceJSON(id, amount string) string {
	return fmt.Sprintf(`{"id": %q, "customer": {"id": "C-1", "name": "Ada", "email": "ada@example.com",
		"timezone": "Europe/Paris"}, "currency": "EUR", "amount_due": %q,
		"issued_at": "2026-03-01T10:00:00Z", "due_date": "2026-03-31"}`, id, amount)
}

func paymentJSON(paymentID, amount, currency string) string {
	return fmt.Sprintf(`{"payment_id": %q, "amount": %q, "currency": %q}`, paymentID, amount, currency)
}

type answer struct {
	code   int
	header http.Header
	body   []byte
}

func (a answer) errorText(t testing.TB) string {
	t.Helper()
	var e ErrorBody
	require.NoError(t, json.Unmarshal(a.body, &e), string(a.body))
	return e.Error
}

func call(t testing.TB, srv *testServer, method, path, body string, headers ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{code: resp.StatusCode, header: resp.Header, body: b}
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

// TestEveryRouteRequiresItsScope checks every /v1/ route against every kind of
// credential. For the right scope it proves that authentication and authorisation
// passed and the real handler ran to a normal answer (against the real ledger and a
// fake Temporal); it does not prove anything about Temporal itself.
func TestEveryRouteRequiresItsScope(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore)
	ctx := context.Background()

	// An issued invoice for the routes that need one.
	admin, _ := newKey(t, testStore, auth.AllScopes()...)
	inv := uid("INV")
	require.Equal(t, http.StatusCreated, call(t, srv, "POST", "/v1/invoices", invoiceJSON(inv, "100.00"), bearer(admin)...).code)

	unknown, err := ledger.NewAPIKeyToken()
	require.NoError(t, err)

	routes := []struct {
		method, path string
		body         func() string
		scope        auth.Scope
		okCode       int
	}{
		{"POST", "/v1/invoices", func() string { return invoiceJSON(uid("INV"), "10.00") }, auth.ScopeInvoicesWrite, http.StatusCreated},
		{"GET", "/v1/invoices/" + inv, func() string { return "" }, auth.ScopeRead, http.StatusOK},
		{"POST", "/v1/invoices/" + inv + "/payments", func() string { return paymentJSON(uid("pay"), "1.00", "EUR") }, auth.ScopePaymentsWrite, http.StatusOK},
		{"GET", "/v1/invoices/" + inv + "/audit", func() string { return "" }, auth.ScopeRead, http.StatusOK},
	}
	for _, rt := range routes {
		// Keys made for this route: its scope only; every other scope; and a revoked
		// key that had every scope.
		right, _ := newKey(t, testStore, rt.scope)
		var others []auth.Scope
		for _, s := range auth.AllScopes() {
			if s != rt.scope {
				others = append(others, s)
			}
		}
		wrong, _ := newKey(t, testStore, others...)
		revoked, rk := newKey(t, testStore, auth.AllScopes()...)
		_, err := testStore.RevokeAPIKey(ctx, rk.Name)
		require.NoError(t, err)

		for _, tc := range []struct {
			name    string
			headers []string
			code    int
		}{
			{"no header", nil, http.StatusUnauthorized},
			{"malformed header", []string{"Authorization", "Token " + right}, http.StatusUnauthorized},
			{"unknown key", bearer(unknown), http.StatusUnauthorized},
			{"revoked key", bearer(revoked), http.StatusUnauthorized},
			{"wrong scope", bearer(wrong), http.StatusForbidden},
			{"right scope: auth passes, handler answers", bearer(right), rt.okCode},
		} {
			t.Run(rt.method+" "+rt.path+"/"+tc.name, func(t *testing.T) {
				starts := srv.temporal.startCount()
				a := call(t, srv, rt.method, rt.path, rt.body(), tc.headers...)
				require.Equal(t, tc.code, a.code, string(a.body))
				switch tc.code {
				case http.StatusUnauthorized:
					require.True(t, strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer"), a.header)
					require.NotEmpty(t, a.errorText(t))
					require.Equal(t, starts, srv.temporal.startCount(), "nothing started")
				case http.StatusForbidden:
					require.Contains(t, a.errorText(t), string(rt.scope))
					require.Equal(t, starts, srv.temporal.startCount(), "nothing started")
				}
			})
		}
	}
	for _, tok := range []string{admin, unknown} {
		require.NotContains(t, srv.logs.String(), tok, "tokens are never logged")
	}
}

// TestOpenRoutes checks that health stays open and that unauthenticated requests are
// refused before their body is read (so a bad or huge body still gets 401, not 400/413).
func TestOpenRoutesAndAuthBeforeBody(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore, func(s *Server) { s.MaxBodyBytes = 2048 })
	require.Equal(t, http.StatusOK, call(t, srv, "GET", "/healthz", "").code)
	for _, body := range []string{"{not json", strings.Repeat("x", 10_000), `{"id": 1}`} {
		a := call(t, srv, "POST", "/v1/invoices", body)
		require.Equal(t, http.StatusUnauthorized, a.code, string(a.body))
		a = call(t, srv, "POST", "/v1/invoices/INV-1/payments", body)
		require.Equal(t, http.StatusUnauthorized, a.code, string(a.body))
	}
	require.Zero(t, srv.temporal.startCount())
}

func TestNoAuthConfiguredFailsClosed(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore, func(s *Server) { s.Auth = nil })
	token, _ := newKey(t, testStore, auth.AllScopes()...)
	a := call(t, srv, "POST", "/v1/invoices", invoiceJSON(uid("INV"), "1.00"), bearer(token)...)
	require.Equal(t, http.StatusServiceUnavailable, a.code)
	require.Zero(t, srv.temporal.startCount())
}

func TestOversizedBody(t *testing.T) {
	t.Parallel()
	token, _ := newKey(t, testStore, auth.ScopeInvoicesWrite)
	big := `{"id": "` + strings.Repeat("x", 1<<20) + `"}`

	srv := newTestServer(t, testStore) // default: 1 MiB
	a := call(t, srv, "POST", "/v1/invoices", big, bearer(token)...)
	require.Equal(t, http.StatusRequestEntityTooLarge, a.code, string(a.body))
	require.Contains(t, a.errorText(t), "1048576 bytes")

	small := newTestServer(t, testStore, func(s *Server) { s.MaxBodyBytes = 1024 })
	a = call(t, small, "POST", "/v1/invoices", invoiceJSON(uid("INV"), "1.00")+strings.Repeat(" ", 1024), bearer(token)...)
	require.Equal(t, http.StatusRequestEntityTooLarge, a.code, string(a.body))
	a = call(t, small, "POST", "/v1/invoices", invoiceJSON(uid("INV"), "1.00"), bearer(token)...)
	require.Equal(t, http.StatusCreated, a.code, string(a.body))
}
