package e2e

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser tests' shared steps: find Chromium, start it, sign in on a page.

// chromiumPath finds the browser, or "" if there is none.
func chromiumPath() string {
	for _, name := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// chromiumOrSkip returns the browser, or skips the test (named by what) without one.
func chromiumOrSkip(t *testing.T, what string) string {
	t.Helper()
	bin := chromiumPath()
	if bin == "" {
		t.Skip("no Chromium found (run scripts/ensure-chromium.sh, or set CHROMIUM): skipping " + what)
	}
	return bin
}

// newBrowser starts headless Chromium (bin) with a width×height window and returns
// a context for its first tab that expires after 90 seconds; the browser is closed
// when the test ends.
func newBrowser(t *testing.T, bin string, width, height int) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(width, height))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	return ctx
}

// signIn opens page, which answers with the sign-in form, and signs in with the e2e
// key (env.apiKey).
func signIn(page string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.ID("signin")),
		chromedp.SendKeys(chromedp.ID("key"), env.apiKey),
		chromedp.Click(chromedp.ID("signin-button")),
	)
}
