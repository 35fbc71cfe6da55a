package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v4"

	"github.com/mfabulk/mfabulk/internal/inputfile"
	"github.com/mfabulk/mfabulk/internal/seal"
)

// maxRecipientsFile bounds a recipients file, as MaxFileSize does manifests.
const maxRecipientsFile = 1 << 20

// maxRecipientEntries bounds the recipients held in all the distinct
// recipient lists of a run. Devices with the same recipients settings
// share one list, so a team file of 250 keys named by 20,000 devices
// costs 250; but 40,000 devices that each add their own key to it would
// need 10 million entries, from a 4 MiB manifest. (One device is sealed to
// at most seal.MaxRecipients keys.)
var maxRecipientEntries = 1 << 21

// maxBadLines bounds the diagnostics for the lines of one recipients file.
const maxBadLines = 10

// recipientsFile is one recipients file, read and parsed once per run
// however many devices name it.
type recipientsFile struct {
	keys     []string // its recipients, normalized, duplicates removed, in file order
	err      error    // why it could not be read; then keys is empty
	bad      []int    // lines that are not recipients
	badErr   []error  // why, for each of bad; the errors never quote the line
	reported bool     // its content's problems have been reported once

	// The first line of a post-quantum key and of a classic one (0: none).
	// age cannot seal one file to both kinds; a file that holds both is
	// reported once, at the line naming it, and not again for each device.
	pqLine, classicLine int
}

// mixed reports whether f holds both post-quantum and classic keys.
func (f *recipientsFile) mixed() bool { return f.pqLine > 0 && f.classicLine > 0 }

type rootOrErr struct {
	root *os.Root
	err  error
}

// defaultRecipients is what defaults contribute to every device's
// recipients, worked out once per manifest.
type defaultRecipients struct {
	list  []string          // shared by every device that adds no recipients of its own
	srcs  []recipientSource // where list comes from
	given int               // recipients written, valid or not
}

// recipientVerdict is what seal says of one recipient's text.
type recipientVerdict struct {
	kind seal.Kind
	err  error
}

// parseRecipient is seal.Describe, once per distinct text per run.
func (x *crossFile) parseRecipient(s string) (seal.Kind, error) {
	v, ok := x.recipients[s]
	if !ok {
		v.kind, _, v.err = seal.Describe(s)
		x.recipients[s] = v
	}
	return v.kind, v.err
}

// recipientSource is one entry of a recipients or recipientsFiles list,
// checked.
type recipientSource struct {
	inline string          // a valid recipient written in the manifest
	file   *recipientsFile // or a recipients file that could be read
	key    string          // what identifies it in a list's signature
	node   *yaml.Node      // where the manifest names it
	pq     bool            // an inline post-quantum key
}

// sources checks a device's (or the defaults') recipients and
// recipientsFiles and returns those usable, in order, with how many
// recipients were written in all (valid or not).
func (c *collector) sources(src rawDevice, root string) ([]recipientSource, int) {
	var out []recipientSource
	given := 0
	for _, n := range src.recipients {
		given++
		v := strings.TrimSpace(n.Value)
		k, err := c.x.parseRecipient(v)
		if err != nil {
			// The manifest's own text may be quoted: the user wrote it.
			c.at(n.Line, n.Column, "recipient", "recipient %s: %v", quote(v), err)
			continue
		}
		out = append(out, recipientSource{inline: v, key: "k" + v, node: n, pq: k.IsPostQuantum()})
	}
	for _, n := range src.files {
		f, key := c.recipientsFile(n, root)
		if f == nil {
			given++ // named, but unreadable: reported already
			continue
		}
		given += len(f.keys) + len(f.bad)
		out = append(out, recipientSource{file: f, key: "f" + key, node: n})
	}
	return out, given
}

// defaults works out the defaults' recipients once, reporting their
// problems once.
func (c *collector) defaultRecipients(def rawDevice, root string) defaultRecipients {
	srcs, given := c.sources(def, root)
	c.checkMix("defaults", nil, srcs)
	list := c.combine(nil, srcs)
	if len(list) > seal.MaxRecipients {
		n := srcs[0].node
		c.at(n.Line, n.Column, "recipients-count", "defaults: %s", tooManyRecipients(len(list)))
	}
	return defaultRecipients{list: list, srcs: srcs, given: given}
}

// tooManyRecipients says why a device is sealed to at most
// seal.MaxRecipients keys.
func tooManyRecipients(n int) string {
	return fmt.Sprintf("%d recipients, more than the %d a device is sealed to at most: its outfile's record names each, and must stay small enough to read back; seal it to fewer keys (an escrow key rather than every team member's)", n, seal.MaxRecipients)
}

