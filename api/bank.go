package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/bank"
	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/reports"
	"github.com/dunwell/dunwell/webhooks"
)

// Cash application (docs/bank.md): bank statements imported, their credits matched to
// invoices and applied through the webhook outbox, the rest in an unmatched queue.

// DefaultBankMaxBytes bounds an imported statement unless Server.Bank.MaxBytes says
// otherwise: a busy account's month of camt.053 is a few megabytes.
const DefaultBankMaxBytes = 32 << 20

// BankConfig configures cash application.
type BankConfig struct {
	// MaxBytes bounds a statement (413 beyond); 0 means DefaultBankMaxBytes.
	MaxBytes int64
	// Threshold is the matching confidence from which a credit is applied without an
	// operator (bank.DefaultThreshold when 0).
	Threshold int
}

// Bank transaction list limits.
const (
	defaultBankList = 100
	maxBankList     = 500
)

// bankRoutes registers the unmatched queue, its actions and the /bank page. The
// import route has its own body limit and is registered beside the others (routes).
func (s *Server) bankRoutes(mux *routeMux) {
	mux.Handle("GET /v1/bank-transactions", s.require(auth.ScopeRead, s.listBankTransactions))
	mux.Handle("GET /v1/bank-transactions/{id}", s.require(auth.ScopeRead, s.getBankTransaction))
	mux.Handle("POST /v1/bank-transactions/{id}/match", s.require(auth.ScopeOperator, s.matchBankTransaction))
	mux.Handle("POST /v1/bank-transactions/{id}/ignore", s.require(auth.ScopeOperator, s.ignoreBankTransaction))
	mux.Handle("GET /v1/reports/bank", s.require(auth.ScopeRead, s.getBankReport()))
	mux.Handle("GET /bank", s.bankPage())
	mux.Handle("POST /bank/{id}/match", scoped{s.requireBrowser(auth.ScopeOperator, s.bankPageMatch), auth.ScopeOperator})
	mux.Handle("POST /bank/{id}/ignore", scoped{s.requireBrowser(auth.ScopeOperator, s.bankPageIgnore), auth.ScopeOperator})
}

// bankImportRoute is POST /v1/bank-statements, with the statement's own size limit
// instead of MaxBodyBytes.
const bankImportRoute = "POST /v1/bank-statements"

func (s *Server) bankImportHandler() http.Handler {
	return s.require(auth.ScopePaymentsWrite, s.importBankStatement)
}

// BankAmount is an allocation as the API shows it.
type BankAmount struct {
	InvoiceID string `json:"invoice_id"`
	Amount    string `json:"amount"`
}

// BankImportResponse answers POST /v1/bank-statements.
type BankImportResponse struct {
	ImportID     int64            `json:"import_id"`
	Format       string           `json:"format"`
	MessageID    string           `json:"message_id,omitempty"`
	Transactions int              `json:"transactions"`
	New          int              `json:"new"`
	Duplicates   int              `json:"duplicates"`
	Applied      int              `json:"applied"`
	Unmatched    int              `json:"unmatched"`
	Recorded     int              `json:"recorded"`
	Items        []BankImportItem `json:"items"`
}

// BankImportItem is one transaction of an import.
type BankImportItem struct {
	ID          int64        `json:"id"`
	Entry       string       `json:"entry"`
	BankRef     string       `json:"bank_ref"`
	Status      string       `json:"status"`
	Duplicate   bool         `json:"duplicate,omitempty"`
	Why         string       `json:"why,omitempty"`
	Allocations []BankAmount `json:"allocations,omitempty"`
}

