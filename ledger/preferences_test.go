package ledger

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestChannelOrderIsStoredOnceAndAuditedWithIt(t *testing.T) {
	ctx := parallel(t)
	cust := uid("cust")
	issueFor(t, cust)

	_, ok, err := testStore.CustomerChannelOrder(ctx, cust)
	require.NoError(t, err)
	require.False(t, ok, "no order until the customer chooses one")

	_, _, err = testStore.SetChannelOrder(ctx, uid("nobody"), []string{"sms", "email"}, PreferenceByOperator, "key:ops", nil)
	require.ErrorIs(t, err, ErrUnknownCustomer)
	for _, bad := range [][]string{nil, {"sms", "sms"}, {"letter"}, {"email", "sms", "email"}, {"SMS"}} {
		_, _, err = testStore.SetChannelOrder(ctx, cust, bad, PreferenceByOperator, "key:ops", nil)
		require.ErrorIs(t, err, ErrInvalid, "%q", bad)
	}
	_, _, err = testStore.SetChannelOrder(ctx, cust, []string{"sms"}, "billing", "key:ops", nil)
	require.ErrorIs(t, err, ErrInvalid, "unknown source")

	audited := 0
	audit := func(o ChannelOrder) AuditEntry {
		audited++
		return AuditEntry{Action: AuditContactPreferences, Outcome: AuditApplied,
			Details: map[string]any{"customer_id": o.CustomerID, "channel_order": o.Order}}
	}
	o, changed, err := testStore.SetChannelOrder(ctx, cust, []string{"sms", "email"}, PreferenceByPortal, "customer:link-1", audit)
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, []string{"sms", "email"}, o.Order)
	require.Equal(t, 1, audited)

	_, changed, err = testStore.SetChannelOrder(ctx, cust, []string{"sms", "email"}, PreferenceByOperator, "key:ops", audit)
	require.NoError(t, err)
	require.False(t, changed, "the same order again changes nothing")
	require.Equal(t, 1, audited, "and writes no entry")

	got, ok, err := testStore.CustomerChannelOrder(ctx, cust)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []string{"sms", "email"}, got.Order)
	require.Equal(t, PreferenceByPortal, got.Source)
	require.Equal(t, "customer:link-1", got.ChangedBy)

	_, changed, err = testStore.SetChannelOrder(ctx, cust, []string{"email", "sms"}, PreferenceByOperator, "key:ops", audit)
	require.NoError(t, err)
	require.True(t, changed)
	got, _, err = testStore.CustomerChannelOrder(ctx, cust)
	require.NoError(t, err)
	require.Equal(t, []string{"email", "sms"}, got.Order)
	require.Equal(t, "key:ops", got.ChangedBy)

	page, err := testStore.Timeline(ctx, TimelineQuery{CustomerID: cust, Limit: 50, Kinds: []string{TimelineOperatorAction}})
	require.NoError(t, err)
	n := 0
	for _, e := range page.Entries {
		if e.Details["event"] == AuditContactPreferences {
			n++
		}
	}
	require.Equal(t, 2, n, "each change committed with its entry, on the customer's timeline")
}
