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

// A code span's fence is longer than any backtick run in the value, and
// a value that starts or ends with a backtick is padded, so the span ends
// where the value does; an empty value is still a span.
func TestMdCodeFencesTheValue(t *testing.T) {
	for in, want := range map[string]string{
		"plain":     "`plain`",
		"a`b":       "``a`b``",
		"``x```":    "```` ``x``` ````",
		" pad ":     "`  pad  `",
		"":          "` `",
		"cr\rlf\n":  "`cr\\rlf\\n`",
		"<!--":      "`<!--`",
		"ok | pipe": "`ok | pipe`",
	} {
		if got := mdCode(in); got != want {
			t.Errorf("mdCode(%q) = %q, want %q", in, got, want)
		}
	}
	if got, want := mdCell("a|b"), "`a\\|b`"; got != want {
		t.Errorf("mdCell(a|b) = %q, want %q", got, want)
	}
	if got, want := mdText("*a* [b](c) <!-- \\ www.x"), `\*a\* \[b\](c) \<\!-- \\ www\.x`; got != want {
		t.Errorf("mdText = %q, want %q", got, want)
	}
}

// clip cuts between escapes, never inside one, and says it cut.
func TestClipCutsBetweenEscapes(t *testing.T) {
	if got := clip("abc", 3); got != "abc" {
		t.Errorf("clip(abc, 3) = %q", got)
	}
	if got, want := clip("ab\x1bcdef", 8), `ab…`; got != want { // \x1b (4) does not fit in 8-3-2
		t.Errorf("clip = %q, want %q", got, want)
	}
	if got, want := clip("ab\x1bcdef", 9), `ab\x1b…`; got != want {
		t.Errorf("clip = %q, want %q", got, want)
	}
}
