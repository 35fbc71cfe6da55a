package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
)

// timeoutSettings are the flags that bound AWS calls.
var timeoutSettings = []string{"connect-timeout", "read-timeout", "call-timeout"}

// checkTimeouts refuses a timeout that is not a positive duration, naming
// where it was set. viper turns a value it cannot parse into 0 and reads a
// bare number from the environment or a config file as nanoseconds, so
// the raw value is parsed here, strictly: MFABULK_READ_TIMEOUT=30 is an
// error, not 30ns.
func checkTimeouts(cmd *cobra.Command, s settings) error {
	for _, key := range timeoutSettings {
		where := "--" + key
		if !cmd.Flags().Changed(key) && os.Getenv(envName(key)) != "" { // viper ignores an empty variable
			where = envName(key)
		} else if !cmd.Flags().Changed(key) && s.fileKeys[key] {
			where = fmt.Sprintf("%s in %s", key, s.configFile)
		}
		var d time.Duration
		switch v := s.v.Get(key).(type) {
		case time.Duration:
			d = v
		case string:
			var err error
			if d, err = time.ParseDuration(v); err != nil {
				return withHint(fmt.Errorf("%s %q: not a duration", where, v), "give a duration with its unit, e.g. --%s 30s", key)
			}
		default:
			return withHint(fmt.Errorf("%s %v: not a duration", where, v), "give a duration with its unit, e.g. --%s 30s", key)
		}
		if d <= 0 {
			return withHint(fmt.Errorf("%s %v: must be positive", where, d), "give a duration with its unit, e.g. --%s 30s", key)
		}
	}
	return nil
}
