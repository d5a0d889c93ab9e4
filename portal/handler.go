package portal

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/internal/metrics"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/templates"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// PathPrefix starts every portal URL: PathPrefix + token is the page.
const PathPrefix = "/p/"

// requestTimeout bounds one portal request (a page reads each open invoice's state).
const requestTimeout = 15 * time.Second

// maxFormBytes bounds a form's body: the longest field is a dispute's text.
const maxFormBytes = 16 << 10

// maxShown bounds the invoices one page shows (and queries).
const maxShown = 50

// Actor is how the portal names the customer in the audit trail and in the
// workflow's events.
const Actor = "customer"

// Server serves the portal: the page of a link's customer and its forms. The API
// mounts Routes behind its per-address rate limit and gives it the audit trail, the
// opt-out path and the per-link rate limit it already has.
type Server struct {
	Ledger   *ledger.Store
	Invoices *invoiceapi.Client
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Audit records an entry for request r answered with status (the API's audit:
	// it adds the request's facts).
	Audit func(r *http.Request, status int, e ledger.AuditEntry)
	// ApplyOptOut records an opt-out or opt-in and tells the customer's open invoices,
	// as a STOP or an unsubscribe is applied.
	ApplyOptOut func(ctx context.Context, c ledger.OptOutChange) error
	// LimitLink spends one request of a link's budget; refused, it says how long
	// until the next is allowed. nil: no limit per link.
	LimitLink func(linkID int64) (bool, time.Duration)
	// Origins are the origins a form may be posted from besides the page's own (the
	// public URL's, behind a proxy that rewrites Host).
	Origins []string
	// Checkout, when set, lets the customer pay several invoices at once through a
	// Stripe Checkout Session; without it each invoice links its payment_url.
	Checkout *Checkout
	// Statement, when set, renders the customer's statement as of today as a PDF in
	// locale (the API's statement, as GET /v1/customers/{id}/statement serves it),
	// served under the link at StatementPath; nil shows no download.
	Statement func(ctx context.Context, customerID, locale string) (pdf []byte, asOf string, err error)
}

// StatementPath is the customer's statement PDF, under the link's path.
const StatementPath = "statement.pdf"

// Routes registers the portal's routes with handle (the API's mux).
func (s *Server) Routes(handle func(pattern string, h http.Handler)) {
	handle("GET "+PathPrefix+"{token}", http.HandlerFunc(s.page))
	if s.Statement != nil {
		handle("GET "+PathPrefix+"{token}/"+StatementPath, http.HandlerFunc(s.statement))
	}
	for name, act := range map[string]func(http.ResponseWriter, *http.Request, *visit){
		"promise": s.promise, "dispute": s.dispute, "plan": s.plan, "preferences": s.preferences, "pay": s.pay,
	} {
		handle("POST "+PathPrefix+"{token}/"+name, s.form(name, act))
	}
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// visit is one request on a usable link.
type visit struct {
	link  ledger.PortalLink
	token Token
	ctx   context.Context
	w     words
}

// actor is how the workflow's event names who acted.
func (v *visit) actor() string { return Actor + ":link-" + strconv.FormatInt(v.link.ID, 10) }

// open resolves the link in the URL: a malformed or unknown token is 404, an expired
// or revoked link 410, an exhausted link budget 429; each answers a page that shows
// nothing of anyone.
func (s *Server) open(w http.ResponseWriter, r *http.Request, event string) (*visit, context.CancelFunc, bool) {
	ww := words(language(r.Header.Get("Accept-Language")))
	tok, err := ParseToken(r.PathValue("token"))
	if err != nil {
		metrics.Portal(event, "not_found")
		s.problem(w, http.StatusNotFound, ww, "notfound")
		return nil, nil, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	link, err := s.Ledger.PortalLinkByHash(ctx, tok.Hash())
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		cancel()
		metrics.Portal(event, "not_found")
		s.problem(w, http.StatusNotFound, ww, "notfound")
		return nil, nil, false
	case err != nil:
		cancel()
		s.failed(w, r, ww, event, "finding the portal link", err)
		return nil, nil, false
	case !link.Usable(s.now()):
		cancel()
		metrics.Portal(event, "gone")
		s.problem(w, http.StatusGone, ww, "gone")
		return nil, nil, false
	}
	if s.LimitLink != nil {
		if ok, after := s.LimitLink(link.ID); !ok {
			cancel()
			metrics.Portal(event, "limited")
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(after.Seconds()+0.999))))
			s.problem(w, http.StatusTooManyRequests, ww, "toomany")
			return nil, nil, false
		}
	}
	return &visit{link: link, token: tok, ctx: ctx, w: ww}, cancel, true
}

