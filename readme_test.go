package lianban_test

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEWalkThroughIsTheScriptCIRuns keeps the README's copy-and-paste
// walk-through identical to scripts/walkthrough.sh, which CI runs against a
// fresh server: if one changes without the other, this fails.
func TestREADMEWalkThroughIsTheScriptCIRuns(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for script, marker := range map[string]string{"scripts/walkthrough.sh": "walk-through", "scripts/walkthrough-wechat.sh": "wechat walk-through", "scripts/walkthrough-unit.sh": "unit walk-through",
		"scripts/walkthrough-logins.sh": "login walk-through", "scripts/walkthrough-counter.sh": "counter walk-through"} {
		b, err := os.ReadFile(script)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		begin := strings.Index(s, "# --- begin "+marker)
		end := strings.Index(s, "# --- end "+marker+" ---")
		if begin < 0 || end < begin {
			t.Fatalf("walk-through markers missing from %s", script)
		}
		body := s[strings.Index(s[begin:], "\n")+begin+1 : end]
		if !strings.Contains(string(readme), body) {
			t.Fatalf("README.md's walk-through differs from %s", script)
		}
	}
}
