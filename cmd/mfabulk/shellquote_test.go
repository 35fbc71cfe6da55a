package main

import (
	"os/exec"
	"testing"
)

// TestShellQuoteIsOneWord: each value, quoted, reaches a real shell as one
// argument, exactly itself, running nothing.
func TestShellQuoteIsOneWord(t *testing.T) {
	for _, s := range []string{
		"m.yaml", "iam/mfa/accounts/prod", "m.yaml --auto-approve;id>pwned;x",
		"arn:aws:iam::{{.Account}}:role/x'$(id>/tmp/pwned)'", "a$(touch pwned2)", "a b", "`id`", "it's", "",
		"*.yaml", "~root", "a\\b",
	} {
		out, err := exec.Command("sh", "-c", `printf '%s|' `+shellQuote(s)).Output()
		if err != nil {
			t.Fatalf("sh with %s: %v", shellQuote(s), err)
		}
		if got := string(out); got != s+"|" {
			t.Errorf("sh read %s as %q, want %q", shellQuote(s), got, s+"|")
		}
	}
}
