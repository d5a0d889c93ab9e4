package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ledongthuc/pdf"
	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/internal/fakeprovider"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/notify"
)

// Letters end to end: the real worker hands the letter of an e2e-letter step to the
// fake print-and-mail provider, exactly once, even when it dies between the
// provider's acceptance and the ledger write.

// letterInvoice is invoice(id) on e2e-letter with a postal address in Berlin.
func letterInvoice(id string) map[string]any {
	inv := customerInvoice(id, "", uniquePhone(), "e2e-letter", []string{"letter", "email"}, 14*time.Second)
	c := inv["customer"].(map[string]any)
	c["name"], c["locale"] = "Erika "+id, "de-DE"
	c["address"] = map[string]any{"lines": []string{"Hauptstraße 5"}, "postal_code": "10115", "city": "Berlin", "country": "DE"}
	return inv
}

// lettersAtProvider are the fake provider's letters of one letter key.
func lettersAtProvider(key string) []fakeprovider.Message {
	var out []fakeprovider.Message
	for _, m := range env.fakes.Outbox() {
		if m.Provider == fakeprovider.Print && m.CustomArgs[notify.MetadataKey] == key {
			out = append(out, m)
		}
	}
	return out
}

func letterStatus(key string) ledger.LetterStatus {
	l, err := env.ledger.GetLetterByKey(context.Background(), key)
	if err != nil {
		return ""
	}
	return l.Status
}

// pdfText is the text of a PDF, read back with a PDF reader.
func pdfText(t *testing.T, b []byte) string {
	t.Helper()
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	plain, err := r.GetPlainText()
	require.NoError(t, err)
	text, err := io.ReadAll(plain)
	require.NoError(t, err)
	return string(text)
}

// TestLetterReachesTheProviderWithItsPDF: a letter step's letter is in the fake
// provider's outbox with a PDF that opens and names the invoice and the address; the
// invoice's state, the letter list and the customer's timeline say so.
func TestLetterReachesTheProviderWithItsPDF(t *testing.T) {
	t.Parallel()
	id := "E2E-LETTER"
	key := id + "/letter/letter"
	issueInvoice(t, letterInvoice(id))
	eventually(t, 90*time.Second, "the letter handed to the provider", func() bool { return letterStatus(key) == ledger.LetterSent })
	sent := lettersAtProvider(key)
	require.Len(t, sent, 1, "exactly one letter")
	resp, err := http.Get(env.fakesURL + "/_fake/letters/" + sent[0].ID + ".pdf")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	text := pdfText(t, b)
	for _, want := range []string{"Mahnung: Rechnung " + id, "Hauptstra", "10115 Berlin", "Zahlschein"} {
		require.Contains(t, text, want)
	}

	var state map[string]any
	eventually(t, 30*time.Second, "the state to show the letter", func() bool {
		_, state = call(t, http.MethodGet, "/v1/invoices/"+id, nil)
		notices, _ := state["notices"].([]any)
		return len(notices) > 0 && notices[0].(map[string]any)["channel"] == "letter" && notices[0].(map[string]any)["status"] == "sent"
	})
	require.Equal(t, sent[0].ID, state["notices"].([]any)[0].(map[string]any)["provider_id"])
	code, list := call(t, http.MethodGet, "/v1/letters?status=sent&customer_id=C-"+id, nil)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, list["letters"], 1)
	code, tl := call(t, http.MethodGet, "/v1/customers/C-"+id+"/timeline?kind=message", nil)
	require.Equal(t, http.StatusOK, code, tl)
	require.Contains(t, tl["entries"].([]any)[0].(map[string]any)["details"], "letter_id")
	terminate(t, id)
}

// TestLetterWithoutAddressFallsBackToEmail: the same step for a customer without a
// postal address sends the email, and the state says why no letter went.
func TestLetterWithoutAddressFallsBackToEmail(t *testing.T) {
	t.Parallel()
	id := "E2E-LETTER-NOADDR"
	inv := letterInvoice(id)
	delete(inv["customer"].(map[string]any), "address")
	issueInvoice(t, inv)
	var notices []any
	eventually(t, 90*time.Second, "the fallback email", func() bool {
		_, state := call(t, http.MethodGet, "/v1/invoices/"+id, nil)
		notices, _ = state["notices"].([]any)
		return len(notices) == 2 && notices[1].(map[string]any)["status"] == "sent"
	})
	first := notices[0].(map[string]any)
	require.Equal(t, "letter", first["channel"])
	require.Contains(t, first["error"], "no postal address")
	require.Equal(t, "email", notices[1].(map[string]any)["channel"])
	require.Empty(t, lettersAtProvider(id+"/letter/letter"))
	terminate(t, id)
}

// TestCrashAfterLetterAcceptedPrintsOnce: the provider accepted the letter and the
// worker dies before the ledger says so. The retry finds the letter by its key at
// the provider and prints nothing more.
func TestCrashAfterLetterAcceptedPrintsOnce(t *testing.T) {
	id := "E2E-CRASH-LETTER"
	key := id + "/letter/letter"
	require.NoError(t, env.fakes.Hold(fakeprovider.Print, "Erika "+id))
	issueInvoice(t, letterInvoice(id))

	held := waitHeld(t)
	require.Equal(t, fakeprovider.Print, held.Provider)
	env.worker.kill()
	env.fakes.Release()
	require.Equal(t, ledger.LetterSending, letterStatus(key), "claimed before the call, not yet recorded")
	require.NoError(t, env.worker.start())

	eventually(t, 90*time.Second, "the letter recorded as sent", func() bool { return letterStatus(key) == ledger.LetterSent })
	require.Len(t, lettersAtProvider(key), 1, "exactly one letter")
	l, err := env.ledger.GetLetterByKey(context.Background(), key)
	require.NoError(t, err)
	require.GreaterOrEqual(t, l.Attempts, 2, "the activity ran again after the crash")
	terminate(t, id)
}
