package alipay

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultGateway is Alipay's production OpenAPI gateway, used when
// Config.Gateway is empty.
const DefaultGateway = "https://openapi.alipay.com/gateway.do"

// DefaultRequestTimeout bounds one call to the gateway when
// Config.RequestTimeout is zero. A payer is waiting on most calls, and a
// timed-out call is reported as unavailable, never as a failure.
const DefaultRequestTimeout = 10 * time.Second

// Config is an Alipay application in public-key mode (公钥模式: AlipayPublicKey)
// or public-key-certificate mode (公钥证书模式: AppCert, AlipayRootCert and
// AlipayPublicCerts, all three).
type Config struct {
	// AppID is the application's APPID (LIANBAN_ALIPAY_APPID).
	AppID string
	// PrivateKey is the application's RSA private key, PEM or bare base64,
	// PKCS#1 or PKCS#8 (LIANBAN_ALIPAY_PRIVATE_KEY_FILE).
	PrivateKey string
	// AlipayPublicKey is Alipay's public key (支付宝公钥), PEM or bare base64,
	// used to verify answers and notifications. It is not the application's
	// own public key (LIANBAN_ALIPAY_PUBLIC_KEY_FILE).
	AlipayPublicKey string
	// AppCert is the application's public-key certificate
	// (appCertPublicKey_….crt), whose SN every request carries as
	// app_cert_sn (LIANBAN_ALIPAY_APP_CERT_FILE).
	AppCert string
	// AlipayRootCert is Alipay's root certificate file (alipayRootCert.crt,
	// several PEM certificates): requests carry its SN as
	// alipay_root_cert_sn, and every Alipay certificate must chain to one
	// of its roots (LIANBAN_ALIPAY_ROOT_CERT_FILE).
	AlipayRootCert string
	// AlipayPublicCerts is Alipay's public-key certificate file
	// (alipayCertPublicKey_RSA2.crt): one or more Alipay certificates with
	// the intermediates that issued them. Several certificates are trusted
	// at once, so the old and the new one can both be listed across a
	// rotation; one Alipay signs with that is not listed is downloaded
	// (alipay.open.app.alipaycert.download) and trusted only if it chains
	// to AlipayRootCert (LIANBAN_ALIPAY_PUBLIC_CERT_FILE).
	AlipayPublicCerts string
	// SellerID is the merchant's 2088… partner id. When set, notifications
	// for another seller are rejected and trades are created for it
	// (LIANBAN_ALIPAY_SELLER_ID).
	SellerID string
	// Gateway is the OpenAPI gateway URL; empty means DefaultGateway
	// (LIANBAN_ALIPAY_GATEWAY).
	Gateway string
	// NotifyURL receives the asynchronous notifications
	// (LIANBAN_ALIPAY_NOTIFY_URL).
	NotifyURL string
	// ReturnURL is where the mobile web cashier sends the payer back (H5
	// payments only); optional.
	ReturnURL string
	// H5RedirectURIs are the H5 pages (支付宝城市服务, 生活号) Alipay's web
	// authorization may send people back to with an auth_code
	// (LIANBAN_ALIPAY_H5_REDIRECT_URIS), matched exactly; each must also
	// be the application's 授权回调地址 in the Alipay console. Empty: no
	// H5 login, the mini-program's still works.
	H5RedirectURIs []string
	// AuthorizeBase is the web authorization page's host; empty means
	// DefaultAuthorizeBase. A fake's in tests and the sandbox.
	AuthorizeBase string
	// OpenIDMode is set for applications created after Alipay moved to
	// open_id: users are identified by open_id instead of the 2088… user_id.
	OpenIDMode bool
	// RequestTimeout bounds one gateway call; zero means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
}

// LoadKeyFiles reads the application's private key and Alipay's public key
// from PEM files into c. Either path may be empty to leave that key as it is.
func (c *Config) LoadKeyFiles(privateKeyFile, alipayPublicKeyFile string) error {
	if privateKeyFile != "" {
		b, err := os.ReadFile(privateKeyFile)
		if err != nil {
			return fmt.Errorf("alipay: private key file: %w", err)
		}
		c.PrivateKey = string(b)
	}
	if alipayPublicKeyFile != "" {
		b, err := os.ReadFile(alipayPublicKeyFile)
		if err != nil {
			return fmt.Errorf("alipay: Alipay public key file: %w", err)
		}
		c.AlipayPublicKey = string(b)
	}
	return nil
}

