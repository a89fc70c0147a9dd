package models

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// PIICipher encrypts personal data (ID numbers, names, phones, bank
// accounts) before it reaches the database, and computes a blind index so a
// person can still be found and kept unique by ID number without the
// database ever holding the number in clear. The key comes from
// configuration and never from the database, so a leaked dump is useless on
// its own. It is safe for concurrent use.
type PIICipher struct {
	aead     cipher.AEAD
	files    cipher.AEAD // SealBytes' key: files, never fields
	indexKey []byte
}

// piiKeySize is the configured master key's size: AES-256.
const piiKeySize = 32

// piiVersion prefixes every sealed value so a key or algorithm rotation can
// tell old values from new ones without guessing.
const piiVersion = "v1:"

// piiAAD binds ciphertexts to this scheme and version: a value sealed by
// some other component with the same key does not open here.
const piiAAD = "lianban/pii/v1"

// NewPIICipher derives an encryption key and an index key from one 32-byte
// master key. Separate keys mean the HMAC index reveals nothing about the
// AES key and vice versa, while operators manage a single secret.
func NewPIICipher(key []byte) (*PIICipher, error) {
	if len(key) != piiKeySize {
		return nil, fmt.Errorf("pii key must be %d bytes, got %d", piiKeySize, len(key))
	}
	aead, err := newGCM(deriveKey(key, "lianban/pii/enc/v1"))
	if err != nil {
		return nil, err
	}
	filesAEAD, err := newGCM(deriveKey(key, "lianban/pii/bytes/v1"))
	if err != nil {
		return nil, err
	}
	return &PIICipher{aead: aead, files: filesAEAD, indexKey: deriveKey(key, "lianban/pii/index/v1")}, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("pii cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("pii cipher: %w", err)
	}
	return aead, nil
}

func deriveKey(master []byte, label string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// Seal encrypts plain with a fresh random nonce, so equal values give
// different ciphertexts and a table of sealed values shows no duplicates.
// The empty string seals to "" so optional columns stay empty.
func (c *PIICipher) Seal(plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	nonce := make([]byte, c.aead.NonceSize(), c.aead.NonceSize()+len(plain)+c.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("pii seal: %w", err)
	}
	out := c.aead.Seal(nonce, nonce, []byte(plain), []byte(piiAAD))
	return piiVersion + base64.StdEncoding.EncodeToString(out), nil
}

// errPIIOpen is deliberately vague: telling a caller why a ciphertext did
// not open (bad tag vs bad encoding) helps no one but an attacker.
var errPIIOpen = errors.New("pii: sealed value cannot be opened")

// Open decrypts a value made by Seal with the same master key. A value that
// was altered, truncated, or sealed under another key is an error, never
// garbage text. "" opens to "".
func (c *PIICipher) Open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	body, ok := strings.CutPrefix(sealed, piiVersion)
	if !ok {
		return "", errPIIOpen
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(body)
	if err != nil || len(raw) < c.aead.NonceSize()+c.aead.Overhead() {
		return "", errPIIOpen
	}
	ns := c.aead.NonceSize()
	plain, err := c.aead.Open(nil, raw[:ns], raw[ns:], []byte(piiAAD))
	if err != nil {
		return "", errPIIOpen
	}
	return string(plain), nil
}

// sealedBytesMagic starts every SealBytes output: a version, so a later
// key or algorithm can tell old blobs from new ones, and a plaintext file
// (which starts with %PDF, a JPEG or a PNG signature) is never mistaken
// for a sealed one.
const sealedBytesMagic = "LBS1"

// bytesAAD binds SealBytes' ciphertexts to this scheme; the caller's
// binding (the blob key) follows it.
const bytesAAD = "lianban/pii/bytes/v1\x00"

// SealedBytesOverhead is how much longer SealBytes' output is than its
// input: the version, the nonce and the GCM tag.
const SealedBytesOverhead = len(sealedBytesMagic) + 12 + 16

// SealBytes encrypts a file's bytes (AES-256-GCM, a fresh random nonce)
// under a key derived apart from Seal's, so a file's key is not a field's
// and the two kinds of ciphertext never open as each other. bind is
// authenticated, not encrypted: callers pass where the bytes are kept (the
// blob key), so bytes moved to another place fail to open instead of being
// served as another file.
func (c *PIICipher) SealBytes(plain []byte, bind string) ([]byte, error) {
	ns := c.files.NonceSize()
	out := make([]byte, len(sealedBytesMagic)+ns, len(sealedBytesMagic)+ns+len(plain)+c.files.Overhead())
	copy(out, sealedBytesMagic)
	nonce := out[len(sealedBytesMagic):]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("pii seal bytes: %w", err)
	}
	return c.files.Seal(out, nonce, plain, []byte(bytesAAD+bind)), nil
}

// OpenBytes decrypts what SealBytes made with the same master key and the
// same bind. Bytes altered, cut short, sealed under another key or another
// bind are an error, never garbage.
func (c *PIICipher) OpenBytes(sealed []byte, bind string) ([]byte, error) {
	body, ok := bytes.CutPrefix(sealed, []byte(sealedBytesMagic))
	ns := c.files.NonceSize()
	if !ok || len(body) < ns+c.files.Overhead() {
		return nil, errPIIOpen
	}
	plain, err := c.files.Open(nil, body[:ns], body[ns:], []byte(bytesAAD+bind))
	if err != nil {
		return nil, errPIIOpen
	}
	return plain, nil
}

// BlindIndex returns a deterministic keyed hash (hex HMAC-SHA256) of value,
// separated by kind ("id_number", "phone", …) so equal strings of different
// kinds do not collide and an index column cannot be joined against
// another. Being deterministic it can back a unique index; being keyed it
// cannot be reversed by hashing all 10^17 possible ID numbers. Callers
// index the normalised form (ParseIDNumber's Number). Kinds are constants
// of the code and must not contain NUL.
func (c *PIICipher) BlindIndex(kind, value string) string {
	m := hmac.New(sha256.New, c.indexKey)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// String keeps key material out of logs and panics that print the cipher.
func (c *PIICipher) String() string { return "PIICipher(redacted)" }

// GoString does the same for %#v.
func (c *PIICipher) GoString() string { return c.String() }
