package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lianban/lianban/store"
)

// Config is every setting of the server. Each field has one environment
// key (the keys of API.md), a default, and whether it is a secret that is
// masked when the configuration is printed.
type Config struct {
	Addr           string
	Database       string
	Redis          string
	Sandbox        bool
	PIIKey         string
	PublicURL      string
	DataDir        string
	LogLevel       string
	WorkerInterval time.Duration
	// WorkLease is how long an instance's claim on a piece of background
	// work lasts (kernel.ClaimWork): the work of an instance that died is
	// taken over when its claims end.
	WorkLease      time.Duration
	CreditDelay    time.Duration
	BookDelay      time.Duration
	ShutdownGrace  time.Duration
	CertSigningKey string
	TrustedProxies string
	// PprofAddr is where net/http/pprof listens, on its own listener and
	// mux so profiles are never reachable through the API's address;
	// empty (the default) starts no listener at all.
	PprofAddr    string
	BankURL      string
	BankMerchant string
	BankKey      string
	// BlobDir keeps uploaded files when no S3-compatible store is set;
	// empty means DataDir/blobs.
	BlobDir                                    string
	BlobS3Endpoint, BlobS3Bucket, BlobS3Region string
	BlobS3AccessKey, BlobS3SecretKey           string
	BlobS3SSL                                  bool
	// SandboxOpenWindows opens the flexible schemes' collection windows
	// of the current year for the whole year in sandbox mode (see main.go).
	SandboxOpenWindows bool

	WechatAppID, WechatSecret, WechatAPIBase                                   string
	WechatOAAppID, WechatOASecret                                              string
	WechatOARedirectURIs                                                       string
	WechatPayMchID, WechatPayMchSerial, WechatPayMchKeyFile, WechatPayAPIv3Key string
	WechatPayPubKeyID, WechatPayPubKeyFile, WechatPayPlatformCertFile          string
	WechatPayAPIBase, WechatPayNotifyURL                                       string
	WechatTplPaymentSucceeded, WechatTplRefundResult, WechatTplPeriodEnding    string
	AlipayAppID, AlipayPrivateKeyFile, AlipayPublicKeyFile, AlipaySellerID     string
	AlipayGateway, AlipayNotifyURL                                             string
	AlipayAppCertFile, AlipayRootCertFile, AlipayPublicCertFile                string
	AlipayH5RedirectURIs                                                       string
	TaxAppJWKSURL, TaxAppIssuer, TaxAppAudience                                string
	MengsubanIssuer, MengsubanClientID, MengsubanClientSecret                  string
	MengsubanRedirectURIs                                                      string

	// SandboxExplicit records whether LIANBAN_SANDBOX was set (in the
	// environment or the config file) rather than left to its default:
	// only an explicit choice may expose sandbox mode beyond loopback.
	SandboxExplicit bool

	// PIIKeys and CertSigningKeys are the keyrings (newest last) beside
	// the single keys of before; Crypto chooses the suite (crypto.go).
	PIIKeys, CertSigningKeys, Crypto string
	// PIIWriteKey is the id of the PII key that seals new values; empty
	// is the newest (crypto.go).
	PIIWriteKey string
}

// field is one setting: its environment key, default, whether it is a
// secret masked when printed, and where it lives in Config.
type field struct {
	key, def string
	secret   bool
	ptr      any // *string, *bool or *time.Duration
}

func (f field) set(v string) error {
	switch p := f.ptr.(type) {
	case *string:
		*p = v
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return err
		}
		*p = b
	case *time.Duration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		*p = d
	}
	return nil
}

func (f field) get() string {
	switch p := f.ptr.(type) {
	case *string:
		return *p
	case *bool:
		return strconv.FormatBool(*p)
	case *time.Duration:
		return p.String()
	}
	return ""
}

// minWorkLease is the shortest LIANBAN_WORK_LEASE accepted (see LoadConfig).
const minWorkLease = time.Minute

