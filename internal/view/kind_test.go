package view

import (
	"strings"
	"testing"

	"github.com/mfabulk/mfabulk/internal/plan/jsonplan"
)

// age-plugin-tagtest's recipient: a tag key held in software. A tag
// recipient is a P-256 public key, wherever its private key is: the plan
// names its format and never vouches for hardware it cannot see.
const softwareTagKey = "age1tag1qwe0kafsjrar4txm6heqnhpfuggzr0gvznz7fvygxrlq90u5mq2pysxtw6h"

func TestTagRecipientIsNotVouchedForAsHardware(t *testing.T) {
	if s := shortRecipient(softwareTagKey); !strings.Contains(s, "(tag key") || strings.Contains(s, "(hardware") {
		t.Errorf("short form %q: want it named a tag key, not hardware", s)
	}
	if k := jsonplan.DescribeRecipient(softwareTagKey).Kind; k != "age tag" {
		t.Errorf("JSON kind %q, want \"age tag\"", k)
	}
}
