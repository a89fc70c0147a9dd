package guomi

import (
	"bytes"
	"crypto/cipher"
	"crypto/hmac"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/lianban/lianban/certificate"
	"github.com/lianban/lianban/models"
)

var _ certificate.Signer = (*SM2Signer)(nil)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// GB/T 32907-2016 Appendix A, example 1: one block under the key equal
// to the plaintext.
func TestSM4MatchesTheStandardsExample(t *testing.T) {
	key := unhex(t, "0123456789abcdeffedcba9876543210")
	block, err := SM4Suite().NewBlock(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 16)
	block.Encrypt(out, key)
	if want := unhex(t, "681edf34d206965e86b3e94f536e4246"); !bytes.Equal(out, want) {
		t.Fatalf("SM4(0123…3210) = %x, want %x", out, want)
	}
	back := make([]byte, 16)
	block.Decrypt(back, out)
	if !bytes.Equal(back, key) {
		t.Fatalf("decrypt = %x", back)
	}
}

// RFC 8998 A.1: SM4-GCM as the suite runs it (the standard library's GCM
// over the SM4 block).
func TestSM4GCMMatchesRFC8998(t *testing.T) {
	block, err := SM4Suite().NewBlock(unhex(t, "0123456789ABCDEFFEDCBA9876543210"))
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	plain := unhex(t, "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDDEEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA")
	got := gcm.Seal(nil, unhex(t, "00001234567800000000ABCD"), plain, unhex(t, "FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2"))
	want := unhex(t, "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"+
		"83DE3541E4C2B58177E065A9BF7B62EC")
	if !bytes.Equal(got, want) {
		t.Fatalf("SM4-GCM = %x, want %x", got, want)
	}
}

// GB/T 32905-2016 Appendix A: "abc" and "abcd" sixteen times.
func TestSM3MatchesTheStandardsExamples(t *testing.T) {
	for msg, want := range map[string]string{
		"abc":                      "66c7f0f4 62eeedd9 d1f2d46b dc10e4e2 4167c487 5cf2f7a2 297da02b 8f4ba8e0",
		strings.Repeat("abcd", 16): "debe9ff9 2275b8a1 38604889 c18e5a4d 6fdb70e5 387e5765 293dcba3 9c0c5732",
	} {
		h := NewSM3()
		h.Write([]byte(msg))
		if got := h.Sum(nil); !bytes.Equal(got, unhex(t, want)) {
			t.Errorf("SM3(%q) = %x, want %s", msg, got, want)
		}
		if got := SM4Suite().NewHash(); got.Size() != 32 {
			t.Fatalf("the suite's hash is not SM3")
		}
	}
}

// The SM2 signature vector of github.com/emmansun/gmsm's own
// ExampleVerifyASN1WithSM2 (sm2/example_test.go): a key on the GB/T
// 32918.5 curve, the default user ID, DER. (GB/T 32918.2's Appendix A
// example uses its test curve, which the library's verifier does not take.)
func TestSM2VerifiesAPublishedSignatureAndRefusesAnAlteredOne(t *testing.T) {
	pub, err := sm2.NewPublicKey(unhex(t, "048356e642a40ebd18d29ba3532fbd9f3bbee8f027c3f6f39a5ba2f870369f9988981f5efe55d1c5cdf6c0ef2b070847a14f7fdf4272a8df09c442f3058af94ba1"))
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("ShangMi SM2 Sign Standard")
	sig := unhex(t, "304402205b3a799bd94c9063120d7286769220af6b0fa127009af3e873c0e8742edc5f890220097968a4c8b040fd548d1456b33f470cabd8456bfea53e8a828f92f6d4bdcd77")
	if !sm2.VerifyASN1WithSM2(pub, nil, msg, sig) {
		t.Fatal("the published signature does not verify")
	}
	// Our signer verifies exactly as the library does: the same key as a
	// signer, checked on the published vector.
	priv, err := sm2.NewPrivateKey(unhex(t, "6c5a0a0b2eed3cbec3e4f1252bfe0e28c504a1c6bf1999eebb0af9ef0f8e6c85"))
	if err != nil {
		t.Fatal(err)
	}
	if !priv.PublicKey.Equal(pub) {
		t.Fatal("the example's private key is not the example's public key")
	}
	s, err := newSM2Signer(priv)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Verify(msg, sig) {
		t.Fatal("SM2Signer refuses the published signature")
	}
	bad := bytes.Clone(sig)
	bad[len(bad)-1] ^= 1
	if s.Verify(msg, bad) || s.Verify([]byte("ShangMi SM2 Sign Standard."), sig) || s.Verify(msg, make([]byte, 64)) || s.Verify([]byte("lianban/sm2/decoy"), nil) {
		t.Fatal("an altered signature or message verified")
	}
}