// BankTransactionView is a stored bank transaction.
type BankTransactionView struct {
	ID          int64             `json:"id"`
	Account     string            `json:"account"`
	BankRef     string            `json:"bank_ref"`
	ImportID    int64             `json:"import_id"`
	Format      string            `json:"format"`
	Entry       string            `json:"entry"`
	Direction   string            `json:"direction"`
	Booking     string            `json:"booking"`
	Reversal    bool              `json:"reversal"`
	Currency    string            `json:"currency"`
	Amount      string            `json:"amount"`
	BookedAt    *time.Time        `json:"booked_at,omitempty"`
	Payer       bank.Party        `json:"payer"`
	References  []string          `json:"references"`
	Documents   []string          `json:"documents"`
	Text        string            `json:"remittance"`
	Status      string            `json:"status"`
	Method      string            `json:"method,omitempty"`
	Confidence  int               `json:"confidence"`
	Why         string            `json:"why,omitempty"`
	Suggestions []bank.Suggestion `json:"suggestions"`
	Allocations []BankAmount      `json:"allocations"`
	CustomerID  string            `json:"customer_id,omitempty"`
	MatchedAt   *time.Time        `json:"matched_at,omitempty"`
	MatchedBy   string            `json:"matched_by,omitempty"`
	IgnoreWhy   string            `json:"ignore_reason,omitempty"`
	ImportedAt  time.Time         `json:"imported_at"`
	// Applied: how many of the allocations the forwarder has applied to their
	// invoices so far; AppliedAt when the last one was.
	Applied   int        `json:"applied"`
	AppliedAt *time.Time `json:"applied_at,omitempty"`
}

// BankTransactionList answers GET /v1/bank-transactions.
type BankTransactionList struct {
	Status       string                `json:"status"`
	Transactions []BankTransactionView `json:"transactions"`
	// NextAfter, when set, is the after= of the next page.
	NextAfter int64 `json:"next_after,omitempty"`
}

func bankAmounts(allocs []bank.Allocation, currency string) []BankAmount {
	out := make([]BankAmount, len(allocs))
	for i, a := range allocs {
		out[i] = BankAmount{InvoiceID: a.InvoiceID, Amount: money.Format(a.Amount, currency)}
	}
	return out
}

