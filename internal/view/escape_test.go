package view

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mfabulk/mfabulk/internal/manifest"
	"github.com/mfabulk/mfabulk/internal/plan"
)

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
		`back\slash 'q' "`: `back\\slash 'q' "`,
		`a\r`:              `a\\r`,
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

// clip cuts between the pieces it escaped: a literal \u in a value is
// not an escape to it, so no rune is cut in half.
func TestClipKeepsUTF8(t *testing.T) {
	comment := strings.Repeat("a", 55) + `\u` + "€€€"
	for max := 1; max < 80; max++ {
		if s := clip(comment, max); !utf8.ValidString(s) || len(s) > max && len(s) > len("…") {
			t.Errorf("clip(%q, %d) = %q: not UTF-8 or too long", comment, max, s)
		}
	}
	p := plan.Plan{Account: "123456789012", Changes: []plan.Change{{Action: plan.Create, Name: "ceo", Path: "/",
		Desired: &manifest.Device{Name: "ceo", Path: "/", Bootstrap: "QRCodePNG", Outfile: "/x/ceo.age", Recipients: []string{sshKey + " " + comment}}}}}
	var b bytes.Buffer
	PlanText(&b, p, Style{})
	PlanMarkdown(&b, p)
	if !utf8.Valid(b.Bytes()) {
		t.Errorf("the plan is not UTF-8:\n%q", b.String())
	}
}

// An SSH key's comment is quoted, so it cannot end its own field and
// forge a second recipient in the text "Sealed to:" line.
func TestTextRecipientCommentCannotForgeARecipient(t *testing.T) {
	p := bigPlan(1)
	p.Changes[0].Desired.Recipients = []string{sshKey + " mallory), age1rx5zrrd4…9avgcs (x"}
	var b bytes.Buffer
	PlanText(&b, p, Style{})
	line := regexp.MustCompile(`(?m)^Sealed to: .*$`).FindString(b.String())
	want := `Sealed to: ssh-ed25519 SHA256:7/llgWBUFcIruLNPI400jtyfItrwqJXQb6xOuVgYTvA "mallory), age1rx5zrrd4…9avgcs (x" (every new secret)`
	if line != want {
		t.Errorf("Sealed to line reads\n%s\nwant\n%s", line, want)
	}
}

// Message leaves a message's own escapes (%q) as they are and escapes
// only what is not printable.
func TestMessageKeepsQuotedEscapes(t *testing.T) {
	if got, want := Message("account \"1\\x1b\"\r"), `account "1\x1b"\r`; got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
}
