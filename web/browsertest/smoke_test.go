package browsertest

import (
	"strings"
	"testing"
)

// TestPagesLoadUnderTheirPolicy: both pages and their assets load, with
// the strict CSP on, without a violation or a script error, and pass axe.
func TestPagesLoadUnderTheirPolicy(t *testing.T) {
	s := newSite(t)
	for _, tc := range []struct {
		path string
		vp   viewport
	}{{"/h5/", Phone}, {"/console/", Desk}} {
		p := s.open(t, tc.vp)
		p.visit(tc.path)
		p.waitJS(`document.documentElement.lang !== "" && document.querySelector("[data-i18n]") && document.querySelector("[data-i18n]").textContent.indexOf("⟦") < 0`, "page strings")
		p.checkPage()
		p.axe(tc.path)
		p.shot(strings.Trim(tc.path, "/"))
	}
}
