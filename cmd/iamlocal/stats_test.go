package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
)

func TestWriteStats(t *testing.T) {
	file := filepath.Join(t.TempDir(), "stats.csv")
	if err := writeStats(iamlocal.New(iamlocal.Options{}), file); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(file); string(b) != "second,start_unix_ms,served,throttled,created\n" {
		t.Errorf("stats of an idle server: %q", b)
	}
	if err := writeStats(iamlocal.New(iamlocal.Options{}), filepath.Join(file, "x")); err == nil {
		t.Error("writing under a file succeeded")
	}
}
