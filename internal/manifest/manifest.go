// Package manifest reads and validates mfabulk's YAML manifests.
//
// Call [Load] with a manifest's path. It returns the devices with every
// default applied and every outfile resolved, or a [Diagnostics] error that
// lists every problem in the file, each with its file:line:col, so that a
// manifest can be fixed in one pass and nothing reaches AWS until it is
// valid.
package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v4"

	"github.com/mfabulk/mfabulk/internal/inputfile"
)

// MaxFileSize bounds what Load reads, so that a huge or hostile file
// cannot exhaust memory.
const MaxFileSize = 4 << 20

// MaxEntries bounds the lines and flow-list items of one manifest before
// it is parsed: the YAML parser builds a node per item, and 4 MiB of
// "[a,a,a,…]" would otherwise take half a gigabyte before any rule runs.
// 150,000 is ten times more devices than an account can hold.
const MaxEntries = 150_000

// entries counts what can start a YAML node: lines and flow separators.
func entries(data []byte) int {
	return bytes.Count(data, []byte{'\n'}) + bytes.Count(data, []byte{','}) + bytes.Count(data, []byte{'['}) + bytes.Count(data, []byte{'{'})
}

// DefaultOutfile is the outfile template used when neither defaults nor a
// device names one.
const DefaultOutfile = "out/{{.Name}}{{.Ext}}.age"

// Manifest is one or more validated manifest files taken together.
type Manifest struct {
	Files   []string // the manifest files, as given or found in a folder
	Digests []string // SHA-256 of each file's content, hex, as read
	Devices []Device // in file order, then manifest order
	// Scopes are the IAM path prefixes the manifests manage (scope.paths),
	// from every file that declares some.
	Scopes []string
	// ManagesTags is set when any manifest declares tags anywhere: then
	// mfabulk owns the full tag set of every device it lists. Otherwise
	// tags are left alone and no tag call is made.
	ManagesTags bool
	// Account is the AWS account ID the manifests are for (account:), ""
	// when none says: plan and apply refuse credentials of any other
	// account before reading or changing anything, as terraform's
	// allowed_account_ids does.
	Account     string
	accountFile string // the manifest that named it first
}

// Device is one desired virtual MFA device with every default applied.
//
// Recipients and Tags are shared between devices that got the same ones
// (every device that adds nothing to defaults shares the defaults' list
// and map), so that a small manifest cannot expand into defaults ×
// devices copies: read them, never modify them.
type Device struct {
	Name       string
	Path       string
	Bootstrap  string            // device.QRCodePNG or device.Base32StringSeed
	Outfile    string            // absolute path of the age-encrypted outfile
	Recipients []string          // normalized, duplicates removed, defaults first
	Tags       map[string]string // nil when the device has none
	// User is the IAM user apply enables the device for (EnableMFADevice);
	// "" leaves the device unassigned, for the person to enroll.
	User string
	Pos  Pos // where the device is declared
}

// Load reads, validates and resolves manifests. A path that is a folder
// stands for every *.yaml and *.yml file in it, in name order. A device
// name or outfile used twice, even in different files, is a problem. When
// there are problems the error is a [Diagnostics] holding all of them.
//
// Every file is read through [inputfile.Read]: a FIFO, a device or a
// folder among them is an error naming it (rather than a read that never
// returns), and nothing past [MaxFileSize] is read.
func Load(paths ...string) (*Manifest, error) {
	files, err := expand(paths)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Files: files}
	x := newCrossFile()
	defer x.close()
	var diags Diagnostics
	for _, file := range files {
		c := &collector{file: file, x: x}
		data, err := inputfile.Read(file, MaxFileSize)
		var tooLarge *inputfile.TooLargeError
		if errors.As(err, &tooLarge) {
			c.at(1, 1, "file-size", "manifest is larger than %d bytes", MaxFileSize)
			diags = append(diags, c.diags...)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, unwrapPathError(err))
		}
		root, err := filepath.Abs(filepath.Dir(file))
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		m.Digests = append(m.Digests, hex.EncodeToString(sum[:]))
		devs, scopes := c.check(root, data)
		m.Devices = append(m.Devices, devs...)
		m.Scopes = append(m.Scopes, scopes...)
		m.ManagesTags = m.ManagesTags || c.tagsDeclared
		if n := c.account; n != nil {
			// One run, one account: manifests for several accounts in one
			// run are for a later version; say so rather than guess.
			if m.Account != "" && m.Account != n.Value {
				c.at(n.Line, n.Column, "account", "account %s differs from account %s of %s: give one account's manifests per run", n.Value, m.Account, m.accountFile)
			} else if m.Account == "" {
				m.Account, m.accountFile = n.Value, file
			}
		}
		diags = append(diags, c.diags...)
	}
	if len(diags) > 0 {
		return nil, x.finish(diags)
	}
	return m, nil
}

// Parse validates one manifest's data as if read from file, resolving
// outfiles and recipients files against root.
func Parse(file, root string, data []byte) (*Manifest, error) {
	x := newCrossFile()
	defer x.close()
	c := &collector{file: file, x: x}
	devs, scopes := c.check(root, data)
	if len(c.diags) > 0 {
		return nil, x.finish(c.diags)
	}
	m := &Manifest{Files: []string{file}, Devices: devs, Scopes: scopes, ManagesTags: c.tagsDeclared}
	if c.account != nil {
		m.Account = c.account.Value
	}
	return m, nil
}

// expand replaces folders by the manifests in them.
func expand(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		var found []string
		for _, pattern := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(p, pattern)) // errors only on a malformed pattern, and these are constant
			found = append(found, m...)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: folder has no *.yaml or *.yml manifest", p)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

// file checks one manifest file's data.
func (c *collector) check(root string, data []byte) ([]Device, []string) {
	switch {
	case len(data) > MaxFileSize:
		c.at(1, 1, "file-size", "manifest is larger than %d bytes", MaxFileSize)
	case !utf8.Valid(data):
		line, col := firstInvalidUTF8(data)
		c.at(line, col, "file-encoding", "manifest is not valid UTF-8")
	case entries(data) > MaxEntries:
		c.at(1, 1, "file-size", "manifest has more than %d lines and list items; split it into several files (-f DIR reads them all)", MaxEntries)
	default:
		if raw := c.parse(data); raw != nil {
			c.account = raw.account
			return c.resolve(raw, root), raw.scopeValues()
		}
	}
	return nil, nil
}

func (c *collector) parse(data []byte) *rawManifest {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			c.at(1, 1, "file-empty", "manifest is empty: want at least \"version: 1\" and \"devices:\"")
		} else {
			line, col, msg := yamlSyntax(err, data)
			c.at(line, col, "yaml-syntax", "%s", msg)
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		c.at(extra.Line, extra.Column, "yaml-multi-document", "manifest must be a single YAML document")
	}
	if len(doc.Content) == 0 {
		c.at(1, 1, "file-empty", "manifest is empty: want at least \"version: 1\" and \"devices:\"")
		return nil
	}
	return c.walk(doc.Content[0])
}

func firstInvalidUTF8(b []byte) (line, col int) {
	line, col = 1, 1
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			return line, col
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		b = b[size:]
	}
	return line, col
}
