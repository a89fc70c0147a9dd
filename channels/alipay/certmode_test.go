package alipay_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/alipay"
	"github.com/lianban/lianban/channels/alipay/alipayfake"
	"github.com/lianban/lianban/models"
)

const certDownload = "alipay.open.app.alipaycert.download"

func newCertEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, alipayfake.Options{CertMode: true}, "")
	if !e.cfg.CertMode() || e.cfg.AlipayPublicKey != "" {
		t.Fatalf("the fake's client config is not in certificate mode: %s", e.cfg)
	}
	return e
}

func TestCertModePaymentAndNotification(t *testing.T) {
	e := newCertEnv(t)
	ctx := context.Background()
	// The fake refuses any request without the application's app_cert_sn
	// and the root's alipay_root_cert_sn, and every answer it signs names
	// its certificate: the whole trade below runs in certificate mode.
	tradeNo := paidOrder(t, e, "LB202603020301", 38000)
	v := e.fake.Notification("LB202603020301")
	if v.Get("alipay_cert_sn") != e.fake.AlipayCertSN() {
		t.Fatalf("notification names certificate %q", v.Get("alipay_cert_sn"))
	}
	n, err := e.client.ParseNotification(ctx, post(v))
	if err != nil || !n.Paid || n.Amount != 38000 || n.TransactionID != tradeNo {
		t.Fatalf("%+v, %v", n, err)
	}
	if tr, err := e.client.Query(ctx, "LB202603020301"); err != nil || tr.State != models.TradePaid {
		t.Fatalf("query %+v, %v", tr, err)
	}
	if n := e.fake.Calls(certDownload); n != 0 {
		t.Fatalf("%d certificate downloads for the configured certificate", n)
	}

	t.Run("a notification naming no certificate is checked against the trusted ones", func(t *testing.T) {
		bare := url.Values{}
		for k, vs := range v {
			if k != "alipay_cert_sn" {
				bare[k] = vs
			}
		}
		if _, err := e.client.ParseNotification(ctx, post(bare)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("tampered after signing is refused", func(t *testing.T) {
		_, err := e.client.ParseNotification(ctx, post(alipayfake.Tamper(v, "total_amount", "0.01")))
		wantIs(t, err, models.ErrNotificationInvalid)
	})
	t.Run("a public-key-mode client is refused by a certificate-mode gateway", func(t *testing.T) {
		cfg := e.cfg
		cfg.AppCert, cfg.AlipayRootCert, cfg.AlipayPublicCerts = "", "", ""
		cfg.AlipayPublicKey = e.fake.AlipayPublicKeyPEM()
		c, err := alipay.New(cfg, nil, e.clock)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Query(ctx, "LB202603020301"); err == nil {
			t.Fatal("a request without app_cert_sn was answered")
		}
	})
}

func TestCertRotationKeepsNotificationsAndAnswersVerifying(t *testing.T) {
	e := newCertEnv(t)
	ctx := context.Background()
	paidOrder(t, e, "LB202603020311", 38000)
	before := e.fake.Notification("LB202603020311")
	old := e.fake.AlipayCertSN()

	newSN := e.fake.RotateCert()
	if newSN == old {
		t.Fatal("rotation kept the SN")
	}
	e.clock.Advance(time.Minute)
	e.prepay(t, "LB202603020312", 12000, buyer) // its answer is signed by the new certificate
	if n := e.fake.Calls(certDownload); n != 1 {
		t.Fatalf("%d downloads after the first answer signed by the new certificate, want 1", n)
	}
	e.pay(t, "LB202603020312")
	after := e.fake.Notification("LB202603020312")
	if after.Get("alipay_cert_sn") != newSN {
		t.Fatalf("the new notification names %q, want %q", after.Get("alipay_cert_sn"), newSN)
	}
	n, err := e.client.ParseNotification(ctx, post(after))
	if err != nil || !n.Paid || n.Amount != 12000 {
		t.Fatalf("notification signed by the rotated certificate: %+v, %v", n, err)
	}
	if _, err := e.client.ParseNotification(ctx, post(before)); err != nil {
		t.Fatalf("a retry signed by the old certificate: %v", err)
	}
	if n := e.fake.Calls(certDownload); n != 1 {
		t.Fatalf("%d downloads, want the one", n)
	}

	t.Run("a notification alone brings in a rotated certificate", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		third := e.fake.RotateCert()
		v := e.fake.Notification("LB202603020311") // re-signed now, by the third certificate
		if v.Get("alipay_cert_sn") != third {
			t.Fatalf("notification names %q", v.Get("alipay_cert_sn"))
		}
		if _, err := e.client.ParseNotification(ctx, post(v)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestUntrustedCertificatesAreRefused(t *testing.T) {
	e := newCertEnv(t)
	ctx := context.Background()
	paidOrder(t, e, "LB202603020321", 38000)

	t.Run("signed by a certificate of another CA that the gateway serves", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		v := e.fake.RogueNotification("LB202603020321")
		_, err := e.client.ParseNotification(ctx, post(v))
		wantIs(t, err, models.ErrNotificationInvalid)
		if !strings.Contains(err.Error(), "chain") {
			t.Fatalf("refused for another reason than the chain: %v", err)
		}
		downloads := e.fake.Calls(certDownload)
		e.clock.Advance(time.Minute)
		_, err = e.client.ParseNotification(ctx, post(v))
		wantIs(t, err, models.ErrNotificationInvalid)
		if e.fake.Calls(certDownload) != downloads {
			t.Fatal("a refused certificate was downloaded again")
		}
	})
	t.Run("signed by another application's certificate from Alipay's own CA", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		_, err := e.client.ParseNotification(ctx, post(e.fake.ForeignAppCertNotification("LB202603020321")))
		wantIs(t, err, models.ErrNotificationInvalid)
	})
	t.Run("signed by a certificate another application's certificate issued", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		_, err := e.client.ParseNotification(ctx, post(e.fake.ForgedUnderAppCertNotification("LB202603020321")))
		wantIs(t, err, models.ErrNotificationInvalid)
	})
	t.Run("signed by a certificate nobody can download", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		_, err := e.client.ParseNotification(ctx, post(e.fake.UnknownCertNotification("LB202603020321")))
		wantIs(t, err, models.ErrNotificationInvalid)
	})
	t.Run("made-up SNs in a burst cost at most one download", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		v := e.fake.Notification("LB202603020321")
		downloads := e.fake.Calls(certDownload)
		for _, sn := range []string{"0000000000000000000000000000000a", "0000000000000000000000000000000b", "0000000000000000000000000000000c"} {
			w := url.Values{}
			for k, vs := range v {
				w[k] = vs
			}
			w.Set("alipay_cert_sn", sn)
			_, err := e.client.ParseNotification(ctx, post(w))
			wantIs(t, err, models.ErrNotificationInvalid)
		}
		if got := e.fake.Calls(certDownload) - downloads; got != 1 {
			t.Fatalf("%d downloads for three made-up SNs within %s", got, 2*time.Second)
		}
	})
}

func TestCertModeConfiguration(t *testing.T) {
	e := newCertEnv(t)
	full := e.cfg
	if err := full.Validate(); err != nil {
		t.Fatal(err)
	}
	t.Run("some but not all of the certificates is an error naming the missing ones", func(t *testing.T) {
		cfg := full
		cfg.AlipayRootCert, cfg.AlipayPublicCerts = "", ""
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "LIANBAN_ALIPAY_ROOT_CERT_FILE") || !strings.Contains(err.Error(), "LIANBAN_ALIPAY_PUBLIC_CERT_FILE") ||
			strings.Contains(err.Error(), "LIANBAN_ALIPAY_PUBLIC_KEY_FILE") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("both modes at once is an error", func(t *testing.T) {
		cfg := full
		cfg.AlipayPublicKey = e.fake.AlipayPublicKeyPEM()
		if err := cfg.Validate(); err == nil {
			t.Fatal("accepted")
		}
	})
	t.Run("an application certificate of another key is an error", func(t *testing.T) {
		cfg := full
		cfg.AppCert = full.AlipayPublicCerts
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "AppCert") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("an Alipay certificate that does not chain to the root is an error", func(t *testing.T) {
		other := alipayfake.New(alipayfake.Options{CertMode: true, Clock: e.clock})
		t.Cleanup(other.Close)
		cfg := full
		cfg.AlipayPublicCerts = other.AlipayCertPEM()
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "chain") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("several certificates in the public certificate file are all trusted", func(t *testing.T) {
		oldFile := e.fake.AlipayCertPEM()
		paidOrder(t, e, "LB202603020331", 100)
		before := e.fake.Notification("LB202603020331")
		e.fake.RotateCert()
		e.clock.Advance(time.Minute)
		after := e.fake.Notification("LB202603020331")
		cfg := full
		cfg.AlipayPublicCerts = oldFile + e.fake.AlipayCertPEM()
		c, err := alipay.New(cfg, nil, e.clock)
		if err != nil {
			t.Fatal(err)
		}
		downloads := e.fake.Calls(certDownload)
		for _, v := range []url.Values{before, after} {
			if _, err := c.ParseNotification(context.Background(), post(v)); err != nil {
				t.Fatal(err)
			}
		}
		if e.fake.Calls(certDownload) != downloads {
			t.Fatal("a listed certificate was downloaded")
		}
	})
	t.Run("the files are read by LoadCertFiles", func(t *testing.T) {
		dir := t.TempDir()
		write := func(name, s string) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}
		cfg := full
		cfg.AppCert, cfg.AlipayRootCert, cfg.AlipayPublicCerts = "", "", ""
		if err := cfg.LoadCertFiles(write("app.crt", full.AppCert), write("root.crt", full.AlipayRootCert), write("ali.crt", full.AlipayPublicCerts)); err != nil {
			t.Fatal(err)
		}
		if cfg.Validate() != nil || cfg.AppCert != full.AppCert {
			t.Fatal("files not loaded")
		}
		if err := cfg.LoadCertFiles(filepath.Join(dir, "missing.crt"), "", ""); err == nil {
			t.Fatal("a missing file was accepted")
		}
	})
}

// Notifications naming made-up SNs are throttled to one download every
// 2 s; a stranger posting one every gap must not starve the download of
// the certificate Alipay really rotated to, which its own answers name.
func TestMadeUpSNsDoNotStarveARotation(t *testing.T) {
	e := newCertEnv(t)
	ctx := context.Background()
	paidOrder(t, e, "LB202603020341", 38000)
	v := e.fake.Notification("LB202603020341")
	newSN := e.fake.RotateCert()
	e.clock.Advance(time.Minute)
	v.Set("alipay_cert_sn", "0000000000000000000000000000000d") // the stranger, just before
	_, err := e.client.ParseNotification(ctx, post(v))
	wantIs(t, err, models.ErrNotificationInvalid)
	if tr, err := e.client.Query(ctx, "LB202603020341"); err != nil || tr.State != models.TradePaid {
		t.Fatalf("a query answered under the rotated certificate %s: %+v, %v", newSN, tr, err)
	}
}
