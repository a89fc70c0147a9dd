package certificate

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	goqr "github.com/piglig/go-qr"
)

// TestQRPNGIsTheEncodedCode: the hand-written PNG decodes to exactly the
// code go-qr encodes for the content, black on white at 8 pixels per
// module, inside a quiet zone of 4 white modules.
func TestQRPNGIsTheEncodedCode(t *testing.T) {
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
		q, err := qrCode(content)
		if err != nil {
			t.Fatal(err)
		}
		side := (q.Size() + 2*qrQuiet) * qrScale
		if got.Bounds() != image.Rect(0, 0, side, side) {
			t.Fatalf("%q: bounds %v, want %d × %d", content, got.Bounds(), side, side)
		}
		for y := range side {
			for x := range side {
				want := color.Gray{Y: 0xff}
				if q.Module(x/qrScale-qrQuiet, y/qrScale-qrQuiet) {
					want = color.Gray{}
				}
				if color.GrayModel.Convert(got.At(x, y)) != want {
					t.Fatalf("%q: pixel (%d,%d) is %v, want %v", content, x, y, got.At(x, y), want)
				}
			}
		}
	}
}

// TestAVerifyURLIsAVersion5Code: the number and code of a verify URL go
// in numeric and alphanumeric segments, which keeps the code at 37
// modules; all in bytes it would be 41, each module 9% smaller in print.
func TestAVerifyURLIsAVersion5Code(t *testing.T) {
	r := newTestRenderer(t)
	for _, tc := range goldenCases {
		u := r.VerifyURL(tc.cert())
		q, err := qrCode(u)
		if err != nil {
			t.Fatal(err)
		}
		if q.Size() != 37 {
			t.Errorf("%s: %d modules for %q, want 37 (version 5)", tc.name, q.Size(), u)
		}
		bytesOnly, err := goqr.EncodeText(u, goqr.Medium)
		if err != nil {
			t.Fatal(err)
		}
		if bytesOnly.Size() <= q.Size() {
			t.Errorf("%s: bytes alone make %d modules too; the test no longer tells the segments apart", tc.name, bytesOnly.Size())
		}
	}
}

// TestThePrintedQRCodeScansToTheVerifyURL reads each certificate the way a
// phone does: its first page rasterised (pdftoppm, 150 dpi, about a
// phone photo of a printout) and the QR code found and decoded by zbar, a
// reader that shares no code with the encoder.
func TestThePrintedQRCodeScansToTheVerifyURL(t *testing.T) {
	pdftoppm, zbarimg := needTool(t, "pdftoppm"), needTool(t, "zbarimg")
	r := newTestRenderer(t)
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cert()
			pdf, err := r.Render(c)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			file := filepath.Join(dir, "c.pdf")
			if err := os.WriteFile(file, pdf, 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(pdftoppm, "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile", file, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
				t.Fatalf("pdftoppm: %v\n%s", err, out)
			}
			// Only stdout: zbarimg complains on stderr when there is no
			// D-Bus to talk to, as in a container.
			var stderr bytes.Buffer
			scan := exec.Command(zbarimg, "-q", "--raw", filepath.Join(dir, "page.png"))
			scan.Stderr = &stderr
			out, err := scan.Output()
			if err != nil {
				t.Fatalf("zbarimg found no code: %v\n%s", err, stderr.Bytes())
			}
			if got, want := strings.TrimSpace(string(out)), r.VerifyURL(c); got != want {
				t.Fatalf("the code scans to %q, want %q", got, want)
			}
		})
	}
}
