// Package portal is the customer's portal: a page per customer, reached by a link
// from every reminder and statement, that shows what is owed and why and lets the
// customer act on it (promise, dispute, ask for a plan, choose how to be contacted,
// pay). This file is the link's token; validate.go turns the page's forms into the
// same workflow inputs an operator sends; handler.go serves the page and its forms.
//
// A link is a random token, stored only as its SHA-256 (ledger.PortalLink). Random
// tokens rather than signed ones: a link must be revocable one by one, so every
// request looks the link up anyway, and a lookup by hash needs no secret to keep,
// share between replicas or rotate; a copy of the database holds no usable link.
// The link a reminder or statement carries is derived from the message's key instead
// (DeriveToken), so that a retried send carries the same link; it is looked up and
// revoked exactly like a random one.
package portal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// tokenBytes is a token's entropy: 128 bits, beyond guessing at any request rate.
const tokenBytes = 16

// TokenLength is the length of a token as it appears in a URL: 22 base64url
// characters, so a link fits an SMS (".../p/" and 22 characters after the host).
const TokenLength = 22

// ErrMalformedToken is a token that cannot be one Dunwell made: wrong length or a
// character outside base64url. It is answered like an unknown token.
var ErrMalformedToken = errors.New("malformed portal token")

// Token is a parsed portal token.
type Token struct{ raw [tokenBytes]byte }

// NewToken returns a fresh random token.
func NewToken() (Token, error) {
	var t Token
	if _, err := rand.Read(t.raw[:]); err != nil {
		return Token{}, fmt.Errorf("portal token: %w", err)
	}
	return t, nil
}

// deriveLabel separates derived link tokens from any other use of the key.
const deriveLabel = "dunwell portal link v1\x00"

// DeriveToken returns the token of the link a message carries: an HMAC-SHA256 of the
// message's key under key (the worker's link key, see activities.PortalLinks), cut to
// the token's 128 bits. The same message always gets the same link, so a send that
// is retried renders the same text and creates no second link, while the token is
// still stored only hashed: without the key nobody can compute it, and a link is
// honoured only once it is stored.
func DeriveToken(key []byte, messageKey string) Token {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(deriveLabel))
	m.Write([]byte(messageKey))
	var t Token
	copy(t.raw[:], m.Sum(nil))
	return t
}

// ParseToken reads a token from a URL path segment. Anything but exactly
// TokenLength base64url characters that decode to tokenBytes bytes (the canonical
// encoding: no padding, no stray low bits) is ErrMalformedToken.
func ParseToken(s string) (Token, error) {
	if len(s) != TokenLength {
		return Token{}, ErrMalformedToken
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != tokenBytes {
		return Token{}, ErrMalformedToken
	}
	var t Token
	copy(t.raw[:], b)
	return t, nil
}

// String is the token as it goes into a URL.
func (t Token) String() string { return base64.RawURLEncoding.EncodeToString(t.raw[:]) }

// Hash is what the ledger stores and looks the link up by.
func (t Token) Hash() []byte {
	h := sha256.Sum256(t.raw[:])
	return h[:]
}

// csrfLabel separates the CSRF token's MAC from any other use of the link's secret.
const csrfLabel = "dunwell portal csrf v1"

// CSRF is the token every form of the link's page carries: a MAC of a fixed label
// keyed by the link's own secret. Only a holder of the link can compute it, every
// replica computes the same one without a shared secret, and it differs per link.
func (t Token) CSRF() string {
	m := hmac.New(sha256.New, t.raw[:])
	m.Write([]byte(csrfLabel))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF reports whether got is the link's CSRF token (in constant time).
func (t Token) CheckCSRF(got string) bool {
	return hmac.Equal([]byte(got), []byte(t.CSRF()))
}
