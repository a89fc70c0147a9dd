package certificate

import (
	"bytes"
	"image/png"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
)

// TestQRPNGIsGoQRCodesImage: the hand-written PNG decodes to exactly the
// image go-qrcode draws for the same content at 8 pixels per module.
func TestQRPNGIsGoQRCodesImage(t *testing.T) {
	r := newTestRenderer(t)
	for _, content := range []string{"BV2026011500000123", r.VerifyURL(proofFixture())} {
		b, err := r.qrPNG(content)
		if err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%q: not a PNG: %v", content, err)
		}
		q, err := qrcode.New(content, qrcode.Medium)
		if err != nil {
			t.Fatal(err)
		}
		want := q.Image(-qrScale)
		if got.Bounds() != want.Bounds() {
			t.Fatalf("%q: bounds %v, want %v", content, got.Bounds(), want.Bounds())
		}
		for y := range want.Bounds().Dy() {
			for x := range want.Bounds().Dx() {
				r1, g1, b1, a1 := got.At(x, y).RGBA()
				r2, g2, b2, a2 := want.At(x, y).RGBA()
				if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
					t.Fatalf("%q: pixel (%d,%d) differs", content, x, y)
				}
			}
		}
	}
}
