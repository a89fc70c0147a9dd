package wechat_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/lianban/lianban/channels/wechat"
	"github.com/lianban/lianban/channels/wechat/wechatfake"
	"github.com/lianban/lianban/models"
)

// startFake starts a fake that sends no notifications by itself (tests
// that want deliveries set NotifyRetry) and closes it with the test.
func startFake(t *testing.T, opts wechatfake.Options) *wechatfake.Server {
	t.Helper()
	if opts.NotifyRetry == nil {
		opts.NotifyRetry = []time.Duration{}
	}
	f := wechatfake.New(opts)
	f.Start()
	t.Cleanup(f.Close)
	return f
}

func newRedis(t *testing.T) (*miniredis.Miniredis, redis.UniversalClient) {
	t.Helper()
	m := miniredis.RunT(t)
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{m.Addr()}, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	return m, rdb
}

func TestLogin(t *testing.T) {
	f := startFake(t, wechatfake.Options{})
	f.AddUser("code-alice", "o-alice", "u-alice")
	mp := wechat.NewMiniProgram(f.ClientConfig("https://lianban.example/notify"), nil, nil)
	ctx := context.Background()

	t.Run("a registered code logs in as its user with unionid and session key", func(t *testing.T) {
		id, err := mp.Login(ctx, "code-alice")
		if err != nil {
			t.Fatal(err)
		}
		if id.Channel != "wechat" || id.Subject != "o-alice" || id.UnionID != "u-alice" || id.SessionKey == "" {
			t.Fatalf("identity = %+v", id)
		}
	})
	t.Run("any other code logs in as the same derived openid every time", func(t *testing.T) {
		a, err := mp.Login(ctx, "code-bob")
		if err != nil {
			t.Fatal(err)
		}
		b, err := mp.Login(ctx, "code-bob")
		if err != nil {
			t.Fatal(err)
		}
		if a.Subject == "" || a.Subject != b.Subject || a.Subject != f.OpenID("code-bob") {
			t.Fatalf("openids %q, %q, fake says %q", a.Subject, b.Subject, f.OpenID("code-bob"))
		}
	})
	for _, tc := range []struct {
		name, code string
		want       error
	}{
		{"an invalid code (40029) is a failed login", wechatfake.CodeInvalid, models.ErrLoginFailed},
		{"a used code (40163) is a failed login", wechatfake.CodeUsed, models.ErrLoginFailed},
		{"a blocked user (40226) is a failed login", wechatfake.CodeBlocked, models.ErrLoginFailed},
		{"an empty code is a failed login without calling WeChat", "", models.ErrLoginFailed},
		{"WeChat busy (-1) is unavailable, not a failed login", wechatfake.CodeBusy, models.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mp.Login(ctx, tc.code)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("a wrong secret is an internal error, not the user's fault", func(t *testing.T) {
		cfg := f.ClientConfig("")
		cfg.Secret = "wrong"
		_, err := wechat.NewMiniProgram(cfg, nil, nil).Login(ctx, "code-alice")
		if !errors.Is(err, models.ErrInternal) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("WeChat not answering is unavailable and the error does not leak the secret", func(t *testing.T) {
		cfg := f.ClientConfig("")
		cfg.APIBase = "http://127.0.0.1:1"
		_, err := wechat.NewMiniProgram(cfg, nil, nil).Login(ctx, "code-alice")
		if !errors.Is(err, models.ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
		if containsAny(err.Error(), cfg.Secret, "code-alice") {
			t.Fatalf("error leaks the request: %v", err)
		}
	})
}

func TestAccessTokenIsCachedInRedisAndSurvivesRedisOutage(t *testing.T) {
	f := startFake(t, wechatfake.Options{})
	m, rdb := newRedis(t)
	cfg := f.ClientConfig("")
	ctx := context.Background()

	replica1 := wechat.NewMiniProgram(cfg, rdb, nil)
	for range 3 {
		if _, err := replica1.PhoneNumber(ctx, "phone-code"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.TokenRequests(); n != 1 {
		t.Fatalf("stable_token called %d times for 3 calls, want 1", n)
	}
	key := "gowechat_miniprogram__stable_access_token_" + cfg.AppID
	if !m.Exists(key) {
		t.Fatalf("token not in redis under %s; keys: %v", key, m.Keys())
	}
	if ttl := m.TTL(key); ttl <= 6000*time.Second || ttl > 6900*time.Second {
		t.Fatalf("token TTL = %v, want expires_in minus 5 min", ttl)
	}

	replica2 := wechat.NewMiniProgram(cfg, rdb, nil)
	if _, err := replica2.PhoneNumber(ctx, "phone-code"); err != nil {
		t.Fatal(err)
	}
	if n := f.TokenRequests(); n != 1 {
		t.Fatalf("a second replica fetched its own token: %d requests", n)
	}

	m.Close() // Redis goes away
	for range 3 {
		if _, err := replica1.PhoneNumber(ctx, "phone-code"); err != nil {
			t.Fatalf("with redis down: %v", err)
		}
	}
	if n := f.TokenRequests(); n != 1 {
		t.Fatalf("redis down made the replica refetch the token: %d requests", n)
	}
	fresh := wechat.NewMiniProgram(cfg, rdb, nil)
	for range 3 {
		if _, err := fresh.PhoneNumber(ctx, "phone-code"); err != nil {
			t.Fatalf("fresh replica with redis down: %v", err)
		}
	}
	if n := f.TokenRequests(); n != 2 {
		t.Fatalf("fresh replica with redis down: %d token requests, want one more", n)
	}
}

func TestRevokedAccessTokenIsDroppedAndFetchedAgain(t *testing.T) {
	f := startFake(t, wechatfake.Options{})
	_, rdb := newRedis(t)
	mp := wechat.NewMiniProgram(f.ClientConfig(""), rdb, nil)
	ctx := context.Background()
	if _, err := mp.PhoneNumber(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	f.RevokeAccessTokens()
	if _, err := mp.PhoneNumber(ctx, "c2"); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if n := f.TokenRequests(); n != 2 {
		t.Fatalf("token requests = %d, want 2", n)
	}
}

func TestConcurrentCacheMissesFetchOneToken(t *testing.T) {
	f := startFake(t, wechatfake.Options{})
	_, rdb := newRedis(t)
	mp := wechat.NewMiniProgram(f.ClientConfig(""), rdb, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			if _, err := mp.PhoneNumber(context.Background(), "pc"); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := f.TokenRequests(); n != 1 {
		t.Fatalf("20 concurrent calls fetched %d tokens", n)
	}
}

func TestPhoneNumber(t *testing.T) {
	f := startFake(t, wechatfake.Options{})
	f.AddPhone("pc-1", "13812345678")
	mp := wechat.NewMiniProgram(f.ClientConfig(""), nil, nil)
	ctx := context.Background()

	got, err := mp.PhoneNumber(ctx, "pc-1")
	if err != nil || got != "13812345678" {
		t.Fatalf("PhoneNumber = %q, %v", got, err)
	}
	if _, err := mp.PhoneNumber(ctx, wechatfake.CodeInvalid); !errors.Is(err, models.ErrInvalid) {
		t.Fatalf("invalid code: err = %v", err)
	}
}

func TestSendMessage(t *testing.T) {
	f := startFake(t, wechatfake.Options{})
	cfg := f.ClientConfig("")
	delete(cfg.Templates, models.MessagePeriodEnding)
	mp := wechat.NewMiniProgram(cfg, nil, nil)
	ctx := context.Background()
	to := models.ChannelIdentity{Channel: "wechat", Subject: "o-alice"}

	msg := models.Message{Kind: models.MessagePaymentSucceeded, Page: "pages/orders/detail?no=LB1",
		Fields: map[string]string{"thing1": "2026年城乡居民医保", "amount2": "400.00元"}}
	if err := mp.SendMessage(ctx, to, msg); err != nil {
		t.Fatal(err)
	}
	sent := f.SentMessages()
	if len(sent) != 1 {
		t.Fatalf("sent %d messages", len(sent))
	}
	s := sent[0]
	if s.ToUser != "o-alice" || s.TemplateID != cfg.Templates[models.MessagePaymentSucceeded] ||
		s.Page != msg.Page || s.Data["thing1"] != "2026年城乡居民医保" || s.Data["amount2"] != "400.00元" || s.MiniprogramState != "formal" {
		t.Fatalf("sent %+v", s)
	}

	t.Run("a kind without a template is skipped silently", func(t *testing.T) {
		if err := mp.SendMessage(ctx, to, models.Message{Kind: models.MessagePeriodEnding}); err != nil {
			t.Fatal(err)
		}
		if n := len(f.SentMessages()); n != 1 {
			t.Fatalf("sent %d messages", n)
		}
	})
	t.Run("a user who has not accepted the template is skipped", func(t *testing.T) {
		f.RefuseMessages("o-carol")
		err := mp.SendMessage(ctx, models.ChannelIdentity{Subject: "o-carol"}, msg)
		if err != nil {
			t.Fatal(err)
		}
	})
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
