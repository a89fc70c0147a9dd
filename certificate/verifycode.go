package certificate

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"
)

// verifyCodeLen is the printed code's length: 8 Crockford base32 characters
// carry 40 bits, so guessing one certificate's code takes ~10^12 tries
// against a rate-limited endpoint.
const verifyCodeLen = 8

// MinVerifySecretLen is the shortest secret NewVerifyCode accepts.
const MinVerifySecretLen = 32

// crockford is Crockford's base32 alphabet: no I, L, O or U, so a code read
// off paper cannot be mistaken, and MatchVerifyCode reads I, L as 1 and O
// as 0 anyway.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// verifyCodeContext separates these HMACs from any other use of the secret.
const verifyCodeContext = "lianban certificate verify code v1\x00"

// NewVerifyCode derives a certificate's verification code from its number
// with a keyed HMAC-SHA256 under secret. The code cannot be guessed from
// the number without the secret, and being derived, it needs no randomness
// at issue time; the caller still stores it with the certificate so
// rotating the secret does not invalidate codes already printed. secret
// must be at least MinVerifySecretLen random bytes.
func NewVerifyCode(secret []byte, certNo string) (string, error) {
	if len(secret) < MinVerifySecretLen {
		return "", fmt.Errorf("certificate: verify-code secret must be at least %d bytes, got %d", MinVerifySecretLen, len(secret))
	}
	if certNo == "" {
		return "", fmt.Errorf("certificate: verify code for an empty certificate number")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(verifyCodeContext))
	mac.Write([]byte(certNo))
	sum := mac.Sum(nil)
	// The first 40 bits, five at a time.
	v := uint64(sum[0])<<32 | uint64(sum[1])<<24 | uint64(sum[2])<<16 | uint64(sum[3])<<8 | uint64(sum[4])
	code := make([]byte, verifyCodeLen)
	for i := verifyCodeLen - 1; i >= 0; i-- {
		code[i] = crockford[v&31]
		v >>= 5
	}
	return string(code), nil
}

// MatchVerifyCode reports whether the code a verifier typed (any case,
// with spaces or hyphens, O for 0, I or L for 1) is the stored one. The
// comparison takes the same time wherever the codes differ.
func MatchVerifyCode(stored, typed string) bool {
	norm := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-':
			return -1
		case 'O', 'o':
			return '0'
		case 'I', 'i', 'L', 'l':
			return '1'
		}
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, typed)
	return stored != "" && subtle.ConstantTimeCompare([]byte(stored), []byte(norm)) == 1
}
