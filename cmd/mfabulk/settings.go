package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"

	"github.com/mfabulk/mfabulk/internal/aws/iamclient"
	"github.com/mfabulk/mfabulk/internal/inputfile"
)

// settings are a command's effective options, after viper layered flag >
// MFABULK_* environment > config file > default.
type settings struct {
	v          *viper.Viper
	configFile string          // the config file read, if any
	fileKeys   map[string]bool // the settings that file sets
}

func loadSettings(cmd *cobra.Command) (settings, error) {
	v := viper.New()
	v.SetEnvPrefix("MFABULK")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	if err := v.BindPFlags(cmd.Flags()); err != nil {
		return settings{}, err
	}
	s := settings{v: v}
	path, explicit := configPath(cmd)
	if path != "" {
		keys, err := readConfig(v, path, knownKeys(cmd.Root()))
		if err != nil && (explicit || !errors.Is(err, os.ErrNotExist)) {
			return settings{}, err
		}
		if err == nil {
			s.configFile, s.fileKeys = path, keys
		}
	}
	return s, nil
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
func readConfig(v *viper.Viper, path string, known map[string]bool) (map[string]bool, error) {
	data, err := inputfile.Read(path, maxConfigSize)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	var keys map[string]any
	if err := yaml.Unmarshal(data, &keys); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	set := map[string]bool{}
	var unknown []string
	for k := range keys {
		set[k] = true
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("config file %s: unknown setting(s) %s (known: %s)", path, strings.Join(unknown, ", "), strings.Join(sortedNames(known), ", "))
	}
	v.SetConfigType("yaml")
	return set, v.ReadConfig(strings.NewReader(string(data)))
}

func sortedNames(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

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
// a name wins), except help and config, which are not settings.
func allFlags(root *cobra.Command) map[string]*pflag.Flag {
	flags := map[string]*pflag.Flag{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Name() == "completion" {
			return // cobra's own; its flags are not settings
		}
		add := func(f *pflag.Flag) {
			if _, ok := flags[f.Name]; !ok && f.Name != "help" && f.Name != "config" {
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

func (s settings) str(key string) string   { return s.v.GetString(key) }
func (s settings) boolean(key string) bool { return s.v.GetBool(key) }
func (s settings) integer(key string) int  { return s.v.GetInt(key) }

func (s settings) awsOptions(streams IO) iamclient.Options {
	o := iamclient.Options{
		Profile:     s.str("profile"),
		Region:      s.str("region"),
		EndpointURL: s.str("endpoint-url"),
		MaxBackoff:  s.v.GetDuration("max-backoff"),

		ConnectTimeout: s.v.GetDuration("connect-timeout"),
		ReadTimeout:    s.v.GetDuration("read-timeout"),
		CallTimeout:    s.v.GetDuration("call-timeout"),
	}
	if s.boolean("debug") {
		o.Debug = streams.Err
	}
	return o
}
