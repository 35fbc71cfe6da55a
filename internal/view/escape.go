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
// escape (\r, \x1b, \u202e), a byte that is not UTF-8 as \xNN, and a
// backslash as \\ (as strconv.Quote does), so that a value holding the
// characters `\r` never reads like one holding a carriage return. So no
// value can move the cursor, recolour the line, reorder the text around
// it or start a line of its own: what a reviewer reads is what the value
// holds. It is the one rule every text view applies where a value enters
// it.
func Text(s string) string { return escape(s, true) }

// Message makes one of mfabulk's own messages safe to print when it
// quotes every value from outside with %q already (a manifest's
// diagnostics, most errors): it escapes what is not printable as Text
// does but leaves backslashes alone, since escaping them again would show
// a quoted "\x1b" as "\\x1b", a backslash the value never held.
func Message(s string) string { return escape(s, false) }

// escape writes s piece by piece (see piece). Without backslash it leaves
// a backslash as it is: for text that is already escaped, where it only
// guards against a raw control character a caller let through, and where
// escaping again would double every escape.
func escape(s string, backslash bool) string {
	if plain(s, backslash) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		p, n := piece(s[i:], backslash)
		b.WriteString(p)
		i += n
	}
	return b.String()
}

// piece is the escaped form of the first rune of s (or of its first byte,
// when that is not UTF-8) and how many bytes of s it stands for.
func piece(s string, backslash bool) (string, int) {
	r, size := utf8.DecodeRuneInString(s)
	switch {
	case r == utf8.RuneError && size == 1:
		return fmt.Sprintf(`\x%02x`, s[0]), 1
	case r == '\\' && backslash:
		return `\\`, 1
	case strconv.IsPrint(r):
		return s[:size], size
	}
	q := strconv.QuoteRune(r)
	return q[1 : len(q)-1], size
}

// plain says whether s needs no escaping, without allocating: the common
// case of every name and path.
func plain(s string, backslash bool) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !strconv.IsPrint(r) || (backslash && r == '\\') {
			return false
		}
		i += size
	}
	return true
}

// more ends a value that was cut.
const more = "…"

// clip is Text(s) cut to at most max bytes, ending in "…" when it was
// cut: a value from outside may be of any length, and one of them must not
// crowd out the rest of a view (a 70,000-character SSH key comment, an AWS
// message quoting a policy). It escapes s piece by piece and stops before
// the first piece that does not fit, so it never cuts an escape or a rune
// in half: what it knows of the pieces it knows by making them, not by
// reading the escaped text back.
func clip(s string, max int) string {
	t := Text(s)
	if len(t) <= max {
		return t
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		p, n := piece(s[i:], true)
		if b.Len()+len(p) > max-len(more) {
			break
		}
		b.WriteString(p)
		i += n
	}
	return b.String() + more
}

// quoted is s as strconv.Quote writes it, cut to at most max bytes, still
// between its quotes: a tag's value or a key's comment, which can then
// hold nothing that ends its own field (a quote, a bracket or a comma is
// inside the quotes; a quote in the value is \").
func quoted(s string, max int) string {
	q := strconv.Quote(s)
	if len(q) <= max {
		return q
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		_, n := utf8.DecodeRuneInString(s[i:])
		p := strconv.Quote(s[i : i+n])
		p = p[1 : len(p)-1]
		if b.Len()+len(p) > max-len(more)-1 {
			break
		}
		b.WriteString(p)
		i += n
	}
	return b.String() + more + `"`
}

// cut is t, a value already escaped (by Text or strconv.Quote), cut to at
// most max bytes between two of its pieces, ending in "…" when it was cut:
// a bound of its own for a value a view shows shorter than its accessor
// does. Every backslash in such text starts an escape (a literal one is
// \\), so its pieces are read back without doubt.
func cut(t string, max int) string {
	if len(t) <= max {
		return t
	}
	end := 0
	for i := 0; i < len(t); {
		n := escapeLen(t[i:])
		if i+n > max-len(more) {
			break
		}
		i += n
		end = i
	}
	return t[:end] + more
}

// escapeLen is the length of the first piece of escaped text: one rune,
// or one escape (\r, \\, \", \x1b, \u202e, \U000e0001).
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
	}
	return 2
}
