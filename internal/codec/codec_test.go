package codec

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

type customer struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

var ada = customer{Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+14155550100"}

func ring(t testing.TB, specs ...string) *KeyRing {
	t.Helper()
	r, err := ParseKeyRing(strings.Join(specs, ","))
	require.NoError(t, err)
	return r
}

func keySpec(t testing.TB, id string) string {
	t.Helper()
	s, err := GenerateKeySpec(id)
	require.NoError(t, err)
	return s
}

func TestRoundTripHidesThePlaintext(t *testing.T) {
	a := keySpec(t, "a")
	dc := NewDataConverter(ring(t, a))
	p, err := dc.ToPayload(ada)
	require.NoError(t, err)
	require.Equal(t, MetadataEncodingEncrypted, string(p.Metadata[converter.MetadataEncoding]))
	require.Equal(t, "a", string(p.Metadata[MetadataEncryptionKeyID]))
	require.Len(t, p.Metadata, 2, "the inner metadata (json/plain) is encrypted too")
	for _, s := range []string{ada.Name, ada.Email, ada.Phone, "json/plain"} {
		require.False(t, bytes.Contains(p.Data, []byte(s)), "ciphertext contains %q", s)
	}
	var got customer
	require.NoError(t, dc.FromPayload(p, &got))
	require.Equal(t, ada, got)

	again, err := dc.ToPayload(ada)
	require.NoError(t, err)
	require.NotEqual(t, p.Data, again.Data, "a fresh nonce every time")
}

func TestRotation(t *testing.T) {
	a, b := keySpec(t, "key-a"), keySpec(t, "key-b")
	old, err := NewDataConverter(ring(t, a)).ToPayload(ada)
	require.NoError(t, err)

	rotated := NewDataConverter(ring(t, b, a))
	var got customer
	require.NoError(t, rotated.FromPayload(old, &got), "a payload under A decodes with ring [B, A]")
	require.Equal(t, ada, got)
	fresh, err := rotated.ToPayload(ada)
	require.NoError(t, err)
	require.Equal(t, "key-b", string(fresh.Metadata[MetadataEncryptionKeyID]), "the first key encrypts")

	_, err = New(ring(t, b)).Decode([]*commonpb.Payload{old})
	require.ErrorContains(t, err, `payload encrypted with key id "key-a", which is not configured`)
	err = NewDataConverter(ring(t, b)).FromPayload(old, &got)
	require.ErrorContains(t, err, `key id "key-a", which is not configured`)
}

func TestTamperedCiphertextIsAnError(t *testing.T) {
	a := keySpec(t, "a")
	c := New(ring(t, a))
	plain, err := converter.GetDefaultDataConverter().ToPayload(ada)
	require.NoError(t, err)
	enc, err := c.Encode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	for i := range enc[0].Data {
		bad := &commonpb.Payload{Metadata: enc[0].Metadata, Data: bytes.Clone(enc[0].Data)}
		bad.Data[i] ^= 0x01
		_, err := c.Decode([]*commonpb.Payload{bad})
		require.ErrorContains(t, err, "failed authentication", "byte %d flipped", i)
	}
	truncated := &commonpb.Payload{Metadata: enc[0].Metadata, Data: enc[0].Data[:10]}
	_, err = c.Decode([]*commonpb.Payload{truncated})
	require.ErrorContains(t, err, "truncated")

	// The same key under another id does not decrypt: the id is authenticated too.
	secret := strings.SplitN(a, ":", 2)[1]
	swapped := &commonpb.Payload{Metadata: map[string][]byte{
		converter.MetadataEncoding: []byte(MetadataEncodingEncrypted), MetadataEncryptionKeyID: []byte("b"),
	}, Data: enc[0].Data}
	_, err = New(ring(t, "b:"+secret)).Decode([]*commonpb.Payload{swapped})
	require.ErrorContains(t, err, "failed authentication")

	noID := &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(MetadataEncodingEncrypted)}, Data: enc[0].Data}
	_, err = c.Decode([]*commonpb.Payload{noID})
	require.ErrorContains(t, err, MetadataEncryptionKeyID)
}

