// Package qrterm draws a QR code PNG in a terminal with Unicode half blocks,
// two modules per character cell, so that a phone can scan it off the
// screen. It reads the module grid back from the image itself, which works
// for any clean, axis-aligned QR PNG such as IAM's.
package qrterm

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"io"
	"strings"
)

// Grid is a QR code's modules, true for dark, including no quiet zone.
type Grid [][]bool

// Decode reads the module grid of a QR code PNG.
func Decode(pngData []byte) (Grid, error) {
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		return nil, err
	}
	dark := func(x, y int) bool {
		r, g, b, _ := img.At(x, y).RGBA()
		return (r+g+b)/3 < 0x8000
	}
	b := img.Bounds()
	// The top-left finder pattern starts at the first dark pixel and is a
	// run of seven dark modules: its width gives the module size.
	x0, y0, ok := firstDark(b, dark)
	if !ok {
		return nil, errors.New("no QR code in image")
	}
	run := 0
	for x := x0; x < b.Max.X && dark(x, y0); x++ {
		run++
	}
	module := run / 7
	if module == 0 || run%7 != 0 {
		return nil, errors.New("image is not a clean QR code")
	}
	x1 := x0
	for x := b.Max.X - 1; x >= x0; x-- {
		if dark(x, y0) {
			x1 = x
			break
		}
	}
	n := (x1 - x0 + 1) / module
	if n < 21 || (n-17)%4 != 0 || y0+n*module > b.Max.Y {
		return nil, errors.New("image is not a clean QR code")
	}
	g := make(Grid, n)
	for y := range g {
		g[y] = make([]bool, n)
		for x := range g[y] {
			g[y][x] = dark(x0+x*module+module/2, y0+y*module+module/2)
		}
	}
	return g, nil
}

func firstDark(b image.Rectangle, dark func(x, y int) bool) (int, int, bool) {
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if dark(x, y) {
				return x, y, true
			}
		}
	}
	return 0, 0, false
}

// quiet is the light border drawn around a code, in modules. The spec asks
// for 4; phone scanners (and zbarimg) read a code with 1, and each module
// saved is a line and two columns of a terminal: IAM's code for a short
// name then fits an 80×24 terminal.
const quiet = 1

// Size returns the characters Write draws g in: columns and lines.
func Size(g Grid) (cols, rows int) {
	n := len(g) + 2*quiet
	return n, (n + 1) / 2
}

// Write draws g with half blocks. Terminals usually draw light text on a
// dark background, so a character's ink is the code's light modules; with
// invert, ink is the dark modules, for light-background terminals.
func Write(w io.Writer, g Grid, invert bool) error {
	n := len(g) + 2*quiet
	at := func(x, y int) bool { // true where ink goes
		x, y = x-quiet, y-quiet
		dark := y >= 0 && y < len(g) && x >= 0 && x < len(g) && g[y][x]
		return dark == invert
	}
	var sb strings.Builder
	for y := 0; y < n; y += 2 {
		for x := 0; x < n; x++ {
			top, bottom := at(x, y), y+1 < n && at(x, y+1)
			if y+1 >= n {
				bottom = !invert
			}
			switch {
			case top && bottom:
				sb.WriteRune('█')
			case top:
				sb.WriteRune('▀')
			case bottom:
				sb.WriteRune('▄')
			default:
				sb.WriteRune(' ')
			}
		}
		sb.WriteByte('\n')
	}
	_, err := io.WriteString(w, sb.String())
	return err
}