func TestSM2SignerSignsVerifiablyAndItsKeyComesFromTheSeed(t *testing.T) {
	seed := bytes.Repeat([]byte{9}, 32)
	a, err := NewSM2Signer(seed)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSM2Signer(seed)
	other, _ := NewSM2Signer(bytes.Repeat([]byte{8}, 32))
	if a.KeyID() != b.KeyID() || a.KeyID() == other.KeyID() || !strings.HasPrefix(a.KeyID(), "sm2-") || a.Algorithm() != AlgorithmSM2 {
		t.Fatalf("key ids %q %q %q", a.KeyID(), b.KeyID(), other.KeyID())
	}
	msg := []byte("certificate canonical content")
	sig, err := a.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sm2.NewPublicKey(a.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	// Anyone holding the published key checks it with the standard's
	// default user ID.
	if !b.Verify(msg, sig) || !sm2.VerifyASN1WithSM2(pub, nil, msg, sig) || other.Verify(msg, sig) || len(sig) > 72 {
		t.Fatalf("signature %x does not verify as it should", sig)
	}
	if _, err := NewSM2Signer(seed[:31]); err == nil {
		t.Fatal("a short seed was accepted")
	}
}

// HMAC-SM3 as partner signatures use it is RFC 2104's construction over
// SM3 with its 64-byte block (GB/T 15852.2), written out here by hand
// from the SM3 of the standard's vectors above.
func TestHMACSM3IsTheRFC2104ConstructionOverSM3(t *testing.T) {
	key, msg := []byte("Jefe"), []byte("what do ya want for nothing?")
	k := make([]byte, 64)
	copy(k, key)
	inner, outer := NewSM3(), NewSM3()
	for i := range k {
		inner.Write([]byte{k[i] ^ 0x36})
		outer.Write([]byte{k[i] ^ 0x5c})
	}
	inner.Write(msg)
	outer.Write(inner.Sum(nil))
	m := hmac.New(NewSM3, key)
	m.Write(msg)
	if got, want := m.Sum(nil), outer.Sum(nil); !bytes.Equal(got, want) {
		t.Fatalf("HMAC-SM3 = %x, want %x", got, want)
	}
}

func TestTheSuiteSealsOpensAndIndexesThroughTheKeyring(t *testing.T) {
	key := models.PIIKey{ID: "k1", Secret: bytes.Repeat([]byte{1}, 32)}
	sm, err := models.NewPIIKeyring(models.PIIKeyring{Keys: []models.PIIKey{key}, Suite: SM4Suite()})
	if err != nil {
		t.Fatal(err)
	}
	aes, _ := models.NewPIIKeyring(models.PIIKeyring{Keys: []models.PIIKey{key}})
	sealed, err := sm.Seal("150102199003071237")
	if err != nil || !strings.HasPrefix(sealed, "v2.sm4.k1:") {
		t.Fatalf("sealed %q, %v", sealed, err)
	}
	if got, err := sm.Open(sealed); err != nil || got != "150102199003071237" {
		t.Fatalf("open %q %v", got, err)
	}
	if _, err := aes.Open(sealed); err == nil {
		t.Fatal("an AES-only keyring opened an SM4 value")
	}
	if sm.BlindIndex("id_number", "x") == aes.BlindIndex("id_number", "x") {
		t.Fatal("the SM3 index equals the SHA-256 one")
	}
}
