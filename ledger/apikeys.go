package ledger

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// API key scopes the ledger accepts; package auth names them.
var apiKeyScopes = []string{"invoices:write", "payments:write", "operator", "read"}

// TokenPrefix starts every API key token, so a leaked token is recognisable (secret
// scanners, logs) and a malformed one is rejected before any lookup.
const TokenPrefix = "dw_"

// tokenBytes is the entropy of a generated token: 256 bits.
const tokenBytes = 32

// minTokenChars is the shortest secret part (after TokenPrefix) a registered token may
// have: EnsureAPIKey takes tokens chosen elsewhere, and the fast hash below is only
// sound for long random tokens.
const minTokenChars = 32

// lastUsedEvery bounds how often a key's last_used_at is written: at most about once
// per this interval per key, so a busy key costs no write per request.
const lastUsedEvery = time.Minute

var (
	// ErrKeyRevoked means the API key exists but was revoked.
	ErrKeyRevoked = errors.New("api key revoked")
	// ErrKeyNameInUse means another token's active key already has the name.
	ErrKeyNameInUse = errors.New("an active api key of another token has that name")

	tokenRE   = regexp.MustCompile(`^dw_[A-Za-z0-9_-]{32,128}$`)
	keyNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]{0,63}$`)
)

// APIKey is an API key as stored: never its token, which exists only in the hands of
// whoever created the key.
type APIKey struct {
	ID         int64
	Name       string
	Scopes     []string
	CreatedAt  time.Time
	LastUsedAt *time.Time // nil: never used
	RevokedAt  *time.Time // nil: active
}

// HasScope reports whether the key grants scope.
func (k APIKey) HasScope(scope string) bool { return slices.Contains(k.Scopes, scope) }

// Revoked reports whether the key was revoked.
func (k APIKey) Revoked() bool { return k.RevokedAt != nil }

// ValidToken reports whether token has the shape of an API key token: TokenPrefix and
// 32 to 128 base64url characters. It says nothing about whether the key exists.
func ValidToken(token string) bool { return tokenRE.MatchString(token) }

// hashToken is how tokens are stored and looked up: SHA-256 of the token.
//
// A fast hash is the right tool here. A token carries 256 bits from crypto/rand, so
// there is no dictionary to try and no brute force that could ever finish, fast hash
// or not; the hash only has to be one-way so that a leaked database row does not give
// the token away. Slow password hashes (bcrypt, scrypt, argon2) exist to protect
// low-entropy, human-chosen passwords; they would add nothing here, would cost tens of
// milliseconds of CPU on every API request, and (being salted) could not be looked up
// by an index. SHA-256 is deterministic, so a token is found by one indexed equality
// lookup on its hash, whose timing reveals nothing useful about any stored token.
func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// NewAPIKeyToken returns a fresh token: TokenPrefix + base64url(32 random bytes).
func NewAPIKeyToken() (string, error) {
	var b [tokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("ledger: generate api key token: %w", err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// validateKey checks a key's name and scopes, returning the scopes deduplicated and
// sorted.
func validateKey(op, name string, scopes []string) ([]string, error) {
	if !keyNameRE.MatchString(name) {
		return nil, invalid(op, "key name %q must start with a letter and have at most 64 letters, digits, '.', '_' or '-'", name)
	}
	if len(scopes) == 0 {
		return nil, invalid(op, "key %s: no scopes", name)
	}
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if !slices.Contains(apiKeyScopes, s) {
			return nil, invalid(op, "key %s: unknown scope %q (known: %v)", name, s, apiKeyScopes)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out, nil
}

const apiKeyColumns = `id, name, scopes, created_at, last_used_at, revoked_at`

func scanAPIKey(row pgx.Row) (APIKey, error) {
	var k APIKey
	err := row.Scan(&k.ID, &k.Name, &k.Scopes, &k.CreatedAt, &k.LastUsedAt, &k.RevokedAt)
	return k, err
}

// CreateAPIKey creates an API key named name with the given scopes and returns its
// token, which is not stored and cannot be shown again. A name already used by an
// active key, an invalid name or an unknown scope returns ErrInvalid. The key and its
// api_key.create audit entry (in ctx's name, WithActor) commit together.
func (s *Store) CreateAPIKey(ctx context.Context, name string, scopes []string) (string, APIKey, error) {
	const op = "create api key"
	scopes, err := validateKey(op, name, scopes)
	if err != nil {
		return "", APIKey{}, err
	}
	token, err := NewAPIKeyToken()
	if err != nil {
		return "", APIKey{}, err
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var k APIKey
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if k, err = scanAPIKey(tx.QueryRow(ctx, `
			INSERT INTO api_keys (name, token_sha256, scopes) VALUES ($1, $2, $3)
			RETURNING `+apiKeyColumns, name, hashToken(token), scopes)); err != nil {
			return err
		}
		_, err = insertAudit(ctx, tx, keyAudit(ctx, AuditKeyCreate, k))
		return err
	})
	if isUniqueViolation(err) {
		return "", APIKey{}, invalid(op, "an active key named %s already exists", name)
	}
	if err != nil {
		return "", APIKey{}, wrap(op, err)
	}
	return token, k, nil
}

// EnsureAPIKey registers token as the key named name with the given scopes, for a
// development key configured out of band. It is idempotent: if the token is already
// registered and active, its scopes are set to scopes and the key is returned. It
// never touches another token's key: an active key of that name with another token
// returns ErrKeyNameInUse (revoke it first if it is meant to go). A token that was
// revoked stays revoked: ErrKeyRevoked. A token that is not TokenPrefix plus at least
// 32 base64url characters returns ErrInvalid. A registration or a change of scopes
// commits with its audit entry.
func (s *Store) EnsureAPIKey(ctx context.Context, name, token string, scopes []string) (APIKey, error) {
	const op = "ensure api key"
	scopes, err := validateKey(op, name, scopes)
	if err != nil {
		return APIKey{}, err
	}
	if !ValidToken(token) || len(token)-len(TokenPrefix) < minTokenChars {
		return APIKey{}, invalid(op, "key %s: token must be %q followed by at least %d base64url characters", name, TokenPrefix, minTokenChars)
	}
	hash := hashToken(token)
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var k APIKey
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Serialise concurrent start-ups registering the same name.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('dunwell-api-key:' || $1))`, name); err != nil {
			return err
		}
		var err error
		k, err = scanAPIKey(tx.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE token_sha256 = $1 FOR UPDATE`, hash))
		switch {
		case err == nil && k.Revoked():
			return ErrKeyRevoked
		case err == nil && slices.Equal(k.Scopes, scopes):
			return nil
		case err == nil:
			if k, err = scanAPIKey(tx.QueryRow(ctx, `UPDATE api_keys SET scopes = $2 WHERE id = $1 RETURNING `+apiKeyColumns, k.ID, scopes)); err != nil {
				return err
			}
			_, err = insertAudit(ctx, tx, keyAudit(ctx, AuditKeyScopes, k))
			return err
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		var other int64
		err = tx.QueryRow(ctx, `SELECT id FROM api_keys WHERE name = $1 AND revoked_at IS NULL`, name).Scan(&other)
		if err == nil {
			k = APIKey{ID: other, Name: name}
			return ErrKeyNameInUse
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if k, err = scanAPIKey(tx.QueryRow(ctx, `
			INSERT INTO api_keys (name, token_sha256, scopes) VALUES ($1, $2, $3)
			RETURNING `+apiKeyColumns, name, hash, scopes)); err != nil {
			return err
		}
		_, err = insertAudit(ctx, tx, keyAudit(ctx, AuditKeyRegister, k))
		return err
	})
	if errors.Is(err, ErrKeyRevoked) || errors.Is(err, ErrKeyNameInUse) {
		return APIKey{}, fmt.Errorf("ledger: %s: key %s (id %d): %w", op, name, k.ID, err)
	}
	if err != nil {
		return APIKey{}, wrap(op, err)
	}
	return k, nil
}

// LookupAPIKey returns the key whose token is token: ErrNotFound if there is none
// (or token is malformed), the key and ErrKeyRevoked if it was revoked. It is one
// indexed SELECT; last_used_at is written at most about once a minute per key, and a
// failure to write it does not fail the lookup.
func (s *Store) LookupAPIKey(ctx context.Context, token string) (APIKey, error) {
	const op = "look up api key"
	if !ValidToken(token) {
		return APIKey{}, fmt.Errorf("ledger: %s: %w", op, ErrNotFound)
	}
	hash := hashToken(token)
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var stored []byte
	var k APIKey
	err := s.pool.QueryRow(ctx, `SELECT token_sha256, `+apiKeyColumns+` FROM api_keys WHERE token_sha256 = $1`, hash).
		Scan(&stored, &k.ID, &k.Name, &k.Scopes, &k.CreatedAt, &k.LastUsedAt, &k.RevokedAt)
	if err != nil {
		return APIKey{}, wrap(op, err)
	}
	// The index already matched the hash; comparing again in constant time costs
	// nothing and keeps the check independent of how the row was found.
	if subtle.ConstantTimeCompare(stored, hash) != 1 {
		return APIKey{}, fmt.Errorf("ledger: %s: %w", op, ErrNotFound)
	}
	if k.Revoked() {
		return k, fmt.Errorf("ledger: %s: key %d: %w", op, k.ID, ErrKeyRevoked)
	}
	s.touchAPIKey(ctx, &k)
	return k, nil
}

// GetAPIKey returns the key with the given id, revoked or not (check Revoked), or
// ErrNotFound.
func (s *Store) GetAPIKey(ctx context.Context, id int64) (APIKey, error) {
	const op = "get api key"
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	k, err := scanAPIKey(s.pool.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = $1`, id))
	if err != nil {
		return APIKey{}, wrap(op, err)
	}
	if !k.Revoked() {
		s.touchAPIKey(ctx, &k)
	}
	return k, nil
}

