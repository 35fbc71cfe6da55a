package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// TestFlagsColour: NO_COLOR turns colour off only when set and not empty
// (no-color.org), TERM=dumb turns it off, and so does --no-color.
func TestFlagsColour(t *testing.T) {
	for _, tt := range []struct {
		name, noColor, term string
		unsetNoColor        bool
		want                bool
	}{
		{name: "terminal", unsetNoColor: true, term: "xterm-256color", want: true},
		{name: "NO_COLOR empty", noColor: "", term: "xterm", want: true},
		{name: "NO_COLOR=1", noColor: "1", term: "xterm", want: false},
		{name: "TERM=dumb", unsetNoColor: true, term: "dumb", want: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NO_COLOR", tt.noColor)
			if tt.unsetNoColor {
				os.Unsetenv("NO_COLOR")
			}
			t.Setenv("TERM", tt.term)
			if got := styleFor(IO{OutTTY: true}).Color; got != tt.want {
				t.Errorf("colour %v, want %v", got, tt.want)
			}
		})
	}

	startLocal(t)
	t.Setenv("TERM", "xterm")
	os.Unsetenv("NO_COLOR")
	os.WriteFile("m.yaml", []byte("version: 1\ndevices:\n  - {name: a, recipients: ["+testKey+"]}\n"), 0o644)
	var out bytes.Buffer
	run(context.Background(), []string{"plan", "-f", "m.yaml", "--no-color"}, IO{In: strings.NewReader(""), Out: &out, Err: &out, OutTTY: true})
	if strings.Contains(out.String(), "\x1b[") || !strings.Contains(out.String(), "Plan: 1 to create") {
		t.Errorf("plan --no-color on a terminal:\n%q", out.String())
	}
}
