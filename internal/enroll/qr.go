package enroll

import (
	"errors"

	"rsc.io/qr/coding"
	"rsc.io/qr/gf256"

	"github.com/mfabulk/mfabulk/internal/qrterm"
)

// errQR is every failure to read a QR code; what was read so far is a
// secret, so no error says more.
var errQR = errors.New("the image is not a QR code that can be read")

// readQR returns the text of a clean QR code's module grid (as
// [qrterm.Decode] reads it from IAM's PNG). It tries each error
// correction level and mask: the one whose function patterns and format
// bits match the grid exactly gives the layout of the codewords (from
// rsc.io/qr/coding, the encoder iamlocal uses), and every block's check
// bytes must then be the Reed-Solomon code of its data bytes, so a
// misread is an error, never a wrong seed. Numeric, alphanumeric and
// byte segments are read; a clean image needs no error correction, and
// none is attempted. The caller wipes the text.
func readQR(g qrterm.Grid) ([]byte, error) {
	n := len(g)
	if n < 21 || (n-17)%4 != 0 || (n-17)/4 > int(coding.MaxVersion) {
		return nil, errQR
	}
	v := coding.Version((n - 17) / 4)
	for l := coding.L; l <= coding.H; l++ {
		for m := coding.Mask(0); m < 8; m++ {
			p, err := coding.NewPlan(v, l, m)
			if err != nil {
				return nil, errQR
			}
			if !matches(p, g) {
				continue
			}
			codewords := read(p, g)
			defer clear(codewords)
			data, ok := checked(p, codewords)
			if !ok {
				return nil, errQR
			}
			return segments(data, v)
		}
	}
	return nil, errQR
}

// matches reports whether every module that is not data or check bits
// (finder, alignment and timing patterns, format and version bits) is as
// plan p draws it.
func matches(p *coding.Plan, g qrterm.Grid) bool {
	for y, row := range p.Pixel {
		for x, pix := range row {
			switch pix.Role() {
			case coding.Data, coding.Check, coding.Extra, coding.Unused:
				continue
			}
			if g[y][x] != (pix&coding.Black != 0) {
				return false
			}
		}
	}
	return true
}

// read returns the codewords, data blocks then check blocks, each block's
// bytes together (the plan's offsets undo the interleaving).
func read(p *coding.Plan, g qrterm.Grid) []byte {
	out := make([]byte, p.DataBytes+p.CheckBytes)
	for y, row := range p.Pixel {
		for x, pix := range row {
			if r := pix.Role(); r != coding.Data && r != coding.Check {
				continue
			}
			// A data module is dark for a 1 bit, unless the mask inverts
			// it; the plan's Black bit is the mask's inversion.
			if g[y][x] != (pix&coding.Black != 0) {
				o := pix.Offset()
				out[o/8] |= 1 << (7 - o%8)
			}
		}
	}
	return out
}

// checked verifies every block's check bytes and returns the data bytes.
// The last DataBytes%Blocks blocks hold one more data byte, as the
// standard (and the encoder) lays them out.
func checked(p *coding.Plan, codewords []byte) ([]byte, bool) {
	nblock := p.Blocks
	if nblock == 0 || p.CheckBytes%nblock != 0 {
		return nil, false
	}
	ne := p.CheckBytes / nblock
	nd, extra := p.DataBytes/nblock, p.DataBytes%nblock
	data, check := codewords[:p.DataBytes], codewords[p.DataBytes:]
	rs := gf256.NewRSEncoder(coding.Field, ne)
	want := make([]byte, ne)
	for i, d := 0, data; i < nblock; i++ {
		size := nd
		if i >= nblock-extra {
			size++
		}
		rs.ECC(d[:size], want)
		for j := range want {
			if want[j] != check[i*ne+j] {
				return nil, false
			}
		}
		d = d[size:]
	}
	return data, true
}

// segments decodes the data bits: numeric, alphanumeric and byte
// segments up to the terminator or the end.
func segments(data []byte, v coding.Version) ([]byte, error) {
	r := bitReader{b: data}
	class := 0 // character count widths grow at versions 10 and 27
	if v >= 27 {
		class = 2
	} else if v >= 10 {
		class = 1
	}
	var out []byte
	fail := func() ([]byte, error) { clear(out); return nil, errQR }
	for r.left() >= 4 {
		mode := r.bits(4)
		switch mode {
		case 0: // terminator
			return out, nil
		case 1: // numeric
			count := r.bits([]int{10, 12, 14}[class])
			for ; count >= 3; count -= 3 {
				d := r.bits(10)
				if d > 999 || r.bad {
					return fail()
				}
				out = append(out, byte('0'+d/100), byte('0'+d/10%10), byte('0'+d%10))
			}
			switch count {
			case 2:
				d := r.bits(7)
				if d > 99 {
					return fail()
				}
				out = append(out, byte('0'+d/10), byte('0'+d%10))
			case 1:
				d := r.bits(4)
				if d > 9 {
					return fail()
				}
				out = append(out, byte('0'+d))
			}
		case 2: // alphanumeric
			const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
			count := r.bits([]int{9, 11, 13}[class])
			for ; count >= 2; count -= 2 {
				d := r.bits(11)
				if d/45 >= 45 {
					return fail()
				}
				out = append(out, alphabet[d/45], alphabet[d%45])
			}
			if count == 1 {
				d := r.bits(6)
				if d >= 45 {
					return fail()
				}
				out = append(out, alphabet[d])
			}
		case 4: // byte
			count := r.bits([]int{8, 16, 16}[class])
			for ; count > 0; count-- {
				out = append(out, byte(r.bits(8)))
			}
		default: // ECI, Kanji, structured append: not in an otpauth code
			return fail()
		}
		if r.bad {
			return fail()
		}
	}
	return out, nil
}

// bitReader reads big-endian bit fields; reading past the end sets bad.
type bitReader struct {
	b   []byte
	pos int
	bad bool
}

func (r *bitReader) left() int { return len(r.b)*8 - r.pos }

func (r *bitReader) bits(n int) int {
	if r.left() < n {
		r.bad = true
		r.pos = len(r.b) * 8
		return 0
	}
	v := 0
	for range n {
		v = v<<1 | int(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}
