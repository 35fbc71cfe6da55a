package journal

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestIntentLifecycle(t *testing.T) {
	out := filepath.Join(t.TempDir(), "alice.png.age")
	in := Intent{Device: "alice", Path: "/", Outfile: out, Action: "create"}
	l, err := Begin(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Begin(in); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Begin: %v, want ErrBusy", err)
	}
	if p, _ := Pending(out); p != nil {
		t.Fatal("a live run's intent is pending")
	}
	l.Keep()
	p, err := Pending(out)
	if err != nil || p == nil || p.Device != "alice" {
		t.Fatalf("kept intent: %+v, %v", p, err)
	}
	os.WriteFile(out, []byte("x"), 0o600)
	if p, _ := Pending(out); p != nil {
		t.Fatal("intent pending although the outfile exists")
	}
	os.Remove(out)
	l, err = Begin(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Done(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(File(out)); !os.IsNotExist(err) {
		t.Fatal("Done left the intent file")
	}
}
