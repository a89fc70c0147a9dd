package certificate

import (
	"crypto/ed25519"
	"fmt"
)

// Signer signs and verifies a certificate's canonical content
// (models.Certificate.Canonical). It is an interface so an SM2 signer
// (GB/T 32918, which Chinese agencies may require) can replace Ed25519
// without touching the callers; Algorithm and KeyID are stored with each
// signature so old certificates stay verifiable after a key or algorithm
// change.
type Signer interface {
	Algorithm() string
	KeyID() string
	Sign(msg []byte) ([]byte, error)
	Verify(msg, sig []byte) bool
}

// AlgorithmEd25519 is the Algorithm of an Ed25519Signer.
const AlgorithmEd25519 = "Ed25519"

// Ed25519Signer signs with an Ed25519 key (RFC 8032). It is safe for
// concurrent use.
type Ed25519Signer struct {
	priv  ed25519.PrivateKey
	pub   ed25519.PublicKey
	keyID string
}

var _ Signer = (*Ed25519Signer)(nil)

// NewEd25519Signer derives the key from a 32-byte seed (the private key as
// configured; keep it out of the database) and names it keyID, which is
// stored next to each signature to pick the key when verifying.
func NewEd25519Signer(seed []byte, keyID string) (*Ed25519Signer, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("certificate: Ed25519 seed must be %d bytes, got %d", ed25519.SeedSize, len(seed))
	}
	if keyID == "" {
		return nil, fmt.Errorf("certificate: Ed25519 signer needs a key ID")
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return &Ed25519Signer{priv: priv, pub: priv.Public().(ed25519.PublicKey), keyID: keyID}, nil
}

// Algorithm returns "Ed25519".
func (s *Ed25519Signer) Algorithm() string { return AlgorithmEd25519 }

// KeyID returns the name the key was configured with.
func (s *Ed25519Signer) KeyID() string { return s.keyID }

// PublicKey returns the verification key, for publishing to third parties
// who check signatures themselves.
func (s *Ed25519Signer) PublicKey() ed25519.PublicKey { return s.pub }

// Sign returns the 64-byte signature of msg. Ed25519 is deterministic and
// cannot fail with a valid key; the error is for signers that can (an SM2
// key in a hardware module).
func (s *Ed25519Signer) Sign(msg []byte) ([]byte, error) {
	return ed25519.Sign(s.priv, msg), nil
}

// Verify reports whether sig is this key's signature of msg.
func (s *Ed25519Signer) Verify(msg, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(s.pub, msg, sig)
}
