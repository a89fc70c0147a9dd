package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store/storetest"
)

// chromium is Debian's browser, the one `make deps` installs.
const chromium = "/usr/bin/chromium"

// axePath is axe-core's bundle, installed by `make deps` (npm ci here).
const axePath = "node_modules/axe-core/axe.min.js"

// need fails on CI and skips elsewhere when a tool of the browser tests
// is missing: CI must never pass without having run them.
func need(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := exec.LookPath(chromium); err != nil {
		missing = append(missing, chromium+" (apt-get install chromium)")
	}
	if _, err := os.Stat(axePath); err != nil {
		missing = append(missing, "axe-core (npm ci in web/browsertest)")
	}
	if len(missing) == 0 {
		return
	}
	msg := "browser tests need " + strings.Join(missing, " and ") + "; run `make deps`"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// site is an in-process lianban in sandbox mode on embedded SQLite and
// Redis, on the wall clock (the staff's TOTP codes and the collection
// windows are today's), with the sandbox hall's staff accounts.
type site struct {
	URL string
	Env *servicetest.Env
	// shots is the test's screenshot folder; n numbers the steps across
	// every tab of the test.
	shots string
	n     int
}

func newSite(t *testing.T) *site {
	t.Helper()
	return newSiteWith(t, true)
}

// newSiteWith is newSite with the tax APP's and 蒙速办's logins
// (logins) or without them, as a server configured for neither.
func newSiteWith(t *testing.T, logins bool) *site {
	t.Helper()
	need(t)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	db := storetest.Targets()[0].Open(t) // SQLite: the API is proven on every store elsewhere
	// Logins: the tax APP's and 蒙速办's fakes, the latter's provider
	// mounted under the site as the sandbox server mounts it.
	env := servicetest.New(t, db, servicetest.Config{PublicURL: srv.URL, WallClock: true, Logins: logins,
		Start: time.Now().UTC().Truncate(time.Second)})
	servicetest.SeedHall(t, env)
	cfg := handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true}
	if logins {
		// Only then: a nil fake in a non-nil interface would be served.
		cfg.SandboxTaxApp, cfg.SandboxOIDC = env.TaxApp, env.OIDC
	}
	h = handlers.New(cfg)
	return &site{URL: srv.URL, Env: env, shots: shotDir(t)}
}

// work runs one pass of the background steps (settlement's 入库 and 记账,
// refund payouts), as the worker would on its next tick.
func (s *site) work(t *testing.T) {
	t.Helper()
	s.Env.Svc.WorkOnce(context.Background())
}

// Viewports: a phone for the H5, a desk screen for the console.
var (
	Phone = viewport{390, 844, 3, true}
	Desk  = viewport{1366, 900, 1, false}
)

type viewport struct {
	W, H   int64
	Scale  float64
	Mobile bool
}

// page is one browser tab.
type page struct {
	t      *testing.T
	ctx    context.Context
	site   *site
	mu     sync.Mutex
	errors []string
}

// cspProbe records every Content-Security-Policy violation before any
// script of the page runs; checkPage fails on any.
const cspProbe = `window.__lbCSP = []; document.addEventListener("securitypolicyviolation", function (e) { window.__lbCSP.push(e.violatedDirective + " " + e.blockedURI); });`

// open starts a browser with a fresh profile on vp and returns its tab.
func (s *site) open(t *testing.T, vp viewport) *page {
	t.Helper()
	opts := append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts,
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(int(vp.W), int(vp.H)),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	p := &page{t: t, ctx: ctx, site: s}
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			p.mu.Lock()
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			p.errors = append(p.errors, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
			p.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	vpOpts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(vp.Scale)}
	if vp.Mobile {
		vpOpts = append(vpOpts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	p.run(chromedp.EmulateViewport(vp.W, vp.H, vpOpts...))
	if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: cspProbe}); err != nil {
		t.Fatal(err)
	}
	return p
}

// shotDir is where a test's screenshots go: $LIANBAN_SCREENSHOTS, or
// out/ here (ignored by git), one folder per test.
func shotDir(t *testing.T) string {
	root := os.Getenv("LIANBAN_SCREENSHOTS")
	if root == "" {
		root = "out"
	}
	dir := filepath.Join(root, regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_"))
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// run runs actions with a deadline, failing the test on error with a
// screenshot of where it stood.
func (p *page) run(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fail("%v", err)
	}
}

func (p *page) fail(format string, args ...any) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	if buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(filepath.Join(p.site.shots, "failure.png"), buf, 0o644)
	}
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 2000) : ""`))
	p.t.Fatalf(format+"\npage text: %s\nscreenshot: %s", append(args, body, filepath.Join(p.site.shots, "failure.png"))...)
}

// visit loads path of the site.
func (p *page) visit(path string) {
	p.t.Helper()
	p.run(chromedp.Navigate(p.site.URL + path))
}

// shot writes a full-page screenshot of this step.
func (p *page) shot(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.fail("screenshot: %v", err)
	}
	p.site.n++
	if err := os.WriteFile(filepath.Join(p.site.shots, fmt.Sprintf("%02d-%s.png", p.site.n, name)), buf, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// eval evaluates js (an expression, awaited if it is a promise) and
// decodes its value into T.
func eval[T any](p *page, js string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.fail("evaluating %.200s: %v", js, err)
	}
	return v
}

// waitText waits until the element sel shows text containing want.
func (p *page) waitText(sel, want string) {
	p.t.Helper()
	js := fmt.Sprintf(`(function(){const n=document.querySelector(%q);return !!n && n.innerText.indexOf(%q)>=0;})()`, sel, want)
	p.waitJS(js, fmt.Sprintf("%s to show %q", sel, want))
}

// waitJS waits until the expression js is true.
func (p *page) waitJS(js, what string) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.fail("waiting for %s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// axeResult is the part of axe.run's result the tests read.
type axeResult struct {
	Violations []struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  []struct {
			Target []any  `json:"target"`
			HTML   string `json:"html"`
		} `json:"nodes"`
	} `json:"violations"`
}

// axe injects axe-core (through DevTools, so the page's CSP stays strict)
// and fails on any violation of impact serious or critical, WCAG 2.1 A/AA
// and best practice.
func (p *page) axe(name string) {
	p.t.Helper()
	src, err := os.ReadFile(axePath)
	if err != nil {
		p.t.Fatal(err)
	}
	eval[bool](p, string(src)+";\ntrue")
	res := eval[axeResult](p, `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}, resultTypes: ["violations"]}).then(r => JSON.parse(JSON.stringify({violations: r.violations})))`)
	var bad []string
	for _, v := range res.Violations {
		if v.Impact != "serious" && v.Impact != "critical" {
			continue
		}
		for _, n := range v.Nodes {
			bad = append(bad, fmt.Sprintf("%s (%s): %s at %v: %s", v.ID, v.Impact, v.Help, n.Target, n.HTML))
		}
	}
	if len(bad) > 0 {
		p.fail("axe on %s: %d serious or critical violations:\n%s", name, len(bad), strings.Join(bad, "\n"))
	}
}

// checkPage fails on any CSP violation or uncaught script error so far.
func (p *page) checkPage() {
	p.t.Helper()
	csp := eval[[]string](p, `window.__lbCSP || []`)
	p.mu.Lock()
	errs := append([]string(nil), p.errors...)
	p.mu.Unlock()
	if len(csp) > 0 || len(errs) > 0 {
		p.fail("CSP violations %v, script errors %v", csp, errs)
	}
}

// jsonString quotes s for JavaScript.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
