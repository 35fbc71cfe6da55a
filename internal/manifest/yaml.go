package manifest

import (
	suggestpkg "github.com/mfabulk/mfabulk/internal/suggest"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v4"
)

// The helpers below read a yaml.Node tree by hand, rather than decoding into
// structs, so that every problem keeps its line and column and the walk can
// go on after one, collecting the rest.

// mapping returns the value nodes of a YAML mapping by key, reporting
// unknown keys (with a suggestion), duplicate keys and a wrong node kind.
func (c *collector) mapping(n *yaml.Node, what string, allowed ...string) map[string]*yaml.Node {
	if !c.kind(n, yaml.MappingNode, what, "a mapping") {
		return nil
	}
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			c.at(k.Line, k.Column, "yaml-type", "%s: keys must be plain strings", what)
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			c.at(k.Line, k.Column, "yaml-duplicate-key", "%s: key %s is repeated (first at line %d)", what, quote(k.Value), prev.Line)
			continue
		}
		seen[k.Value] = k
		if !slices.Contains(allowed, k.Value) {
			msg := "%s: unknown field %s"
			if s := suggest(k.Value, allowed); s != "" {
				c.at(k.Line, k.Column, "yaml-unknown-field", msg+" (did you mean %q?)", what, quote(k.Value), s)
			} else {
				c.at(k.Line, k.Column, "yaml-unknown-field", msg+" (known fields: %s)", what, quote(k.Value), join(allowed))
			}
			continue
		}
		out[k.Value] = v
	}
	return out
}

// kind checks a node's kind; aliases are refused outright, which also
// defuses alias bombs.
func (c *collector) kind(n *yaml.Node, k yaml.Kind, what, want string) bool {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		c.at(n.Line, n.Column, "yaml-alias", "%s: YAML anchors and aliases are not supported in manifests", what)
		return false
	}
	if n.Kind != k {
		c.at(n.Line, n.Column, "yaml-type", "%s: want %s, got %s", what, want, describe(n))
		return false
	}
	return true
}

// scalar returns a string field's value; ok is false (and a diagnostic
// recorded) when the node is not a plain scalar.
func (c *collector) scalar(n *yaml.Node, what string) (string, bool) {
	if !c.kind(n, yaml.ScalarNode, what, "a string") {
		return "", false
	}
	if n.Tag == "!!null" {
		c.at(n.Line, n.Column, "yaml-type", "%s: want a string, got null", what)
		return "", false
	}
	return n.Value, true
}

// sequence returns the items of a YAML sequence.
func (c *collector) sequence(n *yaml.Node, what string) []*yaml.Node {
	if !c.kind(n, yaml.SequenceNode, what, "a list") {
		return nil
	}
	return n.Content
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "the scalar " + quote(n.Value)
	}
	return "something else"
}

// quote is a value from outside (a manifest, a recipients file, the
// environment) as a message shows it: cut to a length fit for a message,
// then quoted as Go quotes a string, so that a character that does not
// print (a control, bidi or format character, a line separator: the rule
// the views escape by) is written as an escape such as \x1b or \u202e and
// never moves the cursor, reorders the text or starts a line.
func quote(s string) string {
	return strconv.Quote(short(s))
}

// printable escapes, as Go would in a quoted string, each character of s
// that does not print: for text that is not ours, such as the YAML
// parser's messages, which may hold a character of the manifest.
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strconv.IsPrint(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r)
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}

// short cuts a value from the manifest to a length fit for a message,
// never inside a character. It does not escape: show its result with %q,
// or use quote.
func short(s string) string {
	if len(s) <= 40 {
		return s
	}
	i := 40
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func join(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += s
	}
	return out
}

// suggest returns the allowed word nearest to s, if it is a likely typo.
func suggest(s string, allowed []string) string { return suggestpkg.Nearest(s, allowed) }
