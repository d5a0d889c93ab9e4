package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestSignInWithoutJavaScriptInChromium: with JavaScript off in the browser, an
// operator opens /worklist?assignee=e2e, types a wrong key and is told so with a link
// back to the page, then types the right one and lands on the page asked for, signed
// in. The sign-in form is a plain HTML form; nothing on the way needs a script.
func TestSignInWithoutJavaScriptInChromium(t *testing.T) {
	bin := chromiumOrSkip(t, "the sign-in without JavaScript browser test")
	t.Parallel()
	ctx := newBrowser(t, bin, 1280, 900)
	page := env.api.URL + "/worklist?assignee=e2e"
	scriptsOff := chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := cdp.Call(ctx, target, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	})
	require.NoError(t, chromedp.Do(ctx,
		scriptsOff,
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.ID("signin")),
		chromedp.SendKeys(chromedp.ID("key"), "dw_"+strings.Repeat("x", 43)),
		chromedp.Click(chromedp.ID("signin-button")),
		chromedp.WaitVisible(chromedp.ID("signin-failed")),
	))
	failed, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("signin-failed")))
	require.NoError(t, err)
	require.Equal(t, "Sign-in failed: invalid API key", strings.TrimSpace(failed))

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("signin-back")),
		chromedp.WaitVisible(chromedp.ID("signin")),
		chromedp.SendKeys(chromedp.ID("key"), env.apiKey),
		chromedp.Click(chromedp.ID("signin-button")),
		chromedp.WaitVisible(chromedp.ID("tasks")),
	))
	location, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.Equal(t, page, location, "back on the page asked for")
	header, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("header small")))
	require.NoError(t, err)
	require.Contains(t, header, "signed in as e2e")
}
