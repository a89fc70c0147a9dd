package models

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameRunes bounds a person's name. Registered names, including
// transliterated minority names joined with "·", are far shorter.
const maxNameRunes = 30

// invisibleLetters are letters by Unicode category that render as nothing
// (Hangul fillers) and blanks outside the space categories: a name made of
// them looks empty on a receipt while comparing unequal to every real name.
var invisibleLetters = map[rune]bool{0x115F: true, 0x1160: true, 0x3164: true, 0xFFA0: true, 0x2800: true}

// CheckPersonName returns the name trimmed of surrounding white space, or
// ErrNameInvalid with a reason. A name must have a visible letter and may
// not carry control characters (Cc), format characters (Cf: bidi overrides
// and isolates, zero-width joiners and spaces, the byte-order mark), line
// or paragraph separators, or bytes that are not UTF-8: such a name cannot
// be a registered one, and stored it would print one way and compare
// another (a bidi override reorders what the hall sees on a receipt).
// Middle dots, spaces between parts, combining marks and variation
// selectors (rare characters) are allowed.
func CheckPersonName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", ErrNameInvalid.WithReason("请填写姓名")
	}
	if !utf8.ValidString(name) {
		return "", ErrNameInvalid.WithReason("姓名含有无法识别的字符")
	}
	n, visible := 0, false
	for _, r := range name {
		n++
		switch {
		case r == utf8.RuneError:
			return "", ErrNameInvalid.WithReason("姓名含有无法识别的字符")
		case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Cs), invisibleLetters[r]:
			return "", ErrNameInvalid.WithReason("姓名不能含有控制字符或不可见字符")
		case unicode.IsLetter(r):
			visible = true
		}
	}
	if !visible {
		return "", ErrNameInvalid.WithReason("请填写正确的姓名")
	}
	if n > maxNameRunes {
		return "", ErrNameInvalid.WithReason("姓名过长")
	}
	return name, nil
}
