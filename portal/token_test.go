package portal

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTokenRoundTripAndCSRF(t *testing.T) {
	a, err := NewToken()
	require.NoError(t, err)
	b, err := NewToken()
	require.NoError(t, err)
	require.Len(t, a.String(), TokenLength)
	require.NotEqual(t, a.String(), b.String())

	back, err := ParseToken(a.String())
	require.NoError(t, err)
	require.Equal(t, a.Hash(), back.Hash())
	require.Len(t, a.Hash(), 32)

	require.True(t, a.CheckCSRF(a.CSRF()))
	require.False(t, a.CheckCSRF(b.CSRF()), "one link's CSRF token is not another's")
	require.False(t, a.CheckCSRF(""))
}

func TestParseTokenRefusesWhatDunwellNeverMade(t *testing.T) {
	good, err := NewToken()
	require.NoError(t, err)
	s := good.String()
	for name, bad := range map[string]string{
		"empty":          "",
		"short":          s[:TokenLength-1],
		"long":           s + "A",
		"padding":        s[:TokenLength-2] + "==",
		"std alphabet":   strings.Repeat("+", TokenLength),
		"slash":          strings.Repeat("/", TokenLength),
		"stray low bits": s[:TokenLength-1] + "B", // the last character carries 2 unused bits
		"non-ascii":      strings.Repeat("é", TokenLength/2),
	} {
		_, err := ParseToken(bad)
		require.ErrorIs(t, err, ErrMalformedToken, name)
	}
}

// FuzzParseToken: no input panics; whatever parses is canonical (prints back as
// given) and has a 32-byte hash.
func FuzzParseToken(f *testing.F) {
	good, err := NewToken()
	require.NoError(f, err)
	for _, s := range []string{good.String(), "", "AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAB", "____________________-_", "%%", strings.Repeat("=", 22)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseToken(s)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformedToken)
			return
		}
		require.Equal(t, s, tok.String())
		require.Len(t, tok.Hash(), 32)
	})
}

func TestDeriveTokenIsOnePerMessageAndKey(t *testing.T) {
	key, other := []byte(strings.Repeat("k", 32)), []byte(strings.Repeat("o", 32))
	a := DeriveToken(key, "C-42/sms/2026-12-07/abc")
	require.Equal(t, a, DeriveToken(key, "C-42/sms/2026-12-07/abc"), "a retry derives the same link")
	require.NotEqual(t, a, DeriveToken(key, "C-42/email/2026-12-07/abc"), "each message has its own")
	require.NotEqual(t, a, DeriveToken(other, "C-42/sms/2026-12-07/abc"), "another key, another link")
	back, err := ParseToken(a.String())
	require.NoError(t, err, "a derived token parses as any other")
	require.Equal(t, a.Hash(), back.Hash())
	require.Len(t, a.String(), TokenLength)
}
