// Command phone plays the authenticator app in the demo: it reads a Base32
// seed on standard input and prints the codes for the previous and the
// current 30-second step, one a line, as a person would type them into
// mfabulk enroll. It is demo tooling, not part of mfabulk.
package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mfabulk/mfabulk/internal/totp"
)

func main() {
	seed, err := io.ReadAll(io.LimitReader(os.Stdin, 1024))
	if err != nil {
		fmt.Fprintln(os.Stderr, "phone: reading the seed:", err)
		os.Exit(1)
	}
	defer clear(seed)
	first, second, err := totp.Pair(seed, time.Now())
	if err != nil {
		fmt.Fprintln(os.Stderr, "phone:", err)
		os.Exit(1)
	}
	fmt.Printf("%s\n%s\n", first, second)
}
