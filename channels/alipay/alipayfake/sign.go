package alipayfake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"sort"
	"strings"
)

// signContent is the string Alipay signs: the parameters sorted by name as
// name=value joined by &, without the excluded names. Requests to the
// OpenAPI gateway leave out only sign (sign_type is signed) and drop empty
// values; notifications leave out sign and sign_type.
func signContent(v url.Values, skipEmpty bool, exclude ...string) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		if (skipEmpty && v.Get(k) == "") || contains(exclude, k) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v.Get(k))
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// rsa2 signs data with SHA256withRSA (PKCS#1 v1.5), base64: Alipay's RSA2.
func rsa2(key *rsa.PrivateKey, data []byte) string {
	h := sha256.Sum256(data)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	if err != nil {
		panic("alipayfake: signing: " + err.Error()) // only for keys under 512 bits
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// verifyRequest checks the application's RSA2 signature on a gateway request.
func verifyRequest(pub *rsa.PublicKey, v url.Values) error {
	sig, err := base64.StdEncoding.DecodeString(v.Get("sign"))
	if err != nil || len(sig) == 0 {
		return errors.New("missing or unreadable sign")
	}
	h := sha256.Sum256([]byte(signContent(v, true, "sign")))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig)
}

// Sign returns a copy of v signed as Alipay signs a notification (sign_type
// RSA2, sign over every other parameter). Use it to build validly signed
// hostile notifications: another app_id or seller_id, a wrong amount.
//
// In certificate mode it adds alipay_cert_sn, which (like sign and
// sign_type) the signature does not cover.
func (s *Server) Sign(v url.Values) url.Values {
	k, sn := s.signer()
	return signWith(v, k, sn)
}

// signWith signs v with key, naming certificate sn ("" keeps whatever
// alipay_cert_sn v has, which a test may have put there).
func signWith(v url.Values, key *rsa.PrivateKey, sn string) url.Values {
	out := cloneValues(v)
	out.Del("sign")
	out.Del("sign_type")
	sig := rsa2(key, []byte(signContent(out, false, "alipay_cert_sn")))
	out.Set("sign_type", "RSA2")
	out.Set("sign", sig)
	if sn != "" {
		out.Set("alipay_cert_sn", sn)
	}
	return out
}

// Tamper returns a copy of the signed v with key set to value after signing:
// what an attacker who edits a captured notification sends.
func Tamper(v url.Values, key, value string) url.Values {
	out := cloneValues(v)
	out.Set(key, value)
	return out
}

// Unsigned returns a copy of v without sign and sign_type.
func Unsigned(v url.Values) url.Values {
	out := cloneValues(v)
	out.Del("sign")
	out.Del("sign_type")
	return out
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