// touchAPIKey records that k was used, unless that was recorded less than
// lastUsedEvery ago (the condition is re-checked in SQL, so concurrent requests and
// processes write it once).
func (s *Store) touchAPIKey(ctx context.Context, k *APIKey) {
	if k.LastUsedAt != nil && time.Since(*k.LastUsedAt) < lastUsedEvery {
		return
	}
	var at time.Time
	err := s.pool.QueryRow(ctx, `
		UPDATE api_keys SET last_used_at = now()
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - $2 * interval '1 second')
		RETURNING last_used_at`, k.ID, lastUsedEvery.Seconds()).Scan(&at)
	switch {
	case err == nil:
		k.LastUsedAt = &at
	case errors.Is(err, pgx.ErrNoRows): // another request just did it
	default:
		s.log.Warn("ledger: recording api key use failed", "key_id", k.ID, "error", err)
	}
}

// ListAPIKeys returns every key, active and revoked, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	return queryRows(ctx, s, "list api keys", func(row pgx.CollectableRow) (APIKey, error) { return scanAPIKey(row) },
		`SELECT `+apiKeyColumns+` FROM api_keys ORDER BY id`)
}

// RevokeAPIKey revokes the key given by its id (all digits) or by its name (the
// active key of that name). Revoking a revoked key by id changes nothing and returns
// it; an unknown id or a name without an active key returns ErrNotFound. A revocation
// commits with its audit entry.
func (s *Store) RevokeAPIKey(ctx context.Context, idOrName string) (APIKey, error) {
	if id, err := strconv.ParseInt(idOrName, 10, 64); err == nil {
		return s.revokeKey(ctx, fmt.Sprintf("key %q", idOrName), `id = $1`, id)
	}
	return s.revokeKey(ctx, fmt.Sprintf("key %q", idOrName), `name = $1 AND revoked_at IS NULL`, idOrName)
}