func bankView(b ledger.BankTransaction) BankTransactionView {
	dir := "debit"
	if b.Credit {
		dir = "credit"
	}
	d := b.Details
	return BankTransactionView{
		ID: b.ID, Account: b.Account, BankRef: b.BankRef, ImportID: b.ImportID, Format: b.Format, Entry: b.Entry,
		Direction: dir, Booking: b.Booking, Reversal: b.Reversal, Currency: b.Currency,
		Amount: money.Format(b.Amount, b.Currency), BookedAt: b.BookedAt, Payer: d.Payer,
		References: nonNilStrings(d.References), Documents: nonNilStrings(d.Documents), Text: d.Text,
		Status: string(b.Status), Method: b.Method, Confidence: b.Confidence, Why: b.Why,
		Suggestions: b.Suggestions, Allocations: bankAmounts(b.Allocations, b.Currency), CustomerID: b.CustomerID,
		MatchedAt: b.MatchedAt, MatchedBy: b.MatchedBy, IgnoreWhy: b.IgnoreWhy, ImportedAt: b.ImportedAt,
		Applied: b.Applied, AppliedAt: b.AppliedAt,
	}
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// bankEvent builds the outbox event of one allocation: a payment from source "bank"
// whose payment id is the bank transaction's ("bank-<id>"), so the workflow applies
// it once however often it is delivered. It is dated at the booking, but never before
// the invoice was issued (a booking date is midnight) nor after now.
func (s *Server) bankEvent(id int64, t *bank.Transaction, a bank.Allocation, issuedAt time.Time) (ledger.NewWebhookEvent, error) {
	now := s.now().UTC()
	at := t.BookedAt
	if at.IsZero() || at.After(now) {
		at = now
	}
	if at.Before(issuedAt) {
		at = issuedAt
	}
	ev := webhooks.Event{Source: webhooks.SourceBank, ID: fmt.Sprintf("bank-%d:%s", id, a.InvoiceID), Type: "bank.credit",
		Kind: webhooks.KindPayment, InvoiceID: a.InvoiceID, PaymentID: fmt.Sprintf("bank-%d", id),
		Currency: t.Currency, Amount: a.Amount, At: at.UTC().Truncate(time.Second)}
	body, err := json.Marshal(ev)
	if err != nil {
		return ledger.NewWebhookEvent{}, err
	}
	sum := sha256.Sum256(body)
	return ledger.NewWebhookEvent{Source: string(ev.Source), EventID: ev.ID, EventType: ev.Type, Kind: string(ev.Kind),
		InvoiceID: ev.InvoiceID, PaymentID: ev.PaymentID, Currency: ev.Currency, Amount: ev.Amount,
		Event: body, BodySHA256: sum[:]}, nil
}

// statementReader reads the request body under the statement limit, hashing and
// counting it, and remembers whether the limit was hit (the parsers wrap read errors).
type statementReader struct {
	r        io.Reader
	h        hash.Hash
	n        int64
	tooLarge *http.MaxBytesError
}

func (sr *statementReader) Read(p []byte) (int, error) {
	n, err := sr.r.Read(p)
	sr.h.Write(p[:n])
	sr.n += int64(n)
	var tl *http.MaxBytesError
	if errors.As(err, &tl) {
		sr.tooLarge = tl
	}
	return n, err
}

// importBankStatement serves POST /v1/bank-statements: the statement file is the
// body, its Content-Type names the format. The file is parsed as it streams in, all
// of it before anything is stored; then every transaction is stored and the credits
// matched in one ledger transaction, and the forwarder is woken for what was queued.
func (s *Server) importBankStatement(w http.ResponseWriter, r *http.Request) {
	format, err := bank.FormatOf(r.Header.Get("Content-Type"))
	if err != nil {
		writeError(w, http.StatusUnsupportedMediaType, err.Error(), map[string]string{"Content-Type": "not a statement format"})
		return
	}
	limit := s.Bank.MaxBytes
	if limit <= 0 {
		limit = DefaultBankMaxBytes
	}
	body := &statementReader{r: http.MaxBytesReader(w, r.Body, limit), h: sha256.New()}
	st, err := bank.Parse(format, body)
	if body.tooLarge != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the statement is larger than %d bytes; split it (nothing was stored)", limit), nil)
		return
	}
	if err != nil {
		fields := map[string]string{}
		var ee *bank.EntryError
		if errors.As(err, &ee) {
			name := strings.Trim(ee.Entry+"/"+ee.Field, "/")
			if name == "" {
				name = "body"
			}
			fields[name] = ee.Reason
		}
		writeError(w, http.StatusBadRequest, "invalid statement, nothing was stored: "+err.Error(), fields)
		return
	}
	_, _ = io.Copy(io.Discard, body) // the hash covers the whole file; the parser may stop early
	if body.tooLarge != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the statement is larger than %d bytes; split it (nothing was stored)", limit), nil)
		return
	}
	by := ""
	if key, ok := auth.KeyFrom(r.Context()); ok {
		by = key.Name
	}
	sum := body.h.Sum(nil)
	res, err := s.Ledger.ImportBankStatement(r.Context(), ledger.BankImport{
		Statement: st, FileSHA256: sum, FileBytes: body.n, By: by,
		Matching: bank.Config{Threshold: s.Bank.Threshold}, Event: s.bankEvent,
		Audit: func(res ledger.BankImportResult) ledger.AuditEntry {
			return s.auditEntry(r, 0, ledger.AuditEntry{Action: ledger.AuditBankImport, Outcome: ledger.AuditApplied,
				Reason: fmt.Sprintf("%s %s: %d transactions, %d new, %d applied, %d unmatched", res.Format, res.MessageID,
					res.Transactions, res.New, res.Applied, res.Unmatched),
				Details: map[string]any{"import_id": res.ImportID, "file_sha256": hex.EncodeToString(sum), "bytes": body.n}})
		},
	})
	if err != nil {
		if errors.Is(err, ledger.ErrInvalid) {
			writeError(w, http.StatusUnprocessableEntity, "the statement cannot be stored, nothing was: "+err.Error(), nil)
			return
		}
		s.fail(w, r, "importing the bank statement", err)
		return
	}
	if res.Applied > 0 && s.Webhooks.Stored != nil {
		s.Webhooks.Stored()
	}
	out := BankImportResponse{ImportID: res.ImportID, Format: res.Format, MessageID: res.MessageID, Transactions: res.Transactions,
		New: res.New, Duplicates: res.Duplicates, Applied: res.Applied, Unmatched: res.Unmatched, Recorded: res.Recorded,
		Items: make([]BankImportItem, len(res.Items))}
	for i, it := range res.Items {
		out.Items[i] = BankImportItem{ID: it.ID, Entry: it.Entry, BankRef: it.BankRef, Status: string(it.Status), Duplicate: it.Duplicate,
			Why: it.Why, Allocations: bankAmounts(it.Allocs, st.Transactions[i].Currency)}
	}
	code := http.StatusCreated
	if res.New == 0 {
		code = http.StatusOK
	}
	writeJSON(w, code, out)
}

