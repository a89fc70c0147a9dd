package models

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func mustCipher(t *testing.T, key []byte) *PIICipher {
	t.Helper()
	c, err := NewPIICipher(key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewPIICipherRequiresExactly32Bytes(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		wantErr bool
	}{
		{"a 32-byte key is accepted", 32, false},
		{"a 16-byte AES-128 key is refused", 16, true},
		{"a 33-byte key is refused rather than truncated", 33, true},
		{"no key is refused", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewPIICipher(make([]byte, tt.size))
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewPIICipher(%d bytes) error = %v, wantErr %v", tt.size, err, tt.wantErr)
			}
		})
	}
}

func TestSealThenOpenReturnsTheOriginal(t *testing.T) {
	c := mustCipher(t, testKey(1))
	tests := []struct{ name, plain string }{
		{"an ID number", "11010519491231002X"},
		{"a Chinese name with a supplementary-plane character", "王𬌗"},
		{"a long value", strings.Repeat("内蒙古", 500)},
		{"the empty string", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := c.Seal(tt.plain)
			if err != nil {
				t.Fatal(err)
			}
			if tt.plain == "" && sealed != "" {
				t.Fatalf("Seal(\"\") = %q, want empty", sealed)
			}
			if tt.plain != "" && (!strings.HasPrefix(sealed, "v1:") || strings.Contains(sealed, tt.plain)) {
				t.Fatalf("Seal = %q: want a v1: value that does not contain the plaintext", sealed)
			}
			got, err := c.Open(sealed)
			if err != nil || got != tt.plain {
				t.Fatalf("Open(Seal(%q)) = %q, %v", tt.plain, got, err)
			}
		})
	}
}

func TestTwoSealsOfTheSameValueDiffer(t *testing.T) {
	c := mustCipher(t, testKey(1))
	a, _ := c.Seal("150102199003071237")
	b, _ := c.Seal("150102199003071237")
	if a == b {
		t.Fatalf("two seals are equal: %q", a)
	}
}

func TestOpenRejectsValuesThatWereNotSealedByThisKeyUnchanged(t *testing.T) {
	c := mustCipher(t, testKey(1))
	sealed, err := c.Seal("150102199003071237")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, "v1:"))
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		return "v1:" + base64.StdEncoding.EncodeToString(b)
	}
	other, _ := mustCipher(t, testKey(2)).Seal("150102199003071237")
	tests := []struct{ name, sealed string }{
		{"a flipped bit in the nonce", flip(0)},
		{"a flipped bit in the ciphertext", flip(12)},
		{"a flipped bit in the tag", flip(len(raw) - 1)},
		{"a truncated value", "v1:" + base64.StdEncoding.EncodeToString(raw[:len(raw)-1])},
		{"a value shorter than nonce and tag", "v1:" + base64.StdEncoding.EncodeToString(raw[:20])},
		{"a value sealed under another key", other},
		{"a value without the version prefix", strings.TrimPrefix(sealed, "v1:")},
		{"a value with an unknown version", "v2:" + strings.TrimPrefix(sealed, "v1:")},
		{"a value that is not base64", "v1:%%%"},
		{"plaintext stored by mistake", "150102199003071237"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := c.Open(tt.sealed); err == nil {
				t.Fatalf("Open(%q) = %q, want an error", tt.sealed, got)
			}
		})
	}
}

func TestBlindIndex(t *testing.T) {
	c1 := mustCipher(t, testKey(1))
	c1again := mustCipher(t, testKey(1))
	c2 := mustCipher(t, testKey(2))
	id := "150102199003071237"
	tests := []struct {
		name  string
		a, b  string
		equal bool
	}{
		{"the same kind and value under the same key index equally, across cipher instances", c1.BlindIndex("id_number", id), c1again.BlindIndex("id_number", id), true},
		{"another kind gives another index for the same value", c1.BlindIndex("id_number", id), c1.BlindIndex("phone", id), false},
		{"another key gives another index", c1.BlindIndex("id_number", id), c2.BlindIndex("id_number", id), false},
		{"the kind/value boundary is not ambiguous", c1.BlindIndex("ab", "c"), c1.BlindIndex("a", "bc"), false},
		{"the index is not a plain SHA-256 of the value", c1.BlindIndex("id_number", id), fmt.Sprintf("%x", sha256.Sum256([]byte("id_number\x00"+id))), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if (tt.a == tt.b) != tt.equal {
				t.Fatalf("%s vs %s: equal = %v, want %v", tt.a, tt.b, tt.a == tt.b, tt.equal)
			}
			if len(tt.a) != 64 {
				t.Fatalf("index %q is not 64 hex characters", tt.a)
			}
		})
	}
}

