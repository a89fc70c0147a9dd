package wechat

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
)

// Default base URLs of the two WeChat hosts.
const (
	DefaultAPIBase    = "https://api.weixin.qq.com"
	DefaultPayAPIBase = "https://api.mch.weixin.qq.com"
	// DefaultOAuthorizeBase is the host of WeChat's web OAuth authorize
	// page, where the browser (not the server) goes.
	DefaultOAuthorizeBase = "https://open.weixin.qq.com"
)

// defaultRequestTimeout bounds one call to WeChat when Config.RequestTimeout
// is zero: long enough for WeChat's slow moments, short enough that a payer
// waiting on createPayment gets an answer.
const defaultRequestTimeout = 10 * time.Second

// Config is the WeChat channel's configuration. The mini-program part (AppID,
// Secret) and the pay part (MchID … NotifyURL) are independent: a deployment
// may configure either or both, but a part it configures must be complete
// (see Validate). Pay needs AppID too, because a JSAPI order names the
// mini-program it is paid from.
type Config struct {
	// Mini-program (LIANBAN_WECHAT_*).
	AppID   string // LIANBAN_WECHAT_APPID
	Secret  string // LIANBAN_WECHAT_SECRET
	APIBase string // LIANBAN_WECHAT_API_BASE; default DefaultAPIBase

	// Official account of 微信城市服务 (LIANBAN_WECHAT_OA_*): web OAuth for
	// the H5 pages opened inside WeChat, and the appid their JSAPI payments
	// are made with. Its openids differ from the mini-program's (another
	// appid), so its users are the separate login channel wechat_web.
	OAAppID  string // LIANBAN_WECHAT_OA_APPID
	OASecret string // LIANBAN_WECHAT_OA_SECRET
	// OARedirectURIs are the H5 pages WeChat may send people back to
	// with a code (LIANBAN_WECHAT_OA_REDIRECT_URIS), exactly: a login
	// starts only towards one of them.
	OARedirectURIs []string
	// OAAuthorizeBase is the authorize page's host; default
	// DefaultOAuthorizeBase (a fake's in the sandbox).
	OAAuthorizeBase string

	// WeChat Pay v3 (LIANBAN_WECHATPAY_*).
	MchID     string          // merchant id (商户号), LIANBAN_WECHATPAY_MCHID
	MchSerial string          // serial number of the merchant API certificate, LIANBAN_WECHATPAY_MCH_SERIAL
	MchKey    *rsa.PrivateKey // merchant API private key (apiclient_key.pem), LIANBAN_WECHATPAY_MCH_KEY_FILE
	APIv3Key  string          // 32-byte APIv3 key that encrypts notifications, LIANBAN_WECHATPAY_APIV3_KEY

	// Public-key mode: WeChat Pay's public key and its id (PUB_KEY_ID_…).
	PubKeyID string         // LIANBAN_WECHATPAY_PUBKEY_ID
	PubKey   *rsa.PublicKey // LIANBAN_WECHATPAY_PUBKEY_FILE
	// Certificate mode: WeChat Pay platform certificates, looked up by the
	// Wechatpay-Serial of each response and notification. Optional; with
	// PubKey also set, either is accepted.
	PlatformCerts []*x509.Certificate // LIANBAN_WECHATPAY_PLATFORM_CERT_FILE

	PayAPIBase string // LIANBAN_WECHATPAY_API_BASE; default DefaultPayAPIBase; scheme://host[:port] only
	NotifyURL  string // LIANBAN_WECHATPAY_NOTIFY_URL: where WeChat Pay posts payment and refund notifications

	// Templates maps a message kind to its subscribe-message template id. A
	// kind without a template is not pushed.
	Templates map[models.MessageKind]string
	// MessageState is the mini-program version a subscribe message opens:
	// "formal" (default), "trial" or "developer".
	MessageState string

	// RequestTimeout bounds each call to WeChat; default 10 s.
	RequestTimeout time.Duration
	// Logger receives warnings the caller cannot act on (a Redis outage
	// while caching the access token). Nil discards them.
	Logger *slog.Logger
}

