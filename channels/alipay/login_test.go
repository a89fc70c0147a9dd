package alipay_test

import (
	"context"
	"testing"

	"github.com/lianban/lianban/channels/alipay"
	"github.com/lianban/lianban/channels/alipay/alipayfake"
	"github.com/lianban/lianban/models"
)

func TestLoginInUserIDModeReturnsThe2088UserID(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	e.fake.AddUser("code-zhang", "2088102146225135")

	id, err := e.client.Login(context.Background(), "code-zhang")
	if err != nil {
		t.Fatal(err)
	}
	want := models.ChannelIdentity{Channel: models.ChannelAlipay, Subject: "2088102146225135"}
	if id != want {
		t.Fatalf("identity %+v, want %+v", id, want)
	}
	if e.client.Name() != "alipay" {
		t.Fatalf("Name() = %q", e.client.Name())
	}
}

func TestLoginWithAnUnregisteredCodeGivesTheFakesDeterministicUser(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	a, err := e.client.Login(context.Background(), "some-code")
	if err != nil {
		t.Fatal(err)
	}
	if a.Subject != e.fake.UserIDFor("some-code") || len(a.Subject) != 16 || a.Subject[:4] != "2088" {
		t.Fatalf("subject %q, want the fake's 2088… id %q", a.Subject, e.fake.UserIDFor("some-code"))
	}
}

func TestLoginInOpenIDModeReturnsTheOpenID(t *testing.T) {
	e := newEnv(t, alipayfake.Options{OpenIDMode: true}, "")
	e.fake.AddUser("code-li", "2088102146225136")

	id, err := e.client.Login(context.Background(), "code-li")
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != e.fake.OpenIDFor("2088102146225136") || id.Channel != models.ChannelAlipay {
		t.Fatalf("identity %+v, want open_id %q", id, e.fake.OpenIDFor("2088102146225136"))
	}
}

func TestLoginWithAnInvalidCodeFails(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	_, err := e.client.Login(context.Background(), "invalid")
	wantIs(t, err, models.ErrLoginFailed)
}

func TestLoginWithAnEmptyCodeFailsWithoutACall(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	_, err := e.client.Login(context.Background(), " ")
	wantIs(t, err, models.ErrLoginFailed)
	if n := e.fake.Calls("alipay.system.oauth.token"); n != 0 {
		t.Fatalf("%d calls to the gateway", n)
	}
}

func TestLoginWhenTheAppIsInTheOtherIDModeIsAnInternalError(t *testing.T) {
	// The console says open_id, the configuration says user_id.
	e := newEnv(t, alipayfake.Options{OpenIDMode: true}, "")
	cfg := e.cfg
	cfg.OpenIDMode = false
	c, err := alipay.New(cfg, nil, e.clock)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Login(context.Background(), "code")
	wantIs(t, err, models.ErrInternal)
}

func TestLoginWhenAlipayIsDownIsUnavailable(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	cfg := e.cfg
	cfg.Gateway = "http://127.0.0.1:9/gateway.do"
	c, err := alipay.New(cfg, nil, e.clock)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Login(context.Background(), "code")
	wantIs(t, err, models.ErrUnavailable)
}

func TestLoginWhenAlipayIsBusyIsUnavailable(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	e.fake.FailNext("alipay.system.oauth.token", alipayfake.Fault{Code: "20000", SubCode: "isp.unknow-error", SubMsg: "系统繁忙"})
	_, err := e.client.Login(context.Background(), "code")
	wantIs(t, err, models.ErrUnavailable)
}