// fields is the configuration table; README's table is written from it.
func (c *Config) fields() []field {
	return []field{
		{"LIANBAN_ADDR", "127.0.0.1:8080", false, &c.Addr},
		{"LIANBAN_DATABASE", "sqlite://data/lianban.db", true, &c.Database},
		{"LIANBAN_REDIS", "", true, &c.Redis},
		{"LIANBAN_SANDBOX", "true", false, &c.Sandbox},
		{"LIANBAN_PII_KEY", "", true, &c.PIIKey},
		{"LIANBAN_PII_KEYS", "", true, &c.PIIKeys},
		{"LIANBAN_PII_WRITE_KEY", "", false, &c.PIIWriteKey},
		{"LIANBAN_CRYPTO", cryptoIntl, false, &c.Crypto},
		{"LIANBAN_PUBLIC_URL", "", false, &c.PublicURL},
		{"LIANBAN_DATA_DIR", "data", false, &c.DataDir},
		{"LIANBAN_LOG_LEVEL", "info", false, &c.LogLevel},
		{"LIANBAN_WORKER_INTERVAL", "1s", false, &c.WorkerInterval},
		{"LIANBAN_WORK_LEASE", "5m", false, &c.WorkLease},
		{"LIANBAN_SANDBOX_CREDIT_DELAY", "2s", false, &c.CreditDelay},
		{"LIANBAN_SANDBOX_BOOK_DELAY", "4s", false, &c.BookDelay},
		{"LIANBAN_SANDBOX_OPEN_WINDOWS", "true", false, &c.SandboxOpenWindows},
		{"LIANBAN_SHUTDOWN_GRACE", "20s", false, &c.ShutdownGrace},
		{"LIANBAN_CERT_SIGNING_KEY", "", true, &c.CertSigningKey},
		{"LIANBAN_CERT_SIGNING_KEYS", "", true, &c.CertSigningKeys},
		{"LIANBAN_TRUSTED_PROXIES", "", false, &c.TrustedProxies},
		{"LIANBAN_PPROF_ADDR", "", false, &c.PprofAddr},
		{"LIANBAN_BANK_URL", "", false, &c.BankURL},
		{"LIANBAN_BANK_MERCHANT", "", false, &c.BankMerchant},
		{"LIANBAN_BANK_KEY", "", true, &c.BankKey},
		{"LIANBAN_BLOB_DIR", "", false, &c.BlobDir},
		{"LIANBAN_BLOB_S3_ENDPOINT", "", false, &c.BlobS3Endpoint},
		{"LIANBAN_BLOB_S3_BUCKET", "", false, &c.BlobS3Bucket},
		{"LIANBAN_BLOB_S3_REGION", "", false, &c.BlobS3Region},
		{"LIANBAN_BLOB_S3_ACCESS_KEY", "", true, &c.BlobS3AccessKey},
		{"LIANBAN_BLOB_S3_SECRET_KEY", "", true, &c.BlobS3SecretKey},
		{"LIANBAN_BLOB_S3_SSL", "true", false, &c.BlobS3SSL},
		{"LIANBAN_WECHAT_APPID", "", false, &c.WechatAppID},
		{"LIANBAN_WECHAT_SECRET", "", true, &c.WechatSecret},
		{"LIANBAN_WECHAT_API_BASE", "https://api.weixin.qq.com", false, &c.WechatAPIBase},
		{"LIANBAN_WECHAT_OA_APPID", "", false, &c.WechatOAAppID},
		{"LIANBAN_WECHAT_OA_SECRET", "", true, &c.WechatOASecret},
		{"LIANBAN_WECHAT_OA_REDIRECT_URIS", "", false, &c.WechatOARedirectURIs},
		{"LIANBAN_WECHAT_TPL_PAYMENT_SUCCEEDED", "", false, &c.WechatTplPaymentSucceeded},
		{"LIANBAN_WECHAT_TPL_REFUND_RESULT", "", false, &c.WechatTplRefundResult},
		{"LIANBAN_WECHAT_TPL_PERIOD_ENDING", "", false, &c.WechatTplPeriodEnding},
		{"LIANBAN_WECHATPAY_MCHID", "", false, &c.WechatPayMchID},
		{"LIANBAN_WECHATPAY_MCH_SERIAL", "", false, &c.WechatPayMchSerial},
		{"LIANBAN_WECHATPAY_MCH_KEY_FILE", "", false, &c.WechatPayMchKeyFile},
		{"LIANBAN_WECHATPAY_APIV3_KEY", "", true, &c.WechatPayAPIv3Key},
		{"LIANBAN_WECHATPAY_PUBKEY_ID", "", false, &c.WechatPayPubKeyID},
		{"LIANBAN_WECHATPAY_PUBKEY_FILE", "", false, &c.WechatPayPubKeyFile},
		{"LIANBAN_WECHATPAY_PLATFORM_CERT_FILE", "", false, &c.WechatPayPlatformCertFile},
		{"LIANBAN_WECHATPAY_API_BASE", "https://api.mch.weixin.qq.com", false, &c.WechatPayAPIBase},
		{"LIANBAN_WECHATPAY_NOTIFY_URL", "", false, &c.WechatPayNotifyURL},
		{"LIANBAN_ALIPAY_APPID", "", false, &c.AlipayAppID},
		{"LIANBAN_ALIPAY_PRIVATE_KEY_FILE", "", false, &c.AlipayPrivateKeyFile},
		{"LIANBAN_ALIPAY_PUBLIC_KEY_FILE", "", false, &c.AlipayPublicKeyFile},
		{"LIANBAN_ALIPAY_SELLER_ID", "", false, &c.AlipaySellerID},
		{"LIANBAN_ALIPAY_GATEWAY", "https://openapi.alipay.com/gateway.do", false, &c.AlipayGateway},
		{"LIANBAN_ALIPAY_NOTIFY_URL", "", false, &c.AlipayNotifyURL},
		{"LIANBAN_ALIPAY_APP_CERT_FILE", "", false, &c.AlipayAppCertFile},
		{"LIANBAN_ALIPAY_ROOT_CERT_FILE", "", false, &c.AlipayRootCertFile},
		{"LIANBAN_ALIPAY_PUBLIC_CERT_FILE", "", false, &c.AlipayPublicCertFile},
		{"LIANBAN_ALIPAY_H5_REDIRECT_URIS", "", false, &c.AlipayH5RedirectURIs},
		{"LIANBAN_TAXAPP_JWKS_URL", "", false, &c.TaxAppJWKSURL},
		{"LIANBAN_TAXAPP_ISSUER", "", false, &c.TaxAppIssuer},
		{"LIANBAN_TAXAPP_AUDIENCE", "", false, &c.TaxAppAudience},
		{"LIANBAN_MENGSUBAN_ISSUER", "", false, &c.MengsubanIssuer},
		{"LIANBAN_MENGSUBAN_CLIENT_ID", "", false, &c.MengsubanClientID},
		{"LIANBAN_MENGSUBAN_CLIENT_SECRET", "", true, &c.MengsubanClientSecret},
		{"LIANBAN_MENGSUBAN_REDIRECT_URIS", "", false, &c.MengsubanRedirectURIs},
	}
}

