package ledger

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func randomHash(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

func TestPortalLinksAreFoundByHashAndRevoked(t *testing.T) {
	ctx := parallel(t)
	cust := uid("cust")
	issueFor(t, cust)
	now := time.Now().UTC()

	_, err := testStore.CreatePortalLink(ctx, randomHash(t), uid("nobody"), "key:ops", now.Add(time.Hour))
	require.ErrorIs(t, err, ErrNotFound, "a customer without invoices gets no link")
	_, err = testStore.CreatePortalLink(ctx, []byte("short"), cust, "key:ops", now.Add(time.Hour))
	require.ErrorIs(t, err, ErrInvalid)

	h1, h2 := randomHash(t), randomHash(t)
	l1, err := testStore.CreatePortalLink(ctx, h1, cust, "key:ops", now.Add(time.Hour))
	require.NoError(t, err)
	l2, err := testStore.CreatePortalLink(ctx, h2, cust, "system", now.Add(time.Hour))
	require.NoError(t, err)
	got, err := testStore.PortalLinkByHash(ctx, h1)
	require.NoError(t, err)
	require.Equal(t, l1.ID, got.ID)
	require.Equal(t, cust, got.CustomerID)
	require.True(t, got.Usable(now))
	require.False(t, got.Usable(now.Add(2*time.Hour)), "expired")
	_, err = testStore.PortalLinkByHash(ctx, randomHash(t))
	require.ErrorIs(t, err, ErrNotFound)
	_, err = testStore.CreatePortalLink(ctx, h1, cust, "key:ops", now.Add(time.Hour))
	require.Error(t, err, "a token hash is unique")

	_, err = testStore.RevokePortalLink(ctx, uid("other"), l1.ID, now)
	require.ErrorIs(t, err, ErrNotFound, "another customer's link")
	r, err := testStore.RevokePortalLink(ctx, cust, l1.ID, now)
	require.NoError(t, err)
	require.False(t, r.Usable(now))
	again, err := testStore.RevokePortalLink(ctx, cust, l1.ID, now.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, r.RevokedAt, again.RevokedAt, "revoking twice keeps the first time")

	n, err := testStore.RevokePortalLinks(ctx, cust, now)
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "only l2 was still active")
	got, err = testStore.PortalLinkByHash(ctx, h2)
	require.NoError(t, err)
	require.Equal(t, l2.ID, got.ID)
	require.False(t, got.Usable(now))
}

func TestEnsurePortalLinkStoresAMessagesLinkOnce(t *testing.T) {
	ctx := parallel(t)
	cust := uid("cust")
	issueFor(t, cust)
	now := time.Now().UTC()
	h := randomHash(t)

	first, err := testStore.EnsurePortalLink(ctx, h, cust, "message C/email/2026-12-07/x", now.Add(time.Hour))
	require.NoError(t, err)
	again, err := testStore.EnsurePortalLink(ctx, h, cust, "message C/email/2026-12-07/x", now.Add(48*time.Hour))
	require.NoError(t, err)
	require.Equal(t, first, again, "a retry finds the first link, with its first expiry")

	_, err = testStore.RevokePortalLink(ctx, cust, first.ID, now)
	require.NoError(t, err)
	revoked, err := testStore.EnsurePortalLink(ctx, h, cust, "message C/email/2026-12-07/x", now.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, first.ID, revoked.ID)
	require.False(t, revoked.Usable(now), "a revoked link stays revoked")

	other := uid("cust")
	issueFor(t, other)
	_, err = testStore.EnsurePortalLink(ctx, h, other, "message", now.Add(time.Hour))
	require.ErrorContains(t, err, "another customer", "a hash is one customer's")
	_, err = testStore.EnsurePortalLink(ctx, randomHash(t), uid("nobody"), "message", now.Add(time.Hour))
	require.ErrorIs(t, err, ErrNotFound, "a customer without invoices gets no link")
	_, err = testStore.EnsurePortalLink(ctx, []byte("short"), cust, "message", now.Add(time.Hour))
	require.ErrorIs(t, err, ErrInvalid)
}

func TestPlanRequestsWaitForOneDecision(t *testing.T) {
	ctx := parallel(t)
	cust := uid("cust")
	inv := issueFor(t, cust)
	link, err := testStore.CreatePortalLink(ctx, randomHash(t), cust, "key:ops", time.Now().Add(time.Hour))
	require.NoError(t, err)
	audit := func(action string) func(PlanRequest) AuditEntry {
		return func(p PlanRequest) AuditEntry {
			return AuditEntry{Action: action, Outcome: AuditApplied, InvoiceID: p.InvoiceID, Details: map[string]any{"plan_request_id": p.ID}}
		}
	}
	req := PlanRequest{InvoiceID: inv, CustomerID: cust, LinkID: link.ID, Currency: "EUR", WhyPending: "6 installments; at most 3 are accepted at once",
		Installments: []PlanInstallment{{DueDate: "2026-04-30", Amount: 6000}, {DueDate: "2026-05-31", Amount: 6345}}}
	p, err := testStore.CreatePlanRequest(ctx, req, audit(AuditPlanRequest))
	require.NoError(t, err)
	require.Equal(t, PlanPending, p.Status)
	require.Equal(t, req.Installments, p.Installments)
	_, err = testStore.CreatePlanRequest(ctx, req, audit(AuditPlanRequest))
	require.ErrorIs(t, err, ErrPlanPending, "one pending request per invoice")

	pending, err := testStore.PendingPlanRequests(ctx, cust)
	require.NoError(t, err)
	require.Len(t, pending, 1)

	at := time.Now().UTC().Truncate(time.Millisecond)
	d, err := testStore.DecidePlanRequest(ctx, p.ID, PlanRejected, "key:ops", "too long", at, audit(AuditPlanReject))
	require.NoError(t, err)
	require.Equal(t, PlanRejected, d.Status)
	require.Equal(t, "too long", d.Reason)
	_, err = testStore.DecidePlanRequest(ctx, p.ID, PlanApproved, "key:ops", "", at, audit(AuditPlanApprove))
	require.ErrorIs(t, err, ErrPlanDecided)
	_, err = testStore.DecidePlanRequest(ctx, p.ID+1_000_000, PlanApproved, "key:ops", "", at, audit(AuditPlanApprove))
	require.ErrorIs(t, err, ErrNotFound)

	trail, err := testStore.ListAudit(ctx, inv)
	require.NoError(t, err)
	require.Len(t, trail, 2, "the request and its rejection, each with its change")

	// Decided, the invoice may ask again.
	_, err = testStore.CreatePlanRequest(ctx, req, audit(AuditPlanRequest))
	require.NoError(t, err)
}
