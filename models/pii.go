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
	"hash"
	"slices"
	"strings"
)

// PIICipher encrypts personal data (ID numbers, names, phones, bank
// accounts) before it reaches the database, and computes a blind index so a
// person can still be found and kept unique by ID number without the
// database ever holding the number in clear. The key comes from
// configuration and never from the database, so a leaked dump is useless on
// its own. It is safe for concurrent use.
//
// It is a keyring: every sealed value names the key and the algorithm
// suite that sealed it, new values are sealed with the writing key (the
// newest unless named) under the writing suite, and values sealed by any
// configured key under any configured suite still open. So a key is
// rotated, or the service moved to the 商用密码 suite (SM4/SM3), without
// stopping: old rows stay readable and `lianban rekey` rewrites them at
// leisure. Which keys read and which one writes are separate so a rotation
// survives a rolling restart: every instance first learns to read the new
// key, and only then do they start writing with it.
type PIICipher struct {
	write   *piiEntry            // seals and indexes new values
	entries []*piiEntry          // write first, then newest key to oldest
	byField map[string]*piiEntry // by field header ("v1", "v2.sm4.k2")
	byBytes map[string]*piiEntry // by SealBytes header ("aes.0", "sm4.k2")
}

// piiEntry is one key under one suite, with its working keys derived.
type piiEntry struct {
	field    string // Seal's header: "v1" for the legacy key under AES, else "v2.<suite>.<key id>"
	name     string // suite.keyID: SealBytes' header and the rekey target
	aead     cipher.AEAD
	files    cipher.AEAD // SealBytes' key: files, never fields
	fieldAAD []byte
	indexKey []byte
	hash     func() hash.Hash
}

// PIISuite is an algorithm family for personal data: a 128-bit block
// cipher that GCM runs on, and a hash whose HMAC derives the working keys
// and computes blind indexes. AESSuite is the default; the 商用密码 suite
// (SM4-GCM, HMAC-SM3) lives outside models, which imports no algorithm
// library but the standard one.
type PIISuite interface {
	// Name is written into every value sealed under the suite: 1-8 of
	// [a-z0-9].
	Name() string
	// KeySize is the block cipher's key size in bytes.
	KeySize() int
	NewBlock(key []byte) (cipher.Block, error)
	NewHash() hash.Hash
}

type aesSuite struct{}

func (aesSuite) Name() string                              { return "aes" }
func (aesSuite) KeySize() int                              { return 32 }
func (aesSuite) NewBlock(key []byte) (cipher.Block, error) { return aes.NewCipher(key) }
func (aesSuite) NewHash() hash.Hash                        { return sha256.New() }

// AESSuite is the international suite and the default: AES-256-GCM and
// HMAC-SHA256.
func AESSuite() PIISuite { return aesSuite{} }

// PIIKey is one master key of the keyring: 32 random bytes from
// configuration, named by an ID that is written into every value it seals.
type PIIKey struct {
	ID     string
	Secret []byte
}

// LegacyPIIKeyID names the key of LIANBAN_PII_KEY, the single key of the
// time before the keyring: its AES values keep their "v1:" form, so data
// written before the keyring opens unchanged.
const LegacyPIIKeyID = "0"

// PIIKeyring configures a PIICipher.
type PIIKeyring struct {
	// Keys, oldest first: every one opens what it sealed, and lookups try
	// each one's index.
	Keys []PIIKey
	// WriteKey is the ID of the key that seals and indexes new values;
	// "" means the last of Keys. Naming an older one lets a new key be
	// rolled out to every instance (which then read it) before any
	// instance writes with it: an instance that cannot read a value, or
	// find a person by its index, must never meet one.
	WriteKey string
	// Suite seals and indexes new values; nil means AESSuite.
	Suite PIISuite
	// Previous are suites that values may have been sealed and indexed
	// under before: they still open, and lookups try their indexes too.
	Previous []PIISuite
}

// piiKeySize is the configured master key's size: 256 bits.
const piiKeySize = 32

