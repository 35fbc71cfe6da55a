package manifest

import (
	"fmt"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v4"
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
	tagsDeclared bool       // a "tags" key appears anywhere in the file
	account      *yaml.Node // the file's account guard, if any
	role         *Role      // the file's role, if any
	names        []declared // the device names it declares, checked per account by Load

	lists    map[string][]string // recipient lists by their sources, shared by devices
	reported map[*yaml.Node]bool // nodes whose shared problem was reported
}

// maxDiagnostics bounds the problems listed, so that a small manifest
// with a problem repeated a million times cannot exhaust memory or bury
// the first problems; the rest are counted.
const maxDiagnostics = 1000

// crossFile holds what must be unique across every manifest of a run, and
// what is worked out once per run and shared by every device, so that the
// cost of a manifest stays proportional to its size: a recipients file
// named by 20,000 devices is read and parsed once, a recipient string is
// parsed once, a template is parsed once.
type crossFile struct {
	names    map[string]declared      // by lower-case device name
	outfiles map[string]declared      // by absolute outfile path, or s3:// URL in a store
	stores   map[string]declaredStore // by URL, so that a store has one kmsKeyId

	recipients map[string]recipientVerdict // seal.Describe's verdict by recipient text
	files      map[string]*recipientsFile  // by manifest folder and cleaned path
	roots      map[string]rootOrErr        // opened manifest folders
	templates  map[string]templateOrErr    // parsed outfile and user templates by text
	dirs       map[string]bool             // escapesBySymlink's verdict by folder
	entries    int                         // recipients held in distinct per-device lists

	ndiags  int // diagnostics recorded, across files
	dropped int // diagnostics past maxDiagnostics, counted only
	first   Pos // where the first dropped one was
}

type declared struct {
	name string
	pos  Pos
}

func newCrossFile() *crossFile {
	return &crossFile{
		names:      map[string]declared{},
		outfiles:   map[string]declared{},
		stores:     map[string]declaredStore{},
		recipients: map[string]recipientVerdict{},
		files:      map[string]*recipientsFile{},
		roots:      map[string]rootOrErr{},
		templates:  map[string]templateOrErr{},
		dirs:       map[string]bool{},
	}
}

// close releases the folders opened for recipients files.
func (x *crossFile) close() {
	for _, r := range x.roots {
		if r.root != nil {
			r.root.Close()
		}
	}
}

// finish sorts the diagnostics and, when some were dropped, adds one last
// that says how many.
func (x *crossFile) finish(ds Diagnostics) Diagnostics {
	ds.sort()
	if x.dropped > 0 {
		ds = append(ds, Diagnostic{
			Pos:     x.first,
			Message: fmt.Sprintf("%d more problem(s) not listed: mfabulk lists the first %d; fix these and validate again", x.dropped, maxDiagnostics),
			Rule:    "too-many-problems",
		})
	}
	return ds
}

// where names an earlier declaration as briefly as the reader needs.
func (c *collector) where(p Pos) string {
	if p.File == c.file {
		return fmt.Sprintf("line %d", p.Line)
	}
	return p.String()
}

func (c *collector) at(line, col int, rule, format string, args ...any) {
	if c.x.ndiags >= maxDiagnostics {
		if c.x.dropped == 0 {
			c.x.first = Pos{File: c.file, Line: line, Col: col}
		}
		c.x.dropped++
		return
	}
	c.x.ndiags++
	c.diags = append(c.diags, Diagnostic{
		Pos:     Pos{File: c.file, Line: line, Col: col},
		Message: fmt.Sprintf(format, args...),
		Rule:    rule,
	})
}
