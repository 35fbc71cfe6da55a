package manifest

import (
	"bytes"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"gopkg.in/yaml.v3"

	"github.com/mfabulk/mfabulk/device"
	"github.com/mfabulk/mfabulk/seal"
)

// IAM's own constraints on CreateVirtualMFADevice, from its API model.
var (
	nameRE   = regexp.MustCompile(`^[\w+=,.@-]+$`)
	pathRE   = regexp.MustCompile(`^(/|/[\x21-\x7E]+/)$`)
	tagKeyRE = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	tagValRE = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

const (
	maxNameLen   = 226
	maxPathLen   = 512
	maxTags      = 50
	maxTagKeyLen = 128
	maxTagValLen = 256
)

// resolve applies defaults and checks every rule that needs the merged view.
func (c *collector) resolve(raw *rawManifest, root string) []Device {
	def := raw.defaults
	var out []Device
	for _, rd := range raw.devices {
		if rd.name == nil {
			if rd.node.Kind == yaml.MappingNode {
				c.at(rd.node.Line, rd.node.Column, "name-required", "device has no \"name\"")
			}
			continue
		}
		d := Device{
			Name:      rd.name.Value,
			Path:      pick(rd.path, def.path, "/"),
			Bootstrap: pick(rd.bootstrap, def.bootstrap, device.QRCodePNG),
			Pos:       Pos{c.file, rd.name.Line, rd.name.Column},
		}
		c.checkName(rd.name)
		c.checkPath(orNode(rd.path, def.path), d.Path)
		c.checkScope(orNode(rd.path, def.path), rd.name, d.Path, raw.scopes)
		c.checkBootstrap(orNode(rd.bootstrap, def.bootstrap), d.Bootstrap)
		d.Recipients = c.recipients(rd, def, root)
		d.Tags = c.mergeTags(rd, def)
		d.Outfile = c.outfile(rd, def, d, root)
		out = append(out, d)
	}
	return out
}

func pick(n, def *yaml.Node, fallback string) string {
	if n = orNode(n, def); n != nil {
		return n.Value
	}
	return fallback
}

func orNode(n, def *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return def
}

func (c *collector) checkName(n *yaml.Node) {
	name := n.Value
	switch {
	case name == "":
		c.at(n.Line, n.Column, "name-pattern", "device name is empty")
		return
	case len(name) > maxNameLen:
		c.at(n.Line, n.Column, "name-length", "device name %s is %d characters long; IAM allows at most %d", quote(name), len(name), maxNameLen)
	case !nameRE.MatchString(name):
		c.at(n.Line, n.Column, "name-pattern", "device name %s has characters IAM does not allow: use letters, digits and + = , . @ _ -", quote(name))
	}
	key := strings.ToLower(name)
	if prev, dup := c.x.names[key]; dup {
		if prev.name == name {
			c.at(n.Line, n.Column, "name-unique", "device %q is listed twice (first at %s)", name, c.where(prev.pos))
		} else {
			c.at(n.Line, n.Column, "name-unique", "device %q is the same IAM name as %q at %s: IAM device names are case-insensitive", name, prev.name, c.where(prev.pos))
		}
		return
	}
	c.x.names[key] = declared{name, Pos{c.file, n.Line, n.Column}}
}

// checkScope requires a device's path to fall inside the manifest's scope,
// when it declares one, so that pruning can never reach past it.
func (c *collector) checkScope(pathNode, name *yaml.Node, path string, scopes []*yaml.Node) {
	if len(scopes) == 0 {
		return
	}
	for _, s := range scopes {
		if strings.HasPrefix(path, s.Value) {
			return
		}
	}
	n := orNode(pathNode, name)
	c.at(n.Line, n.Column, "scope", "device %q has path %s, outside the manifest's scope.paths (line %d)", name.Value, path, scopes[0].Line)
}

func (c *collector) checkPath(n *yaml.Node, path string) {
	if n == nil {
		return
	}
	switch {
	case len(path) > maxPathLen:
		c.at(n.Line, n.Column, "path-length", "path is %d characters long; IAM allows at most %d", len(path), maxPathLen)
	case !pathRE.MatchString(path):
		c.at(n.Line, n.Column, "path-pattern", "path %s is not a valid IAM path: want \"/\" or \"/a/b/\" (starting and ending with /, printable ASCII, no spaces)", quote(path))
	}
}

func (c *collector) checkBootstrap(n *yaml.Node, b string) {
	if n != nil && b != device.QRCodePNG && b != device.Base32StringSeed {
		c.at(n.Line, n.Column, "bootstrap", "bootstrap %s is not one of QRCodePNG, Base32StringSeed", quote(b))
	}
}

// recipients combines default and device recipients, defaults first,
// inline keys before files, dropping duplicates, and checks each parses.
func (c *collector) recipients(rd, def rawDevice, root string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(r string, report func(error)) {
		if seen[r] {
			return
		}
		seen[r] = true
		if _, err := seal.ParseRecipient(r); err != nil {
			report(err)
			return
		}
		out = append(out, r)
	}
	for _, src := range []rawDevice{def, rd} {
		for _, n := range src.recipients {
			add(strings.TrimSpace(n.Value), func(err error) { c.at(n.Line, n.Column, "recipient", "%v", err) })
		}
		for _, n := range src.files {
			c.recipientsFile(n, root, add)
		}
	}
	if len(seen) == 0 {
		c.at(rd.name.Line, rd.name.Column, "recipient-required", "device %q has no recipients: add \"recipients\" or \"recipientsFiles\" to it or to defaults", rd.name.Value)
	}
	return out
}

// mergeTags lays device tags over default tags, device winning per key.
func (c *collector) mergeTags(rd, def rawDevice) map[string]string {
	tags := map[string]string{}
	src := map[string]rawTag{}
	for _, t := range append(append([]rawTag{}, def.tags...), rd.tags...) {
		tags[t.key.Value] = t.value.Value
		src[t.key.Value] = t
	}
	lower := map[string]rawTag{}
	for _, k := range slices.Sorted(maps.Keys(src)) {
		t := src[k]
		c.checkTag(t)
		if prev, dup := lower[strings.ToLower(k)]; dup {
			c.at(t.key.Line, t.key.Column, "tag-key-unique", "tag key %q of device %q differs from %q (line %d) only in case: IAM tag keys are case-insensitive", k, rd.name.Value, prev.key.Value, prev.key.Line)
		}
		lower[strings.ToLower(k)] = t
	}
	if len(tags) > maxTags {
		c.at(rd.name.Line, rd.name.Column, "tags-count", "device %q has %d tags with defaults merged; IAM allows at most %d", rd.name.Value, len(tags), maxTags)
	}
	if len(tags) == 0 {
		return nil
	}
	return tags
}

func (c *collector) checkTag(t rawTag) {
	k, v := t.key.Value, t.value.Value
	switch {
	case len(k) == 0 || len([]rune(k)) > maxTagKeyLen:
		c.at(t.key.Line, t.key.Column, "tag-key-length", "tag key %s must be 1 to %d characters", quote(k), maxTagKeyLen)
	case !tagKeyRE.MatchString(k):
		c.at(t.key.Line, t.key.Column, "tag-key-pattern", "tag key %s has characters IAM does not allow: use letters, digits, spaces and _ . : / = + - @", quote(k))
	case strings.HasPrefix(strings.ToLower(k), "aws:"):
		c.at(t.key.Line, t.key.Column, "tag-key-reserved", "tag key %s uses the reserved prefix \"aws:\"", quote(k))
	}
	switch {
	case len([]rune(v)) > maxTagValLen:
		c.at(t.value.Line, t.value.Column, "tag-value-length", "tag value of %q is %d characters; IAM allows at most %d", k, len([]rune(v)), maxTagValLen)
	case !tagValRE.MatchString(v):
		c.at(t.value.Line, t.value.Column, "tag-value-pattern", "tag value of %q has characters IAM does not allow: use letters, digits, spaces and _ . : / = + - @", k)
	}
}

// outfile renders the outfile template and keeps the result inside root.
func (c *collector) outfile(rd, def rawDevice, d Device, root string) string {
	n := orNode(rd.outfile, def.outfile)
	text := DefaultOutfile
	line, col := rd.name.Line, rd.name.Column
	if n != nil {
		text, line, col = n.Value, n.Line, n.Column
	}
	tmpl, err := template.New("outfile").Option("missingkey=error").Parse(text)
	if err != nil {
		c.at(line, col, "outfile-template", "outfile template: %v", err)
		return ""
	}
	var b bytes.Buffer
	data := struct{ Name, Path, Bootstrap, Ext string }{d.Name, d.Path, d.Bootstrap, device.Extension(d.Bootstrap)}
	if err := tmpl.Execute(&b, data); err != nil {
		c.at(line, col, "outfile-template", "outfile template: %v (fields: .Name .Path .Bootstrap .Ext)", err)
		return ""
	}
	rel := b.String()
	clean := filepath.Clean(rel)
	if rel == "" || filepath.IsAbs(rel) || clean == "." || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		c.at(line, col, "outfile-escape", "outfile %s for device %q must be a relative path inside the manifest's folder", quote(rel), d.Name)
		return ""
	}
	abs := filepath.Join(root, clean)
	if escapesBySymlink(root, abs) {
		c.at(line, col, "outfile-escape", "outfile %s for device %q leads outside the manifest's folder through a symbolic link", quote(rel), d.Name)
		return ""
	}
	if prev, dup := c.x.outfiles[abs]; dup {
		c.at(line, col, "outfile-unique", "outfile %s of device %q is also the outfile of %q (%s)", quote(rel), d.Name, prev.name, c.where(prev.pos))
		return abs
	}
	c.x.outfiles[abs] = declared{d.Name, Pos{c.file, line, col}}
	return abs
}

// escapesBySymlink reports whether the deepest existing folder on the way
// to abs resolves outside root.
func escapesBySymlink(root, abs string) bool {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return false
	}
	for dir := abs; strings.HasPrefix(dir, root); dir = filepath.Dir(dir) {
		real, err := filepath.EvalSymlinks(dir)
		if err != nil {
			continue // not there yet; apply will create it
		}
		return real != realRoot && !strings.HasPrefix(real, realRoot+string(filepath.Separator))
	}
	return false
}
