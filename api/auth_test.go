package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/internal/ledgertest"
	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/policies"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// The API tests run the real handlers, the real auth middleware and the real ledger
// (a throwaway PostgreSQL shared by the package); only Temporal is a fake (fakeTemporal).
var (
	testPG    *testenv.Postgres
	testStore *ledger.Store
)

func TestMain(m *testing.M) {
	flag.Parse()
	testenv.IsolateDefaultClient()
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	return ledgertest.RunWithStore(m, "api", func(pg *testenv.Postgres, store *ledger.Store) {
		testPG, testStore = pg, store
	})
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
// for started invoices and NotFound otherwise, payment updates dedupe by payment id,
// and the operator actions' updates (refund, dispute, cancel, ...) are accepted as if
// the workflow's state allowed them. An update is refused (InvalidArgument, which the
// API answers 500) if the workflow has no such update or its argument is not of the
// type the workflow's handler takes. Any other method panics (nil embedded
// interface), which the API turns into 500.
type fakeTemporal struct {
	client.Client
	mu       sync.Mutex
	started  map[string]bool
	payments map[string]bool
	starts   int
	updates  []string // the names of the updates sent, in order
	// views, when set for a workflow id, is the state its query answers; args are
	// the arguments of the updates sent, by workflow id; rejects answers an update by
	// name with an error instead (the workflow's validator refusing it).
	views map[string]collection.View
	// policies is the policy snapshot each started invoice runs under (the policy
	// query), as the start input carried it unless a test changes it.
	policies map[string]policy.Policy
	args     map[string][]any
	rejects  map[string]error
	signals  []string
	// updateIDs are the ids of the updates sent, in order; onUpdate, when set, runs
	// as the workflow's part of an accepted update (its ledger write).
	updateIDs []string
	onUpdate  func(name string, arg any) error
}

// updateArgs is the argument type of each update the workflow registers
// (workflows/handlers.go, workflows/lifecycle.go).
var updateArgs = map[string]reflect.Type{
	invoiceapi.UpdatePayment:        reflect.TypeFor[invoiceapi.PaymentInput](),
	invoiceapi.UpdateRefund:         reflect.TypeFor[invoiceapi.RefundInput](),
	invoiceapi.UpdateAdjust:         reflect.TypeFor[invoiceapi.AdjustInput](),
	invoiceapi.UpdateDispute:        reflect.TypeFor[invoiceapi.DisputeInput](),
	invoiceapi.UpdateResolveDispute: reflect.TypeFor[invoiceapi.ResolveDisputeInput](),
	invoiceapi.UpdatePromise:        reflect.TypeFor[invoiceapi.PromiseInput](),
	invoiceapi.UpdatePlan:           reflect.TypeFor[invoiceapi.PlanInput](),
	invoiceapi.UpdatePause:          reflect.TypeFor[invoiceapi.PauseInput](),
	invoiceapi.UpdateResume:         reflect.TypeFor[invoiceapi.ReasonInput](),
	invoiceapi.UpdateApprove:        reflect.TypeFor[invoiceapi.ReasonInput](),
	invoiceapi.UpdateReject:         reflect.TypeFor[invoiceapi.ReasonInput](),
	invoiceapi.UpdateCancel:         reflect.TypeFor[invoiceapi.ReasonInput](),
	invoiceapi.UpdateWriteOff:       reflect.TypeFor[invoiceapi.ReasonInput](),
	invoiceapi.UpdateChangePolicy:   reflect.TypeFor[invoiceapi.ChangePolicyInput](),
	invoiceapi.UpdateChangeDueDate:  reflect.TypeFor[invoiceapi.ChangeDueDateInput](),
	invoiceapi.UpdateCallOutcome:    reflect.TypeFor[invoiceapi.CallOutcomeInput](),
}

func newFakeTemporal() *fakeTemporal {
	return &fakeTemporal{started: map[string]bool{}, payments: map[string]bool{}, views: map[string]collection.View{},
		policies: map[string]policy.Policy{}, args: map[string][]any{}, rejects: map[string]error{}}
}

type fakeRun struct {
	client.WorkflowRun
	id string
}

func (r fakeRun) GetID() string    { return r.id }
func (r fakeRun) GetRunID() string { return "run-" + r.id }

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts++
	if f.started[o.ID] {
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", "run-"+o.ID)
	}
	f.started[o.ID] = true
	if len(args) == 1 {
		if in, ok := args[0].(invoiceapi.CollectionInput); ok {
			f.policies[o.ID] = in.Policy
		}
	}
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

func (f *fakeTemporal) QueryWorkflow(_ context.Context, workflowID, _, query string, _ ...any) (converter.EncodedValue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.started[workflowID] {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	if query == invoiceapi.QueryPolicy {
		return fakeValue{f.policies[workflowID]}, nil
	}
	if v, ok := f.views[workflowID]; ok {
		return fakeValue{v}, nil
	}
	return fakeValue{collection.View{InvoiceID: strings.TrimPrefix(workflowID, "invoice-"), Status: collection.StatusOpen}}, nil
}

// DescribeWorkflowExecution answers NotFound for an invoice never started; a started
// one is running (the fake never closes a workflow).
func (f *fakeTemporal) DescribeWorkflowExecution(_ context.Context, workflowID, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.started[workflowID] {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Status: enums.WORKFLOW_EXECUTION_STATUS_RUNNING}}, nil
}

type fakeUpdate struct {
	client.WorkflowUpdateHandle
	payment invoiceapi.PaymentResult
	event   invoiceapi.EventResult
}

func (u fakeUpdate) Get(_ context.Context, ptr any) error {
	switch p := ptr.(type) {
	case *invoiceapi.PaymentResult:
		*p = u.payment
	case *invoiceapi.EventResult:
		*p = u.event
	default:
		return fmt.Errorf("fake update: cannot decode the result into %T", ptr)
	}
	return nil
}

func (f *fakeTemporal) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.started[o.WorkflowID] {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	want, known := updateArgs[o.UpdateName]
	if !known || len(o.Args) != 1 || reflect.TypeOf(o.Args[0]) != want {
		return nil, serviceerror.NewInvalidArgument(fmt.Sprintf("fake: update %q with arguments %#v", o.UpdateName, o.Args))
	}
	if err := f.rejects[o.UpdateName]; err != nil {
		return nil, err
	}
	f.updates = append(f.updates, o.UpdateName)
	f.updateIDs = append(f.updateIDs, o.UpdateID)
	f.args[o.WorkflowID] = append(f.args[o.WorkflowID], o.Args[0])
	if f.onUpdate != nil {
		if err := f.onUpdate(o.UpdateName, o.Args[0]); err != nil {
			return nil, err
		}
	}
	if o.UpdateName != invoiceapi.UpdatePayment {
		return fakeUpdate{event: invoiceapi.EventResult{Status: collection.StatusOpen}}, nil
	}
	in := o.Args[0].(invoiceapi.PaymentInput)
	key := o.WorkflowID + "/" + in.PaymentID
	res := invoiceapi.PaymentResult{Duplicate: f.payments[key], Status: collection.StatusOpen}
	if !res.Duplicate {
		res.Applied = in.Amount
	}
	f.payments[key] = true
	return fakeUpdate{payment: res}, nil
}

// SignalWorkflow records a signal to a started workflow ("<workflow id> <name>").
func (f *fakeTemporal) SignalWorkflow(_ context.Context, workflowID, _, name string, _ any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.started[workflowID] {
		return serviceerror.NewNotFound("workflow not found")
	}
	f.signals = append(f.signals, workflowID+" "+name)
	return nil
}

// SignalWithStartWorkflow records a signal that starts its workflow if needed ("<workflow
// id> <name>"), and the account's issued announcements.
func (f *fakeTemporal) SignalWithStartWorkflow(_ context.Context, workflowID, name string, arg any, _ client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signals = append(f.signals, workflowID+" "+name)
	f.args[workflowID] = append(f.args[workflowID], arg)
	return fakeRun{id: workflowID}, nil
}

// updateNames returns the names of the updates sent so far, in order.
func (f *fakeTemporal) updateNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.updates)
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

