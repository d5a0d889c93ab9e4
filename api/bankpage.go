package api

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/reports"
)

// The /bank page: the unmatched queue for operators, beside /reports and with the
// same sign-in, headers and no script. Each credit shows why it waits and the
// suggested invoices; a plain HTML form matches it (scope operator) or ignores it with
// a reason, through the same code as the API, and the page comes back with the result.

//go:embed reportspage.html bankpage.html
var bankPageFS embed.FS

var bankTemplates = template.Must(template.New("bankpage.html").ParseFS(bankPageFS, "reportspage.html", "bankpage.html"))

// bankPageList bounds the credits the page shows at once.
const bankPageList = 200

type bankPageTx struct {
	ID                                              int64
	Amount, Currency, Booked, Payer, Entry, Account string
	Remittance, Why                                 string
	Suggestions                                     []bankSuggestionView
}

type bankSuggestionView struct{ InvoiceID, Why string }

type bankPageRow struct {
	Currency                 string
	Credits, OperatorMatched int64
	AutoShare, MedianHours   string
	UnmatchedAmount          string
}

type bankPageData struct {
	KeyName, GeneratedAt, From, To string
	Done, Error                    string
	Report                         []bankPageRow
	Transactions                   []bankPageTx
}

// bankPage serves GET /bank behind the read scope, answering the sign-in form
// without a key or session.
func (s *Server) bankPage() http.Handler {
	if s.Auth == nil {
		return scoped{http.HandlerFunc(s.noAuth), auth.ScopeRead}
	}
	inner := s.Auth.Require(auth.ScopeRead)(s.limitKey(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderBank(w, r, http.StatusOK, bankPageData{Done: doneMessage(r.URL.Query())})
	})))
	return scoped{http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(&signInOn401{ResponseWriter: w, next: r.URL.RequestURI()}, r)
	}), auth.ScopeRead}
}

// doneMessage is what the page says after a redirect from an action.
func doneMessage(q url.Values) string {
	if v := q.Get("matched"); v != "" {
		return "Bank transaction " + v + " matched; its payments are being applied."
	}
	if v := q.Get("ignored"); v != "" {
		return "Bank transaction " + v + " ignored."
	}
	return ""
}

func (s *Server) renderBank(w http.ResponseWriter, r *http.Request, code int, d bankPageData) {
	rep := s.reporter()
	to := rep.Today()
	from := to.AddDate(0, 0, -(reports.DefaultPeriodDays - 1))
	d.From, d.To, d.GeneratedAt = from.Format(time.DateOnly), to.Format(time.DateOnly), s.now().UTC().Format(time.RFC3339)
	if key, ok := auth.KeyFrom(r.Context()); ok {
		d.KeyName = key.Name
	}
	ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
	defer cancel()
	report, err := rep.Bank(ctx, reports.Period{From: from, To: to})
	if err != nil {
		s.fail(w, r, "computing the cash application report", err)
		return
	}
	for _, c := range report.Currencies {
		d.Report = append(d.Report, bankPageRow{Currency: c.Currency, Credits: c.Credits, OperatorMatched: c.OperatorMatched,
			AutoShare: reports.FloatText(c.AutoMatchedShare), MedianHours: reports.FloatText(c.MedianHoursToApplication),
			UnmatchedAmount: c.UnmatchedAmountNow.String()})
	}
	list, err := s.Ledger.ListBankTransactions(ctx, ledger.BankUnmatched, 0, bankPageList)
	if err != nil {
		s.fail(w, r, "listing bank transactions", err)
		return
	}
	for _, b := range list {
		t := bankPageTx{ID: b.ID, Amount: money.Format(b.Amount, b.Currency), Currency: b.Currency, Entry: b.Entry,
			Account: b.Account, Remittance: b.Details.Text, Why: b.Why, Booked: "–"}
		if b.BookedAt != nil {
			t.Booked = b.BookedAt.Format(time.DateOnly)
		}
		t.Payer = strings.TrimSpace(b.Details.Payer.Name + " " + b.Details.Payer.Account)
		refs := append(append([]string{}, b.Details.References...), b.Details.Documents...)
		if len(refs) > 0 {
			t.Remittance = strings.TrimSpace(strings.Join(refs, " ") + " " + t.Remittance)
		}
		for _, sg := range b.Suggestions {
			t.Suggestions = append(t.Suggestions, bankSuggestionView{InvoiceID: sg.InvoiceID, Why: sg.Why})
		}
		d.Transactions = append(d.Transactions, t)
	}
	var buf bytes.Buffer
	if err := bankTemplates.ExecuteTemplate(&buf, "bank", d); err != nil {
		s.fail(w, r, "rendering the bank page", err)
		return
	}
	setPageHeaders(w.Header())
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// bankPageMatch serves the page's match form (POST /bank/{id}/match): the ticked
// suggestions and the typed invoice ids, in that order.
func (s *Server) bankPageMatch(w http.ResponseWriter, r *http.Request) {
	id, ok := bankIDFromPath(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.renderBank(w, r, http.StatusBadRequest, bankPageData{Error: "the form could not be read: " + err.Error()})
		return
	}
	var ids []string
	for _, v := range r.PostForm["invoice_id"] {
		if v = strings.TrimSpace(v); v != "" {
			ids = append(ids, v)
		}
	}
	ids = append(ids, strings.FieldsFunc(r.PostForm.Get("invoice_ids"), func(r rune) bool { return r == ',' || r == ' ' || r == ';' })...)
	if _, p := s.doBankMatch(r, id, BankMatchRequest{InvoiceIDs: ids}); p != nil {
		s.renderBank(w, r, cmp.Or(p.status, http.StatusBadRequest), bankPageData{Error: fmt.Sprintf("Transaction %d not matched: %s", id, p.msg)})
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/bank?matched=%d", id), http.StatusSeeOther)
}

// bankPageIgnore serves the page's ignore form (POST /bank/{id}/ignore).
func (s *Server) bankPageIgnore(w http.ResponseWriter, r *http.Request) {
	id, ok := bankIDFromPath(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.renderBank(w, r, http.StatusBadRequest, bankPageData{Error: "the form could not be read: " + err.Error()})
		return
	}
	if _, p := s.doBankIgnore(r, id, r.PostForm.Get("reason")); p != nil {
		s.renderBank(w, r, p.status, bankPageData{Error: fmt.Sprintf("Transaction %d not ignored: %s", id, p.msg)})
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/bank?ignored=%d", id), http.StatusSeeOther)
}