// maxPIIKeyID keeps key IDs short: they are written into every sealed
// value, and name columns are VARCHAR(255).
const maxPIIKeyID = 8

// maxSuiteName bounds a suite's name, written into every sealed value.
const maxSuiteName = 8

// piiVersion prefixes every value sealed by the legacy key under AES, so
// a key or algorithm rotation can tell old values from new ones without
// guessing; every other value starts "v2.<suite>.<key id>:".
const piiVersion = "v1:"

// piiAAD binds ciphertexts to this scheme and version: a value sealed by
// some other component with the same key does not open here. v2 values
// bind their header too, so a value relabelled with another key or suite
// does not open.
const piiAAD = "lianban/pii/v1"

const piiAADv2 = "lianban/pii/v2\x00"

// NewPIICipher is a cipher of the single legacy key under AES: what the
// service ran with before the keyring, and still does by default.
func NewPIICipher(key []byte) (*PIICipher, error) {
	return NewPIIKeyring(PIIKeyring{Keys: []PIIKey{{ID: LegacyPIIKeyID, Secret: key}}})
}

// NewPIIKeyring derives each key's working keys under each suite. Separate
// keys (encryption, files, index) mean the HMAC index reveals nothing
// about the encryption key and vice versa, while operators manage one
// secret per key.
func NewPIIKeyring(r PIIKeyring) (*PIICipher, error) {
	if len(r.Keys) == 0 {
		return nil, errors.New("pii keyring has no key")
	}
	if r.Suite == nil {
		r.Suite = AESSuite()
	}
	suites := []PIISuite{r.Suite}
	for _, s := range append([]PIISuite{r.Suite}, r.Previous...) {
		if s != nil && !validPIIToken(s.Name(), maxSuiteName) {
			return nil, fmt.Errorf("pii suite name %q: want 1-%d of [a-z0-9]", s.Name(), maxSuiteName)
		}
	}
	for _, s := range r.Previous {
		if s != nil && !slices.ContainsFunc(suites, func(x PIISuite) bool { return x.Name() == s.Name() }) {
			suites = append(suites, s)
		}
	}
	c := &PIICipher{byField: map[string]*piiEntry{}, byBytes: map[string]*piiEntry{}}
	seen := map[string]bool{}
	for i := len(r.Keys) - 1; i >= 0; i-- {
		k := r.Keys[i]
		if !validPIIToken(k.ID, maxPIIKeyID) || seen[k.ID] {
			return nil, fmt.Errorf("pii key id %q: want 1-%d of [a-z0-9], each id once", k.ID, maxPIIKeyID)
		}
		seen[k.ID] = true
		if len(k.Secret) != piiKeySize {
			return nil, fmt.Errorf("pii key must be %d bytes, got %d", piiKeySize, len(k.Secret))
		}
		for _, s := range suites {
			e, err := newPIIEntry(s, k)
			if err != nil {
				return nil, err
			}
			c.entries = append(c.entries, e)
			c.byField[e.field] = e
			c.byBytes[e.name] = e
		}
	}
	write := r.WriteKey
	if write == "" {
		write = r.Keys[len(r.Keys)-1].ID
	}
	i := slices.IndexFunc(c.entries, func(e *piiEntry) bool { return e.name == r.Suite.Name()+"."+write })
	if i < 0 {
		return nil, fmt.Errorf("pii writing key %q is not in the keyring", write)
	}
	// The writer first, so BlindIndexes starts with BlindIndex.
	c.write = c.entries[i]
	c.entries = append([]*piiEntry{c.write}, slices.Delete(c.entries, i, i+1)...)
	return c, nil
}

// validPIIToken says whether a key ID or suite name is 1 to max of
// [a-z0-9]: it goes between the '.' and ':' of sealed values' headers.
func validPIIToken(id string, max int) bool {
	if id == "" || len(id) > max {
		return false
	}
	for i := 0; i < len(id); i++ {
		if b := id[i]; !(b >= 'a' && b <= 'z' || b >= '0' && b <= '9') {
			return false
		}
	}
	return true
}