// recipients combines default and device recipients, defaults first,
// inline keys before files, dropping duplicates. A device that adds none
// shares the defaults' list; devices that add the same share one list.
// The lists are shared: nobody may modify them.
func (c *collector) recipients(rd rawDevice, dr defaultRecipients, root string) []string {
	if len(rd.recipients) == 0 && len(rd.files) == 0 {
		if dr.given == 0 {
			c.at(rd.name.Line, rd.name.Column, "recipient-required", "device %q has no recipients: add \"recipients\" or \"recipientsFiles\" to it or to defaults", rd.name.Value)
		}
		return dr.list
	}
	srcs, given := c.sources(rd, root)
	if given+dr.given == 0 {
		c.at(rd.name.Line, rd.name.Column, "recipient-required", "device %q has no recipients: add \"recipients\" or \"recipientsFiles\" to it or to defaults", rd.name.Value)
	}
	if len(srcs) == 0 {
		return dr.list
	}
	c.checkMix(fmt.Sprintf("device %q", rd.name.Value), dr.srcs, srcs)
	var sig strings.Builder
	for _, s := range srcs {
		sig.WriteString(s.key)
		sig.WriteByte(0)
	}
	if list, ok := c.lists[sig.String()]; ok {
		return list
	}
	if c.x.entries > maxRecipientEntries {
		return nil // reported once, when the bound was passed
	}
	list := c.combine(dr.list, srcs)
	if len(list) > seal.MaxRecipients && len(dr.list) <= seal.MaxRecipients {
		c.at(rd.name.Line, rd.name.Column, "recipients-count", "device %q: %s", rd.name.Value, tooManyRecipients(len(list)))
	}
	if c.x.entries += len(list); c.x.entries > maxRecipientEntries {
		c.at(rd.name.Line, rd.name.Column, "recipients-count", "device %q: the devices' recipient lists hold more than %d recipients in all (devices with the same recipients settings count once): encrypt each device to fewer keys", rd.name.Value, maxRecipientEntries)
		return nil
	}
	if c.lists == nil {
		c.lists = map[string][]string{}
	}
	c.lists[sig.String()] = list
	return list
}

