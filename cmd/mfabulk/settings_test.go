package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
)

// TestSettingsLayering checks, for every flag of every command, that a
// flag beats MFABULK_* which beats the config file which beats the default.
func TestSettingsLayering(t *testing.T) {
	root := newRootCmd(IO{})
	for _, cmd := range root.Commands() {
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Name == "help" {
				return
			}
			if f.Annotations[commandLineOnly] != nil {
				t.Run(cmd.Name()+"/"+f.Name, func(t *testing.T) { checkCommandLineOnly(t, cmd.Name(), f) })
				return
			}
			if safetySwitches[f.Name] != anyLayer {
				t.Run(cmd.Name()+"/"+f.Name, func(t *testing.T) { checkSafetySwitch(t, cmd.Name(), f) })
				return
			}
			t.Run(cmd.Name()+"/"+f.Name, func(t *testing.T) { checkLayers(t, cmd.Name(), f) })
		})
	}
}

func checkLayers(t *testing.T, command string, f *pflag.Flag) {
	vals := map[string]string{"file": "from-file", "env": "from-env", "flag": "from-flag"}
	switch f.Value.Type() {
	case "int":
		vals = map[string]string{"file": "11", "env": "12", "flag": "13"}
	case "float64":
		vals = map[string]string{"file": "11.5", "env": "12", "flag": "13.25"}
	case "duration":
		vals = map[string]string{"file": "11s", "env": "12s", "flag": "13s"}
	case "bool":
		vals = map[string]string{"file": "true", "env": "false", "flag": "true"}
	}
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("XDG_CONFIG_HOME", dir)
	os.Unsetenv(envName(f.Name))
	effective := func(args ...string) string {
		t.Helper()
		return effectiveSetting(t, command, f.Name, args...)
	}
	if got := effective(); got != defaultString(f) {
		t.Errorf("default: got %q, want %q", got, defaultString(f))
	}
	os.WriteFile("mfabulk.yaml", []byte(fmt.Sprintf("%s: %s\n", f.Name, vals["file"])), 0o644)
	if got := effective(); got != vals["file"] {
		t.Errorf("config file: got %q, want %q", got, vals["file"])
	}
	t.Setenv(envName(f.Name), vals["env"])
	if got := effective(); got != vals["env"] {
		t.Errorf("env over file: got %q, want %q", got, vals["env"])
	}
	if got := effective("--" + f.Name + "=" + vals["flag"]); got != vals["flag"] {
		t.Errorf("flag over env: got %q, want %q", got, vals["flag"])
	}
	os.Remove("mfabulk.yaml")
	os.MkdirAll(filepath.Join(dir, "mfabulk"), 0o755)
	os.WriteFile(filepath.Join(dir, "mfabulk", "config.yaml"), []byte(fmt.Sprintf("%s: %s\n", f.Name, vals["file"])), 0o644)
	os.Unsetenv(envName(f.Name))
	if got := effective(); got != vals["file"] {
		t.Errorf("XDG config file: got %q, want %q", got, vals["file"])
	}
}

// effectiveSetting is the value of command's flag name once its settings
// are layered, with args on its command line.
func effectiveSetting(t *testing.T, command, name string, args ...string) string {
	t.Helper()
	root := newRootCmd(IO{})
	cmd, rest, err := root.Find(append([]string{command}, args...))
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatal(err)
	}
	if _, err := loadSettings(cmd); err != nil {
		t.Fatal(err)
	}
	return settingString(cmd.Flags().Lookup(name))
}

// checkCommandLineOnly checks that a flag one command takes only from its
// command line (see commandLineOnly) ignores the shared setting in a
// config file and in MFABULK_*, which the other commands read.
func checkCommandLineOnly(t *testing.T, command string, f *pflag.Flag) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("XDG_CONFIG_HOME", dir)
	effective := func(args ...string) string {
		t.Helper()
		return effectiveSetting(t, command, f.Name, args...)
	}
	os.WriteFile("mfabulk.yaml", []byte(f.Name+": from-file\n"), 0o644)
	t.Setenv(envName(f.Name), "from-env")
	if got := effective(); got != defaultString(f) {
		t.Errorf("from a config file and %s: got %q, want the default %q", envName(f.Name), got, defaultString(f))
	}
	if got := effective("--" + f.Name + "=from-flag"); got != "from-flag" {
		t.Errorf("from the command line: got %q, want %q", got, "from-flag")
	}
}

// checkSafetySwitch checks that a safety switch is refused from a config
// file, and from its MFABULK_* variable too when it is flag-only, and is
// taken from the command line (and, if allowed, the environment).
func checkSafetySwitch(t *testing.T, command string, f *pflag.Flag) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("XDG_CONFIG_HOME", dir)
	os.Unsetenv(envName(f.Name))
	load := func(args ...string) (string, error) {
		t.Helper()
		cmd, rest, err := newRootCmd(IO{}).Find(append([]string{command}, args...))
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.ParseFlags(rest); err != nil {
			t.Fatal(err)
		}
		_, err = loadSettings(cmd)
		return cmd.Flags().Lookup(f.Name).Value.String(), err
	}
	if got, err := load("--" + f.Name); err != nil || got != "true" {
		t.Errorf("flag: %q, %v", got, err)
	}
	t.Setenv(envName(f.Name), "true")
	got, err := load()
	switch safetySwitches[f.Name] {
	case flagOnly:
		if err == nil {
			t.Errorf("%s accepted", envName(f.Name))
		}
	case notFromFile:
		if err != nil || got != "true" {
			t.Errorf("%s: %q, %v", envName(f.Name), got, err)
		}
	}
	os.Unsetenv(envName(f.Name))
	os.WriteFile("mfabulk.yaml", []byte(f.Name+": true\n"), 0o644)
	if _, err := load(); err == nil {
		t.Errorf("%s in the config file accepted", f.Name)
	}
}

// settingString is the value a command's flag holds after layering: what
// the typed option bound to it sees.
func settingString(f *pflag.Flag) string {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		list := sv.GetSlice()
		if len(list) == 0 {
			return ""
		}
		return list[0]
	}
	return f.Value.String()
}

func defaultString(f *pflag.Flag) string {
	if f.DefValue == "[]" {
		return ""
	}
	return f.DefValue
}

func TestConfigFileTypoIsAnError(t *testing.T) {
	t.Chdir(t.TempDir())
	os.WriteFile("mfabulk.yaml", []byte("paralelism: 3\n"), 0o644)
	cmd, _, _ := newRootCmd(IO{}).Find([]string{"plan"})
	if _, err := loadSettings(cmd); err == nil {
		t.Fatal("a misspelled setting was accepted")
	}
}
