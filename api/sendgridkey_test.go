package api

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
)

// NewSendGridKey refuses what the sendgrid-go helper would panic on, with the
// configuration's own check and wording.
func TestNewSendGridKeyChecksTheKey(t *testing.T) {
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edDER, err := x509.MarshalPKIXPublicKey(edPub)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ key, want string }{
		"not base64": {"%%%", "the SendGrid verification key must be the base64 public key"},
		"not DER":    {base64.StdEncoding.EncodeToString([]byte("nope")), "the SendGrid verification key is not a DER public key"},
		"not ECDSA":  {base64.StdEncoding.EncodeToString(edDER), "the SendGrid verification key is a ed25519.PublicKey, want an ECDSA public key"},
	} {
		t.Run(name, func(t *testing.T) {
			key, err := NewSendGridKey(tc.key)
			if err == nil || !strings.Contains(err.Error(), tc.want) || key != nil {
				t.Fatalf("NewSendGridKey = %v, %v; want an error containing %q", key, err, tc.want)
			}
		})
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := NewSendGridKey(base64.StdEncoding.EncodeToString(der))
	if err != nil || !key.Equal(&ec.PublicKey) {
		t.Fatalf("NewSendGridKey(valid) = %v, %v", key, err)
	}
}
