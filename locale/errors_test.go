package locale_test

import (
	"strings"
	"testing"

	"github.com/lianban/lianban/locale"
	"github.com/lianban/lianban/models"
)

// TestEveryErrorCodeIsWordedInEveryLanguage: models' error table is where
// a message is written; the catalogs word it for the API's callers. A
// code without a catalog entry would reach a Mongolian reader in Chinese,
// and a Chinese catalog entry that differs from the table would make the
// API say two things for one code depending on the path, so the Chinese
// catalog must equal the table, code by code.
func TestEveryErrorCodeIsWordedInEveryLanguage(t *testing.T) {
	c, err := locale.Load()
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]bool{}
	for _, e := range models.ErrorTable() {
		id := "error." + e.Code
		codes[id] = true
		if got := c.Message(locale.Chinese, id, ""); got != e.Message {
			t.Errorf("%s in zh-CN is %q, the error table says %q", id, got, e.Message)
		}
		mn := c.Message(locale.Mongolian, id, "")
		if !mongolian(mn) {
			t.Errorf("%s in mn-Mong is %q: not in Mongolian script", id, mn)
		}
		if e.Reason == "" {
			continue
		}
		// A reason fixed on a sentinel is worded too.
		codes[id+".reason"] = true
		if got := c.Message(locale.Chinese, id+".reason", ""); got != e.Reason {
			t.Errorf("%s.reason in zh-CN is %q, the error table says %q", id, got, e.Reason)
		}
		if mn := c.Message(locale.Mongolian, id+".reason", ""); !mongolian(mn) {
			t.Errorf("%s.reason in mn-Mong is %q: not in Mongolian script", id, mn)
		}
	}
	// And the other way: no catalog entry for a code that no longer is.
	for _, id := range c.IDs(locale.Chinese) {
		if strings.HasPrefix(id, "error.") && !codes[id] {
			t.Errorf("%s is in the catalog but not in models.ErrorTable", id)
		}
	}
}

// mongolian reports whether s is mostly written in the Mongolian block
// (U+1800–U+18AF): a copy of the Chinese, or an empty string, is not.
func mongolian(s string) bool {
	mn, other := 0, 0
	for _, r := range s {
		switch {
		case r >= 0x1800 && r <= 0x18AF:
			mn++
		case r > 0x7f && r != 0x202f:
			other++
		}
	}
	return mn > 0 && other == 0
}
