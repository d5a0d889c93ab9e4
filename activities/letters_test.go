package activities

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/internal/fakeprovider"
	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/letter"
	"github.com/dunwell/dunwell/notify"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/templates"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// letterRig is newRig with the print-and-mail provider configured (print true) or
// not (the outbox).
func letterRig(t *testing.T, print bool) *rig {
	t.Helper()
	r := newRig(t, 5*time.Second)
	r.acts.Business = templates.Business{Name: "Acme Widgets", Address: "1 Main St, Springfield"}
	if print {
		ts := httptest.NewServer(r.fake)
		t.Cleanup(ts.Close)
		c, err := notify.NewPrintClient(notify.PrintConfig{BaseURL: ts.URL, APIKey: "k", From: "adr_acme", Timeout: 5 * time.Second, Transport: testenv.Transport})
		require.NoError(t, err)
		r.acts.Letters = c
	}
	return r
}

func (r *rig) sendLetter(req invoiceapi.LetterRequest) (invoiceapi.LetterResult, error) {
	v, err := r.env.ExecuteActivity(r.acts.SendLetter, req)
	if err != nil {
		return invoiceapi.LetterResult{}, err
	}
	var res invoiceapi.LetterResult
	return res, v.Get(&res)
}

func letterRequest(t *testing.T) invoiceapi.LetterRequest {
	t.Helper()
	n := request(t, policy.Email)
	return invoiceapi.LetterRequest{
		InvoiceID: n.InvoiceID, CustomerID: n.CustomerID, CustomerName: "Ada Lovelace", Step: "letter", Template: "overdue",
		To:     collection.Address{Lines: []string{"12 St James's Sq"}, PostalCode: "SW1Y 4LB", City: "London", Country: "GB"},
		Locale: "en-GB", Timezone: "Europe/London", ScheduledAt: n.ScheduledAt, Currency: "USD",
		Original: 125000, Balance: 125000, DueDate: n.DueDate,
	}
}

func lettersAt(r *rig, key string) int {
	n := 0
	for _, m := range r.fake.Outbox() {
		if m.Provider == fakeprovider.Print && m.CustomArgs[notify.MetadataKey] == key {
			n++
		}
	}
	return n
}

func TestLetterWithoutProviderGoesToTheOutbox(t *testing.T) {
	t.Parallel()
	r := letterRig(t, false)
	req := letterRequest(t)
	res, err := r.sendLetter(req)
	require.NoError(t, err)
	require.Equal(t, invoiceapi.LetterToPrint, res.Status)
	require.Equal(t, "letter:", res.Reference()[:7])
	again, err := r.sendLetter(req)
	require.NoError(t, err)
	require.True(t, again.AlreadySent)
	require.Equal(t, res.LetterID, again.LetterID)

	row, err := testStore.GetLetterByKey(context.Background(), req.Key())
	require.NoError(t, err)
	require.Equal(t, ledger.LetterToPrint, row.Status)
	pdf, err := testStore.LetterPDF(context.Background(), row.ID)
	require.NoError(t, err)
	want, err := letter.PDF(letter.Letter{
		InvoiceID: req.InvoiceID, CustomerID: req.CustomerID, CustomerName: req.CustomerName, To: req.To, Template: req.Template,
		Step: req.Step, Locale: req.Locale, Date: "2026-12-08", Currency: "USD", Original: 125000, AmountDue: 125000, DueDate: req.DueDate,
	}, letter.Options{From: r.acts.Business})
	require.NoError(t, err)
	require.Equal(t, want, pdf, "the stored PDF is the letter of the request")
}

