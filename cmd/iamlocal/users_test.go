package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
)

func TestPreloadUsers(t *testing.T) {
	file := filepath.Join(t.TempDir(), "users.txt")
	os.WriteFile(file, []byte("# staff\ncarol\n\n  /ops/dave  \n"), 0o600)
	srv := iamlocal.New(iamlocal.Options{})
	n, err := preloadUsers(srv, "alice, /staff/bob", file)
	if err != nil || n != 4 {
		t.Fatalf("preloadUsers = %d, %v", n, err)
	}
	for name, path := range map[string]string{"alice": "/", "bob": "/staff/", "carol": "/", "dave": "/ops/"} {
		if u, ok := srv.User(name); !ok || u.Path != path {
			t.Errorf("user %s: %+v %v, want path %s", name, u, ok, path)
		}
	}
	for _, bad := range []string{"alice", "a b", "staff/", "/ops/"} {
		if _, err := preloadUsers(srv, bad, ""); err == nil || !strings.Contains(err.Error(), "user ") {
			t.Errorf("-users %q: err %v", bad, err)
		}
	}
	if _, err := preloadUsers(srv, "", filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("an absent -users-file was read")
	}
}
