package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestBankPageInChromium: an operator signs in on /bank, sees the credit that waits
// with its suggestion, ticks it and matches; the page comes back saying so and the
// credit has left the queue (the API agrees). Another is ignored with a reason.
func TestBankPageInChromium(t *testing.T) {
	bin := chromiumOrSkip(t, "the /bank browser test")
	t.Parallel()
	inv := "E2E-BANKPAGE-1"
	issueHook(t, inv, "EUR", "321.00")
	file := `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<GrpHdr><MsgId>E2E-BANKPAGE</MsgId><CreDtTm>2026-12-07T18:00:00</CreDtTm></GrpHdr>
<Stmt><Id>P1</Id><Acct><Id><IBAN>GB29NWBK60161331926819</IBAN></Id></Acct>
<Ntry><Amt Ccy="EUR">321.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><AcctSvcrRef>E2E-PAGE-1</AcctSvcrRef><BkTxCd/>
<NtryDtls><TxDtls><RltdPties><Dbtr><Pty><Nm>Grace Hopper</Nm></Pty></Dbtr></RltdPties></TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="EUR">0.99</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><AcctSvcrRef>E2E-PAGE-2</AcctSvcrRef><BkTxCd/></Ntry>
</Stmt></BkToCstmrStmt></Document>`
	code, res := importStatement(t, env.api.URL, file)
	require.Equal(t, http.StatusCreated, code)
	require.Equal(t, 2, res.Unmatched)
	matchID, ignoreID := res.Items[0].ID, res.Items[1].ID

	ctx := newBrowser(t, bin, 1280, 1400)
	tx := fmt.Sprintf(`[data-tx="%d"]`, matchID)
	require.NoError(t, chromedp.Do(ctx,
		signIn(env.api.URL+"/bank"),
		chromedp.WaitVisible(chromedp.CSS(tx)),
	))
	why, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector('%s [data-why]').textContent`, tx)))
	require.NoError(t, err)
	require.Contains(t, why, "no invoice reference")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`%s input[name="invoice_id"][value="%s"]`, tx, inv))),
		chromedp.Submit(chromedp.CSS(fmt.Sprintf(`form[data-match="%d"]`, matchID))),
		chromedp.WaitVisible(chromedp.ID("done")),
	))
	done, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('done').textContent`))
	require.NoError(t, err)
	require.Contains(t, done, fmt.Sprintf("Bank transaction %d matched", matchID))
	gone, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector('%s') === null`, tx)))
	require.NoError(t, err)
	require.True(t, gone, "the matched credit left the queue")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(fmt.Sprintf(`form[data-ignore="%d"] input[name="reason"]`, ignoreID)), "test transfer from our own bank"),
		chromedp.Submit(chromedp.CSS(fmt.Sprintf(`form[data-ignore="%d"]`, ignoreID))),
	))
	// The match's page had a #done too: wait for the one about the ignored credit.
	ignored := fmt.Sprintf("Bank transaction %d ignored", ignoreID)
	eventually(t, 30*time.Second, "the page to say the credit is ignored", func() bool {
		done, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("done")))
		return err == nil && strings.Contains(done, ignored)
	})

	code, body := call(t, http.MethodGet, fmt.Sprintf("/v1/bank-transactions/%d", matchID), nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "matched", body["status"])
	require.Equal(t, "operator", body["method"])
	code, body = call(t, http.MethodGet, fmt.Sprintf("/v1/bank-transactions/%d", ignoreID), nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "ignored", body["status"])
	require.True(t, strings.HasPrefix(body["ignore_reason"].(string), "test transfer"), body)
}
