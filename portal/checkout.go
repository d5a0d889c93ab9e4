package portal

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/internal/metrics"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/templates"
	"github.com/dunwell/dunwell/webhooks"
)

// Paying on the portal. Without a Stripe key each invoice links its payment_url and
// the pay form does not exist (404). With one (Checkout), the page's pay form creates
// a Stripe Checkout Session through stripe-go for the invoices the customer picked,
// each for the amount they chose (up to its balance; the full balance unless they
// change it), and the customer continues on Stripe's page. The session's metadata
// names the customer, the link and each invoice with its amount
// (webhooks.CheckoutMetaInvoice ...); the payments are applied when Stripe's
// checkout.session.completed (or, for a payment method that settles later,
// checkout.session.async_payment_succeeded) webhook arrives, one payment per invoice,
// through the stored webhook path. Stripe sends the customer back to the page, which
// says what became of the payment.
//
// One session is in one currency (Stripe's rule), so the page offers one pay form per
// currency, and a form that picks invoices in two currencies is refused; no money is
// ever summed across currencies.

// Checkout creates Stripe Checkout Sessions for the portal's "pay" form.
type Checkout struct {
	client *stripe.Client
	// publicURL is where Stripe sends the customer back (DUNWELL_PUBLIC_URL).
	publicURL string
	now       func() time.Time
}

// CheckoutConfig configures NewCheckout.
type CheckoutConfig struct {
	// APIKey is the Stripe secret or restricted key (STRIPE_API_KEY).
	APIKey string
	// BaseURL is Stripe's API (STRIPE_BASE_URL); "" means Stripe's own.
	BaseURL string
	// PublicURL is the base of the portal's links: Stripe sends the customer back
	// to their page under it.
	PublicURL string
	// Timeout bounds one try of a call to Stripe (stripe-go tries a call up to three
	// times with the same idempotency key when the connection fails; Stripe's error
	// answers, 429 and 5xx included, reach the page, which asks to try again).
	Timeout time.Duration
	Logger  *slog.Logger
}

// callTimeout is CheckoutConfig.Timeout's default.
const callTimeout = 20 * time.Second

// NewCheckout returns a Checkout that calls Stripe through stripe-go.
func NewCheckout(c CheckoutConfig) (*Checkout, error) {
	switch {
	case c.APIKey == "":
		return nil, errors.New("checkout: a Stripe API key is required")
	case c.PublicURL == "":
		return nil, errors.New("checkout: DUNWELL_PUBLIC_URL is required: Stripe sends the customer back to the portal under it")
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("checkout: public URL %q is not an http(s) URL", c.PublicURL)
	}
	logger := c.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := &stripe.BackendConfig{
		HTTPClient:        &http.Client{Timeout: cmp.Or(c.Timeout, callTimeout)},
		LeveledLogger:     stripeLogger{logger},
		MaxNetworkRetries: stripe.Int64(2),
	}
	if c.BaseURL != "" {
		cfg.URL = stripe.String(c.BaseURL)
	}
	client := stripe.NewClient(c.APIKey, stripe.WithBackends(stripe.NewBackendsWithConfig(cfg)))
	return &Checkout{client: client, publicURL: strings.TrimRight(c.PublicURL, "/"), now: time.Now}, nil
}

// stripeLogger hands stripe-go's log lines to slog (at debug, but errors).
type stripeLogger struct{ l *slog.Logger }

func (s stripeLogger) Debugf(format string, v ...any) {
	s.l.Debug("stripe-go: " + fmt.Sprintf(format, v...))
}
func (s stripeLogger) Infof(format string, v ...any) {
	s.l.Debug("stripe-go: " + fmt.Sprintf(format, v...))
}
func (s stripeLogger) Warnf(format string, v ...any) {
	s.l.Debug("stripe-go: " + fmt.Sprintf(format, v...))
}
func (s stripeLogger) Errorf(format string, v ...any) {
	s.l.Warn("stripe-go: " + fmt.Sprintf(format, v...))
}

// payItem is one invoice of a payment: what the customer pays of it.
type payItem struct {
	InvoiceID string
	Amount    int64
	Balance   int64
}

// payment is what one session pays: the customer's, through a link, in one currency.
type payment struct {
	CustomerID string
	LinkID     int64
	Currency   string
	Locale     string
	Items      []payItem
	// Back is the customer's page (the link's URL) Stripe sends them back to.
	Back string
}

