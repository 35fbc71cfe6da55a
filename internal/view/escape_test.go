package view

import "testing"

func TestTextEscapesWhatIsNotPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"alice":            "alice",
		"naïve 東京":         "naïve 東京",
		"a\rb":             `a\rb`,
		"a\nb":             `a\nb`,
		"\x1b[2K\x1b]8;;x": `\x1b[2K\x1b]8;;x`,
		"a\u202eb":         `a\u202eb`,
		"a\u2028b\u2029":   `a\u2028b\u2029`,
		"a\u200bb":         `a\u200bb`,
		"\x7f\u0085":       `\x7f\u0085`,
		"bad\xffbyte":      `bad\xffbyte`,
		"nb\u00a0sp":       `nb\u00a0sp`,
		`back\slash 'q' "`: `back\slash 'q' "`,
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}
