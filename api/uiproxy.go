package api

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strings"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// The Temporal UI behind the API keys. With UIUpstream set, /ui/ proxies to a Temporal
// UI server started with --ui-public-path /ui. The UI server speaks for the whole
// WorkflowService (terminate, reset, batch operations, schedules, namespaces), and
// nothing it does reaches Dunwell's audit trail, so the proxy lets through only what
// Dunwell can stand behind:
//
//   - reads (GET, HEAD, and the POST of a workflow query) with the read scope;
//   - on an invoice's workflow, a cancellation request, which the proxy carries out as
//     the API's cancel action (POST /v1/invoices/{id}/cancel: scope invoices:write,
//     the workflow's own checks, a void adjustment, an audit row) instead of
//     Temporal's cancellation, which would close the run without any of them;
//   - on an invoice's workflow, an update the API sends too, with the scope the API
//     asks for it (payment: payments:write; refund: payments:write; cancel, adjust,
//     change-due-date: invoices:write; the others: operator), passed to the UI server
//     and audited under the API's action name with its outcome;
//   - nothing else: signals (the providers' webhooks send them), terminate, reset,
//     batch operations, schedules, namespace and search-attribute changes and any
//     route not named here answer 403.
//
// The UI and the codec endpoint share this server's origin, so the browser sends the
// sign-in session cookie with the UI's calls; the cookie acts only from this origin
// (auth.RequireBrowser). Without a session a browser gets the sign-in form. Dunwell's
// credentials never reach the UI server, and its CORS headers never reach the browser.

// uiKind is what the proxy does with a request.
type uiKind int

const (
	uiDeny   uiKind = iota // 403
	uiRead                 // forwarded with the read scope
	uiCancel               // carried out as the API's cancel action
	uiUpdate               // forwarded with the update's API scope, audited
)

// uiRoute is a request to the UI classified.
type uiRoute struct {
	kind      uiKind
	scope     auth.Scope
	invoiceID string
	act       action // uiCancel and uiUpdate: the API's action (uiUpdate payment: name only)
	update    string // uiUpdate: the update's name
	why       string // uiDeny: what was refused
}

// uiPaymentAction stands for the API's payment route, which is not an operator action.
var uiPaymentAction = action{name: "payment", scope: auth.ScopePaymentsWrite}

// uiUpdateRoutes are the updates the API sends, each with the route that sends it
// (actionRoutes), whose scope and audit name the UI proxy uses.
var uiUpdateRoutes = map[string]string{
	invoiceapi.UpdateDispute:        "dispute",
	invoiceapi.UpdateResolveDispute: "dispute/resolve",
	invoiceapi.UpdatePromise:        "promise",
	invoiceapi.UpdatePlan:           "plan",
	invoiceapi.UpdatePause:          "pause",
	invoiceapi.UpdateResume:         "resume",
	invoiceapi.UpdateApprove:        "approval/approve",
	invoiceapi.UpdateReject:         "approval/reject",
	invoiceapi.UpdateWriteOff:       "write-off",
	invoiceapi.UpdateCancel:         "cancel",
	invoiceapi.UpdateAdjust:         "adjustments",
	invoiceapi.UpdateRefund:         "refunds",
	invoiceapi.UpdateChangePolicy:   "policy",
	invoiceapi.UpdateChangeDueDate:  "due-date",
}