// newRequest builds a request with body, sent as contentType (application/json when
// empty and there is a body), and headers given as name, value pairs.
func newRequest(t testing.TB, method, url, body, contentType string, headers []string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if contentType == "" && body != "" {
		contentType = "application/json"
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	return req
}

func call(t testing.TB, srv *testServer, method, path, body string, headers ...string) answer {
	t.Helper()
	resp, err := srv.Client().Do(newRequest(t, method, srv.URL+path, body, "", headers))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{code: resp.StatusCode, header: resp.Header, body: b}
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

// TestEveryRouteRequiresItsScope checks every Bearer-protected /v1/ route against
// every kind of credential. For the right scope it proves that authentication and
// authorisation passed and the real handler ran to a normal answer (against the real
// ledger and a fake Temporal, which accepts every operator action as if the invoice's
// state allowed it); it does not prove anything about Temporal itself.
//
// The table must name every route registered behind s.require, and only those: the
// test reads the server's routes (Server.Routes) and fails while a registered
// route is missing here, so a new route must be added to the table with its scope.
func TestEveryRouteRequiresItsScope(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore, func(s *Server) { s.Portal.PublicURL = testPublicURL })
	ctx := context.Background()

	// An issued invoice (of customer C-1) for the routes that need one.
	admin, adminKey := newKey(t, testStore, auth.AllScopes()...)
	inv := uid("INV")
	require.Equal(t, http.StatusCreated, call(t, srv, "POST", "/v1/invoices", invoiceJSON(inv, "100.00"), bearer(admin)...).code)

	// A parked webhook event for the retry route (the right scope's call requeues it).
	evID := uid("evt")
	sum := sha256.Sum256([]byte(evID))
	stored, err := testStore.StoreWebhookEvent(ctx, ledger.NewWebhookEvent{Source: "payments", EventID: evID,
		EventType: "payment.succeeded", Kind: "payment", InvoiceID: inv, PaymentID: "pay-" + evID, Currency: "EUR",
		Amount: 100, Event: json.RawMessage(`{}`), BodySHA256: sum[:]})
	require.NoError(t, err)
	require.True(t, stored)
	ev, err := testStore.GetWebhookEvent(ctx, "payments", evID)
	require.NoError(t, err)
	require.NoError(t, testStore.ParkWebhookEvent(ctx, ev.ID, "parked by TestEveryRouteRequiresItsScope"))

	// A portal link of C-1 and two plan requests asked through it, for the portal routes.
	inv2 := uid("INV")
	require.Equal(t, http.StatusCreated, call(t, srv, "POST", "/v1/invoices", invoiceJSON(inv2, "100.00"), bearer(admin)...).code)
	portalLink, err := testStore.CreatePortalLink(ctx, sum[:], "C-1", "test", time.Now().Add(time.Hour))
	require.NoError(t, err)
	planRequest := func(invoiceID string) ledger.PlanRequest {
		p, err := testStore.CreatePlanRequest(ctx, ledger.PlanRequest{InvoiceID: invoiceID, CustomerID: "C-1", LinkID: portalLink.ID, Currency: "EUR",
			Installments: []ledger.PlanInstallment{{DueDate: "2026-04-30", Amount: 5000}, {DueDate: "2026-05-31", Amount: 5000}}},
			func(p ledger.PlanRequest) ledger.AuditEntry {
				return ledger.AuditEntry{Action: ledger.AuditPlanRequest, InvoiceID: p.InvoiceID}
			})
		require.NoError(t, err)
		return p
	}
	approvable, rejectable := planRequest(inv), planRequest(inv2)

	// Tasks: a call about inv to complete, a reply of C-1 to snooze and assign.
	callTask, _, err := testStore.CreateTask(ctx, ledger.NewTask{Key: "call:" + inv + "/call", Kind: ledger.TaskCall,
		CustomerID: "C-1", InvoiceID: inv, Step: "call"})
	require.NoError(t, err)
	replyTask, _, err := testStore.CreateTask(ctx, ledger.NewTask{Key: "reply:" + uid("msg"), Kind: ledger.TaskReply, CustomerID: "C-1"})
	require.NoError(t, err)
	callID, replyID := strconv.FormatInt(callTask.ID, 10), strconv.FormatInt(replyTask.ID, 10)

	unknown, err := ledger.NewAPIKeyToken()
	require.NoError(t, err)
	tokens := []string{admin, unknown}

	reason := func(r string) func() string { return func() string { return fmt.Sprintf(`{"reason": %q}`, r) } }
	none := func() string { return "" }
	routes := []struct {
		pattern string // as registered: "METHOD /v1/..."
		id      string // replaces {id} in the pattern
		body    func() string
		scope   auth.Scope
		okCode  int
		update  string // the workflow update the right scope's call sends, if any
	}{
		// server.go
		{"POST /v1/invoices", "", func() string { return invoiceJSON(uid("INV"), "10.00") }, auth.ScopeInvoicesWrite, http.StatusCreated, ""},
		{"GET /v1/invoices/{id}", inv, none, auth.ScopeRead, http.StatusOK, ""},
		{"POST /v1/invoices/{id}/payments", inv, func() string { return paymentJSON(uid("pay"), "1.00", "EUR") }, auth.ScopePaymentsWrite, http.StatusOK, invoiceapi.UpdatePayment},
		{"GET /v1/invoices/{id}/audit", inv, none, auth.ScopeRead, http.StatusOK, ""},
		{"GET /v1/webhooks/events", "", none, auth.ScopeRead, http.StatusOK, ""},
		{"POST /v1/webhooks/events/{id}/retry", strconv.FormatInt(ev.ID, 10), none, auth.ScopeOperator, http.StatusOK, ""},
		// actions.go (actionRoutes)
		{"POST /v1/invoices/{id}/dispute", inv, func() string {
			return fmt.Sprintf(`{"dispute_id": %q, "reason": "not delivered", "resolve_by": "2026-05-15"}`, uid("dsp"))
		}, auth.ScopeOperator, http.StatusOK, invoiceapi.UpdateDispute},
		{"POST /v1/invoices/{id}/dispute/resolve", inv, func() string {
			return `{"outcome": "upheld", "adjust_amount": "10.00", "reason": "one item was missing"}`
		}, auth.ScopeOperator, http.StatusOK, invoiceapi.UpdateResolveDispute},
		{"POST /v1/invoices/{id}/promise", inv, func() string {
			return `{"date": "2026-04-15", "amount": "50.00", "reason": "phone call"}`
		}, auth.ScopeOperator, http.StatusOK, invoiceapi.UpdatePromise},
		{"POST /v1/invoices/{id}/plan", inv, func() string {
			return `{"installments": [{"due_date": "2026-04-30", "amount": "50.00"}, {"due_date": "2026-05-31", "amount": "50.00"}],
				"grace_days": 3, "reason": "cash flow"}`
		}, auth.ScopeOperator, http.StatusOK, invoiceapi.UpdatePlan},
		{"POST /v1/invoices/{id}/pause", inv, func() string { return `{"reason": "customer on holiday", "until": "2026-04-20"}` },
			auth.ScopeOperator, http.StatusOK, invoiceapi.UpdatePause},
		{"POST /v1/invoices/{id}/resume", inv, reason("back from holiday"), auth.ScopeOperator, http.StatusOK, invoiceapi.UpdateResume},
		{"POST /v1/invoices/{id}/approval/approve", inv, reason("go ahead"), auth.ScopeOperator, http.StatusOK, invoiceapi.UpdateApprove},
		{"POST /v1/invoices/{id}/approval/reject", inv, reason("not now"), auth.ScopeOperator, http.StatusOK, invoiceapi.UpdateReject},
		{"POST /v1/invoices/{id}/escalation/approve", inv, reason("go ahead"), auth.ScopeOperator, http.StatusOK, invoiceapi.UpdateApprove},
		{"POST /v1/invoices/{id}/escalation/reject", inv, reason("not now"), auth.ScopeOperator, http.StatusOK, invoiceapi.UpdateReject},
		{"POST /v1/invoices/{id}/write-off", inv, reason("uncollectable"), auth.ScopeOperator, http.StatusOK, invoiceapi.UpdateWriteOff},
		{"POST /v1/invoices/{id}/cancel", inv, reason("issued in error"), auth.ScopeInvoicesWrite, http.StatusOK, invoiceapi.UpdateCancel},
		{"POST /v1/invoices/{id}/adjustments", inv, func() string {
			return fmt.Sprintf(`{"adjustment_id": %q, "kind": "adjustment", "amount": "-5.00", "currency": "EUR", "reason": "discount"}`, uid("adj"))
		}, auth.ScopeInvoicesWrite, http.StatusOK, invoiceapi.UpdateAdjust},
		{"POST /v1/invoices/{id}/refunds", inv, func() string {
			return fmt.Sprintf(`{"refund_id": %q, "amount": "1.00", "currency": "EUR", "reason": "goodwill"}`, uid("ref"))
		}, auth.ScopePaymentsWrite, http.StatusOK, invoiceapi.UpdateRefund},
		{"POST /v1/invoices/{id}/policy", inv, func() string { return `{"policy": "gentle", "reason": "good customer"}` },
			auth.ScopeOperator, http.StatusOK, invoiceapi.UpdateChangePolicy},
		{"POST /v1/invoices/{id}/due-date", inv, func() string { return `{"due_date": "2026-04-30", "reason": "agreed extension"}` },
			auth.ScopeInvoicesWrite, http.StatusOK, invoiceapi.UpdateChangeDueDate},
		// reports.go
		{"GET /v1/reports/kpis", "", none, auth.ScopeRead, http.StatusOK, ""},
		{"GET /v1/reports/aging", "", none, auth.ScopeRead, http.StatusOK, ""},
		{"GET /v1/reports/steps", "", none, auth.ScopeRead, http.StatusOK, ""},
		{"GET /v1/reports/trend", "", none, auth.ScopeRead, http.StatusOK, ""},
		{"GET /v1/reports/forecast", "", none, auth.ScopeRead, http.StatusOK, ""},
		{"GET /v1/reports/collectors", "", none, auth.ScopeRead, http.StatusOK, ""},
		{"GET /v1/customers/{id}", "C-1", none, auth.ScopeRead, http.StatusOK, ""},
		// timeline.go
		{"GET /v1/customers/{id}/timeline", "C-1", none, auth.ScopeRead, http.StatusOK, ""},
		{"POST /v1/customers/{id}/notes", "C-1", func() string { return `{"text": "called, no answer"}` }, auth.ScopeOperator, http.StatusCreated, ""},
		// assignees.go
		{"PUT /v1/customers/{id}/assignee", "C-1", func() string { return fmt.Sprintf(`{"assignee": %q}`, adminKey.Name) }, auth.ScopeOperator, http.StatusOK, ""},
		{"DELETE /v1/customers/{id}/assignee", "C-1", none, auth.ScopeOperator, http.StatusOK, ""},
		{"GET /v1/customers/{id}/contact-preferences", "C-1", none, auth.ScopeRead, http.StatusOK, ""},
		{"PUT /v1/customers/{id}/contact-preferences", "C-1", func() string { return `{"channel_order": ["sms", "email"]}` }, auth.ScopeOperator, http.StatusOK, ""},
		// bank.go: the import answers 415 to this JSON body, which shows the handler ran.
		{"POST /v1/bank-statements", "", func() string { return "{}" }, auth.ScopePaymentsWrite, http.StatusUnsupportedMediaType, ""},
		{"GET /v1/bank-transactions", "", none, auth.ScopeRead, http.StatusOK, ""},
		{"GET /v1/bank-transactions/{id}", "999999999", none, auth.ScopeRead, http.StatusNotFound, ""},
		{"POST /v1/bank-transactions/{id}/match", "999999999", func() string { return `{"invoice_ids": ["INV-x"]}` }, auth.ScopeOperator, http.StatusNotFound, ""},
		{"POST /v1/bank-transactions/{id}/ignore", "999999999", reason("not ours"), auth.ScopeOperator, http.StatusNotFound, ""},
		// letters.go
		{"GET /v1/letters", "", none, auth.ScopeRead, http.StatusOK, ""},
		{"GET /v1/letters/{id}", "999999999", none, auth.ScopeRead, http.StatusNotFound, ""},
		{"GET /v1/letters/{id}/pdf", "999999999", none, auth.ScopeRead, http.StatusNotFound, ""},
		{"POST /v1/letters/{id}/mailed", "999999999", none, auth.ScopeOperator, http.StatusNotFound, ""},
		{"GET /v1/reports/bank", "", none, auth.ScopeRead, http.StatusOK, ""},
		{"GET /v1/customers/{id}/statement", "C-1", none, auth.ScopeRead, http.StatusOK, ""},
		// portal.go
		{"POST /v1/customers/{id}/portal-link", "C-1", none, auth.ScopeOperator, http.StatusCreated, ""},
		{"DELETE /v1/customers/{id}/portal-links/{link}", "C-1/portal-links/" + strconv.FormatInt(portalLink.ID, 10) + "#", none, auth.ScopeOperator, http.StatusOK, ""},
		{"DELETE /v1/customers/{id}/portal-links", "C-1", none, auth.ScopeOperator, http.StatusOK, ""},
		{"GET /v1/plan-requests", "", none, auth.ScopeRead, http.StatusOK, ""},
		{"POST /v1/plan-requests/{id}/approve", strconv.FormatInt(approvable.ID, 10), reason("fine"), auth.ScopeOperator, http.StatusOK, invoiceapi.UpdatePlan},
		{"POST /v1/plan-requests/{id}/reject", strconv.FormatInt(rejectable.ID, 10), reason("no"), auth.ScopeOperator, http.StatusOK, ""},
		// tasks.go
		{"GET /v1/tasks", "", none, auth.ScopeRead, http.StatusOK, ""},
		{"GET /v1/tasks/{id}", callID, none, auth.ScopeRead, http.StatusOK, ""},
		{"POST /v1/tasks/{id}/complete", callID, func() string { return `{"outcome": "no_answer"}` }, auth.ScopeOperator, http.StatusOK, ""},
		{"POST /v1/tasks/{id}/snooze", replyID, func() string { return `{"until": "2999-01-01"}` }, auth.ScopeOperator, http.StatusOK, ""},
		{"POST /v1/tasks/{id}/assign", replyID, func() string { return fmt.Sprintf(`{"assignee": %q}`, adminKey.Name) }, auth.ScopeOperator, http.StatusOK, ""},
	}

	// The table is complete: exactly the /v1/ routes registered behind s.require; the
	// others are signed by their provider or are the session itself.
	bearerRoutes, otherRoutes := registeredV1Routes(t)
	var patterns []string
	for _, rt := range routes {
		patterns = append(patterns, rt.pattern)
	}
	require.ElementsMatch(t, patterns, slices.Sorted(maps.Keys(bearerRoutes)),
		"the table must list every /v1/ route registered behind s.require, and only those")
	for _, rt := range routes {
		require.Equal(t, string(rt.scope), bearerRoutes[rt.pattern], "%s: the scope it is registered with", rt.pattern)
	}
	require.ElementsMatch(t, []string{
		"POST /v1/webhooks/stripe", "POST /v1/webhooks/payments", "POST /v1/webhooks/twilio", "POST /v1/webhooks/sendgrid",
		"POST /v1/webhooks/sendgrid/inbound/{token}", // unsigned by SendGrid: a secret token in its URL (replies.go)
		"POST /v1/session", "DELETE /v1/session",
	}, slices.Sorted(maps.Keys(otherRoutes)), "a /v1/ route without s.require must be a provider-signed webhook or the session (registered: %v)", otherRoutes)

	// The subtests run one at a time: each compares the fake's starts and updates
	// before and after its own request.
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt.pattern, " ")
		path = strings.ReplaceAll(path, "{id}", rt.id)
		path, _, _ = strings.Cut(path, "#") // an id that stands for more of the path ends in #
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
		tokens = append(tokens, right, wrong, revoked)

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
			t.Run(rt.pattern+"/"+tc.name, func(t *testing.T) {
				starts, updates := srv.temporal.startCount(), srv.temporal.updateNames()
				a := call(t, srv, method, path, rt.body(), tc.headers...)
				require.Equal(t, tc.code, a.code, string(a.body))
				switch tc.code {
				case http.StatusUnauthorized:
					require.True(t, strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer"), a.header)
					require.NotEmpty(t, a.errorText(t))
					require.Equal(t, starts, srv.temporal.startCount(), "nothing started")
					require.Equal(t, updates, srv.temporal.updateNames(), "nothing updated")
				case http.StatusForbidden:
					require.Contains(t, a.errorText(t), string(rt.scope))
					require.Equal(t, starts, srv.temporal.startCount(), "nothing started")
					require.Equal(t, updates, srv.temporal.updateNames(), "nothing updated")
				default:
					require.True(t, json.Valid(a.body), string(a.body))
					if rt.update != "" {
						require.Equal(t, append(updates, rt.update), srv.temporal.updateNames(), "the handler sent its update")
					}
				}
			})
		}
	}

	// The provider-signed webhooks do not ask for a Bearer key (unconfigured here, they
	// answer 503; their signatures are tested in webhooks_test.go and webhooks_delivery_test.go).
	for _, path := range []string{"/v1/webhooks/stripe", "/v1/webhooks/payments", "/v1/webhooks/twilio", "/v1/webhooks/sendgrid"} {
		a := call(t, srv, "POST", path, "{}")
		require.NotEqual(t, http.StatusUnauthorized, a.code, path)
		require.Empty(t, a.header.Get("WWW-Authenticate"), path)
	}

	for _, tok := range tokens {
		require.NotContains(t, srv.logs.String(), tok, "tokens are never logged")
	}
}

// registeredV1Routes returns every /v1/ route the server registers (Server.Routes),
// as "METHOD /path": bearer maps those behind s.require to their scope, other lists
// the rest.
func registeredV1Routes(t *testing.T) (bearer, other map[string]string) {
	t.Helper()
	bearer, other = map[string]string{}, map[string]string{}
	s := &Server{Logger: slog.New(slog.DiscardHandler)}
	for _, r := range s.Routes() {
		if !strings.HasPrefix(r.Path, "/v1/") {
			continue
		}
		require.NotEmpty(t, r.Method, "route %s has no method", r.Path)
		if r.Scope != "" {
			bearer[r.Method+" "+r.Path] = string(r.Scope)
		} else {
			other[r.Method+" "+r.Path] = ""
		}
	}
	return bearer, other
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
