// Package codec keeps customer PII out of Temporal's history in plain text. It is a
// converter.PayloadCodec that encrypts every payload with AES-256-GCM under the first
// key of a KeyRing and decrypts with whichever key of the ring the payload names, so
// keys can be rotated without losing old histories. It also serves Temporal's remote
// codec protocol (POST .../encode, POST .../decode) for the Temporal UI and CLI.
//
// An encrypted payload is the original payload (metadata and data) marshalled as
// protobuf and sealed: Data is nonce (12 bytes) || ciphertext || tag, with metadata
// encoding "binary/encrypted" and "encryption-key-id" naming the key. The key id is
// also the GCM additional data. Payloads of any other encoding pass through Decode
// untouched, so histories written before encryption still read.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

const (
	// MetadataEncodingEncrypted is the "encoding" metadata of an encrypted payload.
	MetadataEncodingEncrypted = "binary/encrypted"
	// MetadataEncryptionKeyID is the metadata key that names the encrypting key.
	MetadataEncryptionKeyID = "encryption-key-id"
)

// nonceSize is GCM's standard 96-bit nonce.
const nonceSize = 12

// Codec is the AES-256-GCM payload codec over a KeyRing. It is safe for concurrent use.
type Codec struct {
	ring *KeyRing
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New returns a codec that encrypts with ring's first key and decrypts with any of its
// keys. A nil ring makes every Encode, and every Decode of an encrypted payload, fail.
func New(ring *KeyRing) *Codec { return &Codec{ring: ring} }

// NewDataConverter returns the SDK's default data converter with the codec applied,
// for client.Options.DataConverter of the worker and every client.
func NewDataConverter(ring *KeyRing) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), New(ring))
}

// NewFailureConverter returns the SDK's default failure converter over
// NewDataConverter(ring) with EncodeCommonAttributes: error messages and stack traces
// travel encrypted too (a provider's error may quote a recipient's address or number),
// and history shows "Encoded failure" in their place. Use it beside NewDataConverter.
func NewFailureConverter(ring *KeyRing) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          NewDataConverter(ring),
		EncodeCommonAttributes: true,
	})
}

// Encode encrypts each payload under the ring's primary key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	if c.ring == nil || len(c.ring.keys) == 0 {
		return payloads, errors.New("encrypting payloads: no encryption key is configured")
	}
	k := c.ring.keys[0]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if p == nil {
			continue
		}
		plain, err := proto.Marshal(p)
		if err != nil {
			return payloads, fmt.Errorf("encrypting payload %d: marshalling it: %w", i, err)
		}
		sealed := make([]byte, nonceSize, nonceSize+len(plain)+k.aead.Overhead())
		if _, err := rand.Read(sealed); err != nil {
			return payloads, fmt.Errorf("encrypting payload %d: reading a random nonce: %w", i, err)
		}
		sealed = k.aead.Seal(sealed, sealed[:nonceSize], plain, []byte(k.id))
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(MetadataEncodingEncrypted),
				MetadataEncryptionKeyID:    []byte(k.id),
			},
			Data: sealed,
		}
	}
	return out, nil
}

// Decode decrypts each encrypted payload with the key its metadata names; payloads of
// any other encoding are returned as they are. A key id missing from the ring, a
// tampered or truncated ciphertext, or a bad inner payload is an error.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if p == nil || string(p.GetMetadata()[converter.MetadataEncoding]) != MetadataEncodingEncrypted {
			out[i] = p
			continue
		}
		d, err := c.decrypt(p)
		if err != nil {
			return payloads, fmt.Errorf("decrypting payload %d: %w", i, err)
		}
		out[i] = d
	}
	return out, nil
}

func (c *Codec) decrypt(p *commonpb.Payload) (*commonpb.Payload, error) {
	rawID, ok := p.GetMetadata()[MetadataEncryptionKeyID]
	if !ok || len(rawID) == 0 {
		return nil, fmt.Errorf("payload is %s but has no %s metadata", MetadataEncodingEncrypted, MetadataEncryptionKeyID)
	}
	id := string(rawID)
	k, ok := c.ring.lookup(id)
	if !ok {
		return nil, fmt.Errorf("payload encrypted with key id %s, which is not configured (%s)", quoteID(id), EnvKeys)
	}
	data := p.GetData()
	if len(data) < nonceSize+k.aead.Overhead() {
		return nil, fmt.Errorf("ciphertext under key id %s is truncated (%d bytes)", quoteID(id), len(data))
	}
	plain, err := k.aead.Open(nil, data[:nonceSize], data[nonceSize:], rawID)
	if err != nil {
		return nil, fmt.Errorf("ciphertext under key id %s failed authentication (tampered, or another key with the same id)", quoteID(id))
	}
	var inner commonpb.Payload
	if err := proto.Unmarshal(plain, &inner); err != nil {
		return nil, fmt.Errorf("decrypted payload under key id %s is not a payload: %w", quoteID(id), err)
	}
	return &inner, nil
}

// quoteID quotes a key id for an error message, cut short: on the HTTP endpoint it
// comes from the caller.
func quoteID(id string) string {
	const maxLen = 64
	if len(id) > maxLen {
		return fmt.Sprintf("%q…", id[:maxLen])
	}
	return fmt.Sprintf("%q", id)
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
