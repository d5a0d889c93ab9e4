package e2e

import (
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/portal"
)

// The customer's portal in headless Chromium against the real stack: the link comes
// from a reminder in the fake outbox, the page is the API's, the actions are the
// invoices' workflow updates. UPDATE_SCREENSHOT=1 refreshes docs/img/portal.png.

// portalLinkIn finds the portal link in a message's text.
func portalLinkIn(t *testing.T, text string) string {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(env.api.URL+portal.PathPrefix) + `[A-Za-z0-9_-]{22}`).FindString(text)
	require.NotEmpty(t, m, "the reminder carries a portal link: %q", text)
	return m
}

// statusOf is the invoice's status through the API.
func statusOf(t *testing.T, id string) string {
	t.Helper()
	_, st := call(t, http.MethodGet, "/v1/invoices/"+id, nil)
	s, _ := st["status"].(string)
	return s
}

// customerActions are the invoice's audit entries made on the portal by the customer.
func customerActions(t *testing.T, id string) map[string]bool {
	t.Helper()
	var trail struct {
		Entries []struct {
			Action  string         `json:"action"`
			Outcome string         `json:"outcome"`
			Details map[string]any `json:"details"`
		} `json:"entries"`
	}
	getJSON(t, "/v1/invoices/"+id+"/audit", &trail)
	out := map[string]bool{}
	for _, e := range trail.Entries {
		if e.Details["actor"] == "customer" && e.Details["link_id"] != nil {
			out[e.Action+"/"+e.Outcome] = true
		}
	}
	return out
}

func TestPortalFromAReminderInChromium(t *testing.T) {
	bin := chromiumOrSkip(t, "the portal browser test")
	t.Parallel()
	const customer = "C-E2E-PORTAL"
	email, phone := "e2e-portal@example.com", uniquePhone()
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	var ids []string
	for _, n := range []string{"1", "2"} {
		id := "E2E-PORTAL-" + n
		inv := customerInvoice(id, customer, phone, "demo-portal", []string{"email", "sms"}, 14*time.Second)
		c := inv["customer"].(map[string]any)
		c["email"], c["name"], c["timezone"] = email, "Grace Hopper", "Europe/Berlin"
		// Due today in the customer's zone: in the last UTC hours of a day it is
		// already tomorrow in Berlin, and a due date before the issue day is refused.
		inv["due_date"] = time.Now().In(berlin).Format(time.DateOnly)
		issueInvoice(t, inv)
		ids = append(ids, id)
	}
	defer endAccount(t, customer, ids...)

	eventually(t, 60*time.Second, "the reminder email", func() bool { return len(env.fakes.OutboxFor(email)) > 0 })
	link := portalLinkIn(t, env.fakes.OutboxFor(email)[0].Text)

	ctx := newBrowser(t, bin, 760, 1200)
	article := func(id string) string { return `article[aria-labelledby="h-` + id + `"]` }
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(article(ids[0]))),
		chromedp.WaitVisible(chromedp.CSS(article(ids[1]))),
	), "opening %s", link)

	// Promise to pay the first invoice in five days.
	promised := time.Now().In(berlin).AddDate(0, 0, 5).Format(time.DateOnly)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`details:has(#date-`+ids[0]+`) > summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#date-`+ids[0])),
		chromedp.SetValue(chromedp.CSS(`#date-`+ids[0]), promised),
		chromedp.SetValue(chromedp.CSS(`#amount-`+ids[0]), "1250.00"),
		chromedp.Submit(chromedp.CSS(`#date-`+ids[0])),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	))
	notice, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.notice`)))
	require.NoError(t, err)
	require.Contains(t, notice, ids[0])
	eventually(t, 30*time.Second, ids[0]+" promised", func() bool { return statusOf(t, ids[0]) == "promised" })

	// Dispute the second.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`details:has(#reason-`+ids[1]+`) > summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#reason-`+ids[1])),
		chromedp.SetValue(chromedp.CSS(`#reason-`+ids[1]), "wrong_amount"),
		chromedp.SetValue(chromedp.CSS(`#text-`+ids[1]), "We ordered two crates, not three."),
		chromedp.Submit(chromedp.CSS(`#reason-`+ids[1])),
	))
	// The promise's page had a notice too: wait for the one about the dispute.
	eventually(t, 30*time.Second, "the page to say the dispute is recorded", func() bool {
		notice, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.notice`)))
		return err == nil && strings.Contains(notice, ids[1])
	})
	eventually(t, 30*time.Second, ids[1]+" disputed", func() bool { return statusOf(t, ids[1]) == "disputed" })

	// The page shows both holds; the audit trail and the timeline name the customer.
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	require.NoError(t, err)
	require.Contains(t, page, "Promised")
	require.Contains(t, page, "Disputed")
	require.True(t, customerActions(t, ids[0])["portal.promise/applied"], "the promise is in %s's audit trail", ids[0])
	require.True(t, customerActions(t, ids[1])["portal.dispute/applied"], "the dispute is in %s's audit trail", ids[1])
	var tl struct {
		Entries []struct {
			Kind      string         `json:"kind"`
			InvoiceID string         `json:"invoice_id"`
			Actor     string         `json:"actor"`
			Details   map[string]any `json:"details"`
		} `json:"entries"`
	}
	getJSON(t, "/v1/customers/"+customer+"/timeline", &tl)
	seen := map[string]string{}
	for _, e := range tl.Entries {
		if e.Actor == "customer" {
			seen[e.InvoiceID+"/"+strings.TrimPrefix(e.Details["event"].(string), "portal.")] = e.Kind
		}
	}
	require.Equal(t, "customer_action", seen[ids[0]+"/promise"], "the timeline shows the customer's promise: %v", seen)
	require.Equal(t, "customer_action", seen[ids[1]+"/dispute"], "the timeline shows the customer's dispute: %v", seen)

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	keepScreenshotAs(t, "portal.png", filepath.Join("docs", "img", "portal.png"), png)
}
