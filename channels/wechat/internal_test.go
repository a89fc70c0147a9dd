package wechat

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
)

const billHead = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n"

const billSummary = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n`3,`1234.66,`50.00,`0.00,`7.40000,`1234.66,`50.00\r\n"

func TestParseTradeBill(t *testing.T) {
	bill := "\ufeff" + billHead +
		"`2026-01-15 10:00:00,`wxapp,`1900000109,`0,`,`4200000001,`LB-1,`o-1,`JSAPI,`SUCCESS,`OTHERS,`CNY,`0.10,`0.00,`0,`0,`0.00,`0.00,`,`,`城乡居民医保,`,`0.00060,`0.60%,`0.10,`0.00,`\r\n" +
		"`2026-01-15 11:30:00,`wxapp,`1900000109,`0,`,`4200000002,`LB-2,`o-2,`JSAPI,`SUCCESS,`OTHERS,`CNY,`1234.56,`0.00,`0,`0,`0.00,`0.00,`,`,`灵活就业,养老,`{\"a\":1},`7.40736,`0.60%,`1234.56,`0.00,`\r\n" +
		"`2026-01-15 12:00:00,`wxapp,`1900000109,`0,`,`4200000003,`LB-0,`o-3,`JSAPI,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50300001,`RF-1,`50.00,`0.00,`ORIGINAL,`SUCCESS,`城乡居民医保,`,`-0.30000,`0.60%,`0.00,`50.00,`\r\n" +
		billSummary
	lines, err := parseTradeBill(strings.NewReader(bill))
	if err != nil {
		t.Fatal(err)
	}
	want := []models.BillLine{
		{OrderNo: "LB-1", TransactionID: "4200000001", Amount: 10, State: models.TradePaid, At: time.Date(2026, 1, 15, 2, 0, 0, 0, time.UTC)},
		{OrderNo: "LB-2", TransactionID: "4200000002", Amount: 123456, State: models.TradePaid, At: time.Date(2026, 1, 15, 3, 30, 0, 0, time.UTC)},
		{OrderNo: "LB-0", TransactionID: "4200000003", RefundAmount: 5000, State: models.TradePaid, At: time.Date(2026, 1, 15, 4, 0, 0, 0, time.UTC)},
	}
	if len(lines) != len(want) {
		t.Fatalf("lines = %+v", lines)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d = %+v, want %+v", i, lines[i], want[i])
		}
	}

	t.Run("the variant with refund time columns parses by column name", func(t *testing.T) {
		head := strings.Replace(billHead, "代金券金额,", "代金券金额,退款申请时间,退款成功时间,", 1)
		b := head + "`2026-01-15 12:00:00,`wx,`1,`0,`,`42,`LB-9,`o,`JSAPI,`REFUND,`CFT,`CNY,`0.00,`0.00,`2026-01-15 12:00:00,`2026-01-15 12:00:04,`503,`RF-9,`0.01,`0.00,`ORIGINAL,`SUCCESS,`x,`,`0.00000,`0.60%,`0.00,`0.01,`\r\n" + billSummary
		lines, err := parseTradeBill(strings.NewReader(b))
		if err != nil || len(lines) != 1 || lines[0].RefundAmount != 1 || lines[0].OrderNo != "LB-9" {
			t.Fatalf("lines = %+v, %v", lines, err)
		}
	})
	for _, tc := range []struct{ name, bill string }{
		{"a bill without its summary is truncated", billHead + "`2026-01-15 10:00:00,`wx,`1,`0,`,`42,`LB-1,`o,`JSAPI,`SUCCESS,`OTHERS,`CNY,`0.10,`0.00,`0,`0,`0.00,`0.00,`,`,`x,`,`0.00060,`0.60%,`0.10,`0.00,`\r\n"},
		{"an amount with three decimals is refused", billHead + "`2026-01-15 10:00:00,`wx,`1,`0,`,`42,`LB-1,`o,`JSAPI,`SUCCESS,`OTHERS,`CNY,`0.105,`0.00,`0,`0,`0.00,`0.00,`,`,`x,`,`0.00060,`0.60%,`0.105,`0.00,`\r\n" + billSummary},
		{"a short line is refused", billHead + "`2026-01-15 10:00:00,`wx\r\n" + billSummary},
		{"a header without the order number is refused", "交易时间,微信订单号,交易状态\r\n" + billSummary},
		{"an empty file is refused", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if lines, err := parseTradeBill(strings.NewReader(tc.bill)); err == nil {
				t.Fatalf("parsed %+v", lines)
			}
		})
	}
}

