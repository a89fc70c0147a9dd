package certificate

import (
	"bytes"
	"regexp"
	"testing"
)

var testSecret = bytes.Repeat([]byte("s"), 32)

func TestVerifyCodeIsEightUnambiguousCharactersDerivedFromNumberAndSecret(t *testing.T) {
	code, err := NewVerifyCode(testSecret, "LBP20260115038472910563")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{8}$`).MatchString(code) {
		t.Errorf("code %q is not 8 Crockford base32 characters", code)
	}
	again, _ := NewVerifyCode(testSecret, "LBP20260115038472910563")
	otherNo, _ := NewVerifyCode(testSecret, "LBP20260115038472910564")
	otherSecret, _ := NewVerifyCode(bytes.Repeat([]byte("t"), 32), "LBP20260115038472910563")
	if again != code || otherNo == code || otherSecret == code {
		t.Errorf("codes: %s, again %s, next number %s, other secret %s", code, again, otherNo, otherSecret)
	}
}

func TestVerifyCodesSpreadOverTheAlphabet(t *testing.T) {
	seen := map[string]bool{}
	counts := map[rune]int{}
	for i := range 4000 {
		code, _ := NewVerifyCode(testSecret, testNo(i))
		if seen[code] {
			t.Fatalf("duplicate code %s after %d numbers", code, i)
		}
		seen[code] = true
		for _, r := range code {
			counts[r]++
		}
	}
	// 32,000 characters over 32 symbols: ~1000 each.
	for _, r := range crockford {
		if counts[r] < 800 || counts[r] > 1200 {
			t.Errorf("%c appears %d times in 32000", r, counts[r])
		}
	}
}

func testNo(i int) string {
	const digits = "0123456789"
	b := []byte("LBV20260115000000000000")
	for p := len(b) - 1; i > 0; p-- {
		b[p] = digits[i%10]
		i /= 10
	}
	return string(b)
}

func TestNewVerifyCodeRefusesWeakSecrets(t *testing.T) {
	if _, err := NewVerifyCode(make([]byte, 31), "LBP20260115038472910563"); err == nil {
		t.Error("31-byte secret accepted")
	}
	if _, err := NewVerifyCode(testSecret, ""); err == nil {
		t.Error("empty number accepted")
	}
}

func TestMatchVerifyCodeForgivesCaseSeparatorsAndLookalikes(t *testing.T) {
	for typed, want := range map[string]bool{
		"7K3M9QXD":  true,
		"7k3m9qxd":  true,
		"7K3M-9QXD": true,
		"7K3M 9QXD": true,
		"7K3M9QXO":  false, // O reads as 0, and the code ends in D
		"7K3M9QX":   false,
		"7K3M9QXDD": false,
		"":          false,
	} {
		if got := MatchVerifyCode("7K3M9QXD", typed); got != want {
			t.Errorf("MatchVerifyCode(%q) = %v, want %v", typed, got, want)
		}
	}
	for typed, want := range map[string]bool{"1O0L": true, "IO0I": true, "lo0i": true, "1001": true, "1OOX": false} {
		if got := MatchVerifyCode("1001", typed); got != want {
			t.Errorf("MatchVerifyCode(1001, %q) = %v, want %v", typed, got, want)
		}
	}
	if MatchVerifyCode("", "") {
		t.Error("an empty stored code matches")
	}
}
