package main

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lianban/lianban/channels/partner"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
)

// TestTheSandboxPartnersAreSeededOnceAndSign: a sandbox start creates the
// bank and the hall's POS with the keys API.md and the README give, a
// restart on the same database changes nothing, and a request signed with
// each key passes the real check.
func TestTheSandboxPartnersAreSeededOnceAndSign(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"LIANBAN_DATABASE": "sqlite://" + dir + "/lianban.db", "LIANBAN_DATA_DIR": dir, "LIANBAN_WECHATPAY_APIV3_KEY": ""}
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for start := 1; start <= 2; start++ {
		app, err := build(ctx, cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("start %d: %v", start, err)
		}
		var keys []store.PartnerKeyRow
		app.svc.DB.Gorm.Order("id").Find(&keys)
		if len(keys) != 2 || keys[0].ID != "sandbox-bank-key-1" || keys[1].ID != "sandbox-hall-key-1" {
			t.Fatalf("start %d: keys %+v", start, keys)
		}
		for _, p := range []struct{ id, key, channels string }{
			{"sandbox-bank", "sandbox-partner-key", "bank_counter yun_pos yunongtong"},
			{"sandbox-hall", "sandbox-hall-key", "hall_pos"},
		} {
			now := app.svc.Now().Unix()
			nonce := partner.NewNonce()
			sig := partner.Sign([]byte(p.key), "POST", "/partner/v1/payables/query", now, nonce, []byte(`{}`))
			a, err := app.svc.AuthenticatePartner(ctx, p.id, strconv.FormatInt(now, 10), nonce, sig, "POST", "/partner/v1/payables/query",
				[]byte(`{}`), kernel.RequestMeta{})
			if err != nil || a.PartnerID != p.id {
				t.Fatalf("start %d: %s's key: %v", start, p.id, err)
			}
			for _, ch := range []string{"bank_counter", "yun_pos", "yunongtong", "hall_pos"} {
				if a.MayUse(ch) != slices.Contains(strings.Fields(p.channels), ch) {
					t.Fatalf("%s may use %s: %v", p.id, ch, a.MayUse(ch))
				}
			}
		}
		app.Close()
	}
}

// TestTheSandboxPartnersKeysDoNotSignOutsideSandboxMode: a database first
// served in sandbox mode (a staging run, a demo turned production) holds
// the sandbox partners with keys published in API.md and the README. A
// start outside sandbox mode must not leave them able to sign: anyone
// could then open and confirm counter orders (months recorded as paid
// with no money) or look people up as the bank.
func TestTheSandboxPartnersKeysDoNotSignOutsideSandboxMode(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"LIANBAN_DATABASE": "sqlite://" + dir + "/lianban.db", "LIANBAN_DATA_DIR": dir, "LIANBAN_WECHATPAY_APIV3_KEY": "",
		"LIANBAN_PII_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "LIANBAN_CERT_SIGNING_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	ctx := context.Background()
	for _, sandbox := range []string{"true", "false"} {
		env["LIANBAN_SANDBOX"] = sandbox
		cfg, err := LoadConfig(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		app, err := build(ctx, cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("sandbox=%s: %v", sandbox, err)
		}
		for _, p := range []struct{ id, key string }{{"sandbox-bank", "sandbox-partner-key"}, {"sandbox-hall", "sandbox-hall-key"}} {
			now := app.svc.Now().Unix()
			nonce := partner.NewNonce()
			sig := partner.Sign([]byte(p.key), "POST", "/partner/v1/orders", now, nonce, []byte(`{}`))
			_, err := app.svc.AuthenticatePartner(ctx, p.id, strconv.FormatInt(now, 10), nonce, sig, "POST", "/partner/v1/orders",
				[]byte(`{}`), kernel.RequestMeta{})
			if (err == nil) != (sandbox == "true") {
				t.Fatalf("sandbox=%s: %s signing with its published key: %v", sandbox, p.id, err)
			}
		}
		app.Close()
	}
}
