package manifest

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"
)

// TestSchemaMatchesParser keeps the published JSON Schema in step with
// the fields the parser accepts.
func TestSchemaMatchesParser(t *testing.T) {
	data, err := os.ReadFile("../../schema/manifest-v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Properties map[string]json.RawMessage
		Defs       struct {
			Settings struct{ Properties map[string]json.RawMessage }
		} `json:"$defs"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]json.RawMessage, extra ...string) string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		out = append(out, extra...)
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	sorted := func(ss []string) string {
		ss = append([]string{}, ss...)
		sort.Strings(ss)
		return strings.Join(ss, ",")
	}
	if got, want := keys(s.Properties), sorted(topFields); got != want {
		t.Errorf("schema top-level fields %s, parser %s", got, want)
	}
	if got, want := keys(s.Defs.Settings.Properties, "name"), sorted(deviceFields); got != want {
		t.Errorf("schema device fields %s, parser %s", got, want)
	}
	example, err := os.ReadFile("../../examples/manifests/cohort-2026-q4.yaml")
	if err != nil || !strings.HasPrefix(string(example), "# yaml-language-server: $schema=../../schema/manifest-v1.schema.json") {
		t.Errorf("the example does not reference the schema (%v)", err)
	}
}
