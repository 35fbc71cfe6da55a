package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
)

// agev13 is age v1.3's CLI as `make build` builds it, from the filippo.io/age
// module in go.mod: age, age-keygen, age-inspect, and the module's test plugin
// age-plugin-tagtest, which decrypts files sealed to its fixed tag
// recipients (age1tag1…, age1tagpq1…) with no hardware. Debian's age is
// older and knows neither post-quantum nor tag recipients. The tools are
// built once per test process, into the folder that TestScripts gives.
type agev13 struct {
	dir  string
	once sync.Once
	err  error
	out  []byte
}

// cmd is the script command
//
//	agev13    builds the tools once and puts them first on the script's PATH
func (a *agev13) cmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: agev13")
	}
	a.once.Do(func() {
		// go test puts its own go first on the PATH of what it runs.
		gobin, err := exec.LookPath("go")
		if err != nil {
			a.err = err
			return
		}
		c := exec.Command(gobin, "build", "-o", a.dir+string(filepath.Separator),
			"filippo.io/age/cmd/age", "filippo.io/age/cmd/age-keygen", "filippo.io/age/cmd/age-inspect", "filippo.io/age/tag/internal/age-plugin-tagtest")
		a.out, a.err = c.CombinedOutput()
	})
	if a.err != nil {
		ts.Fatalf("building age v1.3 from the module: %v\n%s", a.err, a.out)
	}
	ts.Setenv("PATH", a.dir+string(os.PathListSeparator)+ts.Getenv("PATH"))
}