// classifyUI decides what the proxy does with a request for path (the URL path as
// the UI server will route it) and method. actions are the API's operator actions by
// route (actionRoutes).
func classifyUI(method, path, rawPath, namespace string, actions map[string]action) uiRoute {
	if method == http.MethodGet || method == http.MethodHead {
		return uiRoute{kind: uiRead, scope: auth.ScopeRead}
	}
	deny := func(why string) uiRoute { return uiRoute{kind: uiDeny, why: why} }
	if method != http.MethodPost {
		return deny(method + " is not allowed through the Temporal UI proxy")
	}
	if rawPath != "" {
		// An escaped slash or the like: the UI server might route it otherwise.
		return deny("an escaped path is not allowed through the Temporal UI proxy")
	}
	// /ui/api/v1/namespaces/{ns}/workflows/{workflow id}/{verb}[/{name}]
	seg := strings.Split(strings.TrimPrefix(path, "/ui/"), "/")
	if len(seg) < 7 || seg[0] != "api" || seg[1] != "v1" || seg[2] != "namespaces" || seg[3] == "" || seg[4] != "workflows" {
		return deny("POST " + path + " is not an action Dunwell allows from the Temporal UI")
	}
	verb, name := seg[6], ""
	if verb != "query" && seg[3] != namespace {
		// An invoice id is only unique within its namespace: a write for invoice-X
		// elsewhere must not act on Dunwell's invoice X.
		return deny("only workflows in the namespace " + namespace + " may be acted on from the Temporal UI")
	}
	if len(seg) == 8 {
		name = seg[7]
	}
	if len(seg) > 8 || (len(seg) == 8) != (verb == "query" || verb == "update" || verb == "signal") || (len(seg) == 8 && name == "") {
		return deny("POST " + path + " is not an action Dunwell allows from the Temporal UI")
	}
	if verb == "query" {
		return uiRoute{kind: uiRead, scope: auth.ScopeRead}
	}
	invoiceID, ok := strings.CutPrefix(seg[5], invoiceapi.WorkflowID(""))
	if !ok || !collection.IDPattern.MatchString(invoiceID) {
		return deny("only invoice workflows may be acted on from the Temporal UI")
	}
	switch verb {
	case "cancel":
		a, ok := actions[uiUpdateRoutes[invoiceapi.UpdateCancel]]
		if !ok {
			return deny("cancellation is not configured")
		}
		return uiRoute{kind: uiCancel, scope: a.scope, invoiceID: invoiceID, act: a, update: invoiceapi.UpdateCancel}
	case "update":
		if name == invoiceapi.UpdatePayment {
			return uiRoute{kind: uiUpdate, scope: uiPaymentAction.scope, invoiceID: invoiceID, act: uiPaymentAction, update: name}
		}
		if a, ok := actions[uiUpdateRoutes[name]]; ok && uiUpdateRoutes[name] != "" {
			return uiRoute{kind: uiUpdate, scope: a.scope, invoiceID: invoiceID, act: a, update: name}
		}
		return deny("the update " + name + " is not one the API sends; it is not allowed from the Temporal UI")
	case "signal":
		return deny("signals come from the providers' signed webhooks; they are not allowed from the Temporal UI")
	}
	return deny(verb + " is not allowed from the Temporal UI (only cancel, queries and the API's updates are)")
}

// uiProxy serves /ui/ from the upstream UI, or nil when none is configured. actions
// are the API's operator actions by route (actionRoutes).
func (s *Server) uiProxy(actions map[string]action) http.Handler {
	if s.UIUpstream == nil {
		return nil
	}
	if s.Auth == nil {
		return http.HandlerFunc(s.noAuth)
	}
	upstream := s.UIUpstream
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.Out.Host = upstream.Host
			// Dunwell's credentials are for Dunwell, not for the UI server.
			pr.Out.Header.Del("Authorization")
			stripCookie(pr.Out, auth.SessionCookie)
			if uiAuditFrom(pr.Out.Context()) != nil {
				pr.Out.Header.Del("Accept-Encoding") // the answer is read for the audit
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			// The UI is served from this origin; the UI server's CORS policy is not ours.
			for name := range resp.Header {
				if strings.HasPrefix(name, "Access-Control-") {
					resp.Header.Del(name)
				}
			}
			if a := uiAuditFrom(resp.Request.Context()); a != nil {
				return s.auditUIUpdate(a, resp)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.Logger.Error("Temporal UI proxy failed", "path", r.URL.Path, "error", err)
			// The one audit row of an update whose answer never came whole, whether the
			// round trip failed or auditUIUpdate could not read the answer.
			if a := uiAuditFrom(r.Context()); a != nil {
				s.audit(a.r, http.StatusBadGateway, a.entry(ledger.AuditUnknown, "the Temporal UI server failed: "+err.Error()))
			}
			writeError(w, http.StatusBadGateway, "the Temporal UI is not reachable", nil)
		},
	}
	var cancelAction http.Handler
	if a, ok := actions[uiUpdateRoutes[invoiceapi.UpdateCancel]]; ok {
		cancelAction = s.runAction(a)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Accept"), "text/html") {
			w = &signInOn401{ResponseWriter: w, next: r.URL.RequestURI()} // a browser: the sign-in form
		}
		route := classifyUI(r.Method, r.URL.Path, r.URL.RawPath, cmp.Or(s.Namespace, "default"), actions)
		var h http.HandlerFunc
		switch route.kind {
		case uiRead:
			h = proxy.ServeHTTP
		case uiCancel:
			h = func(w http.ResponseWriter, r *http.Request) { s.uiCancel(w, r, route, cancelAction) }
		case uiUpdate:
			h = func(w http.ResponseWriter, r *http.Request) { s.uiUpdate(w, r, route, proxy) }
		default:
			s.Logger.Warn("Temporal UI request refused", "method", r.Method, "path", r.URL.Path, "why", route.why)
			writeUIError(w, http.StatusForbidden, route.why)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/ui/api/") {
			// The UI's API calls count against the key like the API's own; its static
			// files (dozens per page load) do not.
			s.requireBrowser(route.scope, h).ServeHTTP(w, r)
			return
		}
		s.Auth.RequireBrowser(route.scope)(h).ServeHTTP(w, r)
	})
}

