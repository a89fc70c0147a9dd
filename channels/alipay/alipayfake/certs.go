package alipayfake

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"time"
)

// certAuthority is a test CA: a self-signed root and, like Alipay's, an
// intermediate ("Class 2") that issues the Alipay and application
// certificates. Alipay's intermediate carries no basicConstraints
// extension, and this one copies that quirk, so the client's chain check
// is run against what Alipay really serves.
type certAuthority struct {
	root, inter       *x509.Certificate
	rootKey, interKey *rsa.PrivateKey
}

// publicCert is one Alipay public-key certificate the fake has signed
// with (alipayCertPublicKey_RSA2.crt): its key, its SN and the file
// content (the certificate, then its intermediate, as Alipay ships it).
type publicCert struct {
	key  *rsa.PrivateKey
	sn   string
	file string
}

// certState is the fake's certificate mode; nil in public-key mode.
type certState struct {
	ca       certAuthority
	appCert  *x509.Certificate
	appSN    string
	rootSN   string                 // alipay_root_cert_sn requests must carry
	current  *publicCert            // what answers and notifications are signed with
	download map[string]*publicCert // alipay.open.app.alipaycert.download serves these
}

// newCA makes a root and an intermediate valid from an hour before now for
// ten years.
func newCA(name string, now time.Time) certAuthority {
	rootKey, interKey := mustKey(), mustKey()
	rootTpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Country: []string{"CN"}, Organization: []string{name}, OrganizationalUnit: []string{"Certification Authority"}, CommonName: name + " Certification Authority R1"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	root := mustCert(rootTpl, rootTpl, &rootKey.PublicKey, rootKey)
	interTpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Country: []string{"CN"}, Organization: []string{name}, OrganizationalUnit: []string{"Certification Authority"}, CommonName: name + " Certification Authority Class 2 R1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	inter := mustCert(interTpl, root, &interKey.PublicKey, rootKey)
	return certAuthority{root: root, inter: inter, rootKey: rootKey, interKey: interKey}
}

// issue makes an end-entity certificate for pub named cn, valid from an
// hour before now for five years.
func (ca certAuthority) issue(cn string, pub *rsa.PublicKey, now time.Time) *x509.Certificate {
	tpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Country: []string{"CN"}, Organization: []string{"lianban alipayfake"}, OrganizationalUnit: []string{"Alipay"}, CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment,
	}
	return mustCert(tpl, ca.inter, pub, ca.interKey)
}

// publicCert issues an Alipay public-key certificate over key.
func (ca certAuthority) publicCert(key *rsa.PrivateKey, now time.Time) *publicCert {
	c := ca.issue("支付宝(中国)网络技术有限公司-"+DefaultSellerID, &key.PublicKey, now)
	return &publicCert{key: key, sn: CertSN(c), file: CertPEM(c) + CertPEM(ca.inter)}
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic("alipayfake: " + err.Error())
	}
	return n.Add(n, big.NewInt(1)) // positive, as x509 requires
}

func mustCert(tpl, parent *x509.Certificate, pub *rsa.PublicKey, signer *rsa.PrivateKey) *x509.Certificate {
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, pub, signer)
	if err != nil {
		panic("alipayfake: creating a certificate: " + err.Error())
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic("alipayfake: " + err.Error())
	}
	return c
}

// CertSN is a certificate's SN as Alipay computes it (app_cert_sn,
// alipay_cert_sn): the hex MD5 of the issuer's distinguished name followed
// by the decimal serial number.
func CertSN(c *x509.Certificate) string {
	sum := md5.Sum([]byte(c.Issuer.String() + c.SerialNumber.String()))
	return hex.EncodeToString(sum[:])
}

// CertPEM is c as a PEM block.
func CertPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func (s *Server) initCerts() {
	now := s.clock.Now()
	ca := newCA("Fake Ant Financial", now)
	app := ca.issue(DefaultSellerID+"-"+s.appID, &s.appKey.PublicKey, now)
	pc := ca.publicCert(s.aliKey, now)
	s.certs = &certState{ca: ca, appCert: app, appSN: CertSN(app), rootSN: CertSN(ca.root),
		current: pc, download: map[string]*publicCert{pc.sn: pc}}
}

// CertMode reports whether the fake speaks the public-key-certificate mode.
func (s *Server) CertMode() bool { return s.certs != nil }

// AppCertPEM is the application's certificate (appCertPublicKey_….crt).
func (s *Server) AppCertPEM() string { return CertPEM(s.certs.appCert) }

// RootCertPEM is Alipay's root certificate file (alipayRootCert.crt).
func (s *Server) RootCertPEM() string { return CertPEM(s.certs.ca.root) }

// AlipayCertPEM is the current Alipay public-key certificate file
// (alipayCertPublicKey_RSA2.crt: the certificate, then its intermediate).
func (s *Server) AlipayCertPEM() string {
	s.keyMu.RLock()
	defer s.keyMu.RUnlock()
	return s.certs.current.file
}

// AlipayCertSN is the SN of the certificate answers and notifications are
// signed with now.
func (s *Server) AlipayCertSN() string {
	s.keyMu.RLock()
	defer s.keyMu.RUnlock()
	return s.certs.current.sn
}

// RotateCert is Alipay rotating its key and certificate: a new key pair
// and a new certificate from the same CA sign every answer and
// notification built from now on (retries of one built before keep its
// signature, as Alipay's do), and the download API serves both the old
// and the new certificate. It returns the new SN.
func (s *Server) RotateCert() string {
	pc := s.certs.ca.publicCert(mustKey(), s.clock.Now())
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	s.aliKey, s.certs.current, s.certs.download[pc.sn] = pc.key, pc, pc
	return pc.sn
}

