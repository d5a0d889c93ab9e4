package api

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/ledger"
)

func TestContactPreferencesByAnOperator(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, 1)
	path := "/v1/customers/" + f.customer + "/contact-preferences"
	operator, _ := newKey(t, testStore, auth.ScopeOperator, auth.ScopeRead)

	a := call(t, f.srv, "GET", path, "", bearer(operator)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.JSONEq(t, `{"customer_id": "`+f.customer+`", "channel_order": []}`, string(a.body), "never chosen")

	for _, bad := range []string{`{"channel_order": []}`, `{"channel_order": ["sms", "sms"]}`, `{"channel_order": ["letter"]}`,
		`{"channel_order": ["email", "sms", "email"]}`, `{}`} {
		a = call(t, f.srv, "PUT", path, bad, bearer(operator)...)
		require.Equal(t, http.StatusBadRequest, a.code, bad)
		require.Contains(t, string(a.body), `channel_order: must be one or two distinct channels among \"email\" and \"sms\"`, bad)
	}
	_, chosen, err := testStore.CustomerChannelOrder(t.Context(), f.customer)
	require.NoError(t, err)
	require.False(t, chosen, "nothing stored by a refused request")
	require.Equal(t, http.StatusNotFound, call(t, f.srv, "PUT", "/v1/customers/"+uid("nobody")+"/contact-preferences",
		`{"channel_order": ["sms"]}`, bearer(operator)...).code)

	a = call(t, f.srv, "PUT", path, `{"channel_order": ["sms", "email"]}`, bearer(operator)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	var v ContactPreferencesView
	require.NoError(t, json.Unmarshal(a.body, &v))
	require.Equal(t, []string{"sms", "email"}, v.ChannelOrder)
	require.Equal(t, ledger.PreferenceByOperator, v.Source)
	require.Regexp(t, `^key:`, v.ChangedBy)
	a = call(t, f.srv, "GET", path, "", bearer(operator)...)
	require.Equal(t, http.StatusOK, a.code)
	require.NoError(t, json.Unmarshal(a.body, &v))
	require.Equal(t, []string{"sms", "email"}, v.ChannelOrder)

	tl, err := testStore.Timeline(t.Context(), ledger.TimelineQuery{CustomerID: f.customer, Limit: 50, Kinds: []string{ledger.TimelineOperatorAction}})
	require.NoError(t, err)
	n := 0
	for _, e := range tl.Entries {
		if e.Details["event"] == ledger.AuditContactPreferences {
			n++
			require.Equal(t, []any{"sms", "email"}, e.Details["channel_order"])
		}
	}
	require.Equal(t, 1, n, "audited once, on the customer's timeline")
}
