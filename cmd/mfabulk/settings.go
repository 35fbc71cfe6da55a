package main

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	yaml "go.yaml.in/yaml/v4"

	"github.com/mfabulk/mfabulk/internal/inputfile"
)

// settings say where each of a command's flags got its value. Every flag
// is bound to a field of the command's typed options; [loadSettings] fills
// each flag the command line left unset from its MFABULK_* variable, else
// from the config file, so a command reads its options from its struct
// and never a setting by name.
type settings struct {
	configFile string         // the config file read, if any
	fileValues map[string]any // the settings that file sets
	// source names where a flag's value came from, for messages:
	// "--NAME", "MFABULK_NAME" or "NAME in FILE"; absent for a default.
	source map[string]string
}

// where names the source of a flag's value, as a message should say it.
func (s settings) where(name string) string {
	if w := s.source[name]; w != "" {
		return w
	}
	return "--" + name
}

// safety marks the flags that are safety switches, which ambient
// configuration must not turn on behind a user's back: flagOnly ones are
// taken only from the command line; notFromFile ones also from their
// MFABULK_* variable (a scheduler's environment is set on purpose), never
// from a config file (one in the working folder can arrive with a
// checkout).
type safety int

const (
	anyLayer safety = iota
	notFromFile
	flagOnly
)

var safetySwitches = map[string]safety{
	"force":            flagOnly,    // show, enroll: print a secret into a pipe
	"allow-unverified": flagOnly,    // enroll: enable a device mfabulk cannot prove it made
	"auto-approve":     notFromFile, // apply without asking
	// plan, apply: a bucket whose overwrites and deletes cannot be undone
	"allow-unversioned-store": flagOnly,
	// plan, apply: replace or prune a device a user has, deactivating it
	"allow-deactivate": flagOnly,
}

// commandLineOnly annotates a flag that one command takes only from its
// command line while others share its setting: apply's -i, whose identity
// decrypts every outfile it re-seals (and, for a plugin identity, runs
// the plugin), is never read from the identity: a config file (one in the
// working folder can arrive with a checkout) or MFABULK_IDENTITY sets for
// show and enroll.
const commandLineOnly = "mfabulk-command-line-only"

// safetyError refuses a safety switch from a layer it may not come from.
func safetyError(name, layer string) error {
	switch safetySwitches[name] {
	case flagOnly:
		return fmt.Errorf("%s: --%s is a safety switch, taken only from the command line", layer, name)
	case notFromFile:
		return fmt.Errorf("%s: %s cannot be set in a config file: it is a safety switch, taken only from --%s or %s", layer, name, name, envName(name))
	}
	return nil
}

// loadSettings layers flag > MFABULK_* environment > config file > default
// into cmd's flags, and so into the options they are bound to.
func loadSettings(cmd *cobra.Command) (settings, error) {
	s := settings{source: map[string]string{}}
	path, explicit := configPath(cmd)
	if path != "" {
		values, err := readConfig(path, knownKeys(cmd.Root()))
		if err != nil && (explicit || !errors.Is(err, os.ErrNotExist)) {
			return settings{}, err
		}
		if err == nil {
			s.configFile, s.fileValues = path, values
		}
	}
	// viper does the lookups (MFABULK_NAME with dashes as underscores, then
	// the file); the flag's own parser then takes the value, so the typed
	// option bound to it is set exactly as from the command line.
	v := viper.New()
	v.SetEnvPrefix("MFABULK")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	if s.fileValues != nil {
		if err := v.MergeConfigMap(s.fileValues); err != nil {
			return settings{}, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	var errs []error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		switch {
		case f.Name == "help" || f.Name == "config":
			return
		case f.Changed:
			s.source[f.Name] = "--" + f.Name
			return
		case f.Annotations[commandLineOnly] != nil:
			return // this command's value of a shared setting: see commandLineOnly
		case !v.IsSet(f.Name): // viper counts an empty variable as unset
			return
		case os.Getenv(envName(f.Name)) != "":
			if safetySwitches[f.Name] == flagOnly {
				errs = append(errs, safetyError(f.Name, envName(f.Name)))
				return
			}
			s.source[f.Name] = envName(f.Name)
		default:
			s.source[f.Name] = fmt.Sprintf("%s in %s", f.Name, path)
		}
		vals, err := layerStrings(f, v.Get(f.Name))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.where(f.Name), err))
			return
		}
		errs = append(errs, setFlag(f, s.where(f.Name), vals))
	})
	if err := errors.Join(errs...); err != nil {
		return settings{}, err
	}
	if err := checkDeactivateScope(cmd, s); err != nil {
		return settings{}, err
	}
	if err := checkAtLeastOne(cmd, s); err != nil {
		return settings{}, err
	}
	if err := checkNotNegative(cmd, s); err != nil {
		return settings{}, err
	}
	return s, nil
}

