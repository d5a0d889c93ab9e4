package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/portal"
	"github.com/dunwell/dunwell/statement"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// PortalLinks makes the link to the customer's portal that every reminder and
// statement carries (docs/portal.md). One link per message: its token is derived
// from the message's key (portal.DeriveToken), so every attempt of a send renders
// the same text (SMS reconciliation compares bodies) and finds the link the first
// attempt stored, instead of minting a second one; the ledger still keeps only the
// token's hash. Without a PortalLinks (no DUNWELL_PUBLIC_URL, or no key to derive
// tokens with) messages carry no portal link.
type PortalLinks struct {
	// PublicURL is where customers reach `starter serve` (DUNWELL_PUBLIC_URL).
	PublicURL string
	// TTL is how long a link works from its message (DUNWELL_PORTAL_LINK_TTL).
	TTL time.Duration
	// Key derives the tokens: 32 bytes, from the payload key ring
	// (codec.KeyRing.DeriveKey(LinkKeyPurpose)).
	Key []byte
}

// LinkKeyPurpose names the derived key of PortalLinks.Key.
const LinkKeyPurpose = "portal link tokens v1"

// maxCreatedBy is the ledger's bound on who made a link.
const maxCreatedBy = 200

// portalURL returns the portal link of the message with key messageKey to customerID,
// storing it the first time; "" when links are not configured or the customer has
// no invoice in the ledger (nothing to show).
func (a *Activities) portalURL(ctx context.Context, customerID, messageKey string) (string, error) {
	p := a.Portal
	if p == nil || p.PublicURL == "" || len(p.Key) == 0 {
		return "", nil
	}
	tok := portal.DeriveToken(p.Key, messageKey)
	by := "message " + messageKey
	if len(by) > maxCreatedBy {
		by = by[:maxCreatedBy]
	}
	link, err := a.Ledger.EnsurePortalLink(ctx, tok.Hash(), customerID, by, time.Now().UTC().Add(p.TTL))
	if errors.Is(err, ledger.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", ledgerFailed("storing the portal link of "+messageKey, err)
	}
	if activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Debug("Portal link ready", "key", messageKey, "link_id", link.ID, "expires_at", link.ExpiresAt)
	}
	return p.PublicURL + portal.PathPrefix + tok.String(), nil
}

// NoticeLinkKey is the message key a per-invoice reminder's portal link derives from:
// the notice's own key, in a namespace of its own (account messages are
// "<customer>/<channel>/...", statements "statement/...").
func NoticeLinkKey(req invoiceapi.NoticeRequest) string { return "notice/" + req.Key() }

// portalLine is the statement email's pointer to the portal in the customer's
// language ("" without a link).
func portalLine(url, locale string) string {
	if url == "" {
		return ""
	}
	return "\n" + statement.TextsFor(locale).Portal + "\n" + url + "\n"
}
