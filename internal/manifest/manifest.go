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
	"slices"
	"sort"
	"strings"
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
	// Role is assumed to reach the account (role:, or the run's role
	// template); nil means the base credentials are the account's.
	Role *Role
	// Stores are the S3 stores its files name (store:), each once, in
	// file order: each file may name its own, and each device carries
	// its file's (Device.Store). Empty when every file keeps its folder.
	Stores []Store
}

// Device is one desired virtual MFA device with every default applied.
//
// Recipients and Tags are shared between devices that got the same ones
// (every device that adds nothing to defaults shares the defaults' list
// and map), so that a small manifest cannot expand into defaults ×
// devices copies: read them, never modify them.
type Device struct {
	Name      string
	Path      string
	Bootstrap string // device.QRCodePNG or device.Base32StringSeed
	// Outfile is the age-encrypted outfile: an absolute path, or, in an S3
	// store, s3://BUCKET/PREFIX/KEY (the template rendered under the
	// store's prefix).
	Outfile    string
	Recipients []string          // normalized, duplicates removed, defaults first
	Tags       map[string]string // nil when the device has none
	// User is the IAM user apply enables the device for (EnableMFADevice);
	// "" leaves the device unassigned, for the person to enroll.
	User string
	// Store is the manifest's store: where the outfile, its record and
	// its intent are kept. The zero value is the folder next to the
	// manifest.
	Store Store
	Pos   Pos // where the device is declared
}

// Store is a manifest's `store:`: an S3 bucket and prefix, with an
// optional KMS key for SSE-KMS. The zero value is the folder.
type Store struct {
	URL      string // s3://BUCKET/PREFIX/ (ends in "/"; "" for the folder)
	Bucket   string
	Prefix   string // "" or ends in "/"
	KMSKeyID string
}

// IsFolder reports whether the store is the folder next to the manifest.
func (s Store) IsFolder() bool { return s.URL == "" }

// Load reads, validates and resolves the manifests of one account. A
// path that is a folder stands for every *.yaml and *.yml file in it, in
// name order. A device name or outfile used twice, even in different
// files, is a problem, and so are manifests for two accounts (see
// [LoadAccounts]). When there are problems the error is a [Diagnostics]
// holding all of them.
//
// Every file is read through [inputfile.Read]: a FIFO, a device or a
// folder among them is an error naming it (rather than a read that never
// returns), and nothing past [MaxFileSize] is read.
func Load(paths ...string) (*Manifest, error) {
	ms, err := load(paths, LoadOptions{}, true)
	if err != nil {
		return nil, err
	}
	return ms[0], nil
}

// LoadOptions are a run's settings that manifests depend on.
type LoadOptions struct {
	// RoleTemplate gives the role of each account whose manifests name
	// none; the zero value gives none (the base credentials' account).
	RoleTemplate RoleTemplate
}

// LoadAccounts reads manifests as [Load] does, for any number of accounts:
// it returns one Manifest per account, in the order of each account's
// first file. Device names are unique per account, outfiles across all.
// With manifests for two accounts or more, each must say its account
// (account:, or a role: whose ARN names it); with one, the manifests that
// say none are for it too.
func LoadAccounts(o LoadOptions, paths ...string) ([]*Manifest, error) {
	return load(paths, o, false)
}

// loaded is one file's result, kept until files are grouped by account.
type loaded struct {
	c       *collector
	file    string
	digest  string
	devices []Device
	scopes  []string
	tags    bool
	account string // from account: or role:, "" when neither says
	store   *Store // from store:, nil for the folder
}

func load(paths []string, o LoadOptions, one bool) ([]*Manifest, error) {
	files, err := expand(paths)
	if err != nil {
		return nil, err
	}
	x := newCrossFile()
	defer x.close()
	var diags Diagnostics
	var all []loaded
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
		l := loaded{c: c, file: file, digest: hex.EncodeToString(sum[:])}
		l.devices, l.scopes, l.store = c.check(root, data)
		l.tags = c.tagsDeclared
		switch {
		case c.account != nil:
			l.account = c.account.Value
		case c.role != nil:
			l.account = c.role.Account()
		}
		all = append(all, l)
	}
	ms := group(all, o, one)
	for _, l := range all {
		diags = append(diags, l.c.diags...)
	}
	if len(diags) > 0 {
		return nil, x.finish(diags)
	}
	return ms, nil
}

