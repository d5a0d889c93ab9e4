package webhooks_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/notify"
	"github.com/dunwell/dunwell/webhooks"
)

// The sender adds the notice key under notify's name; the parser reads it under its
// own (notify's configuration imports webhooks, so webhooks cannot import notify).
func TestNoticeKeyParamMatchesTheSender(t *testing.T) {
	require.Equal(t, notify.NoticeKeyParam, webhooks.NoticeKeyParam)
}
