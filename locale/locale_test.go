package locale

import (
	"strings"
	"testing"
)

// TestEveryMessageExistsInEveryLanguage: a page or an error in Mongolian
// must never fall back to a raw key or to Chinese because one catalog
// lacks an id the other has.
func TestEveryMessageExistsInEveryLanguage(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	zh, mn := c.IDs(Chinese), c.IDs(Mongolian)
	if len(zh) == 0 {
		t.Fatal("no Chinese messages loaded")
	}
	in := func(ids []string) map[string]bool {
		m := map[string]bool{}
		for _, id := range ids {
			m[id] = true
		}
		return m
	}
	zhSet, mnSet := in(zh), in(mn)
	for _, id := range zh {
		if !mnSet[id] {
			t.Errorf("%s has no Mongolian message", id)
		}
		if strings.TrimSpace(c.Message(Chinese, id, "")) == "" {
			t.Errorf("%s is empty in Chinese", id)
		}
	}
	for _, id := range mn {
		if !zhSet[id] {
			t.Errorf("%s is in Mongolian only", id)
		}
		if strings.TrimSpace(c.Message(Mongolian, id, "")) == "" {
			t.Errorf("%s is empty in Mongolian", id)
		}
	}
}

// TestMongolianMessagesSayWhetherTheyWereReviewed: until a native speaker
// signs a message off, it says it awaits review, so nobody mistakes a
// draft for an approved translation.
func TestMongolianMessagesSayWhetherTheyWereReviewed(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range c.IDs(Mongolian) {
		d := c.Description(Mongolian, id)
		if !strings.Contains(d, ReviewPending) && !strings.Contains(d, "review: signed-off by ") {
			t.Errorf("%s: description %q says neither %q nor who signed it off", id, d, ReviewPending)
		}
	}
	if len(c.Pending(Mongolian)) == 0 {
		t.Log("every Mongolian message is signed off")
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		choice, accept string
		want           Lang
	}{
		{"", "", Chinese},
		{"mn", "", Mongolian},
		{"", "mn-Mong,zh-CN;q=0.8", Mongolian},
		{"", "zh-CN,zh;q=0.9,en;q=0.8", Chinese},
		{"zh", "mn", Chinese},
		{"", "en-US", Chinese},
		{"", "mn-CN", Mongolian},
		{"xx", "garbage;;;", Chinese},
	} {
		if got := Match(tc.choice, tc.accept); got != tc.want {
			t.Errorf("Match(%q, %q) = %s, want %s", tc.choice, tc.accept, got, tc.want)
		}
	}
}

func TestMessageFallsBackForUnknownIDs(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Message(Mongolian, "error.NO_SUCH_CODE", "默认"); got != "默认" {
		t.Fatalf("got %q", got)
	}
	if got := c.Message(Mongolian, "common.back", ""); got == "" || got == "common.back" {
		t.Fatalf("common.back in Mongolian = %q", got)
	}
}