func (p *payment) total() int64 {
	var sum int64
	for _, it := range p.Items {
		sum += it.Amount
	}
	return sum
}

// idempotencyKey is the session's Stripe idempotency key: the link, the invoices with
// what is paid of each and its balance, and the hour. The same form sent twice (a
// double click, a retry after a timeout, a reload of the POST) gets the session the
// first one made, even from another replica; once a payment has changed a balance, or
// an hour later (Stripe keeps keys for a day, and an open session lasts one), a new
// one is made.
func (p *payment) idempotencyKey(now time.Time) string {
	h := sha256.New()
	fmt.Fprintf(h, "dunwell portal checkout v1\n%d\n%s\n%s\n", p.LinkID, p.Currency, now.UTC().Format("2006-01-02T15"))
	for _, it := range p.Items {
		fmt.Fprintf(h, "%s %d %d\n", it.InvoiceID, it.Amount, it.Balance)
	}
	return "dunwell-portal-" + hex.EncodeToString(h.Sum(nil)[:20])
}

// stripeLocales are the Checkout page languages Dunwell's customers may read (the
// portal's languages); any other is "auto", the browser's.
var stripeLocales = map[string]string{"en": "en", "de": "de", "ja": "ja"}

// params is the Checkout Session that pays p.
func (p *payment) params() *stripe.CheckoutSessionCreateParams {
	cur := strings.ToLower(p.Currency)
	meta := map[string]string{
		webhooks.CheckoutMetaCustomer: p.CustomerID,
		webhooks.CheckoutMetaLink:     strconv.FormatInt(p.LinkID, 10),
		webhooks.CheckoutMetaCount:    strconv.Itoa(len(p.Items)),
	}
	ids := make([]string, len(p.Items))
	var items []*stripe.CheckoutSessionCreateLineItemParams
	for i, it := range p.Items {
		meta[webhooks.CheckoutMetaInvoice(i+1)] = it.InvoiceID
		meta[webhooks.CheckoutMetaAmount(i+1)] = strconv.FormatInt(it.Amount, 10)
		ids[i] = it.InvoiceID
		items = append(items, &stripe.CheckoutSessionCreateLineItemParams{
			Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionCreateLineItemPriceDataParams{
				Currency:    stripe.String(cur),
				UnitAmount:  stripe.Int64(it.Amount),
				ProductData: &stripe.CheckoutSessionCreateLineItemPriceDataProductDataParams{Name: stripe.String("Invoice " + it.InvoiceID)},
			},
			Metadata: map[string]string{"invoice_id": it.InvoiceID},
		})
	}
	locale := "auto"
	if l, ok := stripeLocales[language(p.Locale)]; ok && p.Locale != "" {
		locale = l
	}
	return &stripe.CheckoutSessionCreateParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModePayment)),
		LineItems:         items,
		Metadata:          meta,
		ClientReferenceID: stripe.String(p.CustomerID),
		Locale:            stripe.String(locale),
		// Stripe puts the session id in for {CHECKOUT_SESSION_ID}.
		SuccessURL: stripe.String(p.Back + "?checkout={CHECKOUT_SESSION_ID}"),
		CancelURL:  stripe.String(p.Back + "?checkout=cancelled"),
		// The PaymentIntent names the customer but no invoice_id: its own
		// payment_intent.succeeded must not apply the money a second time (the
		// session's event applies it, per invoice).
		PaymentIntentData: &stripe.CheckoutSessionCreatePaymentIntentDataParams{
			Description: stripe.String("Invoices " + strings.Join(ids, ", ")),
			Metadata:    map[string]string{webhooks.CheckoutMetaCustomer: p.CustomerID, "dunwell_checkout": "portal"},
		},
	}
}

// create makes the session and returns its id and the URL of Stripe's page.
func (c *Checkout) create(ctx context.Context, p *payment) (string, string, error) {
	params := p.params()
	params.Context = ctx
	params.SetIdempotencyKey(p.idempotencyKey(c.now()))
	s, err := c.client.V1CheckoutSessions.Create(ctx, params)
	if err != nil {
		return "", "", err
	}
	if u, perr := url.Parse(s.URL); perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", "", fmt.Errorf("stripe answered checkout session %q without a usable url (%q)", s.ID, s.URL)
	}
	return s.ID, s.URL, nil
}

// sessionIDPattern is what a Checkout Session id in the return URL may look like.
var sessionIDPattern = regexp.MustCompile(`^cs_[A-Za-z0-9_]{1,200}$`)