// MiniProgramConfigured reports whether any mini-program setting is present.
func (c Config) MiniProgramConfigured() bool { return c.AppID != "" || c.Secret != "" }

// OfficialAccountConfigured reports whether any official-account setting
// is present.
func (c Config) OfficialAccountConfigured() bool { return c.OAAppID != "" || c.OASecret != "" }

// ValidateOfficialAccount checks only the official-account part, which
// must be configured.
func (c Config) ValidateOfficialAccount() error {
	errs := c.validateOfficialAccount()
	if c.APIBase != "" {
		if err := checkBase(c.APIBase, true); err != nil {
			errs = append(errs, fmt.Errorf("wechat: APIBase (LIANBAN_WECHAT_API_BASE) %w", err))
		}
	}
	return errors.Join(errs...)
}

func (c Config) validateOfficialAccount() []error {
	var errs []error
	if c.OAAppID == "" {
		errs = append(errs, errors.New("wechat: official account partly configured: OAAppID (LIANBAN_WECHAT_OA_APPID) is missing"))
	}
	if c.OASecret == "" {
		errs = append(errs, errors.New("wechat: official account partly configured: OASecret (LIANBAN_WECHAT_OA_SECRET) is missing"))
	}
	if len(c.OARedirectURIs) == 0 {
		errs = append(errs, errors.New("wechat: official account: OARedirectURIs (LIANBAN_WECHAT_OA_REDIRECT_URIS) is empty: no H5 page may receive a login"))
	}
	if c.OAAppID != "" && c.OAAppID == c.AppID {
		errs = append(errs, errors.New("wechat: OAAppID (LIANBAN_WECHAT_OA_APPID) is the mini-program's appid; the official account has its own"))
	}
	return errs
}

// PayConfigured reports whether any WeChat Pay setting is present.
func (c Config) PayConfigured() bool {
	return c.MchID != "" || c.MchSerial != "" || c.MchKey != nil || c.APIv3Key != "" ||
		c.PubKeyID != "" || c.PubKey != nil || len(c.PlatformCerts) > 0 || c.NotifyURL != ""
}

// Validate reports every setting that is missing or malformed in a part that
// is partly configured, naming the field and its environment key. A config
// with neither part configured is valid (the channel is simply off).
func (c Config) Validate() error {
	var errs []error
	if c.MiniProgramConfigured() {
		errs = append(errs, c.validateMiniProgram()...)
	}
	if c.OfficialAccountConfigured() {
		errs = append(errs, c.validateOfficialAccount()...)
	}
	if c.PayConfigured() {
		errs = append(errs, c.validatePay()...)
	}
	if c.APIBase != "" {
		if err := checkBase(c.APIBase, true); err != nil {
			errs = append(errs, fmt.Errorf("wechat: APIBase (LIANBAN_WECHAT_API_BASE) %w", err))
		}
	}
	return errors.Join(errs...)
}

// ValidateMiniProgram checks only the mini-program part, which must be
// configured.
func (c Config) ValidateMiniProgram() error {
	errs := c.validateMiniProgram()
	if c.APIBase != "" {
		if err := checkBase(c.APIBase, true); err != nil {
			errs = append(errs, fmt.Errorf("wechat: APIBase (LIANBAN_WECHAT_API_BASE) %w", err))
		}
	}
	return errors.Join(errs...)
}

// ValidatePay checks only the pay part, which must be configured.
func (c Config) ValidatePay() error { return errors.Join(c.validatePay()...) }

func (c Config) validateMiniProgram() []error {
	var errs []error
	if c.AppID == "" {
		errs = append(errs, errors.New("wechat: mini-program partly configured: AppID (LIANBAN_WECHAT_APPID) is missing"))
	}
	if c.Secret == "" {
		errs = append(errs, errors.New("wechat: mini-program partly configured: Secret (LIANBAN_WECHAT_SECRET) is missing"))
	}
	return errs
}