// uiCancelReason is the reason recorded for a cancellation from the UI without one.
const uiCancelReason = "cancellation requested in the Temporal UI"

// uiCancel carries out the UI's cancellation request as the API's cancel action, and
// answers in the UI server's shape: {} (RequestCancelWorkflowExecutionResponse), or
// {"code", "message"} with the API's error.
func (s *Server) uiCancel(w http.ResponseWriter, r *http.Request, route uiRoute, run http.Handler) {
	// The UI sends no body; a caller of the UI server's API may send a reason.
	var in struct {
		Reason string `json:"reason"`
	}
	if body, err := io.ReadAll(r.Body); err != nil {
		writeUIError(w, http.StatusBadRequest, "reading the request body: "+err.Error())
		return
	} else if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			writeUIError(w, http.StatusBadRequest, "the body must be a JSON object (reason: a string): "+err.Error())
			return
		}
	}
	if strings.TrimSpace(in.Reason) == "" {
		in.Reason = uiCancelReason
	}
	arg, err := json.Marshal(ReasonRequest{Reason: in.Reason})
	if err != nil {
		writeUIError(w, http.StatusInternalServerError, "encoding the cancellation")
		return
	}
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(arg))
	r2.ContentLength = int64(len(arg))
	r2.Header.Set("Content-Type", "application/json")
	r2.SetPathValue("id", route.invoiceID)
	rec := &heldAnswer{header: http.Header{}}
	run.ServeHTTP(rec, r2)
	if rec.status == http.StatusOK {
		writeJSON(w, http.StatusOK, struct{}{})
		return
	}
	var e ErrorBody
	if err := json.Unmarshal(rec.body.Bytes(), &e); err != nil || e.Error == "" {
		e.Error = "the cancellation failed"
	}
	if ra := rec.header.Get("Retry-After"); ra != "" {
		w.Header().Set("Retry-After", ra)
	}
	writeUIError(w, rec.status, e.Error)
}

// uiUpdate passes an update on an invoice's workflow to the UI server, waiting for its
// outcome so that the audit row can say what happened.
func (s *Server) uiUpdate(w http.ResponseWriter, r *http.Request, route uiRoute, proxy http.Handler) {
	body, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeUIError(w, http.StatusRequestEntityTooLarge, "the request body is too large")
		return
	} else if err != nil {
		writeUIError(w, http.StatusBadRequest, "reading the request body: "+err.Error())
		return
	}
	// UpdateWorkflowExecutionRequest as protobuf JSON; the UI sends it as text/plain.
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil || req == nil {
		writeUIError(w, http.StatusBadRequest, "the body must be an UpdateWorkflowExecutionRequest JSON object")
		return
	}
	var meta struct {
		Meta struct {
			UpdateID string `json:"updateId"`
		} `json:"meta"`
	}
	_ = json.Unmarshal(req["request"], &meta) // only for the audit row; the UI server checks the request
	req["waitPolicy"] = json.RawMessage(`{"lifecycleStage":"UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED"}`)
	if body, err = json.Marshal(req); err != nil {
		writeUIError(w, http.StatusInternalServerError, "encoding the update")
		return
	}
	a := &uiAudit{r: r, invoiceID: route.invoiceID, action: route.act.name, update: route.update, updateID: meta.Meta.UpdateID}
	r2 := r.Clone(context.WithValue(r.Context(), uiAuditKey{}, a))
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	r2.Header.Del("Content-Length")
	proxy.ServeHTTP(w, r2)
}

