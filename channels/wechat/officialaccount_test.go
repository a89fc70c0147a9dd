package wechat_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/wechat"
	"github.com/lianban/lianban/channels/wechat/wechatfake"
	"github.com/lianban/lianban/models"
)

func TestOfficialAccountLogin(t *testing.T) {
	f := startFake(t, wechatfake.Options{})
	f.AddOAUser("oa-code-alice", "o-oa-alice", "u-alice")
	oa := wechat.NewOfficialAccount(f.ClientConfig(testNotifyURL), nil)
	ctx := context.Background()

	t.Run("a good code logs in as the official account's openid, channel wechat_web", func(t *testing.T) {
		id, err := oa.Login(ctx, "oa-code-alice")
		if err != nil {
			t.Fatal(err)
		}
		if id.Channel != models.ChannelWechatWeb || id.Subject != "o-oa-alice" || id.UnionID != "u-alice" || id.SessionKey != "" {
			t.Fatalf("identity = %+v", id)
		}
	})
	t.Run("a code is exchanged once: the second time is 40163, a failed login", func(t *testing.T) {
		if _, err := oa.Login(ctx, "oa-code-once"); err != nil {
			t.Fatal(err)
		}
		if _, err := oa.Login(ctx, "oa-code-once"); !errors.Is(err, models.ErrLoginFailed) {
			t.Fatalf("reused code: err = %v", err)
		}
	})
	t.Run("the same code gives another openid than the mini-program's", func(t *testing.T) {
		if f.OAOpenID("same") == f.OpenID("same") {
			t.Fatal("the fake gives both apps one openid")
		}
		id, err := oa.Login(ctx, "same")
		if err != nil || id.Subject != f.OAOpenID("same") {
			t.Fatalf("identity = %+v, %v", id, err)
		}
	})
	for _, tc := range []struct {
		name, code string
		want       error
	}{
		{"an invalid code (40029) is a failed login", wechatfake.CodeInvalid, models.ErrLoginFailed},
		{"a snapshot-page virtual user is refused", wechatfake.OACodeSnapshot, models.ErrLoginFailed},
		{"an empty code is a failed login", "", models.ErrLoginFailed},
		{"WeChat busy (-1) is unavailable, not a failed login", wechatfake.CodeBusy, models.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := oa.Login(ctx, tc.code); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("a wrong secret is our fault (internal), not the user's", func(t *testing.T) {
		cfg := f.ClientConfig(testNotifyURL)
		cfg.OASecret = "wrong"
		if _, err := wechat.NewOfficialAccount(cfg, nil).Login(ctx, "x"); !errors.Is(err, models.ErrInternal) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("the authorize URL names the official account and snsapi_base, never the secret", func(t *testing.T) {
		raw := oa.AuthorizeURL("https://h5.lianban.example/cb?x=1", "st")
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if "http://"+u.Host != f.URL() || q.Get("appid") != f.OAAppID() || q.Get("scope") != "snsapi_base" ||
			q.Get("redirect_uri") != "https://h5.lianban.example/cb?x=1" || q.Get("state") != "st" || q.Has("secret") {
			t.Fatalf("authorize URL = %s", raw)
		}
		cfg := f.ClientConfig(testNotifyURL)
		cfg.OAAuthorizeBase = ""
		if raw := wechat.NewOfficialAccount(cfg, nil).AuthorizeURL("https://h5.lianban.example/cb", "st"); !strings.HasPrefix(raw, "https://open.weixin.qq.com/connect/oauth2/authorize?") {
			t.Fatalf("authorize URL without a configured base = %s", raw)
		}
	})
	t.Run("the fake's authorize page sends the browser back with a code and the state", func(t *testing.T) {
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := noRedirect.Get(oa.AuthorizeURL("https://h5.lianban.example/cb?x=1", "st-9"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		back, err := url.Parse(res.Header.Get("Location"))
		if res.StatusCode != http.StatusFound || err != nil || back.Host != "h5.lianban.example" || back.Query().Get("state") != "st-9" ||
			back.Query().Get("x") != "1" || back.Query().Get("code") == "" {
			t.Fatalf("authorize answered %d, Location %q", res.StatusCode, res.Header.Get("Location"))
		}
		if _, err := oa.Login(ctx, back.Query().Get("code")); err != nil {
			t.Fatalf("the code it gave: %v", err)
		}
	})
}

func TestJSAPIPayWithTheOfficialAccountsAppID(t *testing.T) {
	f := startFake(t, wechatfake.Options{})
	p := newPay(t, f, nil)
	oa := wechat.NewOfficialAccount(f.ClientConfig(testNotifyURL), nil)
	mp := wechat.NewMiniProgram(f.ClientConfig(testNotifyURL), nil, nil)
	ctx := context.Background()
	web, err := oa.Login(ctx, "oa-payer")
	if err != nil {
		t.Fatal(err)
	}
	mini, err := mp.Login(ctx, "mp-payer")
	if err != nil {
		t.Fatal(err)
	}
	req := func(no string, payer models.ChannelIdentity) models.PrepayRequest {
		return models.PrepayRequest{OrderNo: no, Amount: 38000, Payer: payer, ExpiresAt: time.Now().Add(30 * time.Minute)}
	}

	pp, err := p.Prepay(ctx, req("OA-1", web))
	if err != nil {
		t.Fatal(err)
	}
	o, _ := f.Order("OA-1")
	if o.AppID != f.OAAppID() || pp["appId"] != f.OAAppID() || pp["package"] != "prepay_id="+o.PrepayID || pp["signType"] != "RSA" {
		t.Fatalf("pay_params = %v, order %+v", pp, o)
	}
	msg := pp["appId"] + "\n" + pp["timeStamp"] + "\n" + pp["nonceStr"] + "\n" + pp["package"] + "\n"
	sig, _ := base64.StdEncoding.DecodeString(pp["paySign"])
	sum := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(f.MerchantPublicKey(), crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("paySign over the official account's appid does not verify: %v", err)
	}
	if pp, err := p.Prepay(ctx, req("MP-1", mini)); err != nil || pp["appId"] != f.AppID() {
		t.Fatalf("a mini-program payer still pays with the mini-program's appid: %v, %v", pp, err)
	}

	t.Run("an official-account openid under the mini-program's appid is refused by WeChat", func(t *testing.T) {
		// What would happen if the appid were not chosen by the payer's
		// login channel: the fake, like WeChat, refuses the pair.
		wrong := web
		wrong.Channel = models.ChannelWechat
		if _, err := p.Prepay(ctx, req("OA-2", wrong)); err == nil || errors.Is(err, models.ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("paid at the fake, the notification with the official account's appid is accepted", func(t *testing.T) {
		if err := f.Pay("OA-1", true); err != nil {
			t.Fatal(err)
		}
		h, body, err := f.Notification("OA-1")
		if err != nil {
			t.Fatal(err)
		}
		n, err := p.ParseNotification(ctx, notifyRequest(h, body))
		if err != nil || !n.Paid || n.OrderNo != "OA-1" || n.Amount != 38000 {
			t.Fatalf("notification = %+v, %v", n, err)
		}
		tr, err := p.Query(ctx, "OA-1")
		if err != nil || tr.State != models.TradePaid {
			t.Fatalf("query = %+v, %v", tr, err)
		}
	})
	t.Run("a notification for any other appid under our merchant is a mismatch", func(t *testing.T) {
		h, body, err := f.ForeignNotification("OA-1", "wx00000000foreign01", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.ParseNotification(ctx, notifyRequest(h, body)); !errors.Is(err, models.ErrNotificationMismatch) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("without an official account configured, its payers cannot pay by WeChat", func(t *testing.T) {
		cfg := f.ClientConfig(testNotifyURL)
		cfg.OAAppID, cfg.OASecret = "", ""
		p2, err := wechat.NewPay(ctx, cfg, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p2.Prepay(ctx, req("OA-3", web)); !errors.Is(err, models.ErrChannelUnsupported) {
			t.Fatalf("err = %v", err)
		}
		h, body, _ := f.Notification("OA-1")
		if _, err := p2.ParseNotification(ctx, notifyRequest(h, body)); !errors.Is(err, models.ErrNotificationMismatch) {
			t.Fatalf("an official-account notification with no official account configured: err = %v", err)
		}
	})
}
