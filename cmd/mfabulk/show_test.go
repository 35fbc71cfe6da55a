package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"filippo.io/age"
	"github.com/creack/pty"
)

// TestShowFitsAStandardTerminal runs show in-process on an 80×24 pty: a
// short name's QR code is drawn with its title and still leaves the line
// for the shell prompt; a 70-character name's code cannot fit, and show
// says how large the terminal must be instead of scrolling half of it away.
func TestShowFitsAStandardTerminal(t *testing.T) {
	startLocal(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile("identity.txt", []byte(id.String()+"\n"), 0o600)
	long := strings.Repeat("l", 70)
	os.WriteFile("m.yaml", []byte("version: 1\ndefaults:\n  recipients: ["+id.Recipient().String()+"]\ndevices:\n  - name: alice\n  - name: "+long+"\n"), 0o644)
	var applyOut bytes.Buffer
	if code := run(context.Background(), []string{"apply", "-f", "m.yaml", "--auto-approve"}, IO{In: strings.NewReader(""), Out: &applyOut, Err: &applyOut}); code != exitOK {
		t.Fatalf("apply: exit %d\n%s", code, applyOut.String())
	}
	outfile := func(name string) string {
		m, _ := filepath.Glob("*/" + name + ".png.age")
		if len(m) != 1 {
			t.Fatalf("outfile of %s: %v\n%s", name, m, applyOut.String())
		}
		return m[0]
	}
	show := func(file string) (string, string, int) {
		ptmx, tty, err := pty.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer ptmx.Close()
		if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 80}); err != nil {
			t.Fatal(err)
		}
		read := make(chan string)
		go func() {
			b, _ := io.ReadAll(ptmx)
			read <- string(b)
		}()
		var errOut bytes.Buffer
		code := run(context.Background(), []string{"show", "-i", "identity.txt", file}, IO{In: strings.NewReader(""), Out: tty, Err: &errOut, OutTTY: true})
		tty.Close()
		return strings.ReplaceAll(<-read, "\r\n", "\n"), errOut.String(), code
	}

	out, errOut, code := show(outfile("alice"))
	if code != exitOK {
		t.Fatalf("alice: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) > 23 {
		t.Errorf("alice: %d lines on a 24-line terminal, leaving no line for the prompt:\n%s", len(lines), out)
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("alice: a line of %d characters on an 80-column terminal", n)
		}
	}

	out, errOut, code = show(outfile(long))
	if code == exitOK || strings.Contains(out, "█") {
		t.Errorf("long name: exit %d, drew the code anyway:\n%s", code, out)
	}
	if !strings.Contains(errOut, "this terminal is 80×24") || !strings.Contains(errOut, "--seed") {
		t.Errorf("long name: does not say how large the terminal must be:\n%s", errOut)
	}
}
