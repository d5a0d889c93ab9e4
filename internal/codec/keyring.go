package codec

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

// EnvKeys is the environment variable that holds the key ring.
const EnvKeys = "DUNWELL_CODEC_KEYS"

// KeySize is the size of an AES-256 key in bytes.
const KeySize = 32

// keyIDPattern is what a key id may be: it travels in every payload's metadata.
var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// KeyRing is a set of AES-256 keys by id: the first encrypts, all decrypt. Its String
// and LogValue name the key ids only, never key material. It is immutable and safe for
// concurrent use.
type KeyRing struct {
	keys []ringKey
}

type ringKey struct {
	id   string
	aead cipher.AEAD
	// derive is the key's own secret, kept only to derive keys for other purposes
	// (DeriveKey).
	derive []byte
}

// Key is one named key for NewKeyRing.
type Key struct {
	// ID names the key in payload metadata: letters, digits, '.', '_' and '-', at most
	// 64, starting with a letter or digit.
	ID string
	// Secret is the 32-byte AES-256 key.
	Secret []byte
}

// NewKeyRing builds a ring from keys, the first being the one that encrypts.
func NewKeyRing(keys ...Key) (*KeyRing, error) {
	if len(keys) == 0 {
		return nil, errors.New("key ring: no keys")
	}
	r := &KeyRing{}
	seen := map[string]bool{}
	for i, k := range keys {
		if !keyIDPattern.MatchString(k.ID) {
			return nil, fmt.Errorf("key ring: key %d: id %s must be 1-64 of A-Z a-z 0-9 . _ - starting with a letter or digit", i+1, quoteID(k.ID))
		}
		if seen[k.ID] {
			return nil, fmt.Errorf("key ring: key %d: id %q appears more than once", i+1, k.ID)
		}
		seen[k.ID] = true
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("key ring: key %d (id %q): must be exactly %d bytes, got %d", i+1, k.ID, KeySize, len(k.Secret))
		}
		aead, err := newAEAD(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("key ring: key %d (id %q): %w", i+1, k.ID, err)
		}
		r.keys = append(r.keys, ringKey{id: k.ID, aead: aead, derive: append([]byte(nil), k.Secret...)})
	}
	return r, nil
}

// ParseKeyRing parses the DUNWELL_CODEC_KEYS format: comma-separated entries
// "keyid:base64key", each key 32 bytes once decoded (standard or URL base64, padded or
// not); the first entry encrypts. Errors name the variable and the entry (by position
// and id), never the key material.
func ParseKeyRing(spec string) (*KeyRing, error) {
	var keys []Key
	var errs []error
	seen := map[string]int{}
	entries := strings.Split(spec, ",")
	for i, entry := range entries {
		n := i + 1
		entry = strings.TrimSpace(entry)
		if entry == "" {
			if len(entries) > 1 {
				errs = append(errs, fmt.Errorf("%s: entry %d is empty", EnvKeys, n))
			}
			continue
		}
		id, b64, ok := strings.Cut(entry, ":")
		id, b64 = strings.TrimSpace(id), strings.TrimSpace(b64)
		if !ok || b64 == "" {
			errs = append(errs, fmt.Errorf("%s: entry %d: must be keyid:base64key", EnvKeys, n))
			continue
		}
		if !keyIDPattern.MatchString(id) {
			errs = append(errs, fmt.Errorf("%s: entry %d: key id %s must be 1-64 of A-Z a-z 0-9 . _ - starting with a letter or digit", EnvKeys, n, quoteID(id)))
			continue
		}
		if first, dup := seen[id]; dup {
			errs = append(errs, fmt.Errorf("%s: entry %d: key id %q is already entry %d", EnvKeys, n, id, first))
			continue
		}
		seen[id] = n
		secret, err := decodeBase64(b64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: entry %d (key id %q): key is not valid base64", EnvKeys, n, id))
			continue
		}
		if len(secret) != KeySize {
			errs = append(errs, fmt.Errorf("%s: entry %d (key id %q): key must be exactly %d bytes, got %d", EnvKeys, n, id, KeySize, len(secret)))
			continue
		}
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no keys; want keyid:base64key[,keyid:base64key...]", EnvKeys)
	}
	return NewKeyRing(keys...)
}

func decodeBase64(s string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}

// GenerateKeySpec returns a DUNWELL_CODEC_KEYS entry "id:base64key" with a fresh
// random 32-byte key, for development runs and tests.
func GenerateKeySpec(id string) (string, error) {
	if !keyIDPattern.MatchString(id) {
		return "", fmt.Errorf("generating a key: id %s is not a valid key id", quoteID(id))
	}
	secret := make([]byte, KeySize)
	if _, err := rand.Read(secret); err != nil {
		return "", fmt.Errorf("generating a key: %w", err)
	}
	return id + ":" + base64.StdEncoding.EncodeToString(secret), nil
}

// PrimaryID is the id of the key that encrypts.
func (r *KeyRing) PrimaryID() string {
	if r == nil || len(r.keys) == 0 {
		return ""
	}
	return r.keys[0].id
}

// DeriveKey derives a 32-byte key for purpose (a fixed label naming what it keys) from
// the primary key with HKDF-SHA256, so one configured secret serves several purposes
// without one use ever revealing the key of another. It never decrypts payloads.
func (r *KeyRing) DeriveKey(purpose string) ([]byte, error) {
	if r == nil || len(r.keys) == 0 {
		return nil, errors.New("key ring: no keys to derive from")
	}
	if purpose == "" {
		return nil, errors.New("key ring: a derived key needs a purpose")
	}
	return hkdf.Key(sha256.New, r.keys[0].derive, nil, "dunwell "+purpose, KeySize)
}

// IDs lists the key ids, the encrypting one first.
func (r *KeyRing) IDs() []string {
	if r == nil {
		return nil
	}
	ids := make([]string, len(r.keys))
	for i, k := range r.keys {
		ids[i] = k.id
	}
	return ids
}

// String names the key ids only.
func (r *KeyRing) String() string { return "KeyRing[" + strings.Join(r.IDs(), ", ") + "]" }

// LogValue logs the key ids only.
func (r *KeyRing) LogValue() slog.Value {
	return slog.GroupValue(slog.String("primary", r.PrimaryID()), slog.Any("key_ids", r.IDs()))
}

func (r *KeyRing) lookup(id string) (ringKey, bool) {
	if r == nil {
		return ringKey{}, false
	}
	for _, k := range r.keys {
		if k.id == id {
			return k, true
		}
	}
	return ringKey{}, false
}
