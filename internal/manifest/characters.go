package manifest

import (
	"fmt"
	"strconv"
	"unicode"
)

// invisible finds the first character of s that has no business in a
// name or a path: any that strconv.IsPrint rejects, the rule by which the
// views escape what they print. Among them are control characters (C0,
// DEL, C1), format characters (Unicode category Cf, the bidi controls
// among them), line and paragraph separators (U+2028, U+2029), spaces
// other than the ASCII space (U+00A0, U+2000, U+3000: a name that looks
// like another), private-use characters and noncharacters (which render
// as nothing, or as anything). Such a character in an outfile ends a
// Markdown code span or list item in a reviewed plan, moves the cursor on
// a terminal, reorders the text around it or passes for another name, so
// that what a reviewer reads is not what is applied. It returns the
// character and its number in s, from 1; ok is false when there is none.
func invisible(s string) (r rune, at int, ok bool) {
	n := 0
	for _, r := range s {
		n++
		if !strconv.IsPrint(r) {
			return r, n, true
		}
	}
	return 0, 0, false
}

// describeRune names r for a message without printing it: U+000D, and
// what kind of character it is.
func describeRune(r rune) string {
	kind := "a character that does not print"
	switch {
	case r < 0x20 || (r >= 0x7f && r <= 0x9f):
		kind = "a control character"
	case unicode.Is(unicode.Cf, r):
		kind = "a format character"
	case unicode.In(r, unicode.Zl, unicode.Zp):
		kind = "a line or paragraph separator"
	case unicode.Is(unicode.Zs, r):
		kind = "a space other than the ASCII space"
	case unicode.Is(unicode.Co, r):
		kind = "a private-use character"
	case r == 0xFFFD:
		kind = "the replacement character"
	case !unicode.Is(unicode.Cs, r):
		kind = "a noncharacter or an unassigned code point"
	}
	return fmt.Sprintf("U+%04X (%s)", r, kind)
}
