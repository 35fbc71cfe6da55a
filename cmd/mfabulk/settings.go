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

	"github.com/mfabulk/mfabulk/iamclient"
)

// settings are a command's effective options, after viper layered flag >
// MFABULK_* environment > config file > default.
type settings struct {
	v *viper.Viper
}

func loadSettings(cmd *cobra.Command) (settings, error) {
	v := viper.New()
	v.SetEnvPrefix("MFABULK")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	if err := v.BindPFlags(cmd.Flags()); err != nil {
		return settings{}, err
	}
	path, explicit := configPath(cmd)
	if path != "" {
		if err := readConfig(v, path, knownKeys(cmd.Root())); err != nil {
			if explicit || !errors.Is(err, os.ErrNotExist) {
				return settings{}, err
			}
		}
	}
	return settings{v: v}, nil
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

// readConfig loads a config file, refusing keys no command knows so that a
// misspelled setting is an error rather than silently ignored.
func readConfig(v *viper.Viper, path string, known map[string]bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	var keys map[string]any
	if err := yaml.Unmarshal(data, &keys); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	var unknown []string
	for k := range keys {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("config file %s: unknown setting(s) %s", path, strings.Join(unknown, ", "))
	}
	v.SetConfigType("yaml")
	return v.ReadConfig(strings.NewReader(string(data)))
}

// knownKeys are the flags of every command: each is a setting.
func knownKeys(root *cobra.Command) map[string]bool {
	known := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { known[f.Name] = true })
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) { known[f.Name] = true })
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	delete(known, "help")
	delete(known, "config")
	return known
}

func (s settings) str(key string) string   { return s.v.GetString(key) }
func (s settings) boolean(key string) bool { return s.v.GetBool(key) }
func (s settings) integer(key string) int  { return s.v.GetInt(key) }

func (s settings) awsOptions() iamclient.Options {
	return iamclient.Options{
		Profile:     s.str("profile"),
		Region:      s.str("region"),
		EndpointURL: s.str("endpoint-url"),
	}
}
