package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v4"
)

// raw* hold what the YAML said, each value with its node for positions,
// before defaults are applied.
type rawManifest struct {
	defaults rawDevice
	devices  []*yaml.Node // the devices list's items, read one by one by resolve
	scopes   []*yaml.Node // scope.paths entries
	account  *yaml.Node   // the account guard, when given
	role     *Role        // role:, when given and valid
	// store is store:, when given and valid; inStore says it was given
	// (valid or not): outfiles are then keys under its prefix.
	store   *Store
	inStore bool
}

func (r *rawManifest) scopeValues() []string {
	var out []string
	for _, n := range r.scopes {
		out = append(out, n.Value)
	}
	return out
}

type rawDevice struct {
	node       *yaml.Node
	name       *yaml.Node
	path       *yaml.Node
	bootstrap  *yaml.Node
	outfile    *yaml.Node
	user       *yaml.Node // the IAM user to enable the device for
	recipients []*yaml.Node
	files      []*yaml.Node // recipientsFiles entries
	tags       []rawTag
	tagsNode   *yaml.Node // the tags mapping, when given
}

type rawTag struct{ key, value *yaml.Node }

var topFields = []string{"version", "account", "role", "store", "scope", "defaults", "devices"}

// accountRE is an AWS account ID: twelve digits.
var accountRE = regexp.MustCompile(`^[0-9]{12}$`)

var deviceFields = []string{"name", "path", "bootstrap", "outfile", "user", "recipients", "recipientsFiles", "tags"}

func (c *collector) walk(top *yaml.Node) *rawManifest {
	fields := c.mapping(top, "manifest", topFields...)
	if fields == nil {
		return nil
	}
	raw := &rawManifest{}
	c.version(top, fields["version"])
	if n := fields["account"]; n != nil {
		if v, ok := c.scalar(n, "account"); ok {
			if accountRE.MatchString(v) {
				raw.account = n
			} else {
				c.at(n.Line, n.Column, "account", "account %s is not an AWS account ID: twelve digits, quoted so YAML keeps leading zeros", quote(v))
			}
		}
	}
	if n := fields["role"]; n != nil {
		raw.role = c.readRole(n)
		if a := raw.account; raw.role != nil && a != nil && raw.role.Account() != a.Value {
			c.at(raw.role.Pos.Line, raw.role.Pos.Col, "role", "role %s is in account %s, but account: says %s", raw.role.ARN, raw.role.Account(), a.Value)
		}
	}
	if n := fields["store"]; n != nil {
		raw.inStore = true
		raw.store = c.readStore(n)
	}
	if n := fields["scope"]; n != nil {
		raw.scopes = c.scope(n)
	}
	if d := fields["defaults"]; d != nil {
		raw.defaults = c.device(d, "defaults", deviceFields[1:])
	}
	devs, ok := fields["devices"]
	if !ok {
		c.at(top.Line, top.Column, "devices-missing", "manifest has no \"devices\" list")
		return raw
	}
	raw.devices = c.sequence(devs, "devices")
	return raw
}

func (c *collector) scope(n *yaml.Node) []*yaml.Node {
	f := c.mapping(n, "scope", "paths")
	var out []*yaml.Node
	if p := f["paths"]; p != nil {
		for i, item := range c.sequence(p, "scope.paths") {
			if v, ok := c.scalar(item, "scope.paths["+strconv.Itoa(i)+"]"); ok {
				c.checkPath(item, v)
				out = append(out, item)
			}
		}
	}
	return out
}

func (c *collector) version(top, n *yaml.Node) {
	if n == nil {
		c.at(top.Line, top.Column, "version", "manifest has no \"version\": want \"version: 1\"")
		return
	}
	if v, ok := c.scalar(n, "version"); ok && v != "1" {
		c.at(n.Line, n.Column, "version", "unsupported manifest version %s: this mfabulk reads version 1", quote(v))
	}
}

