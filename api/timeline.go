package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/timeline"
)

// defaultTimelineLimit is a timeline page without ?limit.
const defaultTimelineLimit = 100

// TimelineEntry is one interaction with the customer.
type TimelineEntry struct {
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"`
	InvoiceID string    `json:"invoice_id,omitempty"`
	// Actor is who acted: "key:<name>" for a call through the API, "customer",
	// "dunwell" for the service itself, "provider" for what an email or SMS provider
	// reported.
	Actor   string `json:"actor"`
	Summary string `json:"summary"`
	// Details are the entry's facts (details.event names the precise event); money
	// is a decimal string beside its currency.
	Details map[string]any `json:"details"`
	// Cursor, as ?before=, starts the next page after this entry.
	Cursor string `json:"cursor"`
}

// TimelineResponse answers GET /v1/customers/{id}/timeline: newest first.
type TimelineResponse struct {
	CustomerID string          `json:"customer_id"`
	Entries    []TimelineEntry `json:"entries"`
	// NextBefore, when set, is the ?before= of the next (older) page.
	NextBefore string `json:"next_before,omitempty"`
}

// NoteRequest adds a note to a customer's timeline.
type NoteRequest struct {
	Text      string `json:"text"`
	InvoiceID string `json:"invoice_id,omitempty"`
}

func (s *Server) timelineRoutes(mux *routeMux) {
	mux.Handle("GET /v1/customers/{id}/timeline", s.require(auth.ScopeRead, s.getTimeline))
	mux.Handle("POST /v1/customers/{id}/notes", s.require(auth.ScopeOperator, s.addNote))
}

// customerIDFromPath returns the {id} path value if it can be a customer id; any
// other is an unknown customer.
func customerIDFromPath(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if !collection.IDPattern.MatchString(id) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown customer %q", id), nil)
		return "", false
	}
	return id, true
}

// timelineQuery reads ?limit, ?before and ?kind, naming every bad one.
func timelineQuery(r *http.Request, customerID string) (ledger.TimelineQuery, map[string]string) {
	q := ledger.TimelineQuery{CustomerID: customerID, Limit: defaultTimelineLimit}
	bad := map[string]string{}
	params := r.URL.Query()
	for name, values := range params {
		switch {
		case name != "limit" && name != "before" && name != "kind":
			bad[name] = "is not a parameter of this route"
		case len(values) > 1 && name != "kind":
			bad[name] = "must be given once"
		}
	}
	if v, ok := params["limit"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > ledger.MaxTimelineLimit {
			bad["limit"] = fmt.Sprintf("must be a whole number from 1 to %d", ledger.MaxTimelineLimit)
		}
		q.Limit = n
	}
	if v, ok := params["before"]; ok {
		c, err := ledger.ParseTimelineCursor(v[0])
		if err != nil {
			bad["before"] = err.Error()
		}
		q.Before = c
	}
	for _, v := range params["kind"] {
		for k := range strings.SplitSeq(v, ",") {
			if !slices.Contains(ledger.TimelineKinds, k) {
				bad["kind"] = fmt.Sprintf("%q is not a kind; kinds are %s (comma-separated)", k, strings.Join(ledger.TimelineKinds, ", "))
				continue
			}
			if !slices.Contains(q.Kinds, k) {
				q.Kinds = append(q.Kinds, k)
			}
		}
	}
	return q, bad
}

// getTimeline answers GET /v1/customers/{id}/timeline: every interaction with the
// customer, newest first, a page at a time; 404 for a customer without invoices.
func (s *Server) getTimeline(w http.ResponseWriter, r *http.Request) {
	id, ok := customerIDFromPath(w, r)
	if !ok {
		return
	}
	q, bad := timelineQuery(r, id)
	if len(bad) > 0 {
		writeError(w, http.StatusBadRequest, "invalid parameters: "+describe(bad), bad)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	page, err := s.Ledger.Timeline(ctx, q)
	switch {
	case errors.Is(err, ledger.ErrUnknownCustomer):
		writeError(w, http.StatusNotFound, "unknown customer "+id, nil)
		return
	case err != nil:
		s.fail(w, r, "reading the timeline", err)
		return
	}
	out := TimelineResponse{CustomerID: id, Entries: make([]TimelineEntry, 0, len(page.Entries))}
	for _, e := range page.Entries {
		out.Entries = append(out.Entries, TimelineEntry{
			At: e.At, Kind: e.Kind, InvoiceID: e.InvoiceID, Actor: e.Actor,
			Summary: timeline.Summary(timeline.Entry{Kind: e.Kind, InvoiceID: e.InvoiceID, Actor: e.Actor, Details: e.Details}),
			Details: timeline.Decimal(e.Details), Cursor: e.Cursor.String(),
		})
	}
	if page.More {
		out.NextBefore = out.Entries[len(out.Entries)-1].Cursor
	}
	writeJSON(w, http.StatusOK, out)
}

// addNote answers POST /v1/customers/{id}/notes: the note is stored with its audit
// entry in one transaction and answered 201. A bad text or invoice id is 400, an
// unknown customer 404, an invoice the ledger does not hold or of another customer
// 422; nothing is stored then.
func (s *Server) addNote(w http.ResponseWriter, r *http.Request) {
	id, ok := customerIDFromPath(w, r)
	if !ok {
		return
	}
	var req NoteRequest
	if !decode(w, r, &req) {
		return
	}
	bad := map[string]string{}
	if p := ledger.NoteTextProblem(req.Text); p != "" {
		bad["text"] = p
	}
	if req.InvoiceID != "" && !collection.IDPattern.MatchString(req.InvoiceID) {
		bad["invoice_id"] = collection.IDProblem
	}
	if len(bad) > 0 {
		writeError(w, http.StatusBadRequest, "invalid note: "+describe(bad), bad)
		return
	}
	author := "api"
	if key, ok := auth.KeyFrom(r.Context()); ok {
		author = "key:" + key.Name
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	note, err := s.Ledger.AddNote(ctx, ledger.Note{CustomerID: id, InvoiceID: req.InvoiceID, Text: req.Text, Author: author},
		func(n ledger.Note) ledger.AuditEntry {
			return s.auditEntry(r, 0, noteAudit(n, ledger.AuditCreated))
		})
	var refused string
	switch {
	case err == nil:
		writeJSON(w, http.StatusCreated, note)
		return
	case errors.Is(err, ledger.ErrInvoiceOfAnotherCustomer):
		refused = "is an invoice of another customer"
	case errors.Is(err, ledger.ErrUnknownCustomer):
		writeError(w, http.StatusNotFound, "unknown customer "+id, nil)
		return
	case errors.Is(err, ledger.ErrNotFound):
		refused = "is not an invoice the ledger holds"
	default:
		s.fail(w, r, "recording the note", err)
		return
	}
	e := noteAudit(ledger.Note{CustomerID: id, InvoiceID: req.InvoiceID}, ledger.AuditRejected)
	e.Reason = "invoice_id " + refused
	s.audit(r, http.StatusUnprocessableEntity, e)
	fields := map[string]string{"invoice_id": refused}
	writeError(w, http.StatusUnprocessableEntity, "invalid note: "+describe(fields), fields)
}

// noteAudit is the audit entry of a note: its customer and id, never its text.
func noteAudit(n ledger.Note, outcome string) ledger.AuditEntry {
	details := map[string]any{"customer_id": n.CustomerID}
	if n.NoteID != 0 {
		details["note_id"] = n.NoteID
	}
	return ledger.AuditEntry{Action: ledger.AuditNoteCreate, Outcome: outcome, InvoiceID: n.InvoiceID, Details: details}
}
