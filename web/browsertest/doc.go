// Package browsertest drives the pages of package web in a real headless
// Chromium (Debian's /usr/bin/chromium, which `make deps` installs) through
// the DevTools protocol (chromedp), against an in-process server on
// embedded SQLite and Redis with sandbox channels. Each test walks a real
// journey, screenshots every step into the output folder, and scans each
// page with axe-core (installed by `make deps` from package.json) for
// accessibility violations of impact serious or critical.
//
// The tests need Chromium and axe-core: on CI (CI set) a missing one fails
// the run; elsewhere the tests skip and say to run `make deps`.
package browsertest
