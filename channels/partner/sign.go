// Package partner is the counter side of the partner API (/partner/v1):
// the request signature that banks at their counters, 云POS terminals,
// 裕农通 points and the hall's POS put on every call, and a client that
// signs like one of them, for the tests, the fake terminals and the
// lianban-sign command of the README's bank-counter walk-through.
//
// The signature is
//
//	base64(HMAC-SHA256(key, METHOD + "\n" + path-with-query + "\n" +
//	       timestamp + "\n" + nonce + "\n" + hex(sha256(body))))
//
// with the timestamp in unix seconds, carried in the headers below. Under
// the 国密 option (LIANBAN_CRYPTO=sm) a partner may sign with HMAC-SM3
// instead, under the same key, and says so with X-Signature-Method:
// HMAC-SM3 (absent, or HMAC-SHA256, is the default). Its string digests
// the body with SM3 as well, hex(sm3(body)): a signature under the 国密
// option rests on no other algorithm, as a 商用密码 assessment requires,
// and a partner whose signing device knows only SM3 can make it.
// The server's side (keys, nonces, clock window) lives in service/partners.
package partner

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"strconv"

	"github.com/lianban/lianban/guomi"
)

// Headers of a signed partner request.
const (
	HeaderPartnerID = "X-Partner-Id"
	HeaderTimestamp = "X-Timestamp"
	HeaderNonce     = "X-Nonce"
	HeaderSignature = "X-Signature"
	// HeaderSignatureMethod names the HMAC's hash; absent means
	// MethodHMACSHA256.
	HeaderSignatureMethod = "X-Signature-Method"
)

// Signature methods of HeaderSignatureMethod.
const (
	MethodHMACSHA256 = "HMAC-SHA256"
	MethodHMACSM3    = "HMAC-SM3"
)

// MethodHash is the hash of a signature method ("" is the default), or
// nil for a method this package does not know.
func MethodHash(method string) func() hash.Hash {
	switch method {
	case "", MethodHMACSHA256:
		return sha256.New
	case MethodHMACSM3:
		return guomi.NewSM3
	}
	return nil
}

// StringToSign is the canonical text an HMAC-SHA256 signature covers.
// pathWithQuery is the request URI exactly as sent (path and raw query),
// so a changed path or query breaks the signature as a changed body does.
func StringToSign(method, pathWithQuery string, timestamp int64, nonce string, body []byte) string {
	return StringToSignWith(sha256.New, method, pathWithQuery, timestamp, nonce, body)
}

// StringToSignWith is the canonical text a signature with the HMAC of h
// covers: the body is digested with h too.
func StringToSignWith(h func() hash.Hash, method, pathWithQuery string, timestamp int64, nonce string, body []byte) string {
	d := h()
	d.Write(body)
	return method + "\n" + pathWithQuery + "\n" + strconv.FormatInt(timestamp, 10) + "\n" + nonce + "\n" + hex.EncodeToString(d.Sum(nil))
}

// Sign signs with HMAC-SHA256, the default.
func Sign(key []byte, method, pathWithQuery string, timestamp int64, nonce string, body []byte) string {
	return SignWith(sha256.New, key, method, pathWithQuery, timestamp, nonce, body)
}

// SignWith signs with the HMAC of another hash: the 国密 option passes SM3.
func SignWith(h func() hash.Hash, key []byte, method, pathWithQuery string, timestamp int64, nonce string, body []byte) string {
	m := hmac.New(h, key)
	m.Write([]byte(StringToSignWith(h, method, pathWithQuery, timestamp, nonce, body)))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
