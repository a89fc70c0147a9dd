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

// Keyring signs with its newest signer and verifies a stored signature
// with the signer that made it, found by the algorithm and key ID stored
// beside it: certificates signed before a key rotation, or before the
// 国密 option moved signing to SM2, stay verifiable. It is a Signer (the
// newest one's), safe for concurrent use.
type Keyring struct {
	signers []Signer // newest first
}

var _ Signer = (*Keyring)(nil)

// NewKeyring takes signers oldest first: the last one signs.
func NewKeyring(signers ...Signer) (*Keyring, error) {
	if len(signers) == 0 {
		return nil, fmt.Errorf("certificate: a keyring needs a signer")
	}
	k := &Keyring{}
	for i := len(signers) - 1; i >= 0; i-- {
		if k.Lookup(signers[i].Algorithm(), signers[i].KeyID()) != nil {
			continue // the same key listed twice
		}
		k.signers = append(k.signers, signers[i])
	}
	return k, nil
}

// Algorithm is the newest signer's.
func (k *Keyring) Algorithm() string { return k.signers[0].Algorithm() }

// KeyID is the newest signer's.
func (k *Keyring) KeyID() string { return k.signers[0].KeyID() }

// Sign signs with the newest signer.
func (k *Keyring) Sign(msg []byte) ([]byte, error) { return k.signers[0].Sign(msg) }

// Verify checks against the newest signer; VerifyStored checks against the
// one a stored signature names.
func (k *Keyring) Verify(msg, sig []byte) bool { return k.signers[0].Verify(msg, sig) }

// Lookup returns the signer of algorithm and keyID, or nil.
func (k *Keyring) Lookup(algorithm, keyID string) Signer {
	for _, s := range k.signers {
		if s.Algorithm() == algorithm && s.KeyID() == keyID {
			return s
		}
	}
	return nil
}

// VerifyStored reports whether sig, stored with algorithm and keyID, is a
// genuine signature of msg by s: by the keyring's signer of that name when
// s is a Keyring, else by s itself when the names are its own.
func VerifyStored(s Signer, algorithm, keyID string, msg, sig []byte) bool {
	if k, ok := s.(*Keyring); ok {
		v := k.Lookup(algorithm, keyID)
		return v != nil && v.Verify(msg, sig)
	}
	return algorithm == s.Algorithm() && keyID == s.KeyID() && s.Verify(msg, sig)
}
