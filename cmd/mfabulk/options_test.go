package main

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// execWith runs one command of a root built around it, with runF
// capturing the options instead of running the command.
func execWith(t *testing.T, cmd *cobra.Command, args ...string) error {
	t.Helper()
	t.Chdir(t.TempDir()) // no ./mfabulk.yaml
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	root := &cobra.Command{Use: "mfabulk", SilenceErrors: true, SilenceUsage: true}
	root.PersistentFlags().String("config", "", "")
	root.AddCommand(cmd)
	root.SetArgs(append([]string{cmd.Name()}, args...))
	return root.Execute()
}

func TestPlanFlagsParse(t *testing.T) {
	var got *planOpts
	cmd := newPlanCmd(IO{}, func(_ context.Context, o *planOpts) error { got = o; return nil })
	t.Setenv("MFABULK_PARALLELISM", "5")
	t.Setenv("MFABULK_MAX_RATE", "12.5")
	err := execWith(t, cmd, "-f", "a.yaml", "-f", "dir", "--prune", "--target", "alice", "--replace", "bob",
		"-o", "markdown", "--out", "plan.json", "--detailed-exitcode", "--read-timeout", "7s", "--endpoint-url", "http://x")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Plan.Files, []string{"a.yaml", "dir"}) || !got.Plan.Prune || !slices.Equal(got.Plan.Targets, []string{"alice"}) ||
		!slices.Equal(got.Plan.Replace, []string{"bob"}) || got.Plan.Parallelism != 5 || got.Plan.MaxRate != 12.5 {
		t.Errorf("plan flags: %+v", got.Plan)
	}
	if got.Output != "markdown" || got.Out != "plan.json" || !got.DetailedExitcode {
		t.Errorf("output flags: %+v", got)
	}
	if got.AWS.ReadTimeout != 7*time.Second || got.AWS.EndpointURL != "http://x" || got.AWS.ConnectTimeout != 10*time.Second {
		t.Errorf("aws flags: %+v", got.AWS)
	}
	po := got.Plan.planOptions()
	if !po.Prune || po.Targets[0] != "alice" || po.Replace[0] != "bob" {
		t.Errorf("plan options: %+v", po)
	}
}

func TestApplyFlagsParse(t *testing.T) {
	var got *applyOpts
	cmd := newApplyCmd(IO{}, func(_ context.Context, o *applyOpts) error { got = o; return nil })
	t.Setenv("MFABULK_FILE", "one.yaml two.yaml")
	if err := execWith(t, cmd, "--auto-approve", "--report", "r.json", "-o", "json"); err != nil {
		t.Fatal(err)
	}
	if !got.AutoApprove || got.Report != "r.json" || got.Output != "json" || got.SavedPlan != "" ||
		!slices.Equal(got.Plan.Files, []string{"one.yaml", "two.yaml"}) {
		t.Errorf("apply options: %+v", got)
	}

	cmd = newApplyCmd(IO{}, func(_ context.Context, o *applyOpts) error { got = o; return nil })
	os.Unsetenv("MFABULK_FILE")
	if err := execWith(t, cmd, "plan.json"); err != nil {
		t.Fatal(err)
	}
	if got.SavedPlan != "plan.json" || got.AutoApprove {
		t.Errorf("saved plan options: %+v", got)
	}
}

func TestShowAndValidateFlagsParse(t *testing.T) {
	var show *showOpts
	cmd := newShowCmd(IO{}, func(_ context.Context, o *showOpts) error { show = o; return nil })
	if err := execWith(t, cmd, "-i", "key.txt", "--invert", "out/alice.png.age"); err != nil {
		t.Fatal(err)
	}
	if show.Identity != "key.txt" || !show.Invert || show.Force || show.Outfile != "out/alice.png.age" {
		t.Errorf("show options: %+v", show)
	}
	var val *validateOpts
	cmd = newValidateCmd(IO{}, func(_ context.Context, o *validateOpts) error { val = o; return nil })
	if err := execWith(t, cmd, "-f", "m.yaml", "-o", "json"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(val.Files, []string{"m.yaml"}) || val.Output != "json" {
		t.Errorf("validate options: %+v", val)
	}
}

// A bad value from any layer stops the command before it runs, naming
// where the value came from.
func TestBadSettingStopsBeforeRun(t *testing.T) {
	ran := false
	cmd := newPlanCmd(IO{}, func(context.Context, *planOpts) error { ran = true; return nil })
	t.Setenv("MFABULK_CALL_TIMEOUT", "0s")
	err := execWith(t, cmd, "-f", "m.yaml")
	if err == nil || ran || err.Error() != "MFABULK_CALL_TIMEOUT 0s: must be positive" {
		t.Fatalf("ran=%v err=%v", ran, err)
	}
	cmd = newPlanCmd(IO{}, func(context.Context, *planOpts) error { ran = true; return nil })
	t.Setenv("MFABULK_CALL_TIMEOUT", "")
	t.Setenv("MFABULK_PARALLELISM", "many")
	err = execWith(t, cmd, "-f", "m.yaml")
	if err == nil || ran {
		t.Fatalf("ran=%v err=%v", ran, err)
	}
}

func TestWhoamiFlagsParse(t *testing.T) {
	var got *whoamiOpts
	cmd := newWhoamiCmd(IO{}, func(_ context.Context, o *whoamiOpts) error { got = o; return nil })
	t.Setenv("MFABULK_CA_BUNDLE", "proxy.pem")
	if err := execWith(t, cmd, "--profile", "p", "-o", "json"); err != nil {
		t.Fatal(err)
	}
	if got.AWS.Profile != "p" || got.AWS.CABundle != "proxy.pem" || got.Output != "json" || got.AWS.client(nil).CABundle != "proxy.pem" {
		t.Errorf("whoami options: %+v", got)
	}
	if err := execWith(t, newWhoamiCmd(IO{}, nil), "--call-timeout", "0s"); err == nil {
		t.Error("--call-timeout 0s accepted")
	}
}
