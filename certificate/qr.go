package certificate

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"

	qrcode "github.com/skip2/go-qrcode"
)

// qrScale is the QR image's pixels per module: 8 keep the edges sharp when
// viewers smooth the scaled image.
const qrScale = 8

// qrPNG encodes content as a QR code image. Medium error correction
// survives a creased or smudged printout.
//
// The PNG is the image go-qrcode's PNG(-8) draws (its quiet zone, white
// and black in a two-colour palette, one bit per pixel), written here:
// go-qrcode deflates at BestCompression and image/png reads the image
// pixel by pixel through an interface, which together were a fifth of a
// certificate's rendering time. Rows are packed once per module row and
// repeated, and deflated at BestSpeed; gopdf copies the deflated rows
// into the PDF as they are (a 1-bit indexed image with the PNG predictor).
func (r *Renderer) qrPNG(content string) ([]byte, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("certificate: QR code: %w", err)
	}
	bits := q.Bitmap()
	size := len(bits) * qrScale
	line := 1 + (size+7)/8 // filter type 0 (none), then the packed pixels
	raw := make([]byte, line*size)
	for my, modules := range bits {
		row := raw[my*qrScale*line : (my*qrScale+1)*line]
		for mx, dark := range modules {
			if !dark {
				continue
			}
			for px := mx * qrScale; px < (mx+1)*qrScale; px++ {
				row[1+px/8] |= 0x80 >> (px % 8) // palette index 1: foreground
			}
		}
		for k := 1; k < qrScale; k++ {
			copy(raw[(my*qrScale+k)*line:], row)
		}
	}

	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(size))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(size))
	ihdr[8], ihdr[9] = 1, 3 // bit depth 1, indexed colour; default compression, filter and interlace
	pngChunk(&b, "IHDR", ihdr[:])
	bg, fg := q.BackgroundColor.RGBA, q.ForegroundColor.RGBA
	var plte []byte
	for _, rgba := range []func() (uint32, uint32, uint32, uint32){bg, fg} {
		cr, cg, cb, _ := rgba()
		plte = append(plte, byte(cr>>8), byte(cg>>8), byte(cb>>8))
	}
	pngChunk(&b, "PLTE", plte)
	var z bytes.Buffer
	if err := r.deflate(&z, raw); err != nil {
		return nil, fmt.Errorf("certificate: QR image: %w", err)
	}
	pngChunk(&b, "IDAT", z.Bytes())
	pngChunk(&b, "IEND", nil)
	return b.Bytes(), nil
}

// pngChunk writes one PNG chunk: length, type, data, CRC of type and data.
func pngChunk(b *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	b.Write(n[:])
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	b.WriteString(typ)
	b.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	b.Write(n[:])
}