// RevokeAPIKeyToken revokes the key whose token is token, like RevokeAPIKey by id:
// for whoever registered a token (EnsureAPIKey) and must take back exactly that key,
// whatever else carries its name.
func (s *Store) RevokeAPIKeyToken(ctx context.Context, token string) (APIKey, error) {
	return s.revokeKey(ctx, "the key of the given token", `token_sha256 = $1`, hashToken(token))
}

// revokeKey revokes the key matching where (a constant condition on $1), keeping the
// first revocation time; only a key that was active gets an audit entry.
func (s *Store) revokeKey(ctx context.Context, which, where string, arg any) (APIKey, error) {
	const op = "revoke api key"
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var k APIKey
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var wasActive bool
		err := tx.QueryRow(ctx, `
			WITH old AS (SELECT id, revoked_at IS NULL AS active FROM api_keys WHERE `+where+` FOR UPDATE)
			UPDATE api_keys k SET revoked_at = coalesce(k.revoked_at, now()) FROM old WHERE k.id = old.id
			RETURNING old.active, k.id, k.name, k.scopes, k.created_at, k.last_used_at, k.revoked_at`, arg).
			Scan(&wasActive, &k.ID, &k.Name, &k.Scopes, &k.CreatedAt, &k.LastUsedAt, &k.RevokedAt)
		if err != nil || !wasActive {
			return err
		}
		e := keyAudit(ctx, AuditKeyRevoke, k)
		e.Outcome = AuditRevoked
		_, err = insertAudit(ctx, tx, e)
		return err
	})
	if err != nil {
		return APIKey{}, wrap(op, fmt.Errorf("%s: %w", which, err))
	}
	return k, nil
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
