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
	script, err := os.ReadFile("scripts/walkthrough.sh")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(script)
	begin := strings.Index(s, "# --- begin walk-through")
	end := strings.Index(s, "# --- end walk-through ---")
	if begin < 0 || end < begin {
		t.Fatal("walk-through markers missing from scripts/walkthrough.sh")
	}
	body := s[strings.Index(s[begin:], "\n")+begin+1 : end]
	if !strings.Contains(string(readme), body) {
		t.Fatal("README.md's walk-through differs from scripts/walkthrough.sh")
	}
}