// LoadConfig reads the defaults, then a KEY=VALUE file if LIANBAN_CONFIG
// names one, then the environment (which wins).
func LoadConfig(getenv func(string) string) (Config, error) {
	var c Config
	fields := c.fields()
	values := map[string]string{}
	for _, f := range fields {
		values[f.key] = f.def
	}
	if path := getenv("LIANBAN_CONFIG"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			return c, fmt.Errorf("config file: %w", err)
		}
		fileValues, err := parseEnvFile(f)
		f.Close()
		if err != nil {
			return c, fmt.Errorf("config file %s: %w", path, err)
		}
		for k, v := range fileValues {
			if _, ok := values[k]; !ok {
				return c, fmt.Errorf("config file %s: unknown key %s", path, k)
			}
			values[k] = v
			if k == "LIANBAN_SANDBOX" {
				c.SandboxExplicit = true
			}
		}
	}
	if getenv("LIANBAN_SANDBOX") != "" {
		c.SandboxExplicit = true
	}
	for _, f := range fields {
		if v := getenv(f.key); v != "" {
			values[f.key] = v
		}
		if err := f.set(values[f.key]); err != nil {
			return c, fmt.Errorf("%s: %w", f.key, err)
		}
	}
	// A claim is not renewed while its work runs. Work that outlasts its
	// lease lets a second instance take the object from a live holder and
	// ask the channel again, with the same order or refund number: the
	// channel honours it once, so no money moves twice, but the work is
	// no longer one instance's at a time. A minute covers an outside call
	// and its retry at the channels' 10–15 s timeouts and the writes after
	// them; a piece of work that calls several slow parties in a row (a
	// refund sent, then its messages pushed) can still run longer.
	if c.WorkLease < minWorkLease {
		return c, fmt.Errorf("LIANBAN_WORK_LEASE: %s is shorter than %s: background work (an outside call and its retry) would often outlast its claim", c.WorkLease, minWorkLease)
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	return c, nil
}

