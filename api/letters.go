package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/ledger"
)

// The letter outbox (docs/collectors.md#letters): policy steps on the channel
// "letter" render a PDF letter; without a print-and-mail provider it waits here until
// an operator prints it, mails it and says so.
func (s *Server) letterRoutes(mux *routeMux) {
	mux.Handle("GET /v1/letters", s.require(auth.ScopeRead, s.listLetters))
	mux.Handle("GET /v1/letters/{id}", s.require(auth.ScopeRead, s.getLetter))
	mux.Handle("GET /v1/letters/{id}/pdf", s.require(auth.ScopeRead, s.getLetterPDF))
	mux.Handle("POST /v1/letters/{id}/mailed", s.require(auth.ScopeOperator, s.markLetterMailed))
}

// AuditLetterMailed is an operator saying they mailed a letter of the outbox.
const AuditLetterMailed = "letter.mailed"

// Letter is a letter as the API shows it.
type Letter struct {
	ID         int64      `json:"id"`
	Key        string     `json:"key"`
	InvoiceID  string     `json:"invoice_id"`
	CustomerID string     `json:"customer_id"`
	Step       string     `json:"step"`
	Template   string     `json:"template"`
	Status     string     `json:"status"`
	ProviderID string     `json:"provider_id,omitempty"`
	Error      string     `json:"error,omitempty"`
	Attempts   int        `json:"attempts"`
	SizeBytes  int        `json:"size_bytes"`
	ClaimedAt  time.Time  `json:"claimed_at"`
	SentAt     *time.Time `json:"sent_at,omitempty"`
	MailedAt   *time.Time `json:"mailed_at,omitempty"`
	MailedBy   string     `json:"mailed_by,omitempty"`
	PDFURL     string     `json:"pdf_url"`
}

func letterOf(l ledger.LetterRow) Letter {
	return Letter{
		ID: l.ID, Key: l.Key, InvoiceID: l.InvoiceID, CustomerID: l.CustomerID, Step: l.Step, Template: l.Template,
		Status: string(l.Status), ProviderID: l.ProviderID, Error: l.Error, Attempts: l.Attempts, SizeBytes: l.Size,
		ClaimedAt: l.ClaimedAt, SentAt: l.SentAt, MailedAt: l.MailedAt, MailedBy: l.MailedBy,
		PDFURL: "/v1/letters/" + strconv.FormatInt(l.ID, 10) + "/pdf",
	}
}

const defaultLetterLimit = 100

func (s *Server) listLetters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fields := map[string]string{}
	lq := ledger.LetterQuery{Status: ledger.LetterStatus(q.Get("status")), CustomerID: q.Get("customer_id"), Limit: defaultLetterLimit}
	if lq.Status != "" && !validLetterStatus(lq.Status) {
		fields["status"] = "must be one of sending, sent, to_print, mailed, failed"
	}
	if lq.CustomerID != "" && !collection.IDPattern.MatchString(lq.CustomerID) {
		fields["customer_id"] = collection.IDProblem
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			fields["limit"] = "must be a number from 1 to 500"
		}
		lq.Limit = n
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			fields["after"] = "must be a letter id (the next_after of the previous page)"
		}
		lq.After = n
	}
	for k := range q {
		switch k {
		case "status", "customer_id", "limit", "after":
		default:
			fields[k] = "is not a parameter of this list (status, customer_id, limit, after)"
		}
	}
	if len(fields) > 0 {
		writeError(w, http.StatusBadRequest, "invalid letter query", fields)
		return
	}
	rows, err := s.Ledger.ListLetters(r.Context(), lq)
	if err != nil {
		s.fail(w, r, "listing letters", err)
		return
	}
	out := struct {
		Letters   []Letter `json:"letters"`
		NextAfter *int64   `json:"next_after,omitempty"`
	}{Letters: []Letter{}}
	for _, l := range rows {
		out.Letters = append(out.Letters, letterOf(l))
	}
	if len(rows) == lq.Limit {
		next := rows[len(rows)-1].ID
		out.NextAfter = &next
	}
	writeJSON(w, http.StatusOK, out)
}

func validLetterStatus(st ledger.LetterStatus) bool {
	for _, v := range ledger.LetterStatuses {
		if v == st {
			return true
		}
	}
	return false
}

// letterID reads the {id} of a letter route, answering 400 when it is not one.
func letterID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, "invalid letter id", map[string]string{"id": "must be a letter's number"})
		return 0, false
	}
	return id, true
}

func (s *Server) getLetter(w http.ResponseWriter, r *http.Request) {
	id, ok := letterID(w, r)
	if !ok {
		return
	}
	l, err := s.Ledger.GetLetter(r.Context(), id)
	if errors.Is(err, ledger.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no letter "+strconv.FormatInt(id, 10), nil)
		return
	}
	if err != nil {
		s.fail(w, r, "reading a letter", err)
		return
	}
	writeJSON(w, http.StatusOK, letterOf(l))
}

func (s *Server) getLetterPDF(w http.ResponseWriter, r *http.Request) {
	id, ok := letterID(w, r)
	if !ok {
		return
	}
	b, err := s.Ledger.LetterPDF(r.Context(), id)
	if errors.Is(err, ledger.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no letter "+strconv.FormatInt(id, 10), nil)
		return
	}
	if err != nil {
		s.fail(w, r, "reading a letter's PDF", err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="letter-`+strconv.FormatInt(id, 10)+`.pdf"`)
	w.Header().Set("Cache-Control", "no-store") // it carries the customer's address
	_, _ = w.Write(b)
}

// markLetterMailed serves POST /v1/letters/{id}/mailed: the operator printed and
// mailed a letter of the outbox. Saying it again answers the first record.
func (s *Server) markLetterMailed(w http.ResponseWriter, r *http.Request) {
	id, ok := letterID(w, r)
	if !ok {
		return
	}
	by := "unknown"
	if key, ok := auth.KeyFrom(r.Context()); ok {
		by = "key:" + key.Name
	}
	l, already, err := s.Ledger.MarkLetterMailed(r.Context(), id, by, s.now().UTC())
	entry := ledger.AuditEntry{Action: AuditLetterMailed, Outcome: ledger.AuditApplied, InvoiceID: l.InvoiceID,
		Details: map[string]any{"letter_id": id, "customer_id": l.CustomerID}}
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		writeError(w, http.StatusNotFound, "no letter "+strconv.FormatInt(id, 10), nil)
		return
	case errors.Is(err, ledger.ErrLetterState):
		entry.Outcome, entry.Reason = ledger.AuditRejected, "the letter is "+string(l.Status)+", not to_print"
		s.audit(r, http.StatusConflict, entry)
		writeError(w, http.StatusConflict, "letter "+strconv.FormatInt(id, 10)+" is "+string(l.Status)+
			": only a letter of the outbox (to_print) is mailed by an operator", nil)
		return
	case err != nil:
		s.fail(w, r, "marking a letter mailed", err)
		return
	}
	if already {
		entry.Outcome = ledger.AuditDuplicate
	}
	s.audit(r, http.StatusOK, entry)
	out := struct {
		Letter
		AlreadyMailed bool `json:"already_mailed,omitempty"`
	}{letterOf(l), already}
	writeJSON(w, http.StatusOK, out)
}
