// Package replies reads the emails customers send back: the reply-to address that
// carries which message they answer (Address, TagOf), SendGrid's Inbound Parse
// webhook as it posts a received email (Parse), the part of the text the customer
// wrote (Fresh), the invoices it names (InvoiceRefs) and what it claims (Says: paid,
// disputed), for a collector to confirm. It is pure: no database, no network.
package replies

import (
	"crypto/md5" // a lookup key, not a secret: see Tag
	"encoding/hex"
	"strings"
)

// TagLength is the length of a reply tag: 20 hex digits.
const TagLength = 20

// Tag is the reply tag of a notice or message key: the first 20 hex digits of its
// MD5, which the ledger indexes (migration 00020) to find the key, and so the
// customer, of a reply. It is not a secret: the key is derived from ids, and
// anyone may write to any address; a reply is a claim for a person to read, never
// applied on its own.
func Tag(key string) string {
	sum := md5.Sum([]byte(key))
	return hex.EncodeToString(sum[:])[:TagLength]
}

// Address is the reply-to address of an email sent under key: replyTo plus-addressed
// with the key's tag ("accounts+3f2a...@example.com"). An empty key, or a replyTo
// without exactly one "@", is returned as it is.
func Address(replyTo, key string) string {
	local, domain, ok := strings.Cut(replyTo, "@")
	if key == "" || !ok || local == "" || strings.Contains(domain, "@") {
		return replyTo
	}
	return local + "+" + Tag(key) + "@" + domain
}

// TagOf returns the tag of address if it is replyTo plus-addressed with one (case
// does not matter); false otherwise.
func TagOf(replyTo, address string) (string, bool) {
	local, domain, ok := strings.Cut(strings.ToLower(strings.TrimSpace(replyTo)), "@")
	if !ok || local == "" {
		return "", false
	}
	got := strings.ToLower(strings.TrimSpace(address))
	prefix, suffix := local+"+", "@"+domain
	if !strings.HasPrefix(got, prefix) || !strings.HasSuffix(got, suffix) {
		return "", false
	}
	tag := got[len(prefix) : len(got)-len(suffix)]
	if len(tag) != TagLength || strings.Trim(tag, "0123456789abcdef") != "" {
		return "", false
	}
	return tag, true
}
