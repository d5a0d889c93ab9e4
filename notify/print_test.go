package notify_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/internal/fakeprovider"
	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/notify"
)

const printKey = "test_print_key"

func newPrint(t *testing.T, baseURL string) *notify.PrintClient {
	t.Helper()
	c, err := notify.NewPrintClient(notify.PrintConfig{BaseURL: baseURL, APIKey: printKey, From: "adr_dunwell", Timeout: 5 * time.Second, Transport: testenv.Transport})
	require.NoError(t, err)
	return c
}

func testLetter(key string) notify.Letter {
	return notify.Letter{
		Key: key, InvoiceID: "INV-1", ToName: "Erika Mustermann", Description: "overdue INV-1",
		To:  collection.Address{Lines: []string{"Hauptstr. 5"}, PostalCode: "10115", City: "Berlin", Country: "DE"},
		PDF: []byte("%PDF-1.3 a letter"),
	}
}

func TestPrintSendFindAndIdempotency(t *testing.T) {
	fp, base := newFake(t, fakeprovider.Options{PrintAPIKey: printKey})
	c := newPrint(t, base)
	ctx := t.Context()

	_, found, err := c.FindLetter(ctx, "INV-1/s1/letter")
	require.NoError(t, err)
	require.False(t, found)

	r, err := c.SendLetter(ctx, testLetter("INV-1/s1/letter"))
	require.NoError(t, err)
	require.Regexp(t, `^ltr_`, r.ProviderID)
	again, err := c.SendLetter(ctx, testLetter("INV-1/s1/letter"))
	require.NoError(t, err)
	require.Equal(t, r.ProviderID, again.ProviderID, "the same Idempotency-Key answers the first letter")
	require.Len(t, fp.OutboxFor("Erika Mustermann, Hauptstr. 5, 10115 Berlin, DE"), 1)

	got, found, err := c.FindLetter(ctx, "INV-1/s1/letter")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, r.ProviderID, got.ProviderID)

	m := fp.Outbox()[0]
	require.Equal(t, fakeprovider.Print, m.Provider)
	require.Equal(t, "INV-1/s1/letter", m.CustomArgs[notify.MetadataKey])
	resp, err := http.Get(base + "/_fake/letters/" + r.ProviderID + ".pdf")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "%PDF-1.3 a letter", string(body))
}

func TestPrintErrorsAreClassified(t *testing.T) {
	fp, base := newFake(t, fakeprovider.Options{PrintAPIKey: printKey})
	c := newPrint(t, base)
	ctx := t.Context()

	_, err := fp.Inject(fakeprovider.Fault{Kind: fakeprovider.FaultRateLimit, Provider: fakeprovider.Print, RetryAfter: 3})
	require.NoError(t, err)
	_, err = c.SendLetter(ctx, testLetter("k/1/letter"))
	require.False(t, notify.IsPermanent(err))
	require.Equal(t, 3*time.Second, notify.RetryAfter(err))

	_, err = fp.Inject(fakeprovider.Fault{Kind: fakeprovider.FaultServerError, Provider: fakeprovider.Print})
	require.NoError(t, err)
	_, err = c.SendLetter(ctx, testLetter("k/1/letter"))
	require.Equal(t, notify.KindTransient, notify.KindOf(err))

	_, err = fp.Inject(fakeprovider.Fault{Kind: fakeprovider.FaultInvalidRecipient, Provider: fakeprovider.Print})
	require.NoError(t, err)
	_, err = c.SendLetter(ctx, testLetter("k/1/letter"))
	require.True(t, notify.IsRecipientInvalid(err), "%v", err)

	us := testLetter("k/2/letter")
	us.To = collection.Address{Lines: []string{"1 Market St"}, City: "San Francisco", Country: "US"} // no state, no ZIP
	_, err = c.SendLetter(ctx, us)
	require.True(t, notify.IsRecipientInvalid(err), "%v", err)

	bad, err := notify.NewPrintClient(notify.PrintConfig{BaseURL: base, APIKey: "wrong", From: "adr_x", Transport: testenv.Transport})
	require.NoError(t, err)
	_, err = bad.SendLetter(ctx, testLetter("k/3/letter"))
	require.Equal(t, notify.KindConfig, notify.KindOf(err))

	_, err = notify.NewPrintClient(notify.PrintConfig{BaseURL: "ftp://x", From: ""})
	require.ErrorContains(t, err, "APIKey is required")
	require.ErrorContains(t, err, "From")
	require.ErrorContains(t, err, "BaseURL")

	require.Empty(t, fp.Outbox(), "nothing was accepted")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.SendLetter(cctx, testLetter("k/4/letter"))
	require.ErrorIs(t, err, context.Canceled)
}
