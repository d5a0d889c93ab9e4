package ledger

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestOptOutStopThenStartPerAddress(t *testing.T) {
	ctx := parallel(t)
	phone := "+1415555" + uid("")[1:5]
	cust := uid("cust")
	require.NoError(t, testStore.RememberAddress(ctx, ChannelSMS, phone, cust))
	require.NoError(t, testStore.RememberAddress(ctx, ChannelSMS, " "+phone+" ", cust)) // repeat: no second row

	_, out, err := testStore.OptedOut(ctx, ChannelSMS, phone)
	require.NoError(t, err)
	require.False(t, out, "an address never opted out")

	stop := OptOutChange{EventID: uid("twilio:SM"), Channel: ChannelSMS, Address: phone, OptedOut: true, Source: SourceStop, At: t0}
	res, err := testStore.RecordOptOut(ctx, stop)
	require.NoError(t, err)
	require.False(t, res.Duplicate)
	require.Equal(t, []string{cust}, res.CustomerIDs, "the customer contacted at the number is found")

	o, out, err := testStore.OptedOut(ctx, ChannelSMS, phone)
	require.NoError(t, err)
	require.True(t, out)
	require.Equal(t, SourceStop, o.Source)
	require.Equal(t, cust, o.CustomerID)
	_, out, err = testStore.OptedOut(ctx, ChannelEmail, phone)
	require.NoError(t, err)
	require.False(t, out, "an opt-out is per channel")

	// The same event again (a webhook retry) changes nothing but still names the customer.
	res, err = testStore.RecordOptOut(ctx, stop)
	require.NoError(t, err)
	require.True(t, res.Duplicate)
	require.Equal(t, []string{cust}, res.CustomerIDs)

	// START opts back in; a late, older STOP does not undo it.
	_, err = testStore.RecordOptOut(ctx, OptOutChange{EventID: uid("twilio:SM"), Channel: ChannelSMS, Address: phone,
		OptedOut: false, Source: SourceStart, At: t0.Add(time.Hour)})
	require.NoError(t, err)
	_, out, err = testStore.OptedOut(ctx, ChannelSMS, phone)
	require.NoError(t, err)
	require.False(t, out)
	_, err = testStore.RecordOptOut(ctx, OptOutChange{EventID: uid("twilio:SM"), Channel: ChannelSMS, Address: phone,
		OptedOut: true, Source: SourceStop, At: t0.Add(30 * time.Minute)})
	require.NoError(t, err)
	_, out, err = testStore.OptedOut(ctx, ChannelSMS, phone)
	require.NoError(t, err)
	require.False(t, out, "an older STOP arriving late does not override the newer START")

	list, err := testStore.ListOptOuts(ctx, cust)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, SourceStart, list[0].Source)
}

func TestOptOutUnknownAddressAndEmailCase(t *testing.T) {
	ctx := parallel(t)
	email := uid("Bounce") + "@Example.COM"
	res, err := testStore.RecordOptOut(ctx, OptOutChange{EventID: uid("sendgrid:ev"), Channel: ChannelEmail, Address: email,
		OptedOut: true, Source: SourceBounce, At: t0})
	require.NoError(t, err)
	require.Empty(t, res.CustomerIDs, "nobody was contacted there")
	o, out, err := testStore.OptedOut(ctx, ChannelEmail, " "+email)
	require.NoError(t, err)
	require.True(t, out, "email addresses compare case-insensitively")
	require.Equal(t, "", o.CustomerID)
	require.Equal(t, NormalizeAddress(ChannelEmail, email), o.Address)
}

