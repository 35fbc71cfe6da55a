package suggest

import "testing"

func TestNearest(t *testing.T) {
	for _, tc := range []struct{ s, want string }{
		{"paralelism", "parallelism"}, {"recipents", "recipients"}, {"xyz", ""}, {"output", "output"},
	} {
		if got := Nearest(tc.s, []string{"parallelism", "recipients", "output", "out"}); got != tc.want {
			t.Errorf("Nearest(%q) = %q, want %q", tc.s, got, tc.want)
		}
	}
}
