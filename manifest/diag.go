package manifest

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a place in a manifest file; Line and Col are 1-based.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"column"`
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Diagnostic is one problem in a manifest. Rule is a stable identifier
// (for example "name-pattern") that scripts and tests can match on.
type Diagnostic struct {
	Pos
	Message string `json:"message"`
	Rule    string `json:"rule"`
}

func (d Diagnostic) String() string { return d.Pos.String() + ": " + d.Message }

// Diagnostics is every problem found in a manifest. It is returned as an
// error by [Load] so that callers can show all of them at once.
type Diagnostics []Diagnostic

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

func (ds Diagnostics) sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// collector gathers diagnostics while one manifest file is walked.
type collector struct {
	file         string
	x            *crossFile
	diags        Diagnostics
	tagsDeclared bool // a "tags" key appears anywhere in the file
}

// crossFile holds what must be unique across every manifest of a run.
type crossFile struct {
	names    map[string]declared // by lower-case device name
	outfiles map[string]declared // by absolute outfile path
}

type declared struct {
	name string
	pos  Pos
}

func newCrossFile() *crossFile {
	return &crossFile{names: map[string]declared{}, outfiles: map[string]declared{}}
}

// where names an earlier declaration as briefly as the reader needs.
func (c *collector) where(p Pos) string {
	if p.File == c.file {
		return fmt.Sprintf("line %d", p.Line)
	}
	return p.String()
}

func (c *collector) at(line, col int, rule, format string, args ...any) {
	c.diags = append(c.diags, Diagnostic{
		Pos:     Pos{File: c.file, Line: line, Col: col},
		Message: fmt.Sprintf(format, args...),
		Rule:    rule,
	})
}