func TestOptOutRejectsBadInput(t *testing.T) {
	ctx := parallel(t)
	good := OptOutChange{EventID: "x:1", Channel: ChannelSMS, Address: "+14155550100", OptedOut: true, Source: SourceStop, At: t0}
	for name, mutate := range map[string]func(*OptOutChange){
		"no event id": func(c *OptOutChange) { c.EventID = "" },
		"channel":     func(c *OptOutChange) { c.Channel = "fax" },
		"address":     func(c *OptOutChange) { c.Address = " " },
		"source":      func(c *OptOutChange) { c.Source = "whim" },
		"time":        func(c *OptOutChange) { c.At = time.Time{} },
		"customer":    func(c *OptOutChange) { c.CustomerIDs = []string{""} },
	} {
		c := good
		mutate(&c)
		_, err := testStore.RecordOptOut(ctx, c)
		require.ErrorIs(t, err, ErrInvalid, name)
	}
	require.ErrorIs(t, testStore.RememberAddress(ctx, "fax", "x", "c"), ErrInvalid)
	_, _, err := testStore.OptedOut(ctx, "fax", "x")
	require.ErrorIs(t, err, ErrInvalid)
}

func TestOpenInvoicesOfCustomers(t *testing.T) {
	ctx := parallel(t)
	open, paid := issue(t), issue(t)
	require.NoError(t, testStore.SetInvoiceStatus(ctx, paid, StatusPaid, 0, t0.Add(time.Hour)))
	cust, err := testStore.CustomerOf(ctx, open)
	require.NoError(t, err)
	custPaid, err := testStore.CustomerOf(ctx, paid)
	require.NoError(t, err)
	ids, err := testStore.OpenInvoicesOf(ctx, []string{cust, custPaid, "nobody"})
	require.NoError(t, err)
	require.Equal(t, []string{open}, ids)
	ids, err = testStore.OpenInvoicesOf(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, ids)
	_, err = testStore.CustomerOf(ctx, "no-such-invoice")
	require.ErrorIs(t, err, ErrNotFound)
}

func TestOptedOutElseRememberRemembersOnlyAnAddressNotOptedOut(t *testing.T) {
	ctx := parallel(t)
	phone := "+1415556" + uid("")[1:5]
	email := uid("m") + "@Example.com"
	cust, other := uid("cust"), uid("cust")

	_, out, err := testStore.OptedOutElseRemember(ctx, ChannelSMS, " "+phone, cust)
	require.NoError(t, err)
	require.False(t, out, "an address never opted out")
	got, err := testStore.CustomersAt(ctx, ChannelSMS, phone)
	require.NoError(t, err)
	require.Equal(t, []string{cust}, got, "the address is remembered, normalised")
	_, out, err = testStore.OptedOutElseRemember(ctx, ChannelSMS, phone, cust) // repeat: no second row
	require.NoError(t, err)
	require.False(t, out)

	_, out, err = testStore.OptedOutElseRemember(ctx, ChannelEmail, email, "")
	require.NoError(t, err)
	require.False(t, out)
	got, err = testStore.CustomersAt(ctx, ChannelEmail, email)
	require.NoError(t, err)
	require.Empty(t, got, "no customer: nothing remembered")

	_, err = testStore.RecordOptOut(ctx, OptOutChange{EventID: uid("twilio:SM"), Channel: ChannelSMS, Address: phone,
		CustomerIDs: []string{cust}, OptedOut: true, Source: SourceStop, At: t0})
	require.NoError(t, err)
	o, out, err := testStore.OptedOutElseRemember(ctx, ChannelSMS, phone, other)
	require.NoError(t, err)
	require.True(t, out)
	require.Equal(t, SourceStop, o.Source)
	require.Equal(t, cust, o.CustomerID)
	got, err = testStore.CustomersAt(ctx, ChannelSMS, phone)
	require.NoError(t, err)
	require.Equal(t, []string{cust}, got, "an opted-out address is not remembered for another customer")

	_, _, err = testStore.OptedOutElseRemember(ctx, "fax", "x", cust)
	require.ErrorIs(t, err, ErrInvalid)
	_, _, err = testStore.OptedOutElseRemember(ctx, ChannelEmail, strings.Repeat("a", 321), cust)
	require.ErrorIs(t, err, ErrInvalid)
}
