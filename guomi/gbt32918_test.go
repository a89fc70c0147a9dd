package guomi

import (
	"encoding/asn1"
	"math/big"
	"testing"

	"github.com/emmansun/gmsm/sm2"
)

// GB/T 32918.5-2017 Appendix A (数字签名与验证示例) on the recommended
// curve: the standard's key pair, user ID "1234567812345678" (the
// default), message "message digest" and its signature (r, s) verify, and
// an altered s or message does not.
func TestSM2MatchesGBT32918Part5AppendixA(t *testing.T) {
	priv, err := sm2.NewPrivateKey(unhex(t, "3945208F 7B2144B1 3F36E38A C6D39F95 88939369 2860B51A 42FB81EF 4DF7C5B8"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sm2.NewPublicKey(unhex(t, "04"+
		"09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"+
		"CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"))
	if err != nil {
		t.Fatal(err)
	}
	if !priv.PublicKey.Equal(pub) {
		t.Fatal("the standard's private key does not give the standard's public key")
	}
	r, _ := new(big.Int).SetString("F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3", 16)
	s, _ := new(big.Int).SetString("B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA", 16)
	der := func(r, s *big.Int) []byte {
		b, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	uid := []byte("1234567812345678")
	if !sm2.VerifyASN1WithSM2(pub, uid, []byte("message digest"), der(r, s)) {
		t.Fatal("the standard's signature does not verify")
	}
	if sm2.VerifyASN1WithSM2(pub, uid, []byte("message digest"), der(r, new(big.Int).Add(s, big.NewInt(1)))) ||
		sm2.VerifyASN1WithSM2(pub, uid, []byte("message digesT"), der(r, s)) {
		t.Fatal("an altered signature or message verified")
	}
	// Our certificate signer verifies with the same default user ID.
	signer, err := newSM2Signer(priv)
	if err != nil {
		t.Fatal(err)
	}
	if !signer.Verify([]byte("message digest"), der(r, s)) {
		t.Fatal("SM2Signer refuses the standard's signature")
	}
}