func TestPlaintextPassesThrough(t *testing.T) {
	dc := NewDataConverter(ring(t, keySpec(t, "a")))
	plain, err := converter.GetDefaultDataConverter().ToPayload(ada)
	require.NoError(t, err)
	var got customer
	require.NoError(t, dc.FromPayload(plain, &got))
	require.Equal(t, ada, got)

	out, err := New(nil).Decode([]*commonpb.Payload{plain, nil})
	require.NoError(t, err, "a ring is not needed for plaintext")
	require.Same(t, plain, out[0])
	require.Nil(t, out[1])
	_, err = New(nil).Encode([]*commonpb.Payload{plain})
	require.ErrorContains(t, err, "no encryption key")
}

func TestParseKeyRing(t *testing.T) {
	k32 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	k16 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 16))
	r, err := ParseKeyRing(" new:" + k32 + " , old:" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)))
	require.NoError(t, err)
	require.Equal(t, []string{"new", "old"}, r.IDs())
	require.Equal(t, "new", r.PrimaryID())
	require.Equal(t, "KeyRing[new, old]", r.String())

	for spec, want := range map[string]string{
		"":                                  "no keys",
		"justakey":                          "entry 1: must be keyid:base64key",
		"a:" + k16:                          `entry 1 (key id "a"): key must be exactly 32 bytes, got 16`,
		"a:" + k32 + ",a:" + k32:            `entry 2: key id "a" is already entry 1`,
		"bad id:" + k32:                     `entry 1: key id "bad id" must be`,
		"a:" + k32 + ",,b:" + k32:           "entry 2 is empty",
		"a:not*base64!":                     `entry 1 (key id "a"): key is not valid base64`,
		"-a:" + k32:                         `key id "-a"`,
		strings.Repeat("x", 65) + ":" + k32: "must be 1-64",
	} {
		_, err := ParseKeyRing(spec)
		require.Error(t, err, spec)
		require.ErrorContains(t, err, EnvKeys, spec)
		require.ErrorContains(t, err, want, spec)
		require.NotContains(t, err.Error(), k32, "key material in the error")
		require.NotContains(t, err.Error(), k16, "key material in the error")
	}
}

func TestParseCORSOrigins(t *testing.T) {
	got, err := ParseCORSOrigins(" http://localhost:8233/, https://ui.example.com ")
	require.NoError(t, err)
	require.Equal(t, []string{"http://localhost:8233", "https://ui.example.com"}, got)
	got, err = ParseCORSOrigins("")
	require.NoError(t, err)
	require.Empty(t, got)
	for _, bad := range []string{"*", "localhost:8233", "http://x/path", "ftp://x"} {
		_, err := ParseCORSOrigins(bad)
		require.ErrorContains(t, err, EnvCORSOrigins, bad)
	}
}

func TestFailureMessagesAreEncrypted(t *testing.T) {
	r := ring(t, keySpec(t, "a"))
	fc := NewFailureConverter(r)
	f := fc.ErrorToFailure(temporal.NewApplicationError("sendgrid: invalid recipient ada@example.com", "InvalidRecipient"))
	wire, err := proto.Marshal(f)
	require.NoError(t, err)
	require.False(t, bytes.Contains(wire, []byte("ada@example.com")), "the message is in the failure in clear")
	require.Equal(t, "InvalidRecipient", f.GetApplicationFailureInfo().GetType(), "the type stays readable for retry policies")

	back := fc.FailureToError(f)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, back, &appErr)
	require.Contains(t, appErr.Error(), "ada@example.com")
}

func TestDeriveKeyIsStablePerPurposeAndPrimaryKey(t *testing.T) {
	a, b := keySpec(t, "key-a"), keySpec(t, "key-b")
	k1, err := ring(t, a).DeriveKey("portal link")
	require.NoError(t, err)
	require.Len(t, k1, KeySize)
	k2, err := ring(t, a, b).DeriveKey("portal link")
	require.NoError(t, err)
	require.Equal(t, k1, k2, "the same primary key derives the same key")
	other, err := ring(t, a).DeriveKey("something else")
	require.NoError(t, err)
	require.NotEqual(t, k1, other, "each purpose has its own key")
	rotated, err := ring(t, b, a).DeriveKey("portal link")
	require.NoError(t, err)
	require.NotEqual(t, k1, rotated, "the primary key derives")
	secret, err := base64.StdEncoding.DecodeString(strings.SplitN(a, ":", 2)[1])
	require.NoError(t, err)
	require.False(t, bytes.Contains(k1, secret[:8]), "the derived key is not the secret")
	_, err = (*KeyRing)(nil).DeriveKey("portal link")
	require.Error(t, err)
	_, err = ring(t, a).DeriveKey("")
	require.Error(t, err)
}