// form wraps an action: the link, then the origin and the CSRF token (403 without
// them), then the action. Nothing is read or changed before all three pass.
func (s *Server) form(event string, act func(http.ResponseWriter, *http.Request, *visit)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, cancel, ok := s.open(w, r, event)
		if !ok {
			return
		}
		defer cancel()
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		parsed := r.ParseForm()
		var tooLarge *http.MaxBytesError
		if errors.As(parsed, &tooLarge) {
			metrics.Portal(event, "refused")
			s.problem(w, http.StatusRequestEntityTooLarge, v.w, "forbidden")
			return
		}
		if !s.sameOrigin(r) || parsed != nil || !v.token.CheckCSRF(r.PostForm.Get("csrf")) {
			metrics.Portal(event, "forbidden")
			s.problem(w, http.StatusForbidden, v.w, "forbidden")
			return
		}
		act(w, r, v)
	})
}

// sameOrigin reports whether a form was posted from a page of this server. Browsers
// say so in Sec-Fetch-Site, or else in Origin (the page's Referrer-Policy keeps
// Origin on same-origin posts); a client that sends neither is not a browser page
// that another site could have made post, and still needs the CSRF token.
func (s *Server) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return origin == scheme+"://"+r.Host || slices.Contains(s.Origins, origin)
}

// setHeaders are the page's security headers: no script, no framing, nothing cached
// (the page is one customer's), no referrer beyond this site (the URL is the key).
func setHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Robots-Tag", "noindex")
}

//go:embed page.html
var pageFS embed.FS

var pageTemplate = template.Must(template.New("page.html").ParseFS(pageFS, "page.html"))

// problem answers a page that says what went wrong and nothing else.
func (s *Server) problem(w http.ResponseWriter, code int, ww words, key string) {
	s.render(w, code, "problem", map[string]any{"W": ww, "Title": ww.T(key + "_title"), "Body": ww.T(key + "_body")})
}

func (s *Server) render(w http.ResponseWriter, code int, name string, data any) {
	var buf bytes.Buffer
	if err := pageTemplate.ExecuteTemplate(&buf, name, data); err != nil {
		s.Logger.Error("Rendering the portal page failed", "template", name, "error", err)
		setHeaders(w.Header())
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("<!doctype html><title>Error</title><p>Sorry, something went wrong. Please try again later.</p>"))
		return
	}
	setHeaders(w.Header())
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// failed answers a fault: logged with the cause, shown as "try again", 503 when
// Temporal or the database may answer on a retry.
func (s *Server) failed(w http.ResponseWriter, r *http.Request, ww words, event, what string, err error) {
	s.Logger.Error("Portal request failed", "what", what, "path_kind", event, "error", err)
	metrics.Portal(event, "failed")
	code := http.StatusInternalServerError
	if invoiceapi.Unavailable(err) {
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "30")
	}
	s.render(w, code, "problem", map[string]any{"W": ww, "Title": ww.T("err_busy"), "Body": ""})
}

// page serves GET /p/{token}: the customer's open invoices and what they can do.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	v, cancel, ok := s.open(w, r, "visit")
	if !ok {
		return
	}
	defer cancel()
	d, err := s.load(v)
	if err != nil {
		s.failed(w, r, v.w, "visit", "reading the customer's invoices", err)
		return
	}
	if done := r.URL.Query().Get("done"); done != "" {
		if inv := r.URL.Query().Get("invoice"); collection.IDPattern.MatchString(inv) && slices.Contains([]string{"promise", "dispute", "plan", "plan_pending"}, done) {
			d.Notice = v.w.T("done_"+done, inv)
		} else if done == "prefs" {
			d.Notice = v.w.T("done_prefs")
		}
	}
	if n := s.checkoutNotice(v, d, r.URL.Query()); n != "" {
		d.Notice = n
	}
	metrics.Portal("visit", "shown")
	s.render(w, http.StatusOK, "page", d)
}

