package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

func TestStaffBootstrapPrintsTheFirstAdminsCredentialsOnce(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"LIANBAN_DATABASE": "sqlite://" + dir + "/x.db", "LIANBAN_DATA_DIR": dir, "LIANBAN_LOG_LEVEL": "error"}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	if err := run(context.Background(), []string{"staff-bootstrap", "--username", "Root"}, getenv, &out); err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{`username:\s+root\n`, `role:\s+admin\n`, `password:\s+[A-Za-z2-9]{20}\n`, `TOTP secret:\s+[A-Z2-7]{32}\n`, `otpauth URL:\s+otpauth://totp/`} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Fatalf("output lacks %s:\n%s", re, out.String())
		}
	}
	err := run(context.Background(), []string{"staff-bootstrap", "--username", "root2"}, getenv, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "active admin exists") {
		t.Fatalf("a second bootstrap: %v", err)
	}
	err = run(context.Background(), []string{"staff-bootstrap", "--username", "clerk", "--role", "tax_window"}, getenv, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "first admin") {
		t.Fatalf("bootstrapping another role: %v", err)
	}
}