// checkDeactivateScope refuses, with --allow-deactivate, a --prune or
// --replace from a config file or the environment: the flag lets them take
// a person's MFA away, and a config file can arrive with a checkout, so
// what it acts on is asked for where the flag is, on the command line.
func checkDeactivateScope(cmd *cobra.Command, s settings) error {
	if on, err := cmd.Flags().GetBool("allow-deactivate"); err != nil || !on {
		return nil
	}
	for _, name := range []string{"prune", "replace"} {
		if w := s.source[name]; w != "" && w != "--"+name {
			return fmt.Errorf("%s: with --allow-deactivate, --prune and --replace are taken only from the command line", w)
		}
	}
	return nil
}

// atLeastOne marks an int flag that must be 1 or more, however it was set;
// [loadSettings] refuses anything less, before any AWS call.
const atLeastOne = "mfabulk_at_least_one"

// markAtLeastOne marks flag name of cmd as needing a value of 1 or more;
// hint says what the number is.
func markAtLeastOne(cmd *cobra.Command, name, hint string) {
	_ = cmd.Flags().SetAnnotation(name, atLeastOne, []string{hint})
}

func checkAtLeastOne(cmd *cobra.Command, s settings) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		hint, ok := f.Annotations[atLeastOne]
		if !ok || err != nil {
			return
		}
		if n, perr := strconv.Atoi(f.Value.String()); perr == nil && n < 1 {
			err = withHint(fmt.Errorf("%s %d: must be at least 1", s.where(f.Name), n), "give %s, e.g. --%s %s", hint[0], f.Name, f.DefValue)
		}
	})
	return err
}

// notNegative marks a float flag that must be a number, 0 or more,
// however it was set; [loadSettings] refuses anything else (a negative
// number, NaN, an infinity) before any AWS call.
const notNegative = "mfabulk_not_negative"

// markNotNegative marks flag name of cmd as needing a finite value of 0
// or more; hint says what the number is.
func markNotNegative(cmd *cobra.Command, name, hint string) {
	_ = cmd.Flags().SetAnnotation(name, notNegative, []string{hint})
}

func checkNotNegative(cmd *cobra.Command, s settings) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		hint, ok := f.Annotations[notNegative]
		if !ok || err != nil {
			return
		}
		if x, perr := strconv.ParseFloat(f.Value.String(), 64); perr == nil && !(x >= 0 && !math.IsInf(x, 1)) {
			err = withHint(fmt.Errorf("%s %s: must be a number, 0 or more", s.where(f.Name), f.Value), "give %s, e.g. --%s 20", hint[0], f.Name)
		}
	})
	return err
}

// layerStrings turns a value from the environment or the config file
// into the strings flag f parses. A list-valued variable is split on white
// space, as MFABULK_FILE or MFABULK_TARGET are written in a shell.
func layerStrings(f *pflag.Flag, v any) ([]string, error) {
	if env, ok := v.(string); ok {
		if _, list := f.Value.(pflag.SliceValue); list {
			return strings.Fields(env), nil
		}
	}
	return fileStrings(v)
}

// fileStrings turns a config file's YAML value into strings: a scalar, or
// a list of scalars.
func fileStrings(v any) ([]string, error) {
	switch v := v.(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, err := fileStrings(x)
			if err != nil || len(s) != 1 {
				return nil, errors.New("a list may hold only plain values")
			}
			out = append(out, s[0])
		}
		return out, nil
	case map[string]any:
		return nil, errors.New("expected a value or a list, found a mapping")
	case nil:
		return []string{""}, nil
	}
	return []string{fmt.Sprint(v)}, nil
}

