package view

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Text makes a value that came from outside (a manifest, a recipients
// file, a journal file, a saved plan, an AWS answer) safe to print: every
// rune that is not printable (C0 and C1 controls, DEL, bidi and other
// format characters, U+2028/2029, non-ASCII spaces) is written as a Go
// escape (\r, \x1b, \u202e), and a byte that is not UTF-8 as \xNN. So no
// value can move the cursor, recolour the line, reorder the text around
// it or start a line of its own: what a reviewer reads is what the value
// holds. It is the one rule every text view applies where a value enters
// it.
func Text(s string) string {
	if plain(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case strconv.IsPrint(r):
			b.WriteString(s[i : i+size])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}

// plain says whether s needs no escaping, without allocating: the common
// case of every name and path.
func plain(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !strconv.IsPrint(r) {
			return false
		}
		i += size
	}
	return true
}

// clip is Text(s) cut to at most max bytes, at an escape's boundary,
// ending in "…" when it was cut: a value from outside may be of any
// length, and one of them must not crowd out the rest of a view (a
// 70,000-character SSH key comment, an AWS message quoting a policy).
func clip(s string, max int) string {
	t := Text(s)
	if len(t) <= max {
		return t
	}
	const more = "…"
	// Text writes every rune or bad byte as one piece: cut between pieces.
	cut := 0
	for i := 0; i < len(t); {
		n := escapeLen(t[i:])
		if i+n > max-len(more) {
			break
		}
		i += n
		cut = i
	}
	return t[:cut] + more
}

// escapeLen is the length of the first piece of an escaped string: one
// rune, or one escape (\r, \x1b, \u202e, \U000e0001).
func escapeLen(t string) int {
	if t[0] != '\\' || len(t) < 2 {
		_, n := utf8.DecodeRuneInString(t)
		return n
	}
	switch t[1] {
	case 'x':
		return min(4, len(t))
	case 'u':
		return min(6, len(t))
	case 'U':
		return min(10, len(t))
	case 'a', 'b', 'f', 'n', 'r', 't', 'v', '\\':
		return 2
	}
	return 1
}
