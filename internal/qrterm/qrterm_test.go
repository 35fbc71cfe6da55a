package qrterm

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"rsc.io/qr"

	"github.com/mfabulk/mfabulk/internal/reftools"
)

const uri = "otpauth://totp/alice@123456789012?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// pngOf draws a grid (with a quiet zone) at scale pixels per module.
func pngOf(t *testing.T, n int, dark func(x, y int) bool, scale int) []byte {
	t.Helper()
	const quiet = 4
	side := (n + 2*quiet) * scale
	img := image.NewGray(image.Rect(0, 0, side, side))
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			c := color.Gray{0xff}
			if dark(x/scale-quiet, y/scale-quiet) {
				c = color.Gray{0}
			}
			img.SetGray(x, y, c)
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func TestDecodeReadsEveryModule(t *testing.T) {
	code, err := qr.Encode(uri, qr.M)
	if err != nil {
		t.Fatal(err)
	}
	for _, scale := range []int{1, 3, 6} {
		g, err := Decode(pngOf(t, code.Size, code.Black, scale))
		if err != nil {
			t.Fatalf("scale %d: %v", scale, err)
		}
		if len(g) != code.Size {
			t.Fatalf("scale %d: %d modules a side, want %d", scale, len(g), code.Size)
		}
		for y := range g {
			for x := range g[y] {
				if g[y][x] != code.Black(x, y) {
					t.Fatalf("scale %d: module (%d,%d) wrong", scale, x, y)
				}
			}
		}
	}
}

// TestTerminalCodeScans draws the code in half blocks, paints those
// characters back into pixels as a terminal would, background and all, and
// has zbarimg read the picture: what a phone sees off the screen. The quiet
// zone is Write's alone (1 module: the spec's 4 is more than scanners need).
func TestTerminalCodeScans(t *testing.T) {
	code, _ := qr.Encode(uri, qr.M)
	g, err := Decode(pngOf(t, code.Size, code.Black, 4))
	if err != nil {
		t.Fatal(err)
	}
	for _, invert := range []bool{false, true} {
		var b strings.Builder
		Write(&b, g, invert)
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		// Each character is one module wide and two tall; ink is light
		// unless inverted, and the terminal background is the opposite.
		n := len([]rune(lines[0]))
		dark := func(x, y int) bool {
			x, y = x+4, y+4 // undo pngOf's quiet zone offset
			if y < 0 || x < 0 || y/2 >= len(lines) || x >= n {
				// The terminal's background: dark unless inverted,
				// so the only quiet zone is the one Write draws.
				return !invert
			}
			r := []rune(lines[y/2])[x]
			ink := r == '█' || (r == '▀' && y%2 == 0) || (r == '▄' && y%2 == 1)
			return ink == invert
		}
		got := reftools.QRText(t, pngOf(t, 2*len(lines)-8, dark, 4))
		if got != uri {
			t.Errorf("invert=%v: scanned %q, want %q", invert, got, uri)
		}
	}
}

func TestDecodeRejectsNonQR(t *testing.T) {
	blank := pngOf(t, 21, func(x, y int) bool { return false }, 2)
	if _, err := Decode(blank); err == nil {
		t.Error("blank image decoded")
	}
	if _, err := Decode([]byte("not a png")); err == nil {
		t.Error("garbage decoded")
	}
}

// TestSizeFitsAStandardTerminal: a realistic IAM code (version 6, 41
// modules) draws in 43×22 characters, which with its title line leaves
// the prompt's line of an 80×24 terminal free.
func TestSizeFitsAStandardTerminal(t *testing.T) {
	code, _ := qr.Encode("otpauth://totp/alice@123456789012?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", qr.M)
	g, err := Decode(pngOf(t, code.Size, code.Black, 2))
	if err != nil {
		t.Fatal(err)
	}
	cols, rows := Size(g)
	if cols != 43 || rows != 22 {
		t.Errorf("Size = %d×%d, want 43×22", cols, rows)
	}
	var b strings.Builder
	Write(&b, g, false)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != rows || len([]rune(lines[0])) != cols {
		t.Errorf("Write drew %d×%d, Size says %d×%d", len([]rune(lines[0])), len(lines), cols, rows)
	}
}
