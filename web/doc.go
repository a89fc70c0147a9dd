// Package web serves the pages people open in a browser, from files
// embedded in the binary: the citizen H5 at /h5/ (微信城市服务, Alipay's
// H5 entry, any phone browser; with 长辈版 and Mongolian) and the hall
// staff console at /console/. They are plain HTML, CSS and JavaScript that
// call the same /api/v1 as every other front end, so `make run` needs no
// Node toolchain and a newcomer changes a page by editing a file.
//
// Every page is served under a strict Content-Security-Policy: scripts and
// styles only from these files (no inline script, no eval), no framing.
// Page strings come from the locale catalogs at /assets/i18n/{lang}.json.
package web
