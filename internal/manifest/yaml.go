package manifest

import (
	suggestpkg "github.com/mfabulk/mfabulk/internal/suggest"
	"slices"
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
			c.at(k.Line, k.Column, "yaml-duplicate-key", "%s: key %q is repeated (first at line %d)", what, k.Value, prev.Line)
			continue
		}
		seen[k.Value] = k
		if !slices.Contains(allowed, k.Value) {
			msg := "%s: unknown field %q"
			if s := suggest(k.Value, allowed); s != "" {
				c.at(k.Line, k.Column, "yaml-unknown-field", msg+" (did you mean %q?)", what, k.Value, s)
			} else {
				c.at(k.Line, k.Column, "yaml-unknown-field", msg+" (known fields: %s)", what, k.Value, join(allowed))
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

func quote(s string) string {
	return `"` + short(s) + `"`
}

// short cuts a value from the manifest to a length fit for a message.
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
