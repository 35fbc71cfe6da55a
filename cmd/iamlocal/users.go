package main

import (
	"fmt"
	"strings"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
	"github.com/mfabulk/mfabulk/internal/inputfile"
)

// maxUsersFile bounds -users-file: IAM's quota is 5000 users of at most
// 64 characters, and paths are short.
const maxUsersFile = 4 << 20

// preloadUsers creates the users named by -users (comma-separated) and
// -users-file (one a line; blank lines and lines starting with # are
// skipped). Each entry is NAME, or /PATH/NAME for a user at a path.
func preloadUsers(srv *iamlocal.Server, list, file string) (int, error) {
	var entries []string
	if list != "" {
		entries = append(entries, strings.Split(list, ",")...)
	}
	if file != "" {
		b, err := inputfile.Read(file, maxUsersFile)
		if err != nil {
			return 0, fmt.Errorf("-users-file: %w", err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			entries = append(entries, line)
		}
	}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		path, name := "/", e
		if i := strings.LastIndex(e, "/"); i >= 0 {
			path, name = e[:i+1], e[i+1:]
		}
		if err := srv.CreateUser(name, path); err != nil {
			return 0, fmt.Errorf("user %q: %w", e, err)
		}
	}
	return len(entries), nil
}