func (c Config) validatePay() []error {
	var errs []error
	missing := func(field, env string) {
		errs = append(errs, fmt.Errorf("wechat: WeChat Pay partly configured: %s (%s) is missing", field, env))
	}
	if c.AppID == "" && c.OAAppID == "" {
		// JSAPI orders name the app they are paid from: the mini-program,
		// the official account, or both (each its own payers).
		missing("AppID or OAAppID", "LIANBAN_WECHAT_APPID or LIANBAN_WECHAT_OA_APPID")
	}
	if c.MchID == "" {
		missing("MchID", "LIANBAN_WECHATPAY_MCHID")
	}
	if c.MchSerial == "" {
		missing("MchSerial", "LIANBAN_WECHATPAY_MCH_SERIAL")
	}
	if c.MchKey == nil {
		missing("MchKey", "LIANBAN_WECHATPAY_MCH_KEY_FILE")
	}
	switch {
	case c.APIv3Key == "":
		missing("APIv3Key", "LIANBAN_WECHATPAY_APIV3_KEY")
	case len(c.APIv3Key) != 32:
		// AES-256-GCM takes the key's bytes as they are; WeChat's keys are
		// 32 ASCII characters. Any other length is a copy-paste error.
		errs = append(errs, fmt.Errorf("wechat: APIv3Key (LIANBAN_WECHATPAY_APIV3_KEY) must be 32 bytes, got %d", len(c.APIv3Key)))
	}
	switch {
	case c.PubKeyID != "" && c.PubKey == nil:
		missing("PubKey", "LIANBAN_WECHATPAY_PUBKEY_FILE")
	case c.PubKeyID == "" && c.PubKey != nil:
		missing("PubKeyID", "LIANBAN_WECHATPAY_PUBKEY_ID")
	case c.PubKey == nil && len(c.PlatformCerts) == 0:
		errs = append(errs, errors.New("wechat: WeChat Pay partly configured: the WeChat Pay public key "+
			"(LIANBAN_WECHATPAY_PUBKEY_ID and LIANBAN_WECHATPAY_PUBKEY_FILE) or platform certificates "+
			"(LIANBAN_WECHATPAY_PLATFORM_CERT_FILE) are missing"))
	}
	for i, cert := range c.PlatformCerts {
		if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
			errs = append(errs, fmt.Errorf("wechat: platform certificate %d has no RSA public key", i+1))
		}
	}
	if c.NotifyURL == "" {
		missing("NotifyURL", "LIANBAN_WECHATPAY_NOTIFY_URL")
	} else if u, err := url.Parse(c.NotifyURL); err != nil || !u.IsAbs() || u.Host == "" || u.RawQuery != "" {
		// WeChat Pay rejects a notify_url with a query string.
		errs = append(errs, errors.New("wechat: NotifyURL (LIANBAN_WECHATPAY_NOTIFY_URL) must be an absolute URL without a query"))
	}
	if c.PayAPIBase != "" {
		if err := checkBase(c.PayAPIBase, false); err != nil {
			errs = append(errs, fmt.Errorf("wechat: PayAPIBase (LIANBAN_WECHATPAY_API_BASE) %w", err))
		}
	}
	return errs
}

// checkBase checks a base URL. The pay base may not have a path: the
// merchant signature covers the request path, so a prefix added on the way
// would make every signature wrong at the server.
func checkBase(base string, pathAllowed bool) error {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an http(s) URL")
	}
	if !pathAllowed && strings.Trim(u.Path, "/") != "" {
		return errors.New("must be scheme://host[:port] without a path")
	}
	if u.RawQuery != "" {
		return errors.New("must not have a query")
	}
	return nil
}

func (c Config) apiBase() string {
	if c.APIBase == "" {
		return DefaultAPIBase
	}
	return strings.TrimRight(c.APIBase, "/")
}

func (c Config) payAPIBase() string {
	if c.PayAPIBase == "" {
		return DefaultPayAPIBase
	}
	return strings.TrimRight(c.PayAPIBase, "/")
}

