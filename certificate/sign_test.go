package certificate

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"testing"
)

func testSigner(t *testing.T) *Ed25519Signer {
	t.Helper()
	s, err := NewEd25519Signer(bytes.Repeat([]byte{7}, 32), "cert-2026-01")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignedCanonicalContentVerifies(t *testing.T) {
	s := testSigner(t)
	var signer Signer = s
	msg := proofFixture().Canonical()
	sig, err := signer.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	if signer.Algorithm() != "Ed25519" || signer.KeyID() != "cert-2026-01" || len(sig) != ed25519.SignatureSize {
		t.Fatalf("algorithm %q key %q signature %d bytes", signer.Algorithm(), signer.KeyID(), len(sig))
	}
	if !signer.Verify(msg, sig) {
		t.Fatal("own signature does not verify")
	}
	if !ed25519.Verify(s.PublicKey(), msg, sig) {
		t.Error("third parties with the public key cannot verify")
	}
}

func TestAnyChangeBreaksTheSignature(t *testing.T) {
	s := testSigner(t)
	msg := voucherFixture().Canonical()
	sig, _ := s.Sign(msg)
	for i := range msg {
		changed := bytes.Clone(msg)
		changed[i] ^= 0x01
		if s.Verify(changed, sig) {
			t.Fatalf("flipping a bit of byte %d still verifies", i)
		}
	}
	c := voucherFixture()
	c.Lines[1].AmountFen = 98150 // 981.50 instead of 981.40
	if s.Verify(c.Canonical(), sig) {
		t.Error("a changed amount verifies")
	}
	badSig := bytes.Clone(sig)
	badSig[0] ^= 0x80
	for name, sg := range map[string][]byte{"flipped": badSig, "short": sig[:63], "empty": nil} {
		if s.Verify(msg, sg) {
			t.Errorf("%s signature verifies", name)
		}
	}
	other, _ := NewEd25519Signer(bytes.Repeat([]byte{8}, 32), "other")
	if other.Verify(msg, sig) {
		t.Error("another key verifies the signature")
	}
}

// TestEd25519SignerIsStandardEd25519 checks RFC 8032 §7.1 test 1, so a
// verifier written with any library agrees with ours.
func TestEd25519SignerIsStandardEd25519(t *testing.T) {
	seed, _ := hex.DecodeString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
	s, err := NewEd25519Signer(seed, "rfc8032")
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := s.Sign(nil)
	if got := hex.EncodeToString(s.PublicKey()); got != "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a" {
		t.Errorf("public key %s", got)
	}
	want := "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
	if got := hex.EncodeToString(sig); got != want {
		t.Errorf("signature %s", got)
	}
}

func TestNewEd25519SignerRefusesBadKeys(t *testing.T) {
	if _, err := NewEd25519Signer(make([]byte, 31), "k"); err == nil {
		t.Error("31-byte seed accepted")
	}
	if _, err := NewEd25519Signer(make([]byte, 32), ""); err == nil {
		t.Error("empty key ID accepted")
	}
}

// otherAlg is a second signer with another algorithm name, standing in for
// SM2 (tested in package guomi) so this package needs no 国密 library.
type otherAlg struct{ *Ed25519Signer }

func (otherAlg) Algorithm() string { return "Other" }

func TestAKeyringSignsWithTheNewestAndVerifiesWhatEachKeySigned(t *testing.T) {
	old := testSigner(t)
	newer, _ := NewEd25519Signer(bytes.Repeat([]byte{8}, 32), "cert-2027-01")
	alg := otherAlg{newer}
	msg := proofFixture().Canonical()
	oldSig, _ := old.Sign(msg)
	k, err := NewKeyring(old, newer, alg)
	if err != nil {
		t.Fatal(err)
	}
	if k.Algorithm() != "Other" || k.KeyID() != "cert-2027-01" {
		t.Fatalf("the newest does not sign: %s %s", k.Algorithm(), k.KeyID())
	}
	newSig, _ := k.Sign(msg)
	for _, tc := range []struct {
		alg, id string
		sig     []byte
		want    bool
	}{
		{"Ed25519", "cert-2026-01", oldSig, true},
		{"Other", "cert-2027-01", newSig, true},
		{"Ed25519", "cert-2027-01", oldSig, false}, // named after the wrong key
		{"Other", "cert-2026-01", oldSig, false},   // no such key
		{"Ed25519", "cert-2026-01", newSig, false},
	} {
		if got := VerifyStored(k, tc.alg, tc.id, msg, tc.sig); got != tc.want {
			t.Errorf("VerifyStored(%s, %s) = %v", tc.alg, tc.id, got)
		}
	}
	// A plain signer verifies only what it signed under its own names.
	if !VerifyStored(old, "Ed25519", "cert-2026-01", msg, oldSig) || VerifyStored(old, "Other", "cert-2026-01", msg, oldSig) {
		t.Fatal("VerifyStored on a plain signer")
	}
}
