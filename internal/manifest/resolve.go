package manifest

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v4"

	"github.com/mfabulk/mfabulk/internal/device"
)

// IAM's own constraints on CreateVirtualMFADevice, from its API model.
var (
	nameRE   = regexp.MustCompile(`^[\w+=,.@-]+$`)
	pathRE   = regexp.MustCompile(`^(/|/[\x21-\x7E]+/)$`)
	tagKeyRE = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	tagValRE = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

// Names mfabulk reserves for its own use.
const (
	// reservedTagPrefix: a manifest may not set device.CreateIDTag, nor any
	// key starting with "mfabulk:".
	reservedTagPrefix = "mfabulk:"
	// ReplacedInfix marks an outfile moved aside by --replace
	// (OUTFILE.replaced-TIMESTAMP); no outfile may contain it.
	ReplacedInfix = ".replaced-"
	// MaxOutfileName bounds an outfile's file name so that the hidden
	// files mfabulk keeps beside it, ".NAME.intent", ".NAME.tmp-…" and
	// ".NAME.id" and its temporary file "..NAME.id.tmp-…" (20 bytes more), fit the usual 255-byte limit of a file name.
	MaxOutfileName = 235
)

// Bounds of a rendered outfile: the usual limits of a whole path
// (PATH_MAX) and of one name in it (NAME_MAX). A template of 4,096 bytes
// that names {{.Path}} (up to 512 bytes) hundreds of times would
// otherwise render a path of hundreds of kilobytes and a hundred thousand
// folders, checked, folder by folder, for symbolic links.
const (
	maxOutfileLen     = 4096
	maxOutfileElement = 255
)

const (
	maxNameLen   = 226
	maxPathLen   = 512
	maxTags      = 50
	maxTagKeyLen = 128
	maxTagValLen = 256
)

// resolve applies defaults and checks every rule that needs the merged
// view. What defaults contribute is checked and built once and shared by
// the devices that add nothing to it, so that neither the work nor the
// diagnostics grow with defaults × devices.
func (c *collector) resolve(raw *rawManifest, root string) []Device {
	def := raw.defaults
	dr := c.defaultRecipients(def, root)
	dt := c.defaultTags(def)
	if def.path != nil {
		c.checkPath(def.path, def.path.Value)
	}
	if def.bootstrap != nil {
		c.checkBootstrap(def.bootstrap, def.bootstrap.Value)
	}
	out := make([]Device, 0, len(raw.devices))
	for i, n := range raw.devices {
		rd := c.device(n, "devices["+strconv.Itoa(i)+"]", deviceFields)
		// Let the device's part of the YAML tree go as soon as it is
		// read: devices keep only strings, so memory peaks at the tree
		// or at the devices, not at both.
		raw.devices[i] = nil
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
		if rd.path != nil {
			c.checkPath(rd.path, d.Path)
		}
		c.checkScope(orNode(rd.path, def.path), rd.name, d.Path, raw.scopes)
		if rd.bootstrap != nil {
			c.checkBootstrap(rd.bootstrap, d.Bootstrap)
		}
		d.Recipients = c.recipients(rd, dr, root)
		d.Tags = c.mergeTags(rd, dt)
		if raw.store != nil {
			d.Store = *raw.store
		}
		d.Outfile = c.outfile(rd, def, d, root, raw)
		d.User = c.user(rd, def, d)
		out = append(out, d)
	}
	return slices.Clip(out)
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
	// Names are unique per account, and a file's account is known only
	// once every file is read: Load checks them (uniqueNames).
	c.names = append(c.names, declared{name, Pos{c.file, n.Line, n.Column}})
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
	c.at(n.Line, n.Column, "scope", "device %q has path %s, outside the manifest's scope.paths (line %d)", name.Value, printable(short(path)), scopes[0].Line)
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

// defaultTags is what defaults contribute to every device's tags.
type defaultTags struct {
	tags  map[string]string // shared by every device that adds no tags; nil when none
	lower map[string]rawTag // by lower-case key, for the case check
	ok    bool              // within IAM's count, so merged into devices
}

// defaultTags checks the defaults' tags once, counting them on their own
// before any merging: more than IAM's 50 is reported once, at defaults,
// and then they are not merged into the devices at all.
func (c *collector) defaultTags(def rawDevice) defaultTags {
	dt := defaultTags{lower: map[string]rawTag{}, ok: true}
	for _, t := range def.tags {
		c.checkTag(t)
		lk := strings.ToLower(t.key.Value)
		if prev, dup := dt.lower[lk]; dup {
			c.at(t.key.Line, t.key.Column, "tag-key-unique", "tag key %s of defaults differs from %s (line %d) only in case: IAM tag keys are case-insensitive", quote(t.key.Value), quote(prev.key.Value), prev.key.Line)
			continue
		}
		dt.lower[lk] = t
	}
	if len(def.tags) > maxTags {
		n := def.tagsNode
		c.at(n.Line, n.Column, "tags-count", "defaults have %d tags; IAM allows at most %d on a device", len(def.tags), maxTags)
		dt.ok = false
		return dt
	}
	if len(def.tags) > 0 {
		dt.tags = make(map[string]string, len(def.tags))
		for _, t := range def.tags {
			dt.tags[t.key.Value] = t.value.Value
		}
	}
	return dt
}

// mergeTags lays device tags over default tags, device winning per key.
// A device without tags of its own shares the defaults' map: nobody may
// modify it.
func (c *collector) mergeTags(rd rawDevice, dt defaultTags) map[string]string {
	if len(rd.tags) == 0 {
		if !dt.ok {
			return nil
		}
		return dt.tags
	}
	tags := make(map[string]string, len(dt.tags)+len(rd.tags))
	if dt.ok {
		maps.Copy(tags, dt.tags)
	}
	own := make(map[string]rawTag, len(rd.tags))
	for _, t := range rd.tags {
		k := t.key.Value
		c.checkTag(t)
		lk := strings.ToLower(k)
		if prev, dup := own[lk]; dup {
			c.at(t.key.Line, t.key.Column, "tag-key-unique", "tag key %s of device %s differs from %s (line %d) only in case: IAM tag keys are case-insensitive", quote(k), quote(rd.name.Value), quote(prev.key.Value), prev.key.Line)
		} else if prev, dup := dt.lower[lk]; dup && prev.key.Value != k {
			c.at(t.key.Line, t.key.Column, "tag-key-unique", "tag key %s of device %s differs from %s of defaults (line %d) only in case: IAM tag keys are case-insensitive", quote(k), quote(rd.name.Value), quote(prev.key.Value), prev.key.Line)
		}
		own[lk] = t
		tags[k] = t.value.Value
	}
	if len(tags) > maxTags {
		c.at(rd.name.Line, rd.name.Column, "tags-count", "device %q has %d tags with defaults merged; IAM allows at most %d", rd.name.Value, len(tags), maxTags)
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
	case strings.HasPrefix(strings.ToLower(k), reservedTagPrefix):
		c.at(t.key.Line, t.key.Column, "tag-key-reserved", "tag key %s uses the prefix %q, which mfabulk reserves for its own tags (such as %q)", quote(k), reservedTagPrefix, device.CreateIDTag)
	}
	switch {
	case len([]rune(v)) > maxTagValLen:
		c.at(t.value.Line, t.value.Column, "tag-value-length", "tag value of %s is %d characters; IAM allows at most %d", quote(k), len([]rune(v)), maxTagValLen)
	case !tagValRE.MatchString(v):
		c.at(t.value.Line, t.value.Column, "tag-value-pattern", "tag value of %s has characters IAM does not allow: use letters, digits, spaces and _ . : / = + - @", quote(k))
	}
}

type templateOrErr struct {
	t   *template
	err error
}

// deviceTemplate parses an outfile or user template, with the fields of
// a device, once per run: devices share a few templates.
func (x *crossFile) deviceTemplate(text string) templateOrErr {
	tmpl, ok := x.templates[text]
	if !ok {
		tmpl.t, tmpl.err = parseTemplate(text, deviceTemplateFields)
		x.templates[text] = tmpl
	}
	return tmpl
}

// deviceValues are a device's values of deviceTemplateFields, in order.
func deviceValues(d Device) []string {
	return []string{d.Name, d.Path, d.Bootstrap, device.Extension(d.Bootstrap)}
}

// outfile renders the outfile template and keeps the result inside root,
// clear of the names mfabulk uses for its own files beside an outfile; in
// a store, under its prefix (outfileKey).
func (c *collector) outfile(rd, def rawDevice, d Device, root string, raw *rawManifest) string {
	n := orNode(rd.outfile, def.outfile)
	text := DefaultOutfile
	line, col := rd.name.Line, rd.name.Column
	if n != nil {
		text, line, col = n.Value, n.Line, n.Column
	}
	if r, at, bad := invisible(text); bad {
		c.once(n, line, col, "outfile-pattern", "outfile template %q has %s at character %d: an outfile is a file name, of characters that print (no control, format, separator, private-use or non-ASCII space character)", short(text), describeRune(r), at)
		return ""
	}
	tmpl := c.x.deviceTemplate(text)
	if tmpl.err != nil {
		c.once(n, line, col, "outfile-template", "outfile template: %v", tmpl.err)
		return ""
	}
	if raw.inStore {
		return c.outfileKey(tmpl.t, line, col, d, raw.store)
	}
	rel, size, fits := tmpl.t.expand(maxOutfileLen, deviceValues(d)...)
	if !fits {
		c.at(line, col, "outfile-length", "outfile for device %q would be %d bytes long; at most %d (the file system's limit on a path)", d.Name, size, maxOutfileLen)
		return ""
	}
	if elem := longElement(rel); elem != "" {
		c.at(line, col, "outfile-length", "outfile for device %q has a folder or file name of %d bytes, %s; at most %d (the file system's limit on a name)", d.Name, len(elem), quote(elem), maxOutfileElement)
		return ""
	}
	if r, at, bad := invisible(rel); bad {
		c.at(line, col, "outfile-pattern", "outfile %q for device %q has %s at character %d: an outfile is a file name, of characters that print (no control, format, separator, private-use or non-ASCII space character)", short(rel), d.Name, describeRune(r), at)
		return ""
	}
	clean := filepath.Clean(rel)
	if rel == "" || filepath.IsAbs(rel) || clean == "." || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		c.at(line, col, "outfile-escape", "outfile %s for device %q must be a relative path inside the manifest's folder", quote(rel), d.Name)
		return ""
	}
	base := filepath.Base(clean)
	if strings.HasPrefix(base, ".") || strings.Contains(base, ReplacedInfix) {
		c.at(line, col, "outfile-reserved", "outfile %s for device %q: a file name starting with \".\" or holding %q is reserved for mfabulk's own files beside outfiles (intents, temporary files, replaced outfiles)", quote(rel), d.Name, ReplacedInfix)
		return ""
	}
	if len(base) > MaxOutfileName {
		c.at(line, col, "outfile-length", "outfile %s for device %q has a file name of %d bytes; at most %d, so that mfabulk's own files beside it (\".NAME.intent\", \".NAME.tmp-…\") fit the file system's 255-byte limit", quote(rel), d.Name, len(base), MaxOutfileName)
		return ""
	}
	abs := filepath.Join(root, clean)
	if c.x.escapesBySymlink(root, clean) {
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

// longElement is the first folder or file name in path longer than
// maxOutfileElement bytes; "" when there is none.
func longElement(path string) string {
	for elem := range strings.FieldsFuncSeq(path, func(r rune) bool { return r == '/' || r == filepath.Separator }) {
		if len(elem) > maxOutfileElement {
			return elem
		}
	}
	return ""
}

// once reports a problem of a node shared by devices (a default's) once,
// not once per device.
func (c *collector) once(n *yaml.Node, line, col int, rule, format string, args ...any) {
	if n != nil {
		if c.reported[n] {
			return
		}
		if c.reported == nil {
			c.reported = map[*yaml.Node]bool{}
		}
		c.reported[n] = true
	}
	c.at(line, col, rule, format, args...)
}

// escapesBySymlink reports whether the outfile rel (cleaned, local), or
// else the deepest existing folder on the way to it, leads outside root
// through a symbolic link. The verdict for a folder is kept: devices share
// a few folders.
func (x *crossFile) escapesBySymlink(root, rel string) bool {
	r, ok := x.roots[root]
	if !ok {
		r.root, r.err = os.OpenRoot(root)
		x.roots[root] = r
	}
	if r.err != nil {
		return false
	}
	if _, err := r.root.Lstat(rel); err == nil {
		return escapes(r.root, rel)
	}
	dir := filepath.Dir(rel)
	v, ok := x.dirs[root+"\x00"+dir]
	if !ok {
		v = escapes(r.root, dir)
		x.dirs[root+"\x00"+dir] = v
	}
	return v
}

// escapes reports whether rel leads outside root through a symbolic link
// in the part of it that exists. os.Root walks rel once, a folder at a
// time from root, and stops at the first name that is not there (apply
// will create the rest), so a deep path costs one walk, not one walk per
// folder on the way back up. As for os.Root, a link to an absolute path
// leads out, even one that names a folder inside: apply, which never
// writes through a link, could not use it either.
func escapes(root *os.Root, rel string) bool {
	_, err := root.Stat(rel)
	// os.Root's error for a symbolic link leading out has no exported
	// value to match (as in readRecipientsFile).
	return err != nil && strings.Contains(err.Error(), "escapes from parent")
}

// maxUserLen is IAM's limit on a user name.
const maxUserLen = 64

// userRE is IAM's user name pattern.
var userRE = regexp.MustCompile(`^[\w+=,.@-]+$`)

// user renders the device's user: a name, or a template such as
// "{{.Name}}" in defaults (the device is usually named after its user),
// with the outfile's fields.
func (c *collector) user(rd, def rawDevice, d Device) string {
	n := orNode(rd.user, def.user)
	if n == nil {
		return ""
	}
	if r, at, bad := invisible(n.Value); bad {
		c.once(n, n.Line, n.Column, "user-pattern", "user %q has %s at character %d: IAM allows letters, digits and + = , . @ _ -", short(n.Value), describeRune(r), at)
		return ""
	}
	tmpl := c.x.deviceTemplate(n.Value)
	if tmpl.err != nil {
		c.once(n, n.Line, n.Column, "user-template", "user template: %v", tmpl.err)
		return ""
	}
	user, size, fits := tmpl.t.expand(maxUserLen, deviceValues(d)...)
	switch {
	case !fits:
		c.at(n.Line, n.Column, "user-length", "user for device %q would be %d characters long; IAM allows at most %d", d.Name, size, maxUserLen)
	case user == "":
		c.at(n.Line, n.Column, "user-pattern", "user for device %q is empty", d.Name)
	case len(user) > maxUserLen:
		c.at(n.Line, n.Column, "user-length", "user %s for device %q is %d characters long; IAM allows at most %d", quote(user), d.Name, len(user), maxUserLen)
	case !userRE.MatchString(user):
		c.at(n.Line, n.Column, "user-pattern", "user %s for device %q has characters IAM does not allow: use letters, digits and + = , . @ _ -", quote(user), d.Name)
	default:
		return user
	}
	return ""
}