// RogueNotification is orderNo's notification signed by a certificate of
// another CA, which the fake's download API serves too (as a gateway
// tampered with, or a man in the middle, would): a client that trusts
// whatever the download returns, without checking it chains to Alipay's
// root, accepts it. Nil for an order the fake does not have.
func (s *Server) RogueNotification(orderNo string) url.Values {
	v := s.Notification(orderNo)
	if v == nil {
		return nil
	}
	return s.signServed(v, newCA("Rogue", s.clock.Now()).publicCert(mustKey(), s.clock.Now()))
}

// signServed signs v with pc's key after putting pc in the certificate
// download, as a tampered gateway would serve it.
func (s *Server) signServed(v url.Values, pc *publicCert) url.Values {
	s.keyMu.Lock()
	s.certs.download[pc.sn] = pc
	s.keyMu.Unlock()
	return signWith(v, pc.key, pc.sn)
}

// ForeignAppCertNotification is orderNo's notification signed by another
// application's key, under that application's certificate: Alipay's CA
// issues every application's certificate (appCertPublicKey_….crt) from the
// same intermediate as its own, so any Alipay developer holds a key whose
// certificate chains to Alipay's root. The download API serves it too (a
// gateway tampered with, or a man in the middle): a client that trusts any
// certificate chaining to the root, whoever it names, accepts it. Nil for
// an order the fake does not have.
func (s *Server) ForeignAppCertNotification(orderNo string) url.Values {
	v := s.Notification(orderNo)
	if v == nil {
		return nil
	}
	key := mustKey()
	c := s.certs.ca.issue("2088000000009999-2021000000009999", &key.PublicKey, s.clock.Now())
	pc := &publicCert{key: key, sn: CertSN(c), file: CertPEM(c) + CertPEM(s.certs.ca.inter)}
	return s.signServed(v, pc)
}

// ForgedUnderAppCertNotification is orderNo's notification signed by a
// certificate the holder of another application's certificate made
// himself: Alipay's subject, issued with his application key. His
// application certificate chains to Alipay's root and, like Alipay's own
// intermediate, carries no basicConstraints; the download API serves the
// forged certificate with it (a gateway tampered with, or a man in the
// middle). A client that builds chains through any certificate of the
// download accepts it. Nil for an order the fake does not have.
func (s *Server) ForgedUnderAppCertNotification(orderNo string) url.Values {
	v := s.Notification(orderNo)
	if v == nil {
		return nil
	}
	now := s.clock.Now()
	appKey := mustKey()
	app := s.certs.ca.issue("2088000000009999-2021000000009999", &appKey.PublicKey, now)
	s.keyMu.RLock()
	genuine, err := x509.ParseCertificate(mustPEMBlock(s.certs.current.file))
	s.keyMu.RUnlock()
	if err != nil {
		panic("alipayfake: " + err.Error())
	}
	key := mustKey()
	forged := mustCert(&x509.Certificate{SerialNumber: serial(), Subject: genuine.Subject, NotBefore: now.Add(-time.Hour),
		NotAfter: now.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}, app, &key.PublicKey, appKey)
	pc := &publicCert{key: key, sn: CertSN(forged), file: CertPEM(forged) + CertPEM(app) + CertPEM(s.certs.ca.inter)}
	return s.signServed(v, pc)
}

func mustPEMBlock(s string) []byte {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		panic("alipayfake: no PEM block")
	}
	return b.Bytes
}

// UnknownCertNotification is orderNo's notification signed by a key whose
// certificate nobody can download. Nil for an order the fake does not have.
func (s *Server) UnknownCertNotification(orderNo string) url.Values {
	v := s.Notification(orderNo)
	if v == nil {
		return nil
	}
	stray := s.certs.ca.publicCert(mustKey(), s.clock.Now())
	return signWith(v, stray.key, stray.sn)
}

// certDownload is alipay.open.app.alipaycert.download: the base64 of the
// certificate file for an alipay_cert_sn.
func (s *Server) certDownload(str func(string) string) (map[string]any, *apiErr) {
	if s.certs == nil {
		return nil, businessFailed("isv.app-not-cert-mode", "应用未使用公钥证书模式")
	}
	s.keyMu.RLock()
	pc := s.certs.download[str("alipay_cert_sn")]
	s.keyMu.RUnlock()
	if pc == nil {
		return nil, businessFailed("CERT_NOT_EXIST", "证书不存在")
	}
	return map[string]any{"alipay_cert_content": base64.StdEncoding.EncodeToString([]byte(pc.file))}, nil
}

// checkCertSNs is the gateway's check of a request's certificate SNs: in
// certificate mode both must name ours; in public-key mode neither may
// be sent.
func (s *Server) checkCertSNs(v url.Values) *apiErr {
	if s.certs == nil {
		if v.Get("app_cert_sn") != "" || v.Get("alipay_root_cert_sn") != "" {
			e := invalidArguments("isv.app-not-cert-mode", "应用未使用公钥证书模式，请勿上送证书序列号")
			return e
		}
		return nil
	}
	switch {
	case v.Get("app_cert_sn") != s.certs.appSN:
		e := invalidArguments("isv.app-cert-sn-mismatch", fmt.Sprintf("应用公钥证书序列号不匹配: %q", v.Get("app_cert_sn")))
		return e
	case v.Get("alipay_root_cert_sn") != s.certs.rootSN:
		e := invalidArguments("isv.alipay-root-cert-sn-mismatch", "支付宝根证书序列号不匹配")
		return e
	}
	return nil
}