// statement serves GET /p/{token}/statement.pdf: the link's customer's statement as
// of today, in the customer's language, as a download. It is the customer's own
// record, so it carries no more than the page shows.
func (s *Server) statement(w http.ResponseWriter, r *http.Request) {
	v, cancel, ok := s.open(w, r, "statement")
	if !ok {
		return
	}
	defer cancel()
	locale := ""
	ids, err := s.Ledger.OpenInvoicesOf(v.ctx, []string{v.link.CustomerID})
	if err != nil {
		s.failed(w, r, v.w, "statement", "reading the customer's invoices", err)
		return
	}
	if len(ids) > 0 {
		view, err := s.Invoices.State(v.ctx, ids[0])
		if err != nil && !errors.Is(err, invoiceapi.ErrNotFound) {
			s.failed(w, r, v.w, "statement", "reading the customer's locale", err)
			return
		}
		locale = view.Locale
	}
	pdf, asOf, err := s.Statement(v.ctx, v.link.CustomerID, locale)
	if err != nil {
		s.failed(w, r, v.w, "statement", "rendering the statement", err)
		return
	}
	metrics.Portal("statement", "shown")
	h := w.Header()
	h.Set("Content-Type", "application/pdf")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="statement-%s.pdf"`, asOf))
	h.Set("Content-Length", strconv.Itoa(len(pdf)))
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; sandbox")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Robots-Tag", "noindex")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(pdf) // the customer went away; nothing to do
}

// pageData is everything the page shows.
type pageData struct {
	W        words
	Base     string // the link's path: forms post under it
	CSRF     string
	Notice   string // what the last action did
	Error    string // why the last action was refused
	ErrorFor string // the invoice whose form it concerns
	Invoices []pageInvoice
	Payments []string
	Channels []pageChannel
	// First is the channel the customer wants tried first ("" when they never chose);
	// FirstOptions the choices.
	First        string
	FirstOptions []pageOption
	Checkout     bool
	PayGroups    []payGroup // the pay forms (with Checkout): one per currency
	Statement    string
	PlanLimits   string
	PromiseMax   string
	Today        string
	Reasons      []pageOption
	Counts       []int
	FieldErrors  map[string]string
	Form         url.Values
}

type pageOption struct{ Value, Label string }

type pageChannel struct {
	Name, Label string
	On, Unused  bool
}

type pageInvoice struct {
	ID, Status                    string
	Original, Fees, Interest      string
	Discount, Balance, Due        string
	BalanceDecimal                string
	Why                           []string
	Held                          string
	PaymentURL                    string
	CanPromise, CanDispute        bool
	CanPlan, CanPay               bool
	PromiseMax, PromiseMaxISO     string
	PlanPending                   string
	HasFees, HasInterest, HasDisc bool
	view                          collection.View
	facts                         Facts
	policy                        *policy.Policy
}

// load reads the customer's open invoices (their workflows' state), payments, contact
// addresses and pending plan requests.
func (s *Server) load(v *visit) (*pageData, error) {
	customer := v.link.CustomerID
	ids, err := s.Ledger.OpenInvoicesOf(v.ctx, []string{customer})
	if err != nil {
		return nil, err
	}
	if len(ids) > maxShown {
		ids = ids[:maxShown]
	}
	var views []collection.View
	var policies []*policy.Policy
	for _, id := range ids {
		view, pol, err := s.state(v.ctx, id)
		if errors.Is(err, invoiceapi.ErrNotFound) {
			continue // issued in the ledger, its workflow not started yet
		}
		if err != nil {
			return nil, err
		}
		views, policies = append(views, view), append(policies, pol)
	}
	if len(views) > 0 && views[0].Locale != "" {
		v.w = words(language(views[0].Locale))
	}
	d := &pageData{W: v.w, Base: PathPrefix + v.token.String(), CSRF: v.token.CSRF(), Checkout: s.Checkout != nil,
		Counts: []int{2, 3, 4, 5, 6, 9, 12}, Form: url.Values{}}
	if s.Statement != nil {
		d.Statement = d.Base + "/" + StatementPath
	}
	for _, reason := range DisputeReasons {
		d.Reasons = append(d.Reasons, pageOption{Value: reason, Label: v.w.T("reason_" + reason)})
	}
	pending, err := s.Ledger.PendingPlanRequests(v.ctx, customer)
	if err != nil {
		return nil, err
	}
	for i, view := range views {
		d.Invoices = append(d.Invoices, s.invoice(v, view, policies[i], pending))
	}
	if s.Checkout != nil {
		d.PayGroups = payGroups(d.Invoices)
	}
	if len(d.Invoices) > 0 {
		d.Today = d.Invoices[0].facts.Today.String()
		d.PlanLimits = planLimits(v.w, d.Invoices[0].policy)
	}
	payments, err := s.Ledger.CustomerPayments(v.ctx, customer)
	if err != nil {
		return nil, err
	}
	locale := ""
	if len(views) > 0 {
		locale = views[0].Locale
	}
	for _, p := range payments {
		d.Payments = append(d.Payments, v.w.T("paid_on", templates.FormatAmount(p.Amount, p.Currency, locale),
			templates.FormatDate(p.PaidAt.Format(time.DateOnly), locale), p.InvoiceID))
	}
	if d.Channels, err = s.channels(v); err != nil {
		return nil, err
	}
	order, ok, err := s.Ledger.CustomerChannelOrder(v.ctx, customer)
	if err != nil {
		return nil, err
	}
	if ok {
		d.First = order.Order[0]
	}
	for _, ch := range ledger.ChannelOrders {
		d.FirstOptions = append(d.FirstOptions, pageOption{Value: ch, Label: v.w.T("prefs_first_" + ch)})
	}
	return d, nil
}

// state reads an invoice's state and the snapshot of the policy it runs under: the
// terms that apply to this invoice (its fees, interest and self-service limits), not
// the policy's current version.
func (s *Server) state(ctx context.Context, invoiceID string) (collection.View, *policy.Policy, error) {
	view, err := s.Invoices.State(ctx, invoiceID)
	if err != nil {
		return view, nil, err
	}
	pol, err := s.Invoices.Policy(ctx, invoiceID)
	if err != nil {
		return view, nil, err
	}
	return view, &pol, nil
}

// invoice lays one invoice out for the page, under pol, the invoice's own snapshot of
// its policy.
func (s *Server) invoice(v *visit, view collection.View, pol *policy.Policy, pending []ledger.PlanRequest) pageInvoice {
	loc, err := time.LoadLocation(view.Timezone)
	if err != nil {
		loc = time.UTC
	}
	minor := func(dec string) int64 {
		m, _ := money.Parse(dec, view.Currency) // the workflow wrote it
		return m
	}
	f := Facts{InvoiceID: view.InvoiceID, Status: view.Status, Currency: view.Currency, Balance: minor(view.Balance),
		Locale: view.Locale, Today: collection.DateOf(s.now().In(loc))}
	fmtAmount := func(dec string) string { return f.amount(minor(dec)) }
	until := PromiseLimit(pol, f.Today)
	pi := pageInvoice{
		ID: view.InvoiceID, Status: v.w.T("status_" + string(view.Status)),
		Original: fmtAmount(view.AmountDue), Fees: fmtAmount(view.Fees), Interest: fmtAmount(view.Interest),
		Discount: fmtAmount(view.Discount), Balance: f.amount(f.Balance), BalanceDecimal: view.Balance,
		Due: templates.FormatDate(view.DueDate, view.Locale), PaymentURL: safeURL(view.PaymentURL),
		HasFees: minor(view.Fees) > 0, HasInterest: minor(view.Interest) > 0, HasDisc: minor(view.Discount) > 0,
		PromiseMax: f.date(until), PromiseMaxISO: until.String(),
		view: view, facts: f, policy: pol,
	}
	pi.Why = chargesWhy(v.w, pol, f)
	switch {
	case view.Promise != nil:
		pi.Held = v.w.T("held_promise", f.amount(view.Promise.Amount), f.date(view.Promise.Date))
	case view.Dispute != nil:
		pi.Held = v.w.T("held_dispute")
	case view.Plan != nil:
		pi.Held = v.w.T("held_plan_done", len(view.Plan.Installments))
		for _, it := range view.Plan.Installments {
			if !f.Today.After(it.DueDate) {
				pi.Held = v.w.T("held_plan", len(view.Plan.Installments), f.amount(it.Amount), f.date(it.DueDate))
				break
			}
		}
	}
	for _, p := range pending {
		if p.InvoiceID == view.InvoiceID {
			pi.PlanPending = v.w.T("plan_pending", len(p.Installments))
		}
	}
	open := view.Status == collection.StatusOpen || view.Status == collection.StatusOverdue
	pi.CanPromise = open
	pi.CanDispute = view.Dispute == nil && !f.closed() && view.Status != collection.StatusEscalated
	pi.CanPlan = (open || view.Status == collection.StatusPromised) && pi.PlanPending == ""
	pi.CanPay = f.Balance > 0 && !f.closed()
	return pi
}

// safeURL keeps a payment URL only if it is http(s); html/template would neutralise
// anything else, but a link that goes nowhere is better not shown.
func safeURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return s
}

// chargesWhy says, in the customer's words, why fees and interest apply.
func chargesWhy(w words, p *policy.Policy, f Facts) []string {
	var out []string
	if fee := p.LateFee; fee != nil {
		if fee.Percent > 0 {
			out = append(out, w.T("why_fee_percent", fee.Percent.String()))
		} else if text, ok := fee.Amount[f.Currency]; ok {
			if m, err := money.Parse(text, f.Currency); err == nil {
				out = append(out, w.T("why_fee_amount", f.amount(m)))
			}
		}
	}
	if in := p.Interest; in != nil {
		out = append(out, w.T("why_interest", in.Rate.String()))
	}
	return out
}

// planLimits describes the policy's self-service plan limits.
func planLimits(w words, p *policy.Policy) string {
	if l := p.SelfServicePlan; l != nil {
		return w.T("plan_limits", l.MaxInstallments, l.MaxLength.Days, l.MinFirstPayment.String())
	}
	return w.T("plan_team")
}

// channels is the customer's contact preference per channel: on unless an address of
// the customer's on it is opted out.
func (s *Server) channels(v *visit) ([]pageChannel, error) {
	addrs, err := s.Ledger.CustomerAddresses(v.ctx, v.link.CustomerID)
	if err != nil {
		return nil, err
	}
	outs, err := s.Ledger.ListOptOuts(v.ctx, v.link.CustomerID)
	if err != nil {
		return nil, err
	}
	var out []pageChannel
	for _, ch := range []string{ledger.ChannelEmail, ledger.ChannelSMS} {
		c := pageChannel{Name: ch, Label: v.w.T("prefs_" + ch), On: true, Unused: true}
		for _, a := range addrs {
			c.Unused = c.Unused && a.Channel != ch
		}
		for _, o := range outs {
			if o.Channel == ch && o.OptedOut {
				c.On = false
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// target is the invoice a form acts on, if it is one of the link's customer's: any
// other id (unknown, or another customer's) is 404 and shows nothing.
func (s *Server) target(w http.ResponseWriter, r *http.Request, v *visit, event string) (*pageData, *pageInvoice, bool) {
	id := r.PostForm.Get("invoice")
	if collection.IDPattern.MatchString(id) {
		owner, err := s.Ledger.CustomerOf(v.ctx, id)
		if err != nil && !errors.Is(err, ledger.ErrNotFound) {
			s.failed(w, r, v.w, event, "reading the invoice", err)
			return nil, nil, false
		}
		if err == nil && owner == v.link.CustomerID {
			d, err := s.load(v)
			if err != nil {
				s.failed(w, r, v.w, event, "reading the customer's invoices", err)
				return nil, nil, false
			}
			for i := range d.Invoices {
				if d.Invoices[i].ID == id {
					return d, &d.Invoices[i], true
				}
			}
			// The customer's, but closed: its state still says why nothing can be done.
			view, pol, err := s.state(v.ctx, id)
			if err == nil {
				inv := s.invoice(v, view, pol, nil)
				return d, &inv, true
			}
			if !errors.Is(err, invoiceapi.ErrNotFound) {
				s.failed(w, r, v.w, event, "reading the invoice's state", err)
				return nil, nil, false
			}
		}
	}
	metrics.Portal(event, "not_found")
	s.problem(w, http.StatusNotFound, v.w, "notfound")
	return nil, nil, false
}

// audit records a customer's action on an invoice (inv "" for the account).
func (s *Server) audit(r *http.Request, v *visit, status int, action, outcome, inv, reason string, details map[string]any) {
	all := map[string]any{"actor": Actor, "link_id": v.link.ID, "customer_id": v.link.CustomerID}
	for k, val := range details {
		all[k] = val
	}
	s.Audit(r, status, ledger.AuditEntry{Action: "portal." + action, Outcome: outcome, InvoiceID: inv, Reason: reason, Details: all})
}

// refused shows the page again with why the form was not accepted (422), after
// recording the refusal.
func (s *Server) refused(w http.ResponseWriter, r *http.Request, v *visit, d *pageData, inv *pageInvoice, event string, code int, msg string, field string) {
	metrics.Portal(event, "refused")
	id := ""
	if inv != nil {
		id = inv.ID
	}
	s.audit(r, v, code, event, ledger.AuditRejected, id, msg, nil)
	d.Error, d.ErrorFor = msg, id
	d.FieldErrors = map[string]string{field: msg}
	d.Form = r.PostForm
	s.render(w, code, "page", d)
}

// refusal turns a form Refusal into the page's message.
func (s *Server) refusal(w http.ResponseWriter, r *http.Request, v *visit, d *pageData, inv *pageInvoice, event string, ref *Refusal) {
	args := slices.Clone(ref.Args)
	code := http.StatusUnprocessableEntity
	if ref.Key == "err_closed" || ref.Key == "err_state" {
		args[1] = v.w.T("status_" + fmt.Sprint(args[1]))
		// The invoice's state forbids it, not the form's values: 409, as when the
		// workflow refuses it and as the API answers (docs/portal.md).
		code = http.StatusConflict
	}
	msg := v.w.T(ref.Key, args...)
	if unchanged := v.w.T("unchanged"); !strings.Contains(msg, unchanged) {
		msg += " " + unchanged
	}
	s.refused(w, r, v, d, inv, event, code, msg, ref.Field)
}

// updateFailed answers an update the workflow refused or that did not complete.
func (s *Server) updateFailed(w http.ResponseWriter, r *http.Request, v *visit, d *pageData, inv *pageInvoice, event string, err error) {
	var (
		conflict *invoiceapi.ConflictError
		invalid  *invoiceapi.InvalidError
	)
	switch {
	case errors.As(err, &conflict):
		// The workflow's reason is its own (English) sentence; the page checked what it
		// could in the customer's words before, so this is rare: a state that changed
		// since the page was shown.
		s.refused(w, r, v, d, inv, event, http.StatusConflict, v.w.T("err_rejected", conflict.Reason), "invoice")
	case errors.As(err, &invalid):
		s.refused(w, r, v, d, inv, event, http.StatusUnprocessableEntity, v.w.T("err_rejected", invalid.Error()), invalid.Field)
	case errors.Is(err, invoiceapi.ErrClosed):
		s.refused(w, r, v, d, inv, event, http.StatusConflict, v.w.T("err_closed", inv.ID, inv.Status), "invoice")
	default:
		outcome := ledger.AuditFailed
		if invoiceapi.Unavailable(err) {
			outcome = ledger.AuditUnknown
		}
		s.audit(r, v, http.StatusServiceUnavailable, event, outcome, inv.ID, "did not complete", nil)
		s.failed(w, r, v.w, event, "sending the "+event+" update", err)
	}
}

// done redirects to the page with what the action did (so a reload sends nothing).
func (s *Server) done(w http.ResponseWriter, r *http.Request, v *visit, what, inv string) {
	q := url.Values{"done": {what}}
	if inv != "" {
		q.Set("invoice", inv)
	}
	http.Redirect(w, r, PathPrefix+v.token.String()+"?"+q.Encode(), http.StatusSeeOther)
}

// applied records an action that took effect and answers it.
func (s *Server) applied(w http.ResponseWriter, r *http.Request, v *visit, event, done, inv, reason string, res invoiceapi.EventResult, details map[string]any) {
	outcome := ledger.AuditApplied
	if res.Duplicate {
		outcome = ledger.AuditDuplicate
	}
	metrics.Portal(event, "applied")
	s.audit(r, v, http.StatusSeeOther, event, outcome, inv, reason, details)
	s.done(w, r, v, done, inv)
}

func (s *Server) promise(w http.ResponseWriter, r *http.Request, v *visit) {
	d, inv, ok := s.target(w, r, v, "promise")
	if !ok {
		return
	}
	in, ref := Promise(r.PostForm, inv.facts, PromiseLimit(inv.policy, inv.facts.Today))
	if ref == nil && !inv.CanPromise {
		ref = refuse("invoice", "err_state", inv.ID, inv.facts.Status)
	}
	if ref != nil {
		s.refusal(w, r, v, d, inv, "promise", ref)
		return
	}
	in.By, in.Reason = v.actor(), "promised on the customer's portal"
	res, err := s.Invoices.Promise(v.ctx, inv.ID, "", in)
	if err != nil {
		s.updateFailed(w, r, v, d, inv, "promise", err)
		return
	}
	s.applied(w, r, v, "promise", "promise", inv.ID, in.Reason, res, map[string]any{"date": in.Date, "amount_minor": in.Amount})
}

func (s *Server) dispute(w http.ResponseWriter, r *http.Request, v *visit) {
	d, inv, ok := s.target(w, r, v, "dispute")
	if !ok {
		return
	}
	reason, ref := Dispute(r.PostForm, inv.facts)
	if ref == nil && !inv.CanDispute {
		ref = refuse("invoice", "err_state", inv.ID, inv.facts.Status)
	}
	if ref != nil {
		s.refusal(w, r, v, d, inv, "dispute", ref)
		return
	}
	id := "portal-" + strconv.FormatInt(v.link.ID, 10) + "-" + s.now().UTC().Format("20060102T150405Z")
	res, err := s.Invoices.OpenDispute(v.ctx, inv.ID, "", invoiceapi.DisputeInput{DisputeID: id, Reason: reason, By: v.actor()})
	if err != nil {
		s.updateFailed(w, r, v, d, inv, "dispute", err)
		return
	}
	s.applied(w, r, v, "dispute", "dispute", inv.ID, reason, res, map[string]any{"dispute_id": id, "reason_code": r.PostForm.Get("reason")})
}

func (s *Server) plan(w http.ResponseWriter, r *http.Request, v *visit) {
	d, inv, ok := s.target(w, r, v, "plan")
	if !ok {
		return
	}
	items, ref := Plan(r.PostForm, inv.facts)
	if ref == nil && !inv.CanPlan {
		if inv.PlanPending != "" {
			ref = refuse("invoice", "err_plan_pending", inv.ID)
		} else {
			ref = refuse("invoice", "err_state", inv.ID, inv.facts.Status)
		}
	}
	if ref != nil {
		s.refusal(w, r, v, d, inv, "plan", ref)
		return
	}
	details := map[string]any{"installments": len(items), "first_due": items[0].DueDate, "last_due": items[len(items)-1].DueDate,
		"first_amount_minor": items[0].Amount}
	if ok, why := SelfService(items, inv.facts, inv.policy.SelfServicePlan); !ok {
		s.requestPlan(w, r, v, d, inv, items, why, details)
		return
	}
	in := invoiceapi.PlanInput{Installments: items, GraceDays: planGraceDays, By: v.actor(), Reason: "agreed on the customer's portal within the policy's self-service limits"}
	res, err := s.Invoices.Plan(v.ctx, inv.ID, "", in)
	if err != nil {
		s.updateFailed(w, r, v, d, inv, "plan", err)
		return
	}
	s.applied(w, r, v, "plan", "plan", inv.ID, in.Reason, res, details)
}

// requestPlan stores a plan outside the self-service limits for an operator.
func (s *Server) requestPlan(w http.ResponseWriter, r *http.Request, v *visit, d *pageData, inv *pageInvoice, items []invoiceapi.Installment, why string, details map[string]any) {
	req := ledger.PlanRequest{InvoiceID: inv.ID, CustomerID: v.link.CustomerID, LinkID: v.link.ID, Currency: inv.facts.Currency, WhyPending: why}
	for _, it := range items {
		req.Installments = append(req.Installments, ledger.PlanInstallment{DueDate: it.DueDate, Amount: it.Amount})
	}
	_, err := s.Ledger.CreatePlanRequest(v.ctx, req, func(p ledger.PlanRequest) ledger.AuditEntry {
		details["plan_request_id"] = p.ID
		details["actor"], details["link_id"], details["customer_id"] = Actor, v.link.ID, v.link.CustomerID
		return ledger.AuditEntry{Action: ledger.AuditPlanRequest, Outcome: ledger.PlanPending, InvoiceID: inv.ID, Reason: why, Details: details, At: s.now()}
	})
	if errors.Is(err, ledger.ErrPlanPending) {
		s.refusal(w, r, v, d, inv, "plan", refuse("invoice", "err_plan_pending", inv.ID))
		return
	}
	if err != nil {
		s.failed(w, r, v.w, "plan", "storing the plan request", err)
		return
	}
	metrics.Portal("plan", "pending")
	s.done(w, r, v, "plan_pending", inv.ID)
}

// preferences records the customer's choices: per channel, opted out or in, in the
// opt-out ledger for every address of the customer's on it, as STOP and unsubscribe
// are; and which channel a reminder that may go either way tries first (ledger
// contact_preferences, read by the invoice workflow at such a step). The form is
// checked whole before anything is recorded: a value it cannot have is refused (422)
// and nothing changes.
func (s *Server) preferences(w http.ResponseWriter, r *http.Request, v *visit) {
	d, err := s.load(v)
	if err != nil {
		s.failed(w, r, v.w, "preferences", "reading the customer's invoices", err)
		return
	}
	order, ref := ChannelOrder(r.PostForm)
	if ref == nil {
		for _, c := range d.Channels {
			if val := r.PostForm.Get(c.Name); val != "" && val != "on" {
				ref = refuse(c.Name, "err_prefs_value")
			}
		}
	}
	if ref != nil {
		s.refused(w, r, v, d, nil, "preferences", http.StatusUnprocessableEntity, v.w.T(ref.Key, ref.Args...), ref.Field)
		return
	}
	addrs, err := s.Ledger.CustomerAddresses(v.ctx, v.link.CustomerID)
	if err != nil {
		s.failed(w, r, v.w, "preferences", "reading the customer's addresses", err)
		return
	}
	now := s.now().UTC()
	changed := map[string]any{}
	if order != nil {
		_, ok, err := s.Ledger.SetChannelOrder(v.ctx, v.link.CustomerID, order, ledger.PreferenceByPortal, v.actor(), nil)
		if err != nil {
			s.audit(r, v, http.StatusServiceUnavailable, "preferences", ledger.AuditFailed, "", "did not complete", map[string]any{"channel_order": order})
			s.failed(w, r, v.w, "preferences", "recording the channel order", err)
			return
		}
		if ok {
			changed["channel_order"] = order
		}
	}
	for _, c := range d.Channels {
		want := r.PostForm.Get(c.Name) == "on"
		if want == c.On || c.Unused {
			continue
		}
		for _, a := range addrs {
			if a.Channel != c.Name {
				continue
			}
			change := ledger.OptOutChange{EventID: fmt.Sprintf("portal:%d:%s:%d", v.link.ID, c.Name, now.UnixNano()),
				Channel: c.Name, Address: a.Address, CustomerIDs: []string{v.link.CustomerID}, OptedOut: !want,
				Source: ledger.SourcePortal, At: now}
			if err := s.ApplyOptOut(v.ctx, change); err != nil {
				changed[c.Name] = want
				s.audit(r, v, http.StatusServiceUnavailable, "preferences", ledger.AuditFailed, "", "did not complete", changed)
				s.failed(w, r, v.w, "preferences", "recording the opt-out", err)
				return
			}
		}
		changed[c.Name] = want
	}
	metrics.Portal("preferences", "applied")
	s.audit(r, v, http.StatusSeeOther, "preferences", ledger.AuditApplied, "", "contact choices on the customer's portal", changed)
	s.done(w, r, v, "prefs", "")
}
