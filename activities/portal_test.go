package activities

import (
	"context"
	"crypto/sha256"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/notify"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/portal"
	"github.com/dunwell/dunwell/templates"
	"github.com/dunwell/dunwell/workflows/accountapi"
)

const portalBase = "https://collect.example.com"

var portalLinkRE = regexp.MustCompile(regexp.QuoteMeta(portalBase+portal.PathPrefix) + `([A-Za-z0-9_-]{22})`)

func withPortal(r *rig) {
	r.acts.Portal = &PortalLinks{PublicURL: portalBase, TTL: 720 * time.Hour, Key: []byte(strings.Repeat("k", 32))}
}

// smsMessage issues two invoices of a new customer and returns an SMS message listing both.
func smsMessage(t *testing.T) accountapi.MessageRequest {
	t.Helper()
	n := seq.Add(1)
	customer := fmt.Sprintf("C-PRT-%d-%d", time.Now().UnixNano(), n)
	req := accountapi.MessageRequest{CustomerID: customer, Channel: policy.SMS, WindowDay: "2026-12-08",
		To:          accountapi.Recipient{Name: "Ada", Phone: fmt.Sprintf("+1415%07d", 5_000_000+n), Locale: "en-US", Timezone: "America/New_York"},
		ScheduledAt: time.Date(2026, 12, 8, 15, 0, 0, 0, time.UTC)}
	for i := range 2 {
		id := fmt.Sprintf("%s-INV-%d", customer, i)
		sum := sha256.Sum256([]byte(id))
		_, err := testStore.IssueInvoice(context.Background(), ledger.InvoiceRecord{InvoiceID: id, CustomerID: customer, Currency: "USD",
			AmountDue: 125000, IssuedAt: time.Now().UTC(), DueDate: "2026-12-01", PolicyID: "standard", BodySHA256: sum[:]})
		require.NoError(t, err)
		req.Lines = append(req.Lines, accountapi.Line{InvoiceID: id, Currency: "USD", AmountDue: 125000, DueDate: "2026-12-01",
			PaymentURL: "https://pay.example.com/" + id, Step: "first-reminder", Template: "overdue"})
	}
	req.Key = accountapi.MessageKey(customer, policy.SMS, req.WindowDay, "b1")
	return req
}

func (r *rig) sendMessage(req accountapi.MessageRequest) (accountapi.MessageResult, error) {
	v, err := r.env.ExecuteActivity(r.acts.SendAccountMessage, req)
	if err != nil {
		return accountapi.MessageResult{}, err
	}
	var res accountapi.MessageResult
	return res, v.Get(&res)
}

func TestAccountMessageCarriesItsOwnPortalLink(t *testing.T) {
	t.Parallel()
	r := newRig(t, 5*time.Second)
	withPortal(r)
	req := smsMessage(t)
	res, err := r.sendMessage(req)
	require.NoError(t, err)
	require.Len(t, res.Covered, 2)

	out := r.fake.OutboxFor(req.To.Phone)
	require.Len(t, out, 1)
	m := portalLinkRE.FindStringSubmatch(out[0].Text)
	require.NotNil(t, m, "the SMS carries the portal link: %q", out[0].Text)
	require.LessOrEqual(t, templates.MeasureSMS(out[0].Text).Segments, 2, "still two segments at most: %q", out[0].Text)
	tok, err := portal.ParseToken(m[1])
	require.NoError(t, err)
	link, err := testStore.PortalLinkByHash(context.Background(), tok.Hash())
	require.NoError(t, err, "the link is stored (by its hash) and opens the page")
	require.Equal(t, req.CustomerID, link.CustomerID)
	require.True(t, link.Usable(time.Now()))
	require.Equal(t, "message "+req.Key, link.CreatedBy)
	require.WithinDuration(t, time.Now().Add(720*time.Hour), link.ExpiresAt, time.Hour)

	// Without a public URL, no link: the message links the invoice's payment page.
	r.acts.Portal = nil
	plain := smsMessage(t)
	_, err = r.sendMessage(plain)
	require.NoError(t, err)
	out = r.fake.OutboxFor(plain.To.Phone)
	require.Len(t, out, 1)
	require.NotContains(t, out[0].Text, portal.PathPrefix)
}