func TestTheConfiguredKeyIsNeverUsedDirectly(t *testing.T) {
	// Both working keys are derived, so neither an AES value made with the
	// raw master key nor an HMAC under it matches what the cipher produces.
	master := testKey(7)
	c := mustCipher(t, master)

	block, _ := aes.NewCipher(master)
	aead, _ := cipher.NewGCM(block)
	nonce := make([]byte, aead.NonceSize())
	direct := "v1:" + base64.StdEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte("x"), []byte(piiAAD)))
	if _, err := c.Open(direct); err == nil {
		t.Fatal("a value sealed with the raw master key opened")
	}

	m := hmac.New(sha256.New, master)
	m.Write([]byte("id_number\x00v"))
	if hex.EncodeToString(m.Sum(nil)) == c.BlindIndex("id_number", "v") {
		t.Fatal("the blind index is keyed with the raw master key")
	}
}

func TestPrintingTheCipherDoesNotShowKeyMaterial(t *testing.T) {
	c := mustCipher(t, testKey(0xAB))
	for _, s := range []string{fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprint(c)} {
		if strings.Contains(s, "171") || strings.Contains(strings.ToLower(s), "ab ab") || !strings.Contains(s, "redacted") {
			t.Fatalf("printed cipher %q", s)
		}
	}
}

func TestSealAndOpenAreSafeForConcurrentUse(t *testing.T) {
	c := mustCipher(t, testKey(3))
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			v := fmt.Sprintf("person-%d", i)
			for range 50 {
				s, err := c.Seal(v)
				if err != nil {
					t.Error(err)
					return
				}
				if got, err := c.Open(s); err != nil || got != v {
					t.Errorf("Open = %q, %v, want %q", got, err, v)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestSealBytesRoundTripsAndFailsUnderAnotherBindOrKey(t *testing.T) {
	c := mustCipher(t, testKey(3))
	plain := append([]byte("%PDF-1.7 开户许可证 6216610200007777777 "), bytes.Repeat([]byte{0}, 100)...)
	sealed, err := c.SealBytes(plain, "uploads/upl_a")
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != len(plain)+SealedBytesOverhead || bytes.Contains(sealed, []byte("6216610200007777777")) || bytes.Contains(sealed, plain[:8]) {
		t.Fatalf("sealed %d bytes show the plaintext", len(sealed))
	}
	again, _ := c.SealBytes(plain, "uploads/upl_a")
	if bytes.Equal(again, sealed) {
		t.Fatal("two seals of one file are equal: the nonce is not fresh")
	}
	got, err := c.OpenBytes(sealed, "uploads/upl_a")
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := c.OpenBytes(sealed, "uploads/upl_b"); err == nil {
		t.Fatal("bytes moved under another key opened")
	}
	if _, err := mustCipher(t, testKey(4)).OpenBytes(sealed, "uploads/upl_a"); err == nil {
		t.Fatal("bytes opened under another master key")
	}
	cut := sealed[:len(sealed)-1]
	if _, err := c.OpenBytes(cut, "uploads/upl_a"); err == nil {
		t.Fatal("truncated bytes opened")
	}
	if _, err := c.OpenBytes(plain, "uploads/upl_a"); err == nil {
		t.Fatal("a plaintext file opened")
	}
	// The field key is not the file key: a field's ciphertext, rewrapped
	// as a file's, does not open.
	field, _ := c.Seal(string(plain))
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(field, "v1:"))
	if _, err := c.OpenBytes(append([]byte("LBS1"), raw...), "uploads/upl_a"); err == nil {
		t.Fatal("a field's ciphertext opened as a file")
	}
}
