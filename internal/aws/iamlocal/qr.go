package iamlocal

import (
	"bytes"
	"image"
	"image/color"
	"image/png"

	"rsc.io/qr"
)

// qrPNG renders text as a QR code PNG with the 4-module quiet zone that
// scanners expect, as IAM's QRCodePNG is.
func qrPNG(text string) ([]byte, error) {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return nil, err
	}
	const scale, quiet = 6, 4
	side := (code.Size + 2*quiet) * scale
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	row := make([]uint8, side)
	for y := 0; y < code.Size; y++ {
		clear(row)
		for x := 0; x < code.Size; x++ {
			if code.Black(x, y) {
				for dx := 0; dx < scale; dx++ {
					row[(x+quiet)*scale+dx] = 1
				}
			}
		}
		for dy := 0; dy < scale; dy++ {
			copy(img.Pix[((y+quiet)*scale+dy)*img.Stride:], row)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