// The three crash windows of one letter, each replayed as the retry that follows it.
func TestLetterCrashWindowsPrintExactlyOnce(t *testing.T) {
	t.Parallel()
	r := letterRig(t, true)
	ctx := context.Background()
	claim := func(req invoiceapi.LetterRequest) {
		_, err := testStore.ClaimLetter(ctx, ledger.LetterClaim{Key: req.Key(), InvoiceID: req.InvoiceID, CustomerID: req.CustomerID,
			Step: req.Step, Template: req.Template, PDF: []byte("%PDF-crashed")})
		require.NoError(t, err)
	}

	// Before the provider call: claimed, nothing sent. The retry sends once.
	req := letterRequest(t)
	claim(req)
	res, err := r.sendLetter(req)
	require.NoError(t, err)
	require.False(t, res.AlreadySent)
	require.Equal(t, 1, lettersAt(r, req.Key()))

	// After the provider accepted, before the ledger write: the row is still
	// 'sending'; the retry finds the letter by its key and prints nothing more.
	req = letterRequest(t)
	claim(req)
	crashed, err := r.acts.Letters.SendLetter(ctx, notify.Letter{Key: req.Key(), InvoiceID: req.InvoiceID, To: req.To, ToName: "Ada", PDF: []byte("%PDF-1")})
	require.NoError(t, err)
	res, err = r.sendLetter(req)
	require.NoError(t, err)
	require.True(t, res.AlreadySent)
	require.Equal(t, crashed.ProviderID, res.ProviderID)
	require.Equal(t, 1, lettersAt(r, req.Key()))

	// The same window when the provider's look-up is down: the retry fails and is
	// retried; the Idempotency-Key would answer the first letter all the same.
	req = letterRequest(t)
	claim(req)
	_, err = r.acts.Letters.SendLetter(ctx, notify.Letter{Key: req.Key(), InvoiceID: req.InvoiceID, To: req.To, ToName: "Ada", PDF: []byte("%PDF-1")})
	require.NoError(t, err)
	_, err = r.fake.Inject(fakeprovider.Fault{Kind: fakeprovider.FaultUnavailable, Provider: fakeprovider.Print, Op: fakeprovider.OpLookup})
	require.NoError(t, err)
	_, err = r.sendLetter(req)
	require.Error(t, err)
	require.False(t, isNonRetryable(err))
	res, err = r.sendLetter(req)
	require.NoError(t, err)
	require.Equal(t, 1, lettersAt(r, req.Key()))

	// After the ledger write: the retry returns the stored result.
	again, err := r.sendLetter(req)
	require.NoError(t, err)
	require.True(t, again.AlreadySent)
	require.Equal(t, res.ProviderID, again.ProviderID)
	require.Equal(t, 1, lettersAt(r, req.Key()))
}

func TestLetterFailures(t *testing.T) {
	t.Parallel()
	r := letterRig(t, true)
	// The provider refuses the address: permanent, the workflow falls back.
	req := letterRequest(t)
	_, err := r.fake.Inject(fakeprovider.Fault{Kind: fakeprovider.FaultInvalidRecipient, Provider: fakeprovider.Print})
	require.NoError(t, err)
	_, err = r.sendLetter(req)
	require.Equal(t, invoiceapi.ErrTypeRecipientInvalid, appErr(t, err).Type())
	_, err = r.sendLetter(req)
	require.Equal(t, invoiceapi.ErrTypeRecipientInvalid, appErr(t, err).Type(), "failed once, failed for good")

	// 429 is retried after the provider's delay.
	req = letterRequest(t)
	_, err = r.fake.Inject(fakeprovider.Fault{Kind: fakeprovider.FaultRateLimit, Provider: fakeprovider.Print, RetryAfter: 2})
	require.NoError(t, err)
	_, err = r.sendLetter(req)
	require.Equal(t, invoiceapi.ErrTypeRateLimited, appErr(t, err).Type())
	require.False(t, isNonRetryable(err))

	// A paid invoice's letter is withheld.
	req = letterRequest(t)
	require.NoError(t, testStore.SetInvoiceStatus(context.Background(), req.InvoiceID, ledger.StatusPaid, 0, time.Now()))
	_, err = r.sendLetter(req)
	require.Equal(t, invoiceapi.ErrTypeWithheld, appErr(t, err).Type())
	require.Zero(t, lettersAt(r, req.Key()))

	// A request without an address is refused before anything is claimed.
	req = letterRequest(t)
	req.To = collection.Address{}
	_, err = r.sendLetter(req)
	require.Equal(t, invoiceapi.ErrTypeBadRequest, appErr(t, err).Type())
	_, err = testStore.GetLetterByKey(context.Background(), req.Key())
	require.ErrorIs(t, err, ledger.ErrNotFound)
}
