package bench

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/dunwell/dunwell/collection"
)

// bareFront is the ceilings' HTTP front. The load generator issues and pays the bare
// workflows over HTTP exactly as it issues and pays Dunwell's invoices through the API
// (same client, same JSON bodies, same concurrency), so both runs are paced alike; the
// front only decodes the body and calls Temporal, with none of the API's key check,
// validation, policy selection or ledger write.
type bareFront struct {
	client    client.Client
	reminders []time.Duration
}

func (f *bareFront) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /bare/invoices", f.issue)
	mux.HandleFunc("POST /bare/workflows/{id}/payments", f.pay)
	return mux
}

// issue starts BareInvoice with the invoice's id as its workflow id; 201 on success.
func (f *bareFront) issue(w http.ResponseWriter, r *http.Request) {
	var req collection.InvoiceRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "invalid body: "+err.Error(), http.StatusBadRequest)
		return
	}
	issuedAt, err := time.Parse(time.RFC3339, req.IssuedAt)
	if err != nil {
		http.Error(w, "issued_at: "+err.Error(), http.StatusBadRequest)
		return
	}
	in := BareInput{IssuedAt: issuedAt, Reminders: f.reminders, Email: req.Customer.Email, Phone: req.Customer.Phone}
	run, err := f.client.ExecuteWorkflow(r.Context(), client.StartWorkflowOptions{
		ID: req.ID, TaskQueue: bareTaskQueue,
		// The same invoice again (a request sent again) answers its running workflow.
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, BareInvoice, in)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	writeBare(w, http.StatusCreated, map[string]string{"workflow_id": req.ID, "run_id": run.GetRunID()})
}

// pay sends the payment update to workflow {id} (a BareInvoice or a BareAccount), with
// the payment id as the update id, and answers 200 once it completed.
func (f *bareFront) pay(w http.ResponseWriter, r *http.Request) {
	var req collection.PaymentRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "invalid body: "+err.Error(), http.StatusBadRequest)
		return
	}
	// As invoiceapi.Client does: an update that reached a workflow task which then
	// timed out is answered WorkflowNotReady and was not applied; it is sent again.
	var status string
	var err error
	for send := 1; ; send++ {
		var h client.WorkflowUpdateHandle
		h, err = f.client.UpdateWorkflow(r.Context(), client.UpdateWorkflowOptions{
			WorkflowID: r.PathValue("id"), UpdateID: req.PaymentID, UpdateName: bareUpdate,
			WaitForStage: client.WorkflowUpdateStageCompleted,
			Args:         []any{BarePayment{PaymentID: req.PaymentID, Amount: 1}},
		})
		if err == nil {
			err = h.Get(r.Context(), &status)
		}
		var notReady *serviceerror.WorkflowNotReady
		if !errors.As(err, &notReady) || send == 5 {
			break
		}
		time.Sleep(time.Duration(send) * 200 * time.Millisecond)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	writeBare(w, http.StatusOK, map[string]string{"status": status})
}

func writeBare(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
