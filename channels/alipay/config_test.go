package alipay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lianban/lianban/channels/alipay"
	"github.com/lianban/lianban/channels/alipay/alipayfake"
)

func TestAnEmptyConfigIsNotConfigured(t *testing.T) {
	if (alipay.Config{}).Configured() {
		t.Fatal("empty config reports configured")
	}
	if !(alipay.Config{SellerID: "2088"}).Configured() {
		t.Fatal("a config with a seller id reports not configured")
	}
}

func TestValidateNamesEverythingMissingFromAPartialConfig(t *testing.T) {
	err := alipay.Config{AppID: "2021000000000001", Gateway: "https://openapi.alipay.com/gateway.do"}.Validate()
	if err == nil {
		t.Fatal("partial config accepted")
	}
	for _, want := range []string{"PrivateKey (LIANBAN_ALIPAY_PRIVATE_KEY_FILE)", "AlipayPublicKey (LIANBAN_ALIPAY_PUBLIC_KEY_FILE)", "NotifyURL (LIANBAN_ALIPAY_NOTIFY_URL)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "AppID") {
		t.Errorf("error %q names AppID, which is set", err)
	}
}

func TestValidateRefusesTheAppsOwnPublicKeyAsAlipays(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	cfg := e.cfg
	cfg.AlipayPublicKey = e.fake.AppPublicKeyPEM()
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "own public key") {
		t.Fatalf("got %v", err)
	}
}

func TestValidateRefusesUnreadableKeysAndRelativeURLs(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	cfg := e.cfg
	cfg.PrivateKey = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"
	cfg.NotifyURL = "/api/v1/notify/alipay"
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "PrivateKey") || !strings.Contains(err.Error(), "NotifyURL") {
		t.Fatalf("got %v", err)
	}
}

func TestPrivateKeysAreReadInEveryFormAlipaysToolsProduce(t *testing.T) {
	app, _ := testKeys()
	pkcs1 := x509.MarshalPKCS1PrivateKey(app)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(app)
	if err != nil {
		t.Fatal(err)
	}
	forms := map[string]string{
		"PKCS#1 PEM":    string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: pkcs1})),
		"PKCS#8 PEM":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})),
		"PKCS#1 base64": base64.StdEncoding.EncodeToString(pkcs1),
		"PKCS#8 base64": base64.StdEncoding.EncodeToString(pkcs8),
	}
	e := newEnv(t, alipayfake.Options{}, "")
	for name, key := range forms {
		t.Run(name, func(t *testing.T) {
			cfg := e.cfg
			cfg.PrivateKey = key
			c, err := alipay.New(cfg, nil, e.clock)
			if err != nil {
				t.Fatal(err)
			}
			// The gateway accepts the request's signature.
			if _, err := c.Login(context.Background(), "code"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAlipaysPublicKeyMayBeBareBase64(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	block, _ := pem.Decode([]byte(e.fake.AlipayPublicKeyPEM()))
	cfg := e.cfg
	cfg.AlipayPublicKey = base64.StdEncoding.EncodeToString(block.Bytes)
	c, err := alipay.New(cfg, nil, e.clock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(context.Background(), "code"); err != nil {
		t.Fatal(err)
	}
}

func TestKeysAreLoadedFromFiles(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, "app_private.pem"), filepath.Join(dir, "alipay_public.pem")
	if err := os.WriteFile(priv, []byte(e.fake.AppPrivateKeyPEM()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, []byte(e.fake.AlipayPublicKeyPEM()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := alipay.Config{AppID: e.fake.AppID(), SellerID: e.fake.SellerID(), Gateway: e.fake.GatewayURL(), NotifyURL: "https://lianban.example/api/v1/notify/alipay"}
	if err := cfg.LoadKeyFiles(priv, pub); err != nil {
		t.Fatal(err)
	}
	c, err := alipay.New(cfg, nil, e.clock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(context.Background(), "code"); err != nil {
		t.Fatal(err)
	}
	if err := cfg.LoadKeyFiles(filepath.Join(dir, "missing.pem"), ""); err == nil {
		t.Fatal("a missing key file was accepted")
	}
}

func TestPrintingAConfigNeverShowsTheKeys(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	secret := strings.Split(e.cfg.PrivateKey, "\n")[1]
	for _, format := range []string{"%v", "%+v", "%s", "%#v"} {
		if out := fmt.Sprintf(format, e.cfg); strings.Contains(out, secret) || strings.Contains(out, "BEGIN") {
			t.Errorf("%s prints the key: %s", format, out)
		}
	}
}

func TestTheGatewayRejectsARequestSignedWithAnotherKey(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	stranger, err := rsa.GenerateKey(rand.Reader, 1024) // small: only its difference matters
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.cfg
	cfg.PrivateKey = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(stranger)}))
	c, err := alipay.New(cfg, nil, e.clock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(context.Background(), "code"); err == nil {
		t.Fatal("the fake accepted a request signed with the wrong key")
	}
	if n := e.fake.Calls("alipay.system.oauth.token"); n != 0 {
		t.Fatalf("the fake counted %d verified calls", n)
	}
}

func TestTheFakeGeneratesItsOwnKeys(t *testing.T) {
	f := alipayfake.New(alipayfake.Options{})
	defer f.Close()
	if f.AppPublicKeyPEM() == f.AlipayPublicKeyPEM() {
		t.Fatal("the application and Alipay share a key")
	}
	if err := f.ClientConfig("https://lianban.example/notify").Validate(); err != nil {
		t.Fatal(err)
	}
}
