package ledger

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func sentNotice(t *testing.T, channel, providerID string) string {
	t.Helper()
	ctx := context.Background()
	c := claimFor(issue(t), "reminder-1", channel)
	_, err := testStore.ClaimNotice(ctx, c)
	require.NoError(t, err)
	require.NoError(t, testStore.CompleteNotice(ctx, c.Key, NoticeSent, providerID, "", t0))
	return c.Key
}

func TestDeliveryMovesForwardAndNeverRegresses(t *testing.T) {
	ctx := parallel(t)
	sid := uid("SM")
	key := sentNotice(t, ChannelSMS, sid)

	d, out, err := testStore.RecordDelivery(ctx, DeliveryUpdate{NoticeKey: key, Status: DeliverySent, At: t0.Add(time.Second)})
	require.NoError(t, err)
	require.Equal(t, DeliveryRecorded, out)
	require.Equal(t, DeliverySent, d.Status)

	// A report older than the stored non-final one is ignored.
	_, out, err = testStore.RecordDelivery(ctx, DeliveryUpdate{NoticeKey: key, Status: DeliveryQueued, At: t0})
	require.NoError(t, err)
	require.Equal(t, DeliveryIgnored, out)

	d, out, err = testStore.RecordDelivery(ctx, DeliveryUpdate{NoticeKey: key, Status: DeliveryUndelivered,
		Error: "30003 unreachable", ProviderID: sid, At: t0.Add(2 * time.Second)})
	require.NoError(t, err)
	require.Equal(t, DeliveryRecorded, out)
	require.Equal(t, DeliveryUndelivered, d.Status)
	require.True(t, d.Status.Failed())
	require.Equal(t, sid, d.ProviderID)
	require.Equal(t, key[:len(key)-len("/reminder-1/sms")], d.InvoiceID)

	// Repeats are unchanged; a later "delivered" does not undo a final failure.
	_, out, err = testStore.RecordDelivery(ctx, DeliveryUpdate{NoticeKey: key, Status: DeliveryUndelivered, At: t0.Add(2 * time.Second)})
	require.NoError(t, err)
	require.Equal(t, DeliveryUnchanged, out)
	d, out, err = testStore.RecordDelivery(ctx, DeliveryUpdate{NoticeKey: key, Status: DeliveryDelivered, At: t0.Add(time.Hour)})
	require.NoError(t, err)
	require.Equal(t, DeliveryIgnored, out)
	require.Equal(t, DeliveryUndelivered, d.Status)

	got, err := testStore.GetDelivery(ctx, key)
	require.NoError(t, err)
	require.Equal(t, "30003 unreachable", got.Error)

	n, err := testStore.NoticeByProviderID(ctx, ChannelSMS, sid)
	require.NoError(t, err)
	require.Equal(t, key, n.Key)
	_, err = testStore.NoticeByProviderID(ctx, ChannelEmail, sid)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestDeliveryFinalFirstAndBadInput(t *testing.T) {
	ctx := parallel(t)
	key := sentNotice(t, ChannelEmail, uid("sg"))
	_, out, err := testStore.RecordDelivery(ctx, DeliveryUpdate{NoticeKey: key, Status: DeliveryDelivered, At: t0})
	require.NoError(t, err)
	require.Equal(t, DeliveryRecorded, out)
	_, out, err = testStore.RecordDelivery(ctx, DeliveryUpdate{NoticeKey: key, Status: DeliveryBounced, At: t0.Add(time.Minute)})
	require.NoError(t, err)
	require.Equal(t, DeliveryIgnored, out)
	_, out, err = testStore.RecordDelivery(ctx, DeliveryUpdate{NoticeKey: key, Status: DeliverySent, At: t0.Add(time.Minute)})
	require.NoError(t, err)
	require.Equal(t, DeliveryIgnored, out)

	_, _, err = testStore.RecordDelivery(ctx, DeliveryUpdate{NoticeKey: "nope/x/email", Status: DeliveryDelivered, At: t0})
	require.ErrorIs(t, err, ErrNotFound)
	_, _, err = testStore.RecordDelivery(ctx, DeliveryUpdate{NoticeKey: key, Status: "opened", At: t0})
	require.ErrorIs(t, err, ErrInvalid)
	_, _, err = testStore.RecordDelivery(ctx, DeliveryUpdate{NoticeKey: key, Status: DeliveryDelivered})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = testStore.GetDelivery(ctx, sentNotice(t, ChannelEmail, uid("sg")))
	require.ErrorIs(t, err, ErrNotFound)
}