func (c *collector) device(n *yaml.Node, what string, allowed []string) rawDevice {
	d := rawDevice{node: n}
	f := c.mapping(n, what, allowed...)
	for _, k := range []struct {
		key string
		dst **yaml.Node
	}{{"name", &d.name}, {"path", &d.path}, {"bootstrap", &d.bootstrap}, {"outfile", &d.outfile}, {"user", &d.user}} {
		if v := f[k.key]; v != nil {
			if _, ok := c.scalar(v, what+"."+k.key); ok {
				*k.dst = v
			}
		}
	}
	if v := f["recipients"]; v != nil {
		for i, r := range c.sequence(v, what+".recipients") {
			if _, ok := c.scalar(r, what+".recipients["+strconv.Itoa(i)+"]"); ok {
				d.recipients = append(d.recipients, r)
			}
		}
	}
	if v := f["recipientsFiles"]; v != nil {
		for i, r := range c.sequence(v, what+".recipientsFiles") {
			if _, ok := c.scalar(r, what+".recipientsFiles["+strconv.Itoa(i)+"]"); ok {
				d.files = append(d.files, r)
			}
		}
	}
	if v := f["tags"]; v != nil {
		c.tagsDeclared = true
		d.tags = c.tags(v, what+".tags")
		d.tagsNode = v
	}
	return d
}

func (c *collector) tags(n *yaml.Node, what string) []rawTag {
	if !c.kind(n, yaml.MappingNode, what, "a mapping of tag keys to values") {
		return nil
	}
	var out []rawTag
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key, ok1 := c.scalar(k, what+" key")
		_, ok2 := c.scalar(v, what+"["+quote(k.Value)+"]")
		if !ok1 || !ok2 {
			continue
		}
		if line, dup := seen[key]; dup {
			c.at(k.Line, k.Column, "tag-key-unique", "%s: tag key %s is repeated (first at line %d)", what, quote(key), line)
			continue
		}
		seen[key] = k.Line
		out = append(out, rawTag{k, v})
	}
	return out
}

// yamlSyntax places a YAML syntax error and words it. The parser's own
// positions are used (go.yaml.in/yaml/v4's typed [yaml.LoadError]), not a
// line scraped from its text. When a construct was left open (a flow list,
// a quoted string), the problem is where it opened, so that is where the
// diagnostic points; the message still says where the parser gave up. A
// position at the very end of the file is moved to the end of its last
// line that has content: an editor cannot show a line past the end.
func yamlSyntax(err error, data []byte) (line, col int, msg string) {
	var le *yaml.LoadError
	if !errors.As(err, &le) {
		return 1, 1, "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")
	}
	msg = "invalid YAML: " + le.Message
	line, col = le.Mark.Line, le.Mark.Column
	ctx := le.ContextMark
	if ctx.Line > 0 && ctx.Index < le.Mark.Index && le.ContextMsg != "" {
		msg = fmt.Sprintf("invalid YAML: %s (%s that starts here)", le.Message, strings.TrimPrefix(le.ContextMsg, "while "))
		if le.Mark.Index >= len(data) {
			msg += " at the end of the file"
		} else {
			msg += fmt.Sprintf(" at line %d, column %d", le.Mark.Line, le.Mark.Column)
		}
		line, col = ctx.Line, ctx.Column
	} else if le.Mark.Index >= len(data) {
		line, col = endOfContent(data)
		msg += " at the end of the file"
	}
	if line < 1 {
		line, col = 1, 1
	}
	if col < 1 {
		col = 1
	}
	return line, col, msg
}

// endOfContent returns the line and column just after the last character
// of data that is not white space.
func endOfContent(data []byte) (line, col int) {
	end := len(bytes.TrimRight(data, " \t\r\n"))
	if end == 0 {
		return 1, 1
	}
	line = 1 + bytes.Count(data[:end], []byte("\n"))
	start := bytes.LastIndexByte(data[:end], '\n') + 1
	return line, 1 + utf8.RuneCount(data[start:end])
}