// combine appends the sources' recipients to base, in a new list, without
// duplicates.
func (c *collector) combine(base []string, srcs []recipientSource) []string {
	n := len(base)
	for _, s := range srcs {
		if s.file != nil {
			n += len(s.file.keys)
		} else {
			n++
		}
	}
	out := make([]string, 0, n)
	seen := make(map[string]bool, n)
	add := func(r string) {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	for _, r := range base {
		add(r)
	}
	for _, s := range srcs {
		if s.file == nil {
			add(s.inline)
			continue
		}
		for _, r := range s.file.keys {
			add(r)
		}
	}
	return slices.Clip(out)
}

// recipientsFile reads, once per run, a file in age's recipients-file
// format (one recipient a line, blank lines and # comments allowed) inside
// the manifest's folder. Like outfiles, it must stay inside that folder:
// no absolute path, no "..", no symbolic link leading out, so that a
// manifest in a pull request cannot make mfabulk read the CI runner's
// files. Problems point at the manifest line naming the file and give the
// file's own line number, never its content: a line that is not a
// recipient may be anything. It returns nil when the file cannot be used.
func (c *collector) recipientsFile(n *yaml.Node, root string) (*recipientsFile, string) {
	rel := n.Value
	if strings.HasPrefix(rel, "~") {
		// A shell expands ~; a manifest is read the same on every
		// machine, so its paths never depend on whose home it is.
		c.at(n.Line, n.Column, "recipients-file", "recipients file %s: \"~\" is not expanded: a recipients file is relative to the manifest's folder (write it as a path from there, e.g. keys/escrow.txt)", quote(rel))
		return nil, ""
	}
	if !localPath(rel) {
		c.at(n.Line, n.Column, "recipients-file", "recipients file %s must be a relative path inside the manifest's folder (no absolute path, no \"..\")", quote(rel))
		return nil, ""
	}
	clean := filepath.Clean(rel)
	key := root + "\x00" + clean
	f, ok := c.x.files[key]
	if !ok {
		f = c.x.readRecipientsFile(root, clean)
		c.x.files[key] = f
	}
	if f.err != nil {
		c.at(n.Line, n.Column, "recipients-file", "recipients file %s: %v", printable(short(rel)), f.err)
		return nil, ""
	}
	if !f.reported {
		f.reported = true
		for i, line := range f.bad {
			if i == maxBadLines {
				c.at(n.Line, n.Column, "recipient", "recipients file %s: %d more line(s) that are not recipients", printable(short(rel)), len(f.bad)-maxBadLines)
				break
			}
			c.at(n.Line, n.Column, "recipient", "recipients file %s, line %d: %v", printable(short(rel)), line, f.badErr[i])
		}
		if f.mixed() {
			c.at(n.Line, n.Column, "recipients-mix", "recipients file %s mixes post-quantum keys (line %d) with classic keys (line %d): %s", printable(short(rel)), f.pqLine, f.classicLine, mixAdvice)
		}
		if len(f.keys) == 0 && len(f.bad) == 0 {
			c.at(n.Line, n.Column, "recipients-file", "recipients file %s has no recipients", printable(short(rel)))
		}
	}
	return f, key
}

// localPath reports whether a path written in a manifest stays inside its
// folder by its spelling: relative, not empty, no ".." anywhere.
func localPath(p string) bool {
	if p == "" || filepath.IsAbs(p) || !filepath.IsLocal(p) {
		return false
	}
	for part := range strings.SplitSeq(filepath.ToSlash(p), "/") {
		if part == ".." {
			return false
		}
	}
	return true
}

func (x *crossFile) readRecipientsFile(root, name string) *recipientsFile {
	r, ok := x.roots[root]
	if !ok {
		r.root, r.err = os.OpenRoot(root)
		x.roots[root] = r
	}
	if r.err != nil {
		return &recipientsFile{err: fmt.Errorf("opening the manifest's folder: %w", unwrapPathError(r.err))}
	}
	data, err := inputfile.ReadIn(r.root, name, maxRecipientsFile)
	if err != nil {
		err = unwrapPathError(err)
		if strings.Contains(err.Error(), "escapes from parent") {
			// os.Root's error for a symbolic link leading out has no
			// exported value to match.
			err = errors.New("leads outside the manifest's folder through a symbolic link")
		}
		return &recipientsFile{err: err}
	}
	f := &recipientsFile{}
	seen := map[string]bool{}
	line := 0
	for l := range bytes.Lines(data) {
		line++
		text := strings.TrimSpace(string(l))
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		k, err := x.parseRecipient(text)
		if err != nil {
			f.bad = append(f.bad, line)
			f.badErr = append(f.badErr, err)
			continue
		}
		if k.IsPostQuantum() && f.pqLine == 0 {
			f.pqLine = line
		} else if !k.IsPostQuantum() && f.classicLine == 0 {
			f.classicLine = line
		}
		if !seen[text] {
			seen[text] = true
			f.keys = append(f.keys, text)
		}
	}
	return f
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// mixAdvice says why a mix of post-quantum and classic recipients is an
// error and what to do instead.
const mixAdvice = "age refuses to seal a file to both, since the classic key would make it as weak as a classic file; " +
	"seal each device to post-quantum keys only (age1pq1…, age1tagpq1…) or to classic keys only (age1…, age1tag1…, ssh-…)"

// checkMix reports a list of recipients that age could not seal to: one
// that mixes post-quantum keys with classic ones (seal.CheckMix). base are
// the sources already checked (the defaults'), srcs those of who; the
// problem is reported at the entry of srcs that brings the mix, naming
// where the other kind comes from. A file that mixes both kinds itself is
// reported where it is named, once, and left out here.
func (c *collector) checkMix(who string, base, srcs []recipientSource) {
	pq, classic := "", "" // where each kind first comes from
	for i, s := range slices.Concat(base, srcs) {
		var p, k string
		switch {
		case s.file == nil && s.pq:
			p = c.where(Pos{File: c.file, Line: s.node.Line})
		case s.file == nil:
			k = c.where(Pos{File: c.file, Line: s.node.Line})
		case s.file.mixed():
			continue
		case s.file.pqLine > 0:
			p = fmt.Sprintf("recipients file %s, line %d", printable(short(s.node.Value)), s.file.pqLine)
		case s.file.classicLine > 0:
			k = fmt.Sprintf("recipients file %s, line %d", printable(short(s.node.Value)), s.file.classicLine)
		default:
			continue // no valid key
		}
		if pq == "" {
			pq = p
		}
		if classic == "" {
			classic = k
		}
		if pq == "" || classic == "" {
			continue
		}
		if i < len(base) {
			return // the defaults mix them: reported once, for the defaults
		}
		c.at(s.node.Line, s.node.Column, "recipients-mix", "%s: its recipients mix post-quantum keys (%s) with classic keys (%s): %s", who, pq, classic, mixAdvice)
		return
	}
}