// payGroup is one pay form: the payable invoices of one currency.
type payGroup struct {
	Currency string
	Invoices []pageInvoice
}

// payGroups splits the payable invoices by currency, in the page's order.
func payGroups(invs []pageInvoice) []payGroup {
	var out []payGroup
	for _, inv := range invs {
		if !inv.CanPay {
			continue
		}
		i := slices.IndexFunc(out, func(g payGroup) bool { return g.Currency == inv.facts.Currency })
		if i < 0 {
			out = append(out, payGroup{Currency: inv.facts.Currency})
			i = len(out) - 1
		}
		out[i].Invoices = append(out[i].Invoices, inv)
	}
	return out
}

// pay serves the pay form: without Checkout there is nothing to post to (each invoice
// links its payment_url), so it is 404 like any unknown page. With it, the picked
// invoices (form values "invoice", each with "amount_<id>", the full balance when
// empty) are checked against the customer's open invoices: none picked, more than
// webhooks.MaxCheckoutInvoices, an invoice that is not the customer's (or not known),
// a closed one, an amount above its balance or not above zero, or two currencies are
// refused on the page and nothing is created. Otherwise the session is created and
// the customer is sent to Stripe's page (303).
func (s *Server) pay(w http.ResponseWriter, r *http.Request, v *visit) {
	if s.Checkout == nil {
		s.problem(w, http.StatusNotFound, v.w, "notfound")
		return
	}
	d, err := s.load(v)
	if err != nil {
		s.failed(w, r, v.w, "pay", "reading the customer's invoices", err)
		return
	}
	p, code, ref := s.payment(r, v, d)
	if ref != nil {
		if code == http.StatusUnprocessableEntity {
			s.refusal(w, r, v, d, nil, "pay", ref)
			return
		}
		s.refused(w, r, v, d, nil, "pay", code, v.w.T(ref.Key, ref.Args...), ref.Field)
		return
	}
	ids, amounts := make([]string, len(p.Items)), make([]int64, len(p.Items))
	for i, it := range p.Items {
		ids[i], amounts[i] = it.InvoiceID, it.Amount
	}
	details := map[string]any{"invoices": ids, "amounts_minor": amounts, "currency": p.Currency, "total_minor": p.total()}
	sessionID, sessionURL, err := s.Checkout.create(v.ctx, p)
	if err != nil {
		s.Logger.Error("Creating a Stripe Checkout Session failed", "customer_id", p.CustomerID, "link_id", p.LinkID, "error", err)
		metrics.Portal("pay", "failed")
		code := http.StatusBadGateway
		var se *stripe.Error
		if !errors.As(err, &se) || se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode >= 500 {
			code = http.StatusServiceUnavailable // busy, down or timed out: a retry may work
			w.Header().Set("Retry-After", "60")
		}
		s.audit(r, v, code, "pay", ledger.AuditFailed, "", "creating the Stripe Checkout Session failed", details)
		d.Error = v.w.T("err_pay_busy")
		d.Form = r.PostForm
		s.render(w, code, "page", d)
		return
	}
	// One entry per invoice, so each invoice's audit trail shows the payment started.
	metrics.Portal("pay", "applied")
	for _, it := range p.Items {
		s.audit(r, v, http.StatusSeeOther, "pay", ledger.AuditCreated, it.InvoiceID, "Stripe Checkout Session created on the customer's portal",
			map[string]any{"session_id": sessionID, "currency": p.Currency, "amount_minor": it.Amount, "invoices": ids, "total_minor": p.total()})
	}
	http.Redirect(w, r, sessionURL, http.StatusSeeOther)
}