// setFlag gives flag f the values from the environment or the config file,
// with the flag's own parser, so a bad value is refused exactly as on the
// command line, naming where it came from.
func setFlag(f *pflag.Flag, where string, vals []string) error {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		if err := sv.Replace(vals); err != nil {
			return fmt.Errorf("%s %q: %w", where, strings.Join(vals, " "), err)
		}
		return nil
	}
	val := strings.Join(vals, " ")
	if err := f.Value.Set(val); err != nil {
		if f.Value.Type() == "duration" {
			return withHint(fmt.Errorf("%s %q: not a duration", where, val), "give a duration with its unit, e.g. --%s 30s", f.Name)
		}
		return fmt.Errorf("%s %q: %w", where, val, err)
	}
	return nil
}

// checkPositive refuses a duration that is not positive, naming where it
// was set: zero would mean "no bound" to a reader, and IAM calls must
// always have one.
func checkPositive(s settings, name string, d time.Duration) error {
	if d <= 0 {
		return withHint(fmt.Errorf("%s %v: must be positive", s.where(name), d), "give a duration with its unit, e.g. --%s 30s", name)
	}
	return nil
}

// configPath returns --config, else the first default file that exists.
func configPath(cmd *cobra.Command) (string, bool) {
	if p, _ := cmd.Flags().GetString("config"); p != "" {
		return p, true
	}
	if p := os.Getenv("MFABULK_CONFIG"); p != "" {
		return p, true
	}
	candidates := []string{"mfabulk.yaml"}
	if dir, err := os.UserConfigDir(); err == nil {
		candidates = append(candidates, filepath.Join(dir, "mfabulk", "config.yaml"))
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c, false
		}
	}
	return "", false
}

// maxConfigSize bounds a config file: a few settings, never a megabyte.
const maxConfigSize = 1 << 20

// readConfig loads a config file, refusing keys no command knows so that a
// misspelled setting is an error rather than silently ignored. It is read
// through inputfile, so a FIFO or a device given as the config file is an
// error instead of a hang or an endless read.
func readConfig(path string, known map[string]bool) (map[string]any, error) {
	data, err := inputfile.Read(path, maxConfigSize)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(data, &values); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	var unknown []string
	for _, k := range slices.Sorted(maps.Keys(values)) {
		switch {
		case !known[k]:
			unknown = append(unknown, k)
		case safetySwitches[k] == flagOnly:
			return nil, fmt.Errorf("config file %s: %s cannot be set in a config file: it is a safety switch, taken only from the command line (--%s)", path, k, k)
		case safetySwitches[k] == notFromFile:
			return nil, safetyError(k, "config file "+path)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("config file %s: unknown setting(s) %s (known: %s)", path, strings.Join(unknown, ", "), strings.Join(sortedNames(known), ", "))
	}
	if values == nil {
		values = map[string]any{}
	}
	return values, nil
}

func sortedNames(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }

// envName is the MFABULK_* variable for a setting.
func envName(key string) string {
	return "MFABULK_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

// knownKeys are the flags of every command: each is a setting.
func knownKeys(root *cobra.Command) map[string]bool {
	known := map[string]bool{}
	for name := range allFlags(root) {
		known[name] = true
	}
	return known
}

// allFlags returns every command's flags by name (the first definition of
// a name wins), except help, config and the root's --version, which are
// not settings.
func allFlags(root *cobra.Command) map[string]*pflag.Flag {
	flags := map[string]*pflag.Flag{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Name() == "completion" {
			return // cobra's own; its flags are not settings
		}
		add := func(f *pflag.Flag) {
			if _, ok := flags[f.Name]; !ok && f.Name != "help" && f.Name != "config" && f.Name != "version" {
				flags[f.Name] = f
			}
		}
		c.Flags().VisitAll(add)
		c.PersistentFlags().VisitAll(add)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return flags
}