func newPIIEntry(s PIISuite, k PIIKey) (*piiEntry, error) {
	derive := func(label string) []byte {
		m := hmac.New(s.NewHash, k.Secret)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	encKey, bytesKey := derive("lianban/pii/enc/v1"), derive("lianban/pii/bytes/v1")
	if len(encKey) < s.KeySize() {
		return nil, fmt.Errorf("pii suite %s: hash too short for its key", s.Name())
	}
	aead, err := newGCM(s, encKey[:s.KeySize()])
	if err != nil {
		return nil, err
	}
	files, err := newGCM(s, bytesKey[:s.KeySize()])
	if err != nil {
		return nil, err
	}
	e := &piiEntry{name: s.Name() + "." + k.ID, aead: aead, files: files, indexKey: derive("lianban/pii/index/v1"), hash: s.NewHash}
	if e.name == "aes."+LegacyPIIKeyID {
		e.field, e.fieldAAD = strings.TrimSuffix(piiVersion, ":"), []byte(piiAAD)
	} else {
		e.field = "v2." + e.name
		e.fieldAAD = []byte(piiAADv2 + e.field)
	}
	return e, nil
}

func newGCM(s PIISuite, key []byte) (cipher.AEAD, error) {
	block, err := s.NewBlock(key)
	if err != nil {
		return nil, fmt.Errorf("pii cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("pii cipher: %w", err)
	}
	return aead, nil
}

// Current names the writing key and suite, that new values are sealed
// with ("sm4.k2"); rekey rewrites to it and records it with its progress, so a new key restarts
// a finished pass.
func (c *PIICipher) Current() string { return c.write.name }

// IsCurrent reports whether sealed is empty or was sealed by Seal with the
// writing key under the writing suite, so rekey leaves it alone.
func (c *PIICipher) IsCurrent(sealed string) bool {
	h, _, ok := strings.Cut(sealed, ":")
	return sealed == "" || ok && h == c.write.field
}

// Seal encrypts plain with a fresh random nonce, so equal values give
// different ciphertexts and a table of sealed values shows no duplicates.
// The empty string seals to "" so optional columns stay empty.
func (c *PIICipher) Seal(plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	w := c.write
	nonce := make([]byte, w.aead.NonceSize(), w.aead.NonceSize()+len(plain)+w.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("pii seal: %w", err)
	}
	out := w.aead.Seal(nonce, nonce, []byte(plain), w.fieldAAD)
	return w.field + ":" + base64.StdEncoding.EncodeToString(out), nil
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
	header, body, ok := strings.Cut(sealed, ":")
	e := c.byField[header]
	if !ok || e == nil {
		return "", errPIIOpen
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(body)
	if err != nil || len(raw) < e.aead.NonceSize()+e.aead.Overhead() {
		return "", errPIIOpen
	}
	ns := e.aead.NonceSize()
	plain, err := e.aead.Open(nil, raw[:ns], raw[ns:], e.fieldAAD)
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

// sealedBytesMagicV2 starts SealBytes output of every key and suite but
// the legacy key under AES; a length byte and the header ("sm4.k2")
// follow, and the header is authenticated.
const sealedBytesMagicV2 = "LBS2"

const bytesAADv2 = "lianban/pii/bytes/v2\x00"

// SealedBytesOverhead is how much longer SealBytes' output is than its
// input under the legacy key and AES: the version, the nonce and the GCM
// tag.
const SealedBytesOverhead = len(sealedBytesMagic) + 12 + 16

// MaxSealedBytesOverhead bounds the overhead under any key and suite (the
// header names them), for readers that cap what they read.
const MaxSealedBytesOverhead = len(sealedBytesMagicV2) + 1 + maxSuiteName + 1 + maxPIIKeyID + 12 + 16

// SealBytes encrypts a file's bytes (GCM, a fresh random nonce) under a
// key derived apart from Seal's, so a file's key is not a field's and the
// two kinds of ciphertext never open as each other. bind is
// authenticated, not encrypted: callers pass where the bytes are kept (the
// blob key), so bytes moved to another place fail to open instead of being
// served as another file.
func (c *PIICipher) SealBytes(plain []byte, bind string) ([]byte, error) {
	w := c.write
	head, aad := []byte(sealedBytesMagic), bytesAAD+bind
	if w.field != strings.TrimSuffix(piiVersion, ":") {
		head = append(append([]byte(sealedBytesMagicV2), byte(len(w.name))), w.name...)
		aad = bytesAADv2 + w.name + "\x00" + bind
	}
	ns := w.files.NonceSize()
	out := make([]byte, len(head)+ns, len(head)+ns+len(plain)+w.files.Overhead())
	copy(out, head)
	nonce := out[len(head):]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("pii seal bytes: %w", err)
	}
	return w.files.Seal(out, nonce, plain, []byte(aad)), nil
}

// OpenBytes decrypts what SealBytes made with a configured key and suite
// and the same bind. Bytes altered, cut short, sealed under another key or
// another bind are an error, never garbage.
func (c *PIICipher) OpenBytes(sealed []byte, bind string) ([]byte, error) {
	e, body, aad := c.bytesEntry(sealed)
	if e == nil {
		return nil, errPIIOpen
	}
	ns := e.files.NonceSize()
	if len(body) < ns+e.files.Overhead() {
		return nil, errPIIOpen
	}
	plain, err := e.files.Open(nil, body[:ns], body[ns:], []byte(aad+bind))
	if err != nil {
		return nil, errPIIOpen
	}
	return plain, nil
}

// bytesEntry reads SealBytes' header: the entry that sealed, the rest, and
// the AAD's prefix.
func (c *PIICipher) bytesEntry(sealed []byte) (*piiEntry, []byte, string) {
	if body, ok := bytes.CutPrefix(sealed, []byte(sealedBytesMagic)); ok {
		return c.byField[strings.TrimSuffix(piiVersion, ":")], body, bytesAAD
	}
	body, ok := bytes.CutPrefix(sealed, []byte(sealedBytesMagicV2))
	if !ok || len(body) < 1 || len(body) < 1+int(body[0]) {
		return nil, nil, ""
	}
	name := string(body[1 : 1+int(body[0])])
	return c.byBytes[name], body[1+int(body[0]):], bytesAADv2 + name + "\x00"
}

// IsCurrentBytes is IsCurrent for SealBytes' output.
func (c *PIICipher) IsCurrentBytes(sealed []byte) bool {
	e, _, _ := c.bytesEntry(sealed)
	return e == c.write
}

// BlindIndex returns a deterministic keyed hash (hex HMAC of the suite's
// hash, SHA-256 or SM3) of value under the writing key, separated by kind
// ("id_number", "phone", …) so equal strings of different kinds do not
// collide and an index column cannot be joined against another. Being
// deterministic it can back a unique index; being keyed it cannot be
// reversed by hashing all 10^17 possible ID numbers. Callers index the
// normalised form (ParseIDNumber's Number). Kinds are constants of the
// code and must not contain NUL. New rows store this one; lookups use
// BlindIndexes.
func (c *PIICipher) BlindIndex(kind, value string) string {
	return c.write.blindIndex(kind, value)
}

// BlindIndexes returns value's blind index under every key and suite,
// BlindIndex's first: a row written before the writing key (and not yet
// rekeyed), or by an instance writing with another configured key, holds
// one of the others, so a lookup matches any of them. With a single key
// and suite it is BlindIndex alone.
func (c *PIICipher) BlindIndexes(kind, value string) []string {
	out := make([]string, 0, len(c.entries))
	for _, e := range c.entries {
		if ix := e.blindIndex(kind, value); !slices.Contains(out, ix) {
			out = append(out, ix)
		}
	}
	return out
}

func (e *piiEntry) blindIndex(kind, value string) string {
	m := hmac.New(e.hash, e.indexKey)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// String keeps key material out of logs and panics that print the cipher.
func (c *PIICipher) String() string { return "PIICipher(redacted)" }

// GoString does the same for %#v.
func (c *PIICipher) GoString() string { return c.String() }
