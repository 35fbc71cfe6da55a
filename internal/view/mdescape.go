package view

import "strings"

// The Markdown rule for values from outside. Block structure (headings,
// list items, HTML blocks, tables) is decided line by line before any
// inline parsing, so a value that holds no line ending can only start or
// end a block through a line ending: Text writes CR, LF, U+2028 and every
// other control or format character as a Go escape, and no value then
// spans two lines. Within its line a value is either a code span, fenced
// by more backticks than any run inside it, or prose in which every
// character Markdown gives a meaning within a line is backslash-escaped
// (CommonMark allows that for every ASCII punctuation character). So no
// value ends a code span, a list item, a table cell or an HTML block, nor
// makes a heading, a link, an image, emphasis or HTML.

// mdSpecial are the characters with a meaning inside a line of GitHub
// Markdown: escapes, code, emphasis and strikethrough, links and images
// (parentheses mean nothing without a bracket), HTML and autolinks,
// entities, table cells, math, issue references and emoji, and the
// characters GFM's bare links start from (http:, www., user@host).
const mdSpecial = "\\`*_[]<>!&|~$#:.@"

// The md functions take a value already escaped by its accessor (see
// values.go); they escape once more without touching backslashes (see
// escape), which changes nothing in escaped text and keeps a raw control
// character out if a caller forgot.

// mdText is a value as prose: escaped, then every character in mdSpecial
// backslash-escaped, so it renders as the characters it holds. GitHub
// still links @user and #123 written so; a value that may hold them goes
// in a code span (mdCode) instead.
func mdText(s string) string {
	t := escape(s, false)
	if !strings.ContainsAny(t, mdSpecial) {
		return t
	}
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		if strings.IndexByte(mdSpecial, t[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(t[i])
	}
	return b.String()
}

// mdCode is a value as a whole code span, backticks included: escaped,
// fenced by one backtick more than its longest run of them, and
// padded with a space inside the fence when it starts or ends with a
// backtick or with a space (CommonMark strips one space from each side of
// such a span). An empty value is a span of one space.
func mdCode(s string) string {
	t := escape(s, false)
	if t == "" {
		return "` `"
	}
	longest, run := 0, 0
	for i := 0; i < len(t); i++ {
		if t[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if t[0] == '`' || t[len(t)-1] == '`' || (t[0] == ' ' && t[len(t)-1] == ' ') {
		t = " " + t + " "
	}
	return fence + t + fence
}

// mdCell is a value in a table cell: a code span when it has no
// backslash, prose otherwise, with every pipe escaped either way. GFM
// splits a row into cells before it parses the spans in them, taking only
// an escaped pipe as part of a cell; inside a code span a backslash is
// kept as written, so one before the pipe's escape would end the cell.
func mdCell(s string) string {
	t := escape(s, false)
	if strings.Contains(t, `\`) {
		return mdText(t)
	}
	return strings.ReplaceAll(mdCode(t), "|", `\|`)
}
