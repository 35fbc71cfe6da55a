package seal

import (
	"os"
	"strings"
	"testing"
)

// An age key's label keeps eight characters of the key after its kind's
// prefix (age1, age1pq1, age1tag1, age1tagpq1) and six of its tail, as the
// plan's "Sealed to:" line does: a re-seal names who gains access by it,
// and a label of a tag key that held only its last four characters could
// be matched by a key made for it in a second.
func TestLabelKeepsTheKeyAfterItsPrefix(t *testing.T) {
	b, err := os.ReadFile("testdata/tagtest-recipients.txt")
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"age1rx5zrrd45u7mmgrrpjr5j2utf3fs7m7gl7twncerl5d96cmm53fs9avgcs"}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "age1") {
			keys = append(keys, l)
		}
	}
	for _, k := range keys {
		head := strings.LastIndexByte(k[:16], '1') + 1
		want := k[:head+8] + "…" + k[len(k)-6:]
		if got := Label(k); got != want {
			t.Errorf("Label(%.20s…) = %q, want %q", k, got, want)
		}
	}
}
