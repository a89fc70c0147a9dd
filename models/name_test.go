package models_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/lianban/lianban/models"
)

func TestCheckPersonName(t *testing.T) {
	for in, want := range map[string]string{
		"张三明":         "张三明",
		"  李秀英 ":      "李秀英",
		"巴特尔·朝鲁":      "巴特尔·朝鲁",
		"Maria Lee":   "Maria Lee",
		"𠮷野":          "𠮷野",          // outside the BMP
		"葛\U000E0100": "葛\U000E0100", // an ideographic variation selector on a rare character
	} {
		got, err := models.CheckPersonName(in)
		if err != nil || got != want {
			t.Errorf("CheckPersonName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "   ", "\u3000",
		"张\x00三", "张\n三", "张\x7f三", "张\u0085三", // control characters
		"\u202e明三张", "张\u202d三", "张\u2066三\u2069", "\u200f张三", // bidi overrides, isolates, marks
		"张\u200b三", "张\u200d三", "\ufeff张三", "张\u00ad三", // zero-width and soft hyphen
		"\u200b\u200c\u200d", "\u3164", "\u3164\u3164", "\u2800", "\u0301\u0301", // only invisible
		"张\u2028三", "张\xff三", "张\ufffd三", // separators, invalid UTF-8, replacement
		strings.Repeat("张", 31),
	} {
		if _, err := models.CheckPersonName(in); !errors.Is(err, models.ErrNameInvalid) {
			t.Errorf("CheckPersonName(%q) = %v, want NAME_INVALID", in, err)
		}
	}
}