func (c Config) timeout() time.Duration {
	if c.RequestTimeout <= 0 {
		return defaultRequestTimeout
	}
	return c.RequestTimeout
}

func (c Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// String prints the configuration with its secrets masked, so a config
// logged by accident gives nothing away.
func (c Config) String() string {
	return fmt.Sprintf("wechat.Config{AppID:%q Secret:%s APIBase:%q OAAppID:%q OASecret:%s MchID:%q MchSerial:%q MchKey:%s APIv3Key:%s "+
		"PubKeyID:%q PubKey:%t PlatformCerts:%d PayAPIBase:%q NotifyURL:%q Templates:%d}",
		c.AppID, mask(c.Secret != ""), c.APIBase, c.OAAppID, mask(c.OASecret != ""), c.MchID, c.MchSerial, mask(c.MchKey != nil), mask(c.APIv3Key != ""),
		c.PubKeyID, c.PubKey != nil, len(c.PlatformCerts), c.PayAPIBase, c.NotifyURL, len(c.Templates))
}

// LogValue makes slog print the masked form too.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

func mask(set bool) string {
	if set {
		return "***"
	}
	return `""`
}

// KeyFiles names the PEM files of a WeChat Pay merchant. Empty names are
// skipped, so public-key mode and certificate mode each set what they use.
type KeyFiles struct {
	MchKey        string // merchant API private key (apiclient_key.pem), PKCS#1 or PKCS#8
	PubKey        string // WeChat Pay public key (pub_key.pem), PKIX or PKCS#1
	PlatformCerts string // one file with one or more WeChat Pay platform certificates
}

// LoadKeyFiles reads the key files named in f into c. Errors name the file
// and the problem, never the file's contents.
func (c *Config) LoadKeyFiles(f KeyFiles) error {
	var errs []error
	if f.MchKey != "" {
		b, err := os.ReadFile(f.MchKey)
		if err == nil {
			c.MchKey, err = ParsePrivateKeyPEM(b)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("wechat: merchant key file %s: %w", f.MchKey, err))
		}
	}
	if f.PubKey != "" {
		b, err := os.ReadFile(f.PubKey)
		if err == nil {
			c.PubKey, err = ParsePublicKeyPEM(b)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("wechat: WeChat Pay public key file %s: %w", f.PubKey, err))
		}
	}
	if f.PlatformCerts != "" {
		b, err := os.ReadFile(f.PlatformCerts)
		if err == nil {
			c.PlatformCerts, err = ParseCertificatesPEM(b)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("wechat: platform certificate file %s: %w", f.PlatformCerts, err))
		}
	}
	return errors.Join(errs...)
}

// ParsePrivateKeyPEM parses an RSA private key in PEM, PKCS#1 ("RSA PRIVATE
// KEY") or PKCS#8 ("PRIVATE KEY"). WeChat's tool writes PKCS#8; keys
// converted with openssl are often PKCS#1.
func ParsePrivateKeyPEM(b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("malformed PKCS#1 RSA private key")
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("malformed PKCS#8 private key")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("not an RSA private key")
		}
		return rk, nil
	}
	return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
}

// ParsePublicKeyPEM parses an RSA public key in PEM, PKIX ("PUBLIC KEY", the
// form WeChat Pay publishes) or PKCS#1 ("RSA PUBLIC KEY").
func ParsePublicKeyPEM(b []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, errors.New("malformed PKIX public key")
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("not an RSA public key")
		}
		return rk, nil
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, errors.New("malformed PKCS#1 RSA public key")
		}
		return k, nil
	}
	return nil, fmt.Errorf("PEM block %q is not a public key", block.Type)
}

// ParseCertificatesPEM parses every CERTIFICATE block in b; there must be at
// least one. During a platform certificate rotation WeChat Pay signs with
// either the old or the new certificate, so the file holds both.
func ParseCertificatesPEM(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d is malformed", len(certs)+1)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, errors.New("no CERTIFICATE block found")
	}
	return certs, nil
}
