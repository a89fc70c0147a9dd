package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSandboxIsNeverReachedByAccident: left to its default, sandbox mode
// runs only on loopback with no real channel keys; a deployment that
// forgets LIANBAN_SANDBOX does not start. Setting it either way, in the
// environment or the config file, is a choice and is honoured.
func TestSandboxIsNeverReachedByAccident(t *testing.T) {
	refused := []map[string]string{
		{"LIANBAN_ADDR": "0.0.0.0:8080"},
		{"LIANBAN_ADDR": ":8080"},
		{"LIANBAN_ADDR": "[::]:8080"},
		{"LIANBAN_ADDR": "10.0.0.5:8080"},
		{"LIANBAN_ADDR": "lianban.example.cn:8080"},
		{"LIANBAN_WECHAT_SECRET": "s"},
		{"LIANBAN_WECHATPAY_MCHID": "1900000001"},
		{"LIANBAN_ALIPAY_PRIVATE_KEY_FILE": "/etc/lianban/alipay.pem"},
		{"LIANBAN_BANK_KEY": "k"},
	}
	for _, env := range refused {
		dir := t.TempDir()
		env["LIANBAN_DATA_DIR"], env["LIANBAN_DATABASE"] = dir, "sqlite://"+dir+"/x.db"
		err := run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "LIANBAN_SANDBOX") {
			t.Errorf("%v: started or failed for another reason: %v", env, err)
		}
		if _, statErr := os.Stat(filepath.Join(dir, "pii.key")); statErr == nil {
			t.Errorf("%v: refused only after generating sandbox keys", env)
		}
	}

	allowed := []map[string]string{
		{},
		{"LIANBAN_ADDR": "127.0.0.1:9999"},
		{"LIANBAN_ADDR": "localhost:9999"},
		{"LIANBAN_ADDR": "[::1]:9999"},
		{"LIANBAN_ADDR": "127.0.0.1:9999", "LIANBAN_WECHAT_APPID": "wx123"}, // an app id is not a key
		{"LIANBAN_ADDR": "0.0.0.0:8080", "LIANBAN_SANDBOX": "true"},
		{"LIANBAN_ADDR": "0.0.0.0:8080", "LIANBAN_SANDBOX": "false"},
		{"LIANBAN_WECHAT_SECRET": "s", "LIANBAN_SANDBOX": "1"},
	}
	for _, env := range allowed {
		cfg, err := LoadConfig(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.checkSandbox(); err != nil {
			t.Errorf("%v: refused: %v", env, err)
		}
	}

	// A config file's LIANBAN_SANDBOX is as explicit as the environment's.
	file := filepath.Join(t.TempDir(), "lianban.env")
	if err := os.WriteFile(file, []byte("LIANBAN_ADDR=0.0.0.0:8080\nLIANBAN_SANDBOX=true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(func(k string) string { return map[string]string{"LIANBAN_CONFIG": file}[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.checkSandbox(); err != nil || !cfg.Sandbox {
		t.Errorf("sandbox chosen in the config file: %v (sandbox %v)", err, cfg.Sandbox)
	}
}