// payment reads the pay form against the customer's page: the payment, or why not
// (the status to answer and the refusal).
func (s *Server) payment(r *http.Request, v *visit, d *pageData) (*payment, int, *Refusal) {
	var ids []string
	for _, id := range r.PostForm["invoice"] {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	switch {
	case len(ids) == 0:
		return nil, http.StatusUnprocessableEntity, refuse("invoice", "err_pick")
	case len(ids) > webhooks.MaxCheckoutInvoices:
		return nil, http.StatusUnprocessableEntity, refuse("invoice", "err_pay_many", webhooks.MaxCheckoutInvoices)
	}
	p := &payment{CustomerID: v.link.CustomerID, LinkID: v.link.ID, Back: s.Checkout.publicURL + PathPrefix + v.token.String()}
	for _, id := range ids {
		i := slices.IndexFunc(d.Invoices, func(inv pageInvoice) bool { return inv.ID == id })
		if i < 0 {
			code, ref := s.notPayable(v, id)
			return nil, code, ref
		}
		inv := &d.Invoices[i]
		f := inv.facts
		if !inv.CanPay {
			return nil, http.StatusConflict, refuse("invoice", "err_closed", id, inv.Status)
		}
		switch {
		case p.Currency == "":
			p.Currency, p.Locale = f.Currency, f.Locale
		case p.Currency != f.Currency:
			return nil, http.StatusUnprocessableEntity, refuse("invoice", "err_pay_currency", p.Currency, f.Currency)
		}
		field := "amount_" + id
		amount := f.Balance
		if strings.TrimSpace(r.PostForm.Get(field)) != "" {
			a, ref := parseAmount(r.PostForm, field, f)
			if ref != nil {
				ref.Key, ref.Args = ref.Key+"_for", []any{id}
				return nil, http.StatusUnprocessableEntity, ref
			}
			if a > f.Balance {
				return nil, http.StatusUnprocessableEntity, refuse(field, "err_pay_balance", id, f.amount(f.Balance))
			}
			amount = a
		}
		p.Items = append(p.Items, payItem{InvoiceID: id, Amount: amount, Balance: f.Balance})
	}
	return p, 0, nil
}

// notPayable answers an invoice the page does not offer: one of the customer's that is
// closed says so (409); any other id, unknown or another customer's, is 404 and the
// page says only that it is not among theirs, showing nothing of anyone else.
func (s *Server) notPayable(v *visit, id string) (int, *Refusal) {
	if collection.IDPattern.MatchString(id) {
		if owner, err := s.Ledger.CustomerOf(v.ctx, id); err == nil && owner == v.link.CustomerID {
			if view, err := s.Invoices.State(v.ctx, id); err == nil {
				return http.StatusConflict, refuse("invoice", "err_closed", id, v.w.T("status_"+string(view.Status)))
			}
		}
	}
	shown := id
	if !collection.IDPattern.MatchString(id) {
		shown = "?"
	}
	metrics.Portal("pay", "not_found")
	return http.StatusNotFound, refuse("invoice", "err_pay_unknown", shown)
}

// checkoutNotice is what the page says when Stripe sends the customer back: the
// session's outcome, read from Stripe, if it is this customer's; "" when the URL
// does not come from a checkout.
func (s *Server) checkoutNotice(v *visit, d *pageData, q url.Values) string {
	got := q.Get("checkout")
	switch {
	case s.Checkout == nil || got == "":
		return ""
	case got == "cancelled":
		return v.w.T("done_pay_cancelled")
	case !sessionIDPattern.MatchString(got):
		return ""
	}
	sess, err := s.Checkout.client.V1CheckoutSessions.Retrieve(v.ctx, got, nil)
	if err != nil {
		s.Logger.Warn("Reading a Stripe Checkout Session for the portal failed", "link_id", v.link.ID, "error", err)
		return v.w.T("done_pay_unknown")
	}
	if sess.Metadata[webhooks.CheckoutMetaCustomer] != v.link.CustomerID {
		return "" // not this customer's session: say nothing about it
	}
	cur := strings.ToUpper(string(sess.Currency))
	var ids []string
	n, _ := strconv.Atoi(sess.Metadata[webhooks.CheckoutMetaCount])
	for i := 1; i <= n && i <= webhooks.MaxCheckoutInvoices; i++ {
		if id := sess.Metadata[webhooks.CheckoutMetaInvoice(i)]; collection.IDPattern.MatchString(id) {
			ids = append(ids, id)
		}
	}
	amount := ""
	if money.ValidCurrency(cur) {
		locale := string(v.w)
		if len(d.Invoices) > 0 && d.Invoices[0].facts.Locale != "" {
			locale = d.Invoices[0].facts.Locale
		}
		amount = templates.FormatAmount(sess.AmountTotal, cur, locale)
	}
	switch {
	case sess.PaymentStatus == stripe.CheckoutSessionPaymentStatusPaid:
		return v.w.T("done_paid", amount, strings.Join(ids, ", "))
	case sess.Status == stripe.CheckoutSessionStatusComplete:
		return v.w.T("done_pay_processing", amount, strings.Join(ids, ", "))
	}
	return v.w.T("done_pay_open")
}
