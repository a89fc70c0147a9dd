package models

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMaskIDNumber(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"an 18-character number keeps its region and last four", "150102199003071234", "150102********1234"},
		{"the check character X stays visible", "11010519491231002X", "110105********002X"},
		{"an old 15-digit number keeps no more than half", "150102900307123", "150********7123"},
		{"a short value keeps no more than half", "1234", "1**4"},
		{"a single character shows nothing", "1", "*"},
		{"empty stays empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaskIDNumber(tt.in); got != tt.want {
				t.Fatalf("MaskIDNumber(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMaskName(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"a two-character name keeps the surname", "张三", "张*"},
		{"a three-character name keeps the first and last", "张三明", "张*明"},
		{"a four-character name hides both middle characters", "欧阳娜娜", "欧**娜"},
		{"a supplementary-plane character counts as one character", "王𬌗", "王*"},
		{"a supplementary-plane character at the end is kept whole", "李𬌗𬌗", "李*𬌗"},
		{"a long transliterated name keeps only its ends", "乌力吉·巴雅尔", "乌*****尔"},
		{"a one-character value shows nothing", "张", "*"},
		{"empty stays empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MaskName(tt.in)
			if got != tt.want {
				t.Fatalf("MaskName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Fatalf("MaskName(%q) = %q is not valid UTF-8", tt.in, got)
			}
		})
	}
}

func TestMaskPhone(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"an 11-digit mobile number keeps three and four", "13812345678", "138****5678"},
		{"a 7-digit number keeps no more than half", "1234567", "1****67"},
		{"a 2-digit value keeps one", "12", "*2"},
		{"empty stays empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaskPhone(tt.in); got != tt.want {
				t.Fatalf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMaskBankAccount(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"a 19-digit card keeps the first and last four", "6222021234567890123", "6222 **** **** 0123"},
		{"a 16-digit card looks the same, hiding its length", "6222021234560123", "6222 **** **** 0123"},
		{"spaces in the input are ignored", "6222 0212 3456 7890 123", "6222 **** **** 0123"},
		{"a 10-digit account keeps no more than half", "1234567890", "12 **** **** 890"},
		{"a single digit shows nothing", "7", "**** ****"},
		{"empty stays empty", "", ""},
		{"only spaces count as empty", "   ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaskBankAccount(tt.in); got != tt.want {
				t.Fatalf("MaskBankAccount(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// revealed counts the non-star runes of a masked value that is not one of
// the conventional full-length shapes.
func revealed(masked string) int {
	n := 0
	for _, r := range masked {
		if r != '*' && r != ' ' {
			n++
		}
	}
	return n
}

func TestMaskingNeverRevealsMoreThanHalfOfAnOddLengthValue(t *testing.T) {
	maskers := []struct {
		name         string
		mask         func(string) string
		conventional int // the length whose shape is fixed by convention
	}{
		{"MaskIDNumber", MaskIDNumber, 18},
		{"MaskPhone", MaskPhone, 11},
		{"MaskName", MaskName, 3},
		{"MaskBankAccount", MaskBankAccount, -1},
	}
	for _, m := range maskers {
		t.Run(m.name+" reveals at most half for every length", func(t *testing.T) {
			for n := 1; n <= 40; n++ {
				if n == m.conventional || (m.name == "MaskBankAccount" && n >= 16) {
					continue
				}
				in := strings.Repeat("9", n)
				got := m.mask(in)
				if r := revealed(got); r > n/2 {
					t.Fatalf("%s of %d characters = %q reveals %d", m.name, n, got, r)
				}
			}
		})
	}
}
