package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// A binary built without -ldflags "-X main.version=…" (go install
// …@v1.2.3, go build in a checkout) takes its version from the build
// info, so that it never reports "dev" for a release and a saved plan's
// fingerprint tells two builds apart.
func init() {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	version = buildVersion(version, info)
}

// buildVersion is the stamped version, else the module version from the
// build info (go install …@vX), else the VCS revision it was built from
// ("devel-" and 12 hex digits, "+dirty" with uncommitted changes), else
// stamped as is.
func buildVersion(stamped string, info *debug.BuildInfo) string {
	if stamped != "dev" || info == nil {
		return stamped
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return stamped
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	v := "devel-" + rev
	if modified == "true" {
		v += "+dirty"
	}
	return v
}

func newVersionCmd(streams IO) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print mfabulk's version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(streams.Out, "mfabulk %s (%s)\n", version, runtime.Version())
			return nil
		},
	}
}
