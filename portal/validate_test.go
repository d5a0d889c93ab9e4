package portal

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/collection"
)

// The dispute form's free text: a NUL once reached the invoice's workflow and then
// failed the audit entry; control characters are refused, in the customer's words,
// and nothing is applied.
func TestDisputeText(t *testing.T) {
	f := Facts{InvoiceID: "INV-1", Status: collection.StatusOverdue, Currency: "EUR", Balance: 1000, Locale: "de-DE"}
	for _, tc := range []struct {
		reason, text string
		want         string // the dispute's reason, when accepted
		refused      string // the message key, when refused
	}{
		{"not_received", "", "customer: not received", ""},
		{"other", "  the  box\twas\nempty ", "customer: other: the box was empty", ""},
		{"other", "日本語で説明", "customer: other: 日本語で説明", ""},
		{"other", "", "", "err_text_required"},
		{"other", "a\x00b", "", "err_text_chars"},
		{"wrong_amount", "a\x01b", "", "err_text_chars"},
		{"other", "a\u009bb", "", "err_text_chars"},
		{"other", strings.Repeat("x", maxTextChars+1), "", "err_text_long"},
		{"bogus", "", "", "err_reason"},
	} {
		got, r := Dispute(url.Values{"reason": {tc.reason}, "text": {tc.text}}, f)
		if tc.refused != "" {
			require.NotNil(t, r, "%q", tc.text)
			require.Equal(t, tc.refused, r.Key, "%q", tc.text)
			continue
		}
		require.Nil(t, r, "%q", tc.text)
		require.Equal(t, tc.want, got)
	}
	// Every language says it.
	for _, lang := range []string{"en", "de", "ja"} {
		require.NotEmpty(t, texts[lang]["err_text_chars"], lang)
	}
}
