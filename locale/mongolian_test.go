package locale

import (
	"strings"
	"testing"
)

// caseSuffixes are the case endings and particles written apart from
// their word in traditional Mongolian script.
var caseSuffixes = []string{"ᠶᠢᠨ", "ᠦᠨ", "ᠤᠨ", "ᠤ", "ᠦ", "ᠢ", "ᠶᠢ", "ᠳᠤ", "ᠳᠦ", "ᠲᠤ", "ᠲᠦ", "ᠪᠡᠷ", "ᠪᠠᠷ", "ᠢᠶᠠᠷ", "ᠢᠶᠡᠷ",
	"ᠲᠠᠢ", "ᠲᠡᠢ", "ᠡᠴᠡ", "ᠠᠴᠠ", "ᠪᠠᠨ", "ᠪᠡᠨ", "ᠳᠠᠬᠢ", "ᠳᠡᠬᠢ", "ᠤᠤ", "ᠦᠦ",
	"ᠳᠠᠭᠠᠨ", "ᠳᠡᠭᠡᠨ", "ᠲᠠᠭᠠᠨ", "ᠲᠡᠭᠡᠨ"}

// TestMongolianSuffixesAreJoinedByANarrowNoBreakSpace: a case ending is
// separated from its word by U+202F, which fonts shape as a suffix (the
// ending takes its medial-like forms and never starts a column); after an
// ordinary space it is shaped as a word of its own, wrongly, and a line
// may break before it.
func TestMongolianSuffixesAreJoinedByANarrowNoBreakSpace(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range c.IDs(Mongolian) {
		msg := c.Message(Mongolian, id, "")
		for i, w := range strings.Split(msg, " ") {
			w = strings.TrimRight(w, "᠂᠃᠄,.")
			for _, s := range caseSuffixes {
				if w == s && i > 0 {
					t.Errorf("%s: the suffix %s follows an ordinary space in %q; use U+202F", id, s, msg)
				}
			}
		}
	}
}