// LoadCertFiles reads the three certificate files of the
// public-key-certificate mode into c; an empty path leaves that one as it is.
func (c *Config) LoadCertFiles(appCertFile, rootCertFile, alipayCertFile string) error {
	for _, f := range []struct {
		path, what string
		dst        *string
	}{
		{appCertFile, "application certificate file", &c.AppCert},
		{rootCertFile, "Alipay root certificate file", &c.AlipayRootCert},
		{alipayCertFile, "Alipay public-key certificate file", &c.AlipayPublicCerts},
	} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return fmt.Errorf("alipay: %s: %w", f.what, err)
		}
		*f.dst = string(b)
	}
	return nil
}

// CertMode reports whether any certificate-mode setting is present;
// Validate then requires all three.
func (c Config) CertMode() bool {
	return strings.TrimSpace(c.AppCert) != "" || strings.TrimSpace(c.AlipayRootCert) != "" || strings.TrimSpace(c.AlipayPublicCerts) != ""
}

// Configured reports whether any of the application's settings is present.
// A server runs the channel against its in-process fake when nothing is
// configured, and refuses to start when it is configured only in part
// (Validate says what is missing).
func (c Config) Configured() bool {
	return c.AppID != "" || c.PrivateKey != "" || c.AlipayPublicKey != "" || c.SellerID != "" || c.CertMode()
}

