package templates

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/policy"
)

func TestTermsText(t *testing.T) {
	got, err := standardTerms().Text("EUR", "en-US")
	require.NoError(t, err)
	require.Contains(t, got, "late fee")
	got, err = noChargeTerms().Text("EUR", "en")
	require.NoError(t, err)
	require.Equal(t, "No late fee or interest is charged.", got)
	got, err = TermsOf(nil).Text("EUR", "en")
	require.NoError(t, err)
	require.Empty(t, got)
	got, err = TermsOf(&policy.Policy{ID: "x"}).Text("EUR", "de-DE")
	require.NoError(t, err)
	require.NotEmpty(t, got)
}