func TestConfigValidateNamesWhatIsMissing(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	full := Config{AppID: "wx1", Secret: "s", MchID: "19", MchSerial: "AB", MchKey: key,
		APIv3Key: strings.Repeat("k", 32), PubKeyID: "PUB_KEY_ID_1", PubKey: &key.PublicKey,
		NotifyURL: "https://lianban.example/api/v1/notify/wechatpay"}
	if err := full.Validate(); err != nil {
		t.Fatalf("a full config: %v", err)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("an empty config (channel off): %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   []string
	}{
		{"an official account without its H5 pages names LIANBAN_WECHAT_OA_REDIRECT_URIS", func(c *Config) { c.OAAppID, c.OASecret = "wxoa", "s" },
			[]string{"LIANBAN_WECHAT_OA_REDIRECT_URIS"}},
		{"a mini-program without secret names LIANBAN_WECHAT_SECRET", func(c *Config) { *c = Config{AppID: "wx1"} }, []string{"LIANBAN_WECHAT_SECRET"}},
		{"pay without merchant key names its file key", func(c *Config) { c.MchKey = nil }, []string{"LIANBAN_WECHATPAY_MCH_KEY_FILE"}},
		{"pay without any WeChat Pay key names both modes", func(c *Config) { c.PubKeyID, c.PubKey = "", nil },
			[]string{"LIANBAN_WECHATPAY_PUBKEY_FILE", "LIANBAN_WECHATPAY_PLATFORM_CERT_FILE"}},
		{"a public key without its id names the id", func(c *Config) { c.PubKeyID = "" }, []string{"LIANBAN_WECHATPAY_PUBKEY_ID"}},
		{"a short APIv3 key is refused", func(c *Config) { c.APIv3Key = "short" }, []string{"32 bytes"}},
		{"a notify URL with a query is refused", func(c *Config) { c.NotifyURL = "https://x.example/n?a=1" }, []string{"LIANBAN_WECHATPAY_NOTIFY_URL"}},
		{"a pay base with a path is refused", func(c *Config) { c.PayAPIBase = "https://proxy.example/wechatpay" }, []string{"LIANBAN_WECHATPAY_API_BASE"}},
		{"pay with only a merchant id lists everything else", func(c *Config) { *c = Config{MchID: "19"} },
			[]string{"LIANBAN_WECHAT_APPID", "LIANBAN_WECHATPAY_MCH_SERIAL", "LIANBAN_WECHATPAY_APIV3_KEY", "LIANBAN_WECHATPAY_NOTIFY_URL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := full
			tc.change(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
	if s := full.String(); strings.Contains(s, full.APIv3Key) || strings.Contains(s, "N:") {
		t.Fatalf("String leaks secrets: %s", s)
	}
}

func TestLoadKeyFilesReadsPKCS1AndPKCS8(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	pkix, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	for _, tc := range []struct{ name, file string }{
		{"PKCS#1", write("k1.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))},
		{"PKCS#8", write("k8.pem", "PRIVATE KEY", pkcs8)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			if err := c.LoadKeyFiles(KeyFiles{MchKey: tc.file, PubKey: write("pub.pem", "PUBLIC KEY", pkix)}); err != nil {
				t.Fatal(err)
			}
			if !c.MchKey.Equal(key) || !c.PubKey.Equal(&key.PublicKey) {
				t.Fatal("keys differ")
			}
		})
	}
	t.Run("a missing or wrong file is named in the error", func(t *testing.T) {
		var c Config
		err := c.LoadKeyFiles(KeyFiles{MchKey: filepath.Join(dir, "nope.pem"), PlatformCerts: write("notcert.pem", "PUBLIC KEY", pkix)})
		if err == nil || !strings.Contains(err.Error(), "nope.pem") || !strings.Contains(err.Error(), "notcert.pem") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestHostRewriterSendsWeChatPayHostsToTheBase(t *testing.T) {
	var got string
	rt := &hostRewriter{scheme: "http", host: "127.0.0.1:9", base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r.URL.String()
		return nil, errors.New("stop")
	})}
	r, _ := http.NewRequest(http.MethodGet, "https://api.mch.weixin.qq.com/v3/pay/transactions/out-trade-no/X?mchid=1", nil)
	_, _ = rt.RoundTrip(r)
	if got != "http://127.0.0.1:9/v3/pay/transactions/out-trade-no/X?mchid=1" || r.URL.Host != "api.mch.weixin.qq.com" {
		t.Fatalf("sent to %s; original now %s", got, r.URL)
	}
	r, _ = http.NewRequest(http.MethodGet, "https://example.com/x", nil)
	_, _ = rt.RoundTrip(r)
	if got != "https://example.com/x" {
		t.Fatalf("other host rewritten to %s", got)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
