package guomi

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// AlgorithmSM2 is the Algorithm of an SM2Signer: SM2 with SM3 and the
// default user ID of GB/T 35276 ("1234567812345678"), DER-encoded.
const AlgorithmSM2 = "SM2-SM3"

// SM2Signer signs certificates with an SM2 key on the curve of GB/T
// 32918.5. It implements certificate.Signer and is safe for concurrent use.
type SM2Signer struct {
	priv  *sm2.PrivateKey
	pub   []byte // 04 || X || Y
	keyID string
	// decoy is a well-formed signature of another message: Verify checks
	// it when given a malformed one, so a refusal costs what a real check
	// does (certificate verification answers an unknown number after the
	// same work as a known one).
	decoy []byte
}

// NewSM2Signer derives the private key from a 32-byte seed (the
// configured certificate signing key, so one secret serves Ed25519 and
// SM2 and a keyring of seeds is a keyring of both): d = HMAC-SM3(seed,
// label) mod (n-2) + 1, in [1, n-2] as GB/T 32918.1 requires. The key ID
// is "sm2-" and the first 12 hex digits of SM3 of the public key, so it
// names the key without revealing the seed.
func NewSM2Signer(seed []byte) (*SM2Signer, error) {
	if len(seed) != 32 {
		return nil, fmt.Errorf("guomi: SM2 seed must be 32 bytes, got %d", len(seed))
	}
	m := hmac.New(sm3.New, seed)
	m.Write([]byte("lianban/certificate/sm2/v1"))
	n := sm2.P256().Params().N
	d := new(big.Int).SetBytes(m.Sum(nil))
	d.Mod(d, new(big.Int).Sub(n, big.NewInt(2))).Add(d, big.NewInt(1))
	priv, err := sm2.NewPrivateKeyFromInt(d)
	if err != nil {
		return nil, fmt.Errorf("guomi: SM2 key: %w", err)
	}
	return newSM2Signer(priv)
}

func newSM2Signer(priv *sm2.PrivateKey) (*SM2Signer, error) {
	k, err := priv.ECDH()
	if err != nil {
		return nil, fmt.Errorf("guomi: SM2 key: %w", err)
	}
	pub := k.PublicKey().Bytes()
	sum := sm3.Sum(pub)
	decoy, err := priv.Sign(rand.Reader, []byte("lianban/sm2/decoy"), sm2.DefaultSM2SignerOpts)
	if err != nil {
		return nil, fmt.Errorf("guomi: SM2 key: %w", err)
	}
	return &SM2Signer{priv: priv, pub: pub, keyID: "sm2-" + hex.EncodeToString(sum[:])[:12], decoy: decoy}, nil
}

// Algorithm returns AlgorithmSM2.
func (s *SM2Signer) Algorithm() string { return AlgorithmSM2 }

// KeyID names the key (see NewSM2Signer).
func (s *SM2Signer) KeyID() string { return s.keyID }

// PublicKey returns the uncompressed public key (04 || X || Y), for
// publishing to third parties who check signatures themselves.
func (s *SM2Signer) PublicKey() []byte { return append([]byte(nil), s.pub...) }

// Sign signs msg: Z_A (the default user ID) and msg hashed with SM3, the
// signature randomised, DER-encoded (at most 72 bytes).
func (s *SM2Signer) Sign(msg []byte) ([]byte, error) {
	sig, err := s.priv.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
	if err != nil {
		return nil, errors.New("guomi: SM2 sign failed")
	}
	return sig, nil
}

// Verify reports whether sig is this key's signature of msg. A sig that
// is not even DER costs a full check all the same (see decoy).
func (s *SM2Signer) Verify(msg, sig []byte) bool {
	if len(sig) < 8 || sig[0] != 0x30 {
		_ = sm2.VerifyASN1WithSM2(&s.priv.PublicKey, nil, msg, s.decoy)
		return false
	}
	return sm2.VerifyASN1WithSM2(&s.priv.PublicKey, nil, msg, sig)
}
