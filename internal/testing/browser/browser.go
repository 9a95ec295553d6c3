// Package browser starts a real headless Chromium (Debian's chromium
// package, installed by scripts/browser.sh) for tests, driven through
// github.com/chromedp/chromedp.
//
//	ctx := browser.New(t) // skips without chromium
//	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(url)) // resp.Status
package browser

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// RequireEnv, set to 1 (scripts/test.sh does), turns a missing chromium into
// a test failure instead of a skip.
const RequireEnv = "WPBRIDGE_REQUIRE_BROWSER"

// StepTimeout is a sensible bound for one step (a page load, a click).
const StepTimeout = 30 * time.Second

// Path returns the chromium executable, or "" when none is installed.
func Path() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts a headless Chromium with a fresh profile and returns a chromedp
// context on one tab; everything is closed when t ends. Without chromium
// the test is skipped (failed under WPBRIDGE_REQUIRE_BROWSER=1).
func New(t testing.TB) context.Context {
	t.Helper()
	path := Path()
	if path == "" {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("chromium is not installed and %s=1: run scripts/browser.sh install (as root)", RequireEnv)
		}
		t.Skip("browser test skipped: chromium is not installed (scripts/browser.sh install, as root)")
	}
	// Without the networking flags Chromium tries to reach outside hosts
	// (updates, sync, QUIC probes) and stalls on a closed network.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 700),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	// The first Do starts the browser and binds it to bctx (no timeout);
	// callers bound each step with a context derived from bctx.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// Tab drives the browser's tab for one test; every step fails the test on
// error and is bounded by StepTimeout.
type Tab struct {
	t   testing.TB
	ctx context.Context
}

// NewTab starts Chromium (see New) and returns its tab.
func NewTab(t testing.TB) *Tab {
	t.Helper()
	return &Tab{t: t, ctx: New(t)}
}

// Context returns the chromedp context of the tab.
func (b *Tab) Context() context.Context { return b.ctx }

// Do runs steps.
func (b *Tab) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, StepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// Load runs steps that load a page (a navigation, a click on a submit
// button) and checks the page's HTTP status.
func (b *Tab) Load(what string, wantStatus int, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, StepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
	if int(resp.Status) != wantStatus {
		b.t.Fatalf("browser: %s: %s answered %d, want %d", what, resp.URL, resp.Status, wantStatus)
	}
}

// Text returns the trimmed text of the first element matching the CSS
// selector sel.
func (b *Tab) Text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, StepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("browser: read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// Attr returns an attribute of the first element matching sel ("" if absent).
func (b *Tab) Attr(sel, name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, StepTimeout)
	defer cancel()
	r, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil {
		b.t.Fatalf("browser: read %s of %s: %v", name, sel, err)
	}
	return r.Value
}