// group puts files together by account, reporting files that say no
// account among several, roles that disagree within an account, and names
// used twice in one account.
func group(all []loaded, o LoadOptions, one bool) []*Manifest {
	var accounts []string
	first := map[string]*loaded{}
	for i := range all {
		if a := all[i].account; a != "" && first[a] == nil {
			accounts = append(accounts, a)
			first[a] = &all[i]
		}
	}
	if len(accounts) == 0 {
		accounts = []string{""}
	}
	byAccount := map[string]*Manifest{}
	roleFile := map[string]string{}
	var out []*Manifest
	for _, a := range accounts {
		m := &Manifest{Account: a}
		if a != "" {
			m.accountFile = first[a].file
		}
		byAccount[a] = m
		out = append(out, m)
	}
	names := map[string]map[string]declared{} // account → lower-case name → first
	for i := range all {
		l := &all[i]
		a := l.account
		switch {
		case a == "" && len(accounts) == 1:
			a = accounts[0]
		case a == "":
			l.c.at(1, 1, "account", "manifest says no account, but the others are for accounts %s: with several accounts in one run, each manifest says account:", strings.Join(accounts, ", "))
			continue
		case one && a != accounts[0]:
			n := l.c.account
			line, col := 1, 1
			if n != nil {
				line, col = n.Line, n.Column
			} else if l.c.role != nil {
				line, col = l.c.role.Pos.Line, l.c.role.Pos.Col
			}
			l.c.at(line, col, "account", "account %s differs from account %s of %s: give one account's manifests per run", a, accounts[0], first[accounts[0]].file)
			continue
		}
		m := byAccount[a]
		m.Files = append(m.Files, l.file)
		m.Digests = append(m.Digests, l.digest)
		m.Devices = append(m.Devices, l.devices...)
		m.Scopes = append(m.Scopes, l.scopes...)
		m.ManagesTags = m.ManagesTags || l.tags
		m.Stores = addStore(m.Stores, l.store)
		if r := l.c.role; r != nil {
			switch {
			case m.Role == nil:
				m.Role, roleFile[a] = r, l.file
			case *m.Role != Role{ARN: r.ARN, ExternalID: r.ExternalID, SessionName: r.SessionName, Duration: r.Duration, Pos: m.Role.Pos}:
				l.c.at(r.Pos.Line, r.Pos.Col, "role", "role differs from the role of account %s given at %s: give an account one role", a, l.c.where(m.Role.Pos))
			}
		}
		if names[a] == nil {
			names[a] = map[string]declared{}
		}
		l.c.uniqueNames(names[a])
	}
	for _, m := range out {
		if m.Role == nil && m.Account != "" && !o.RoleTemplate.IsZero() {
			// Each account's expansion is checked, not only
			// ParseRoleTemplate's probe: a template that makes no role
			// in this account is a problem before any call, never a run
			// with the base credentials or another account's role.
			arn, err := o.RoleTemplate.Expand(m.Account)
			if err != nil {
				f := first[m.Account]
				line, col := 1, 1
				if n := f.c.account; n != nil {
					line, col = n.Line, n.Column
				}
				f.c.at(line, col, "role", "%v", err)
				continue
			}
			m.Role = &Role{ARN: arn}
		}
	}
	return out
}

// uniqueNames reports the file's device names already used in the
// account (seen, which it extends).
func (c *collector) uniqueNames(seen map[string]declared) {
	for _, d := range c.names {
		key := strings.ToLower(d.name)
		prev, dup := seen[key]
		switch {
		case !dup:
			seen[key] = d
		case prev.name == d.name:
			c.at(d.pos.Line, d.pos.Col, "name-unique", "device %q is listed twice (first at %s)", d.name, c.where(prev.pos))
		default:
			c.at(d.pos.Line, d.pos.Col, "name-unique", "device %q is the same IAM name as %q at %s: IAM device names are case-insensitive", d.name, prev.name, c.where(prev.pos))
		}
	}
}

// Parse validates one manifest's data as if read from file, resolving
// outfiles and recipients files against root.
func Parse(file, root string, data []byte) (*Manifest, error) {
	x := newCrossFile()
	defer x.close()
	c := &collector{file: file, x: x}
	devs, scopes, store := c.check(root, data)
	c.uniqueNames(map[string]declared{})
	if len(c.diags) > 0 {
		return nil, x.finish(c.diags)
	}
	m := &Manifest{Files: []string{file}, Devices: devs, Scopes: scopes, ManagesTags: c.tagsDeclared, Stores: addStore(nil, store)}
	if c.account != nil {
		m.Account = c.account.Value
	}
	if c.role != nil {
		m.Account, m.Role = c.role.Account(), c.role
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

// addStore adds s to stores unless it is nil or there already.
func addStore(stores []Store, s *Store) []Store {
	if s == nil || slices.Contains(stores, *s) {
		return stores
	}
	return append(stores, *s)
}

// check checks one manifest file's data: its devices, scope paths and
// store (nil for the folder).
func (c *collector) check(root string, data []byte) ([]Device, []string, *Store) {
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
			c.account, c.role = raw.account, raw.role
			return c.resolve(raw, root), raw.scopeValues(), raw.store
		}
	}
	return nil, nil, nil
}

func (c *collector) parse(data []byte) *rawManifest {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			c.at(1, 1, "file-empty", "manifest is empty: want at least \"version: 1\" and \"devices:\"")
		} else {
			line, col, msg := yamlSyntax(err, data)
			c.at(line, col, "yaml-syntax", "%s", printable(msg))
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
