package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/bank/rf"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/webhooks"
)

// camtEntry is one credit of a test statement.
type camtEntry struct {
	ref, amount, text, rfRef, payer string
}

// camtStatement writes a camt.053.001.08 statement of credits to account.
func camtStatement(account string, entries ...camtEntry) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<GrpHdr><MsgId>MSG-` + account + `</MsgId><CreDtTm>2026-03-02T18:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S-` + account + `</Id><Acct><Id><Othr><Id>` + account + `</Id></Othr></Id></Acct>`)
	for _, e := range entries {
		fmt.Fprintf(&b, `<Ntry><Amt Ccy="EUR">%s</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
<BookgDt><Dt>2026-03-02</Dt></BookgDt><AcctSvcrRef>%s</AcctSvcrRef><BkTxCd/><NtryDtls><TxDtls>`, e.amount, e.ref)
		if e.payer != "" {
			fmt.Fprintf(&b, `<RltdPties><Dbtr><Pty><Nm>%s</Nm></Pty></Dbtr></RltdPties>`, e.payer)
		}
		if e.text != "" || e.rfRef != "" {
			b.WriteString(`<RmtInf>`)
			if e.text != "" {
				fmt.Fprintf(&b, `<Ustrd>%s</Ustrd>`, e.text)
			}
			if e.rfRef != "" {
				fmt.Fprintf(&b, `<Strd><CdtrRefInf><Ref>%s</Ref></CdtrRefInf></Strd>`, e.rfRef)
			}
			b.WriteString(`</RmtInf>`)
		}
		b.WriteString(`</TxDtls></NtryDtls></Ntry>`)
	}
	b.WriteString(`</Stmt></BkToCstmrStmt></Document>`)
	return b.String()
}

func callAs(t *testing.T, srv *testServer, method, path, body, contentType string, headers ...string) answer {
	t.Helper()
	resp, err := srv.Client().Do(newRequest(t, method, srv.URL+path, body, contentType, headers))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{code: resp.StatusCode, header: resp.Header, body: b}
}

func TestBankStatementImport(t *testing.T) {
	t.Parallel()
	woken := 0
	srv := newTestServer(t, testStore, func(s *Server) {
		s.Bank.MaxBytes = 8 << 10
		s.Webhooks.Stored = func() { woken++ }
	})
	admin, adminKey := newKey(t, testStore, auth.AllScopes()...)
	inv := uid("INV")
	require.Equal(t, http.StatusCreated, call(t, srv, "POST", "/v1/invoices", invoiceJSON(inv, "100.00"), bearer(admin)...).code)
	acct := uid("ACCT")
	file := camtStatement(acct,
		camtEntry{ref: "E1", amount: "60.00", rfRef: rf.ForInvoice(inv), payer: "Ada Ltd"},
		camtEntry{ref: "E2", amount: "7.00"})

	a := callAs(t, srv, "POST", "/v1/bank-statements", file, "application/xml", bearer(admin)...)
	require.Equal(t, http.StatusCreated, a.code, string(a.body))
	var res BankImportResponse
	require.NoError(t, json.Unmarshal(a.body, &res))
	require.Equal(t, "camt.053", res.Format)
	require.Equal(t, 2, res.New)
	require.Equal(t, 1, res.Applied)
	require.Equal(t, 1, res.Unmatched)
	require.Equal(t, []BankAmount{{InvoiceID: inv, Amount: "60.00"}}, res.Items[0].Allocations)
	require.Contains(t, res.Items[0].Why, "a partial payment (60.00 of 100.00 EUR)")
	require.Equal(t, 1, woken, "the forwarder is woken for what was queued")

	// The payment waits in the outbox as a webhook event, dated no earlier than the
	// invoice (issued 2026-03-01 10:00, booked 2026-03-02).
	ev, err := testStore.GetWebhookEvent(context.Background(), "bank", fmt.Sprintf("bank-%d:%s", res.Items[0].ID, inv))
	require.NoError(t, err)
	require.Equal(t, ledger.WebhookPending, ev.Status)
	var we webhooks.Event
	require.NoError(t, json.Unmarshal(ev.Event, &we))
	require.Equal(t, webhooks.SourceBank, we.Source)
	require.Equal(t, webhooks.KindPayment, we.Kind)
	require.Equal(t, fmt.Sprintf("bank-%d", res.Items[0].ID), we.PaymentID)
	require.Equal(t, int64(6000), we.Amount)
	require.Equal(t, "2026-03-02T00:00:00Z", we.At.Format("2006-01-02T15:04:05Z07:00"))

	again := callAs(t, srv, "POST", "/v1/bank-statements", file, "application/vnd.iso20022.camt.053+xml", bearer(admin)...)
	require.Equal(t, http.StatusOK, again.code, string(again.body))
	require.NoError(t, json.Unmarshal(again.body, &res))
	require.Equal(t, 2, res.Duplicates)
	require.Zero(t, res.New+res.Applied)
	require.Equal(t, 1, woken)

	audit, err := testStore.ListKeyAudit(context.Background(), adminKey.ID)
	require.NoError(t, err)
	imports := 0
	for _, e := range audit {
		if e.Action == ledger.AuditBankImport {
			imports++
		}
	}
	require.Equal(t, 2, imports, "each import is audited")

	for _, tc := range []struct {
		name, body, ct string
		code           int
		field, want    string
	}{
		{"unknown format", file, "application/json", http.StatusUnsupportedMediaType, "Content-Type", "is not a statement format"},
		{"too many decimals", strings.Replace(file, "7.00", "7.001", 1), "application/xml", http.StatusBadRequest,
			"Stmt[1]/Ntry[2] (E2)/Amt", `"7.001" has 3 decimal places; EUR allows 2`},
		{"truncated", file[:len(file)-40], "application/xml", http.StatusBadRequest, "", "truncated"},
		{"too large", camtStatement(acct, camtEntry{ref: "E9", amount: "1.00", text: strings.Repeat("x", 9<<10)}), "application/xml",
			http.StatusRequestEntityTooLarge, "", "larger than 8192 bytes"},
		{"ofx that is not", "hello", "application/x-ofx", http.StatusBadRequest, "body", "not an OFX file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := callAs(t, srv, "POST", "/v1/bank-statements", tc.body, tc.ct, bearer(admin)...)
			require.Equal(t, tc.code, a.code, string(a.body))
			var e ErrorBody
			require.NoError(t, json.Unmarshal(a.body, &e))
			require.Contains(t, e.Error, tc.want)
			if tc.field != "" {
				require.Contains(t, e.Fields, tc.field, e.Fields)
			}
		})
	}
	list, err := testStore.ListBankTransactions(context.Background(), ledger.BankUnmatched, 0, 500)
	require.NoError(t, err)
	for _, b := range list {
		require.NotEqual(t, "E9", b.BankRef, "a refused file stores nothing")
	}
}

func TestBankQueueMatchAndIgnore(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore)
	admin, _ := newKey(t, testStore, auth.AllScopes()...)
	reader, _ := newKey(t, testStore, auth.ScopeRead)
	a1, a2 := uid("INV"), uid("INV")
	for _, id := range []string{a1, a2} {
		require.Equal(t, http.StatusCreated, call(t, srv, "POST", "/v1/invoices", invoiceJSON(id, "100.00"), bearer(admin)...).code)
	}
	acct := uid("ACCT")
	a := callAs(t, srv, "POST", "/v1/bank-statements", camtStatement(acct,
		camtEntry{ref: "Q1", amount: "150.00", payer: "Batch Payer " + acct},
		camtEntry{ref: "Q2", amount: "3.00"},
		camtEntry{ref: "Q3", amount: "4.00"}), "application/xml", bearer(admin)...)
	require.Equal(t, http.StatusCreated, a.code, string(a.body))
	var res BankImportResponse
	require.NoError(t, json.Unmarshal(a.body, &res))
	q1, q2, q3 := res.Items[0].ID, res.Items[1].ID, res.Items[2].ID

	a = call(t, srv, "GET", fmt.Sprintf("/v1/bank-transactions?status=unmatched&after=%d&limit=2", q1-1), "", bearer(reader)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	var list BankTransactionList
	require.NoError(t, json.Unmarshal(a.body, &list))
	require.Len(t, list.Transactions, 2)
	require.Equal(t, q1, list.Transactions[0].ID)
	require.Equal(t, "150.00", list.Transactions[0].Amount)
	require.Equal(t, "Batch Payer "+acct, list.Transactions[0].Payer.Name)
	require.Equal(t, q2, list.NextAfter)
	a = call(t, srv, "GET", "/v1/bank-transactions?status=lost&colour=red", "", bearer(reader)...)
	require.Equal(t, http.StatusBadRequest, a.code)
	require.Contains(t, a.errorText(t), "colour")

	match := func(id int64, body string, headers ...string) answer {
		return call(t, srv, "POST", fmt.Sprintf("/v1/bank-transactions/%d/match", id), body, headers...)
	}
	require.Equal(t, http.StatusForbidden, match(q1, fmt.Sprintf(`{"invoice_ids": [%q]}`, a1), bearer(reader)...).code)
	a = match(q1, fmt.Sprintf(`{"allocations": [{"invoice_id": %q, "amount": "100.00"}, {"invoice_id": %q, "amount": "40.00"}]}`, a1, a2), bearer(admin)...)
	require.Equal(t, http.StatusUnprocessableEntity, a.code, string(a.body))
	require.Contains(t, a.errorText(t), "add up to 14000 but the transfer is 15000")
	a = match(q1, `{"invoice_ids": ["NOPE-1"]}`, bearer(admin)...)
	require.Equal(t, http.StatusUnprocessableEntity, a.code, string(a.body))
	var eb ErrorBody
	require.NoError(t, json.Unmarshal(a.body, &eb))
	require.Equal(t, map[string]string{"invoice_ids[0]": "unknown invoice"}, eb.Fields)
	a = match(q1, `{"invoice_ids": []}`, bearer(admin)...)
	require.Equal(t, http.StatusBadRequest, a.code, string(a.body))

	a = match(q1, fmt.Sprintf(`{"invoice_ids": [%q, %q]}`, a1, a2), bearer(admin)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	var got BankTransactionView
	require.NoError(t, json.Unmarshal(a.body, &got))
	require.Equal(t, "matched", got.Status)
	require.Equal(t, "operator", got.Method)
	require.Equal(t, []BankAmount{{InvoiceID: a1, Amount: "100.00"}, {InvoiceID: a2, Amount: "50.00"}}, got.Allocations)
	require.Equal(t, http.StatusConflict, match(q1, fmt.Sprintf(`{"invoice_ids": [%q]}`, a1), bearer(admin)...).code)
	trail, err := testStore.ListAudit(context.Background(), a1)
	require.NoError(t, err)
	require.Equal(t, ledger.AuditBankMatch, trail[len(trail)-1].Action)

	ignore := func(id int64, body string) answer {
		return call(t, srv, "POST", fmt.Sprintf("/v1/bank-transactions/%d/ignore", id), body, bearer(admin)...)
	}
	require.Equal(t, http.StatusBadRequest, ignore(q2, `{"reason": " "}`).code)
	require.Equal(t, http.StatusBadRequest, ignore(q2, `{"reason": "refunded\u0000"}`).code, "a NUL was a 500")
	a = ignore(q2, `{"reason": "refunded to the sender"}`)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.Equal(t, http.StatusConflict, ignore(q2, `{"reason": "again"}`).code)
	require.Equal(t, http.StatusNotFound, ignore(999999999, `{"reason": "x"}`).code)
	require.Equal(t, http.StatusNotFound, call(t, srv, "GET", "/v1/bank-transactions/abc", "", bearer(reader)...).code)

	// The page lists what waits, and its forms act like the API.
	a = call(t, srv, "GET", "/bank", "", bearer(reader)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.Contains(t, a.header.Get("Content-Security-Policy"), "default-src 'none'")
	require.Contains(t, string(a.body), fmt.Sprintf(`data-tx="%d"`, q3))
	require.NotContains(t, string(a.body), fmt.Sprintf(`data-tx="%d"`, q1))
	a = call(t, srv, "GET", "/bank", "")
	require.Equal(t, http.StatusUnauthorized, a.code)
	require.Contains(t, string(a.body), "Sign in")

	noRedirect := *srv.Client()
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	form := func(path, body string, headers ...string) *http.Response {
		resp, err := noRedirect.Do(newRequest(t, "POST", srv.URL+path, body, "application/x-www-form-urlencoded", headers))
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	resp := form(fmt.Sprintf("/bank/%d/ignore", q3), "reason=refunded%00", bearer(admin)...)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "a NUL in the form was a 500")
	resp = form(fmt.Sprintf("/bank/%d/match", q3), "invoice_ids=NOPE-2", bearer(admin)...)
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	resp = form(fmt.Sprintf("/bank/%d/match", q3), "invoice_id="+a1, bearer(reader)...)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp = form(fmt.Sprintf("/bank/%d/match", q3), "invoice_id="+a1, bearer(admin)...)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, fmt.Sprintf("/bank?matched=%d", q3), resp.Header.Get("Location"))
	resp = form(fmt.Sprintf("/bank/%d/ignore", q3), "reason=late", bearer(admin)...)
	require.Equal(t, http.StatusConflict, resp.StatusCode)
}