// listBankTransactions serves GET /v1/bank-transactions?status=unmatched&after=&limit=.
func (s *Server) listBankTransactions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	bad := map[string]string{}
	for k := range q {
		if k != "status" && k != "after" && k != "limit" {
			bad[k] = "is not a known parameter (status, after, limit)"
		}
	}
	status := ledger.BankStatus(q.Get("status"))
	switch status {
	case "":
		status = ledger.BankUnmatched
	case ledger.BankUnmatched, ledger.BankMatched, ledger.BankIgnored, ledger.BankRecorded:
	default:
		bad["status"] = "must be unmatched, matched, ignored or recorded"
	}
	after, limit := int64(0), defaultBankList
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			bad["after"] = "must be a transaction id (a non-negative integer)"
		}
		after = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxBankList {
			bad["limit"] = fmt.Sprintf("must be an integer from 1 to %d", maxBankList)
		}
		limit = n
	}
	if len(bad) > 0 {
		writeError(w, http.StatusBadRequest, "invalid parameters: "+describe(bad), bad)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	list, err := s.Ledger.ListBankTransactions(ctx, status, after, limit)
	if err != nil {
		s.fail(w, r, "listing bank transactions", err)
		return
	}
	out := BankTransactionList{Status: string(status), Transactions: make([]BankTransactionView, len(list))}
	for i, b := range list {
		out.Transactions[i] = bankView(b)
	}
	if len(list) == limit {
		out.NextAfter = list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

// bankIDFromPath reads {id}, answering 404 itself when it cannot be one.
func bankIDFromPath(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, "unknown bank transaction "+strconv.Quote(r.PathValue("id")), nil)
		return 0, false
	}
	return id, true
}

func (s *Server) getBankTransaction(w http.ResponseWriter, r *http.Request) {
	id, ok := bankIDFromPath(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	b, err := s.Ledger.GetBankTransaction(ctx, id)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown bank transaction %d", id), nil)
	case err != nil:
		s.fail(w, r, "reading the bank transaction", err)
	default:
		writeJSON(w, http.StatusOK, bankView(b))
	}
}

// BankMatchRequest is the body of POST /v1/bank-transactions/{id}/match: either the
// invoices to spread the transfer over (in order, each up to its balance, the rest on
// the last) or explicit allocations adding up to it.
type BankMatchRequest struct {
	InvoiceIDs  []string     `json:"invoice_ids,omitempty"`
	Allocations []BankAmount `json:"allocations,omitempty"`
}

// BankIgnoreRequest is the body of POST /v1/bank-transactions/{id}/ignore.
type BankIgnoreRequest struct {
	Reason string `json:"reason"`
}