func parseEnvFile(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: want KEY=VALUE", n)
		}
		out[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return out, sc.Err()
}

// Masked lists the configuration as KEY=value with secrets hidden, for
// the start-up log.
func (c Config) Masked() map[string]string {
	out := map[string]string{}
	for _, f := range c.fields() {
		v := f.get()
		if f.secret && v != "" {
			v = "******"
			if f.key == "LIANBAN_DATABASE" || f.key == "LIANBAN_REDIS" {
				v = store.RedactURL(f.get())
			}
		}
		out[f.key] = v
	}
	return out
}

// checkSandbox refuses a configuration that would serve sandbox mode
// (loginSandbox logs in as anyone; any name is accepted for a new ID
// number) by accident. The default stays sandbox so that one command runs
// the demo, but only on a loopback address and with no real channel keys:
// listening beyond the machine, or holding keys for a real provider, says
// this is a deployment, and a deployment must choose LIANBAN_SANDBOX
// explicitly.
func (c Config) checkSandbox() error {
	if !c.Sandbox || c.SandboxExplicit {
		return nil
	}
	if !loopbackAddr(c.Addr) {
		return fmt.Errorf("LIANBAN_SANDBOX is not set and LIANBAN_ADDR %q listens beyond this machine: sandbox mode "+
			"(log in as anyone, no identity check) would be reachable from the network; set LIANBAN_SANDBOX=false "+
			"for production, or LIANBAN_SANDBOX=true to expose a sandbox on purpose", c.Addr)
	}
	if keys := c.realChannelKeys(); len(keys) > 0 {
		return fmt.Errorf("LIANBAN_SANDBOX is not set but real channel keys are configured (%s): "+
			"set LIANBAN_SANDBOX=false for production, or LIANBAN_SANDBOX=true to try real channels in a sandbox on purpose",
			strings.Join(keys, ", "))
	}
	return nil
}

// realChannelKeys lists the configured settings that are credentials for
// a real provider: the secrets, merchant ids and private keys of WeChat,
// WeChat Pay, Alipay and the partner bank. App ids alone are not (the
// in-process fakes take the mini-program's own), nor are base URLs.
func (c Config) realChannelKeys() []string {
	var out []string
	for _, f := range c.fields() {
		switch f.key {
		case "LIANBAN_WECHAT_SECRET", "LIANBAN_WECHAT_OA_SECRET", "LIANBAN_WECHATPAY_MCHID", "LIANBAN_WECHATPAY_MCH_KEY_FILE", "LIANBAN_WECHATPAY_APIV3_KEY",
			"LIANBAN_ALIPAY_APPID", "LIANBAN_ALIPAY_PRIVATE_KEY_FILE", "LIANBAN_BANK_URL", "LIANBAN_BANK_MERCHANT", "LIANBAN_BANK_KEY",
			"LIANBAN_TAXAPP_JWKS_URL", "LIANBAN_MENGSUBAN_CLIENT_SECRET":
			if f.get() != "" {
				out = append(out, f.key)
			}
		}
	}
	return out
}

// loopbackAddr reports whether a listen address accepts connections only
// from this machine: an IP literal in 127.0.0.0/8 or ::1, or "localhost".
// An empty host (all interfaces) or any other name is not loopback.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
