package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/bank/rf"
	"github.com/dunwell/dunwell/ledger"
)

// bankStatement is a camt.053.001.08 statement: a transfer quoting inv1's RF
// reference for all of it, one naming inv2 in its remittance text for part of it,
// and a batch credit of three transfers without remittance.
func bankStatement(inv1, inv2 string) string {
	entry := func(ref, amount, details string) string {
		return fmt.Sprintf(`<Ntry><Amt Ccy="EUR">%s</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
<BookgDt><Dt>%s</Dt></BookgDt><AcctSvcrRef>%s</AcctSvcrRef><BkTxCd/>%s</Ntry>`, amount, time.Now().UTC().Format(time.DateOnly), ref, details)
	}
	return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<GrpHdr><MsgId>E2E-BANK</MsgId><CreDtTm>2026-12-07T18:00:00</CreDtTm></GrpHdr>
<Stmt><Id>E2E-BANK-1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>` +
		entry("E2E-BANK-R1", "1250.00", `<NtryDtls><TxDtls><RltdPties><Dbtr><Pty><Nm>Ada Lovelace</Nm></Pty></Dbtr></RltdPties>
<RmtInf><Strd><CdtrRefInf><Ref>`+rf.ForInvoice(inv1)+`</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls>`) +
		entry("E2E-BANK-R2", "150.00", `<NtryDtls><TxDtls><RmtInf><Ustrd>first part of invoice `+inv2+`</Ustrd></RmtInf></TxDtls></NtryDtls>`) +
		entry("E2E-BANK-R3", "300.00", `<NtryDtls><Btch><NbOfTxs>3</NbOfTxs></Btch></NtryDtls><AddtlNtryInf>SEPA BATCH</AddtlNtryInf>`) +
		`</Stmt></BkToCstmrStmt></Document>`
}

type bankImport struct {
	New, Duplicates, Applied, Unmatched int
	Items                               []struct {
		ID     int64
		Status string
	}
}

func importStatement(t *testing.T, base, file string) (int, bankImport) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/v1/bank-statements", strings.NewReader(file))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/xml")
	req.Header.Set("Authorization", "Bearer "+env.apiKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out bankImport
	require.NoError(t, json.Unmarshal(data, &out), string(data))
	require.Contains(t, []int{http.StatusOK, http.StatusCreated}, resp.StatusCode, string(data))
	return resp.StatusCode, out
}

// TestBankStatementPaysTwoInvoicesOnce: a camt.053 pays one invoice in full and
// another in part through the forwarder, the batch credit waits for an operator who
// matches it by hand, and the same file imported again (before and after the
// payments are applied) applies nothing twice.
func TestBankStatementPaysTwoInvoicesOnce(t *testing.T) {
	t.Parallel()
	base := hookURL(t)
	inv1, inv2 := "E2E-BANK-1", "E2E-BANK-2"
	issueHook(t, inv1, "EUR", "1250.00")
	issueHook(t, inv2, "EUR", "400.00")
	file := bankStatement(inv1, inv2)

	code, first := importStatement(t, base, file)
	require.Equal(t, http.StatusCreated, code)
	require.Equal(t, 3, first.New)
	require.Equal(t, 2, first.Applied)
	require.Equal(t, 1, first.Unmatched)
	code, again := importStatement(t, base, file) // at once: the payments may still be in flight
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, 3, again.Duplicates)
	require.Zero(t, again.Applied)

	tx1, tx2, batch := first.Items[0].ID, first.Items[1].ID, first.Items[2].ID
	waitEvent(t, "bank", fmt.Sprintf("bank-%d:%s", tx1, inv1), ledger.WebhookApplied, 30*time.Second)
	waitEvent(t, "bank", fmt.Sprintf("bank-%d:%s", tx2, inv2), ledger.WebhookApplied, 30*time.Second)
	s1 := state(t, inv1)
	require.Equal(t, "paid", s1["status"], s1)
	require.Equal(t, rf.ForInvoice(inv1), s1["rf_reference"])
	s2 := state(t, inv2)
	require.Equal(t, "250.00", s2["balance"], s2)

	// The batch credit waits with its suggestions; an operator matches it to inv2,
	// whose rest it pays with 50.00 over, kept as credit.
	var queue struct {
		Transactions []struct {
			ID  int64  `json:"id"`
			Why string `json:"why"`
		} `json:"transactions"`
	}
	code, body := call(t, http.MethodGet, fmt.Sprintf("/v1/bank-transactions?after=%d", batch-1), nil)
	require.Equal(t, http.StatusOK, code, body)
	raw, _ := json.Marshal(body)
	require.NoError(t, json.Unmarshal(raw, &queue))
	require.Equal(t, batch, queue.Transactions[0].ID)
	require.Contains(t, queue.Transactions[0].Why, "a batch booking of 3 transfers without their details")
	code, body = call(t, http.MethodPost, fmt.Sprintf("/v1/bank-transactions/%d/match", batch), map[string]any{"invoice_ids": []string{inv2}})
	require.Equal(t, http.StatusOK, code, body)
	waitEvent(t, "bank", fmt.Sprintf("bank-%d:%s", batch, inv2), ledger.WebhookApplied, 30*time.Second)
	s2 = state(t, inv2)
	require.Equal(t, "paid", s2["status"], s2)
	require.Equal(t, "50.00", s2["credit"], s2)

	// Imported once more after everything was applied: nothing new, nothing again.
	code, third := importStatement(t, base, file)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, 3, third.Duplicates)
	for inv, want := range map[string][]string{inv1: {fmt.Sprintf("bank-%d", tx1)}, inv2: {fmt.Sprintf("bank-%d", tx2), fmt.Sprintf("bank-%d", batch)}} {
		pays, err := env.ledger.ListPayments(context.Background(), inv)
		require.NoError(t, err)
		var ids []string
		for _, p := range pays {
			ids = append(ids, p.PaymentID)
		}
		require.ElementsMatch(t, want, ids, "%s: each bank transaction applied once", inv)
	}
}
