package main

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newConfigCmd(streams IO) *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the effective settings and where each came from",
		Long: `config prints every setting with its value and source: the MFABULK_*
environment variable, the config file, or the default. A flag given to a
command beats all three.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings(cmd)
			if err != nil {
				return err
			}
			if s.configFile != "" {
				fmt.Fprintf(streams.Out, "config file: %s\n\n", s.configFile)
			} else {
				fmt.Fprintf(streams.Out, "config file: none\n\n")
			}
			flags := allFlags(cmd.Root())
			names := slices.Sorted(maps.Keys(flags))
			tw := tabwriter.NewWriter(streams.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SETTING\tVALUE\tSOURCE")
			for _, n := range names {
				value, source := flags[n].DefValue, "default"
				if env := envName(n); os.Getenv(env) != "" {
					value, source = os.Getenv(env), "env "+env
				} else if v, ok := s.fileValues[n]; ok {
					vals, _ := fileStrings(v) // a mapping shows as "-"; the command using it refuses it
					value, source = strings.Join(vals, " "), "config file"
				}
				if value == "" || value == "[]" {
					value = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", n, value, source)
			}
			return tw.Flush()
		},
	}
}
