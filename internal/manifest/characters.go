package manifest

import (
	"fmt"
	"unicode"
)

// invisible finds the first character of s that has no business in a
// name or a path: a control character (C0, DEL, C1), a format character
// (Unicode category Cf, the bidi controls among them) or a line or
// paragraph separator (U+2028, U+2029). Such a character in an outfile
// ends a Markdown code span or list item in a reviewed plan, moves the
// cursor on a terminal, or reorders the text around it, so that what a
// reviewer reads is not what is applied. It returns the character and its
// number in s, from 1; ok is false when there is none.
func invisible(s string) (r rune, at int, ok bool) {
	n := 0
	for _, r := range s {
		n++
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) ||
			unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp) {
			return r, n, true
		}
	}
	return 0, 0, false
}

// describeRune names r for a message without printing it: U+000D, and
// what kind of character it is.
func describeRune(r rune) string {
	kind := "a format character"
	switch {
	case r < 0x20 || (r >= 0x7f && r <= 0x9f):
		kind = "a control character"
	case unicode.In(r, unicode.Zl, unicode.Zp):
		kind = "a line or paragraph separator"
	}
	return fmt.Sprintf("U+%04X (%s)", r, kind)
}