// An attempt that claimed the message and died after the provider took it: the next
// attempt renders the same text, link included, so it finds the message at the
// provider (Twilio has no idempotency key: the body is compared) and sends nothing.
func TestARetriedMessageRendersTheSameLinkAndIsNotSentTwice(t *testing.T) {
	t.Parallel()
	r := newRig(t, 5*time.Second)
	withPortal(r)
	req := smsMessage(t)
	ctx := context.Background()
	claim := ledger.MessageClaim{Key: req.Key, CustomerID: req.CustomerID, Channel: string(req.Channel), WindowDay: req.WindowDay}
	for _, l := range req.Lines {
		claim.Lines = append(claim.Lines, ledger.MessageLine{InvoiceID: l.InvoiceID, Step: l.Step})
	}
	row, err := testStore.ClaimMessage(ctx, claim)
	require.NoError(t, err)
	url, err := r.acts.portalURL(ctx, req.CustomerID, req.Key)
	require.NoError(t, err)
	msg, err := r.acts.renderAccount(req, row.Covered, url)
	require.NoError(t, err)
	_, err = r.acts.SMS.SendSMS(ctx, notify.SMS{Key: req.Key, To: req.To.Phone, Body: msg.sms})
	require.NoError(t, err)

	res, err := r.sendMessage(req)
	require.NoError(t, err)
	require.True(t, res.AlreadySent, "found at the provider by its text")
	require.Len(t, r.fake.OutboxFor(req.To.Phone), 1, "not sent twice")
	again, err := r.acts.portalURL(ctx, req.CustomerID, req.Key)
	require.NoError(t, err)
	require.Equal(t, url, again)
	var links int
	require.NoError(t, testStore.Pool().QueryRow(ctx, `SELECT count(*) FROM portal_links WHERE customer_id = $1`, req.CustomerID).Scan(&links))
	require.Equal(t, 1, links, "one link per message, however many attempts")
}

func TestStatementEmailCarriesThePortalLink(t *testing.T) {
	t.Parallel()
	r := newRig(t, 5*time.Second)
	withPortal(r)
	customer, _, email := statementCustomer(t, true)
	res, err := r.sendStatement(StatementRequest{CustomerID: customer, AsOf: "2026-12-01"})
	require.NoError(t, err)
	require.Equal(t, "sent", res.Outcome)
	out := r.fake.OutboxFor(email)
	require.Len(t, out, 1)
	m := portalLinkRE.FindStringSubmatch(out[0].Text)
	require.NotNil(t, m, "the statement email carries the portal link: %q", out[0].Text)
	tok, err := portal.ParseToken(m[1])
	require.NoError(t, err)
	link, err := testStore.PortalLinkByHash(context.Background(), tok.Hash())
	require.NoError(t, err)
	require.Equal(t, customer, link.CustomerID)
	require.Equal(t, "message statement/"+customer+"/2026-12-01", link.CreatedBy)
}

// A per-invoice reminder (policy consolidate: off) carries the customer's portal link
// of its own, derived from the notice's key: stored once, the same on a retry.
func TestPerInvoiceReminderCarriesItsOwnPortalLink(t *testing.T) {
	t.Parallel()
	r := newRig(t, 5*time.Second)
	withPortal(r)
	for _, ch := range []policy.Channel{policy.SMS, policy.Email} {
		req := request(t, ch)
		_, err := r.send(req)
		require.NoError(t, err)
		out := r.fake.OutboxFor(req.To)
		require.Len(t, out, 1)
		text := out[0].Text
		m := portalLinkRE.FindStringSubmatch(text)
		require.NotNil(t, m, "%s carries the portal link: %q", ch, text)
		if ch == policy.SMS {
			require.LessOrEqual(t, templates.MeasureSMS(text).Segments, 2, text)
			require.NotContains(t, text, req.PaymentURL, "one link in an SMS: the portal's")
		} else {
			require.Contains(t, text, "See all your invoices and pay online: "+m[0])
			require.Contains(t, text, req.PaymentURL, "the email keeps the payment page")
		}
		tok, err := portal.ParseToken(m[1])
		require.NoError(t, err)
		link, err := testStore.PortalLinkByHash(context.Background(), tok.Hash())
		require.NoError(t, err)
		require.Equal(t, req.CustomerID, link.CustomerID)
		require.Equal(t, "message "+NoticeLinkKey(req), link.CreatedBy)
		again, err := r.acts.portalURL(context.Background(), req.CustomerID, NoticeLinkKey(req))
		require.NoError(t, err)
		require.Equal(t, m[0], again, "a retry renders the same link")
	}
}

func TestStatementEmailPortalLineSpeaksTheCustomersLanguage(t *testing.T) {
	const url = portalBase + "/p/abc"
	for locale, want := range map[string]string{
		"en-US": "See your invoices, download this statement again",
		"de-DE": "Ihre Rechnungen ansehen, diesen Kontoauszug erneut herunterladen",
		"ja-JP": "請求書の確認、この明細書の再ダウンロード",
		"fr-FR": "See your invoices", // no texts of its own: English
	} {
		line := portalLine(url, locale)
		require.Contains(t, line, want, locale)
		require.Contains(t, line, "\n"+url+"\n", locale)
	}
	require.Empty(t, portalLine("", "de-DE"), "no link, no line")
}