// Validate checks that c is complete and its keys are usable. The error names
// every missing setting with its environment key, so an operator fixes them
// all at once.
func (c Config) Validate() error {
	var missing []string
	if c.AppID == "" {
		missing = append(missing, "AppID (LIANBAN_ALIPAY_APPID)")
	}
	if strings.TrimSpace(c.PrivateKey) == "" {
		missing = append(missing, "PrivateKey (LIANBAN_ALIPAY_PRIVATE_KEY_FILE)")
	}
	if c.CertMode() {
		// Some but not all of the certificate files is a half-done switch
		// of modes: starting would sign requests Alipay refuses.
		if strings.TrimSpace(c.AppCert) == "" {
			missing = append(missing, "AppCert (LIANBAN_ALIPAY_APP_CERT_FILE)")
		}
		if strings.TrimSpace(c.AlipayRootCert) == "" {
			missing = append(missing, "AlipayRootCert (LIANBAN_ALIPAY_ROOT_CERT_FILE)")
		}
		if strings.TrimSpace(c.AlipayPublicCerts) == "" {
			missing = append(missing, "AlipayPublicCerts (LIANBAN_ALIPAY_PUBLIC_CERT_FILE)")
		}
	} else if strings.TrimSpace(c.AlipayPublicKey) == "" {
		missing = append(missing, "AlipayPublicKey (LIANBAN_ALIPAY_PUBLIC_KEY_FILE)")
	}
	if c.NotifyURL == "" {
		missing = append(missing, "NotifyURL (LIANBAN_ALIPAY_NOTIFY_URL)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("alipay: incomplete configuration, missing %s", strings.Join(missing, ", "))
	}

	var errs []error
	priv, err := parsePrivateKey(c.PrivateKey)
	if err != nil {
		errs = append(errs, fmt.Errorf("PrivateKey: %w", err))
	}
	if c.CertMode() {
		if strings.TrimSpace(c.AlipayPublicKey) != "" {
			errs = append(errs, errors.New("both AlipayPublicKey (public-key mode) and certificates (certificate mode) are set; an application is in one mode"))
		}
		if _, err := parseCertMode(c, priv); err != nil {
			errs = append(errs, err)
		}
	} else {
		pub, err := parsePublicKey(c.AlipayPublicKey)
		if err != nil {
			errs = append(errs, fmt.Errorf("AlipayPublicKey: %w", err))
		}
		// The commonest Alipay misconfiguration: the application's own public
		// key given where Alipay's belongs. Every notification would then fail
		// verification, so say so at start-up instead.
		if priv != nil && pub != nil && priv.PublicKey.Equal(pub) {
			errs = append(errs, errors.New("AlipayPublicKey is the application's own public key; use 支付宝公钥 from the Alipay console"))
		}
	}
	if c.Gateway != "" {
		if err := checkURL(c.Gateway); err != nil {
			errs = append(errs, fmt.Errorf("gateway: %w", err))
		}
	}
	if err := checkURL(c.NotifyURL); err != nil {
		errs = append(errs, fmt.Errorf("NotifyURL: %w", err))
	}
	if c.ReturnURL != "" {
		if err := checkURL(c.ReturnURL); err != nil {
			errs = append(errs, fmt.Errorf("ReturnURL: %w", err))
		}
	}
	if c.RequestTimeout < 0 {
		errs = append(errs, errors.New("RequestTimeout is negative"))
	}
	for _, u := range c.H5RedirectURIs {
		if err := checkURL(u); err != nil {
			errs = append(errs, fmt.Errorf("H5RedirectURIs (LIANBAN_ALIPAY_H5_REDIRECT_URIS): %w", err))
		}
	}
	if c.AuthorizeBase != "" {
		if err := checkURL(c.AuthorizeBase); err != nil {
			errs = append(errs, fmt.Errorf("AuthorizeBase: %w", err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("alipay: invalid configuration: %w", errors.Join(errs...))
	}
	return nil
}

// String shows c without its keys, so a configuration can be logged.
func (c Config) String() string {
	return fmt.Sprintf("alipay.Config{AppID:%q SellerID:%q Gateway:%q NotifyURL:%q ReturnURL:%q OpenIDMode:%t RequestTimeout:%s PrivateKey:%s AlipayPublicKey:%s CertMode:%t}",
		c.AppID, c.SellerID, c.Gateway, c.NotifyURL, c.ReturnURL, c.OpenIDMode, c.RequestTimeout,
		mask(c.PrivateKey), mask(c.AlipayPublicKey), c.CertMode())
}

// GoString keeps %#v from printing the private key.
func (c Config) GoString() string { return c.String() }

// LogValue keeps slog from printing the private key.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("app_id", c.AppID),
		slog.String("seller_id", c.SellerID),
		slog.String("gateway", c.gateway()),
		slog.String("notify_url", c.NotifyURL),
		slog.Bool("open_id_mode", c.OpenIDMode),
		slog.String("private_key", mask(c.PrivateKey)),
		slog.String("alipay_public_key", mask(c.AlipayPublicKey)),
		slog.Bool("cert_mode", c.CertMode()),
	)
}

func (c Config) gateway() string {
	if c.Gateway == "" {
		return DefaultGateway
	}
	return c.Gateway
}

func (c Config) requestTimeout() time.Duration {
	if c.RequestTimeout <= 0 {
		return DefaultRequestTimeout
	}
	return c.RequestTimeout
}

func mask(secret string) string {
	if secret == "" {
		return "(unset)"
	}
	return "(set)"
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

// keyDER returns the DER bytes of a PEM block or of bare base64 (the form the
// Alipay key tool copies to the clipboard).
func keyDER(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "-----BEGIN") {
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			return nil, errors.New("unreadable PEM")
		}
		return block.Bytes, nil
	}
	compact := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, s)
	der, err := base64.StdEncoding.DecodeString(compact)
	if err != nil {
		return nil, errors.New("neither PEM nor base64")
	}
	return der, nil
}

// parsePrivateKey reads an RSA private key in PKCS#1 or PKCS#8.
func parsePrivateKey(s string) (*rsa.PrivateKey, error) {
	der, err := keyDER(s)
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, errors.New("not an RSA private key in PKCS#1 or PKCS#8")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA key (RSA2 needs RSA)")
	}
	return rk, nil
}

// parsePublicKey reads an RSA public key in PKIX (what Alipay's console
// shows) or PKCS#1.
func parsePublicKey(s string) (*rsa.PublicKey, error) {
	der, err := keyDER(s)
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("not an RSA key (RSA2 needs RSA)")
		}
		return rk, nil
	}
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return k, nil
	}
	if bytes.HasPrefix(der, []byte{0x30}) {
		if _, err := x509.ParseCertificate(der); err == nil {
			return nil, errors.New("a certificate, not a public key (certificate mode takes LIANBAN_ALIPAY_PUBLIC_CERT_FILE)")
		}
	}
	return nil, errors.New("not an RSA public key in PKIX or PKCS#1")
}

// privatePEM and publicPEM normalise keys to the one form the SDK reads
// without guessing.
func privatePEM(k *rsa.PrivateKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

func publicPEM(k *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}