// uiOutcomeAccepted is the audit outcome of an update through the UI that the workflow
// accepted but had not finished when the UI server answered.
const uiOutcomeAccepted = "accepted"

// maxUIAnswer bounds how much of the UI server's answer to an update is read.
const maxUIAnswer = 1 << 20

// uiAudit is an update through the UI waiting for its answer, to be audited.
type uiAudit struct {
	r         *http.Request // the browser's request, with the key
	invoiceID string
	action    string
	update    string
	updateID  string
}

type uiAuditKey struct{}

func uiAuditFrom(ctx context.Context) *uiAudit {
	a, _ := ctx.Value(uiAuditKey{}).(*uiAudit)
	return a
}

func (a *uiAudit) entry(outcome, reason string) ledger.AuditEntry {
	name := "invoice." + a.action
	if a.update == invoiceapi.UpdatePayment {
		name = ledger.AuditApplyPayment
	}
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	details := map[string]any{"via": "temporal-ui", "update": a.update}
	if id := a.updateID; id != "" && len(id) <= 200 {
		details["update_id"] = id
	}
	return ledger.AuditEntry{Action: name, Outcome: outcome, InvoiceID: a.invoiceID, Reason: reason, Details: details}
}

// auditUIUpdate audits an update from the UI server's answer, which it reads and
// puts back for the browser. An answer it cannot read is left to the proxy's
// ErrorHandler, which answers 502 and audits it.
func (s *Server) auditUIUpdate(a *uiAudit, resp *http.Response) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUIAnswer))
	_ = resp.Body.Close()
	if err != nil {
		return fmt.Errorf("reading its answer: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	var answer struct {
		Message string `json:"message"` // an error answer
		Outcome *struct {
			Success json.RawMessage `json:"success"`
			Failure *struct {
				Message string `json:"message"`
			} `json:"failure"`
		} `json:"outcome"`
	}
	_ = json.Unmarshal(body, &answer) // not JSON: an error page, judged by its status
	outcome, reason := ledger.AuditUnknown, answer.Message
	switch {
	case resp.StatusCode >= 500:
		if reason == "" {
			reason = "the Temporal UI server answered " + resp.Status
		}
	case resp.StatusCode >= 300:
		outcome = ledger.AuditRejected
		if reason == "" {
			reason = "the Temporal UI server answered " + resp.Status
		}
	case answer.Outcome != nil && answer.Outcome.Failure != nil:
		outcome, reason = ledger.AuditRejected, answer.Outcome.Failure.Message
	case answer.Outcome != nil && answer.Outcome.Success != nil:
		outcome = ledger.AuditApplied
	default:
		outcome = uiOutcomeAccepted
	}
	s.audit(a.r, resp.StatusCode, a.entry(outcome, reason))
	return nil
}

// grpcCodes are the gRPC codes of the statuses the proxy answers with; any other is
// Unknown (2).
var grpcCodes = map[int]int{
	http.StatusBadRequest:            3,  // InvalidArgument
	http.StatusUnprocessableEntity:   3,  // InvalidArgument
	http.StatusNotFound:              5,  // NotFound
	http.StatusForbidden:             7,  // PermissionDenied
	http.StatusRequestEntityTooLarge: 8,  // ResourceExhausted
	http.StatusConflict:              9,  // FailedPrecondition
	http.StatusInternalServerError:   13, // Internal
	http.StatusServiceUnavailable:    14, // Unavailable
	http.StatusUnauthorized:          16, // Unauthenticated
}

// writeUIError answers in the UI server's (grpc-gateway's) error shape, which the UI
// shows: {"code": <gRPC code>, "message": "...", "details": []}.
func writeUIError(w http.ResponseWriter, status int, msg string) {
	code, ok := grpcCodes[status]
	if !ok {
		code = 2 // Unknown
	}
	writeJSON(w, status, struct {
		Code    int      `json:"code"`
		Message string   `json:"message"`
		Details []string `json:"details"`
	}{code, msg, []string{}})
}

// stripCookie removes one cookie from the request's Cookie headers.
func stripCookie(r *http.Request, name string) {
	cookies := r.Cookies()
	r.Header.Del("Cookie")
	for _, c := range cookies {
		if c.Name != name {
			r.AddCookie(c)
		}
	}
}