// bankProblem is a refused bank action: status, message and fields.
type bankProblem struct {
	status int
	msg    string
	fields map[string]string
}

func (s *Server) matchBankTransaction(w http.ResponseWriter, r *http.Request) {
	id, ok := bankIDFromPath(w, r)
	if !ok {
		return
	}
	var req BankMatchRequest
	if !decode(w, r, &req) {
		return
	}
	b, p := s.doBankMatch(r, id, req)
	if p != nil {
		writeError(w, p.status, p.msg, p.fields)
		return
	}
	writeJSON(w, http.StatusOK, bankView(b))
}

// doBankMatch validates and applies an operator's match; the API and the page share it.
func (s *Server) doBankMatch(r *http.Request, id int64, req BankMatchRequest) (ledger.BankTransaction, *bankProblem) {
	bad := map[string]string{}
	switch {
	case len(req.InvoiceIDs) == 0 && len(req.Allocations) == 0:
		bad["invoice_ids"] = "name at least one invoice (or give allocations)"
	case len(req.InvoiceIDs) > 0 && len(req.Allocations) > 0:
		bad["allocations"] = "give invoice_ids or allocations, not both"
	case len(req.InvoiceIDs)+len(req.Allocations) > 50:
		bad["invoice_ids"] = "at most 50 invoices"
	}
	seen := map[string]bool{}
	check := func(field, id string) {
		switch {
		case !collection.IDPattern.MatchString(id):
			bad[field] = "is not an invoice id"
		case seen[id]:
			bad[field] = "names the invoice a second time"
		}
		seen[id] = true
	}
	for i, inv := range req.InvoiceIDs {
		check(fmt.Sprintf("invoice_ids[%d]", i), inv)
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	var allocs []bank.Allocation
	if len(req.Allocations) > 0 {
		cur, err := s.Ledger.GetBankTransaction(ctx, id)
		switch {
		case errors.Is(err, ledger.ErrNotFound):
			return cur, &bankProblem{http.StatusNotFound, fmt.Sprintf("unknown bank transaction %d", id), nil}
		case err != nil:
			return cur, &bankProblem{http.StatusInternalServerError, "reading the bank transaction failed", nil}
		}
		for i, a := range req.Allocations {
			check(fmt.Sprintf("allocations[%d].invoice_id", i), a.InvoiceID)
			v, err := money.Parse(a.Amount, cur.Currency)
			if err != nil || v <= 0 {
				bad[fmt.Sprintf("allocations[%d].amount", i)] = fmt.Sprintf("must be a positive %s amount like \"100.00\"", cur.Currency)
				continue
			}
			allocs = append(allocs, bank.Allocation{InvoiceID: a.InvoiceID, Amount: v})
		}
	}
	if len(bad) > 0 {
		return ledger.BankTransaction{}, &bankProblem{http.StatusBadRequest, "invalid request: " + describe(bad), bad}
	}
	by := ""
	if key, ok := auth.KeyFrom(r.Context()); ok {
		by = key.Name
	}
	b, err := s.Ledger.MatchBankTransaction(ctx, ledger.BankMatch{ID: id, Allocations: allocs, InvoiceIDs: req.InvoiceIDs, By: by,
		Event: s.bankEvent,
		Audit: func(b ledger.BankTransaction) ledger.AuditEntry {
			inv := ""
			if len(b.Allocations) > 0 {
				inv = b.Allocations[0].InvoiceID
			}
			return s.auditEntry(r, 0, ledger.AuditEntry{Action: ledger.AuditBankMatch, Outcome: ledger.AuditApplied, InvoiceID: inv,
				Reason:  fmt.Sprintf("bank transaction %d (%s %s) matched by hand", b.ID, money.Format(b.Amount, b.Currency), b.Currency),
				Details: map[string]any{"bank_transaction": b.ID, "allocations": bankAmounts(b.Allocations, b.Currency)}})
		}})
	var ae *ledger.BankAllocationError
	switch {
	case err == nil:
	case errors.Is(err, ledger.ErrNotFound) && !errors.As(err, &ae):
		return b, &bankProblem{http.StatusNotFound, fmt.Sprintf("unknown bank transaction %d", id), nil}
	case errors.Is(err, ledger.ErrBankState):
		return b, &bankProblem{http.StatusConflict, err.Error(), map[string]string{"status": "only an unmatched transaction can be matched"}}
	case errors.As(err, &ae):
		field := "allocations"
		if ae.Index >= 0 {
			field = fmt.Sprintf("invoice_ids[%d]", ae.Index)
			if len(req.Allocations) > 0 {
				field = fmt.Sprintf("allocations[%d].invoice_id", ae.Index)
			}
		}
		return b, &bankProblem{http.StatusUnprocessableEntity, ae.Error(), map[string]string{field: ae.Reason}}
	default:
		s.Logger.Error("Matching a bank transaction failed", "bank_transaction", id, "error", err)
		return b, &bankProblem{http.StatusInternalServerError, "matching the bank transaction failed; nothing was applied", nil}
	}
	if s.Webhooks.Stored != nil {
		s.Webhooks.Stored()
	}
	return b, nil
}

func (s *Server) ignoreBankTransaction(w http.ResponseWriter, r *http.Request) {
	id, ok := bankIDFromPath(w, r)
	if !ok {
		return
	}
	var req BankIgnoreRequest
	if !decode(w, r, &req) {
		return
	}
	b, p := s.doBankIgnore(r, id, req.Reason)
	if p != nil {
		writeError(w, p.status, p.msg, p.fields)
		return
	}
	writeJSON(w, http.StatusOK, bankView(b))
}

func (s *Server) doBankIgnore(r *http.Request, id int64, reason string) (ledger.BankTransaction, *bankProblem) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 500 {
		return ledger.BankTransaction{}, &bankProblem{http.StatusBadRequest, "invalid request: reason: say why, in 1 to 500 bytes",
			map[string]string{"reason": "say why, in 1 to 500 bytes"}}
	}
	if p := ledger.TextProblem(reason); p != "" { // the /bank page's form is not JSON: decode never saw it
		return ledger.BankTransaction{}, &bankProblem{http.StatusBadRequest, "invalid request: reason: " + p, map[string]string{"reason": p}}
	}
	by := ""
	if key, ok := auth.KeyFrom(r.Context()); ok {
		by = key.Name
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	b, err := s.Ledger.IgnoreBankTransaction(ctx, id, reason, by, func(b ledger.BankTransaction) ledger.AuditEntry {
		return s.auditEntry(r, 0, ledger.AuditEntry{Action: ledger.AuditBankIgnore, Outcome: ledger.AuditApplied, Reason: reason,
			Details: map[string]any{"bank_transaction": b.ID, "amount": money.Format(b.Amount, b.Currency), "currency": b.Currency}})
	})
	switch {
	case err == nil:
		return b, nil
	case errors.Is(err, ledger.ErrNotFound):
		return b, &bankProblem{http.StatusNotFound, fmt.Sprintf("unknown bank transaction %d", id), nil}
	case errors.Is(err, ledger.ErrBankState):
		return b, &bankProblem{http.StatusConflict, err.Error(), map[string]string{"status": "only an unmatched transaction can be ignored"}}
	}
	s.Logger.Error("Ignoring a bank transaction failed", "bank_transaction", id, "error", err)
	return b, &bankProblem{http.StatusInternalServerError, "ignoring the bank transaction failed; nothing changed", nil}
}

// getBankReport answers GET /v1/reports/bank?from=&to=.
func (s *Server) getBankReport() http.HandlerFunc {
	return s.report([]string{"from", "to"}, "cash application", func(ctx context.Context, rep *reports.Reporter, rq reportQuery) (any, error) {
		return rep.Bank(ctx, rq.period)
	})
}
