package certificate

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"

	goqr "github.com/piglig/go-qr"
)

// qrScale is the QR image's pixels per module: 8 keep the edges sharp when
// viewers smooth the scaled image.
const qrScale = 8

// qrQuiet is the light margin around the code, in modules: the four the
// QR standard asks for, so a reader finds the code on a page of text.
const qrQuiet = 4

// qrPNG encodes content as a QR code image. Medium error correction (or
// better, when it fits the same size) survives a creased or smudged
// printout.
//
// The encoder is go-qr's (qrCode): it picks the mask by the standard's
// penalty rules as go-qrcode did, in a fraction of the time and
// allocations (go-qrcode's was a fifth of a certificate's rendering).
// The PNG is written here, not by an image encoder: black on white in a
// two-colour palette, one bit per pixel, rows packed once per module row
// and repeated, deflated at BestSpeed; gopdf copies the deflated rows into
// the PDF as they are (a 1-bit indexed image with the PNG predictor).
func (r *Renderer) qrPNG(content string) ([]byte, error) {
	q, err := qrCode(content)
	if err != nil {
		return nil, fmt.Errorf("certificate: QR code: %w", err)
	}
	modules := q.Size() + 2*qrQuiet
	size := modules * qrScale
	line := 1 + (size+7)/8 // filter type 0 (none), then the packed pixels
	raw := make([]byte, line*size)
	for my := range modules {
		row := raw[my*qrScale*line : (my*qrScale+1)*line]
		for mx := range modules {
			// Module is false outside the code: the quiet zone.
			if !q.Module(mx-qrQuiet, my-qrQuiet) {
				continue
			}
			for px := mx * qrScale; px < (mx+1)*qrScale; px++ {
				row[1+px/8] |= 0x80 >> (px % 8) // palette index 1: black
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
	pngChunk(&b, "PLTE", []byte{0xff, 0xff, 0xff, 0, 0, 0}) // 0 white, 1 black
	var z bytes.Buffer
	if err := r.deflate(&z, raw); err != nil {
		return nil, fmt.Errorf("certificate: QR image: %w", err)
	}
	pngChunk(&b, "IDAT", z.Bytes())
	pngChunk(&b, "IEND", nil)
	return b.Bytes(), nil
}

// qrCode is content's QR code at Medium error correction or better. The
// segments are chosen optimally: a verify URL is lower case, which one
// mode would put all in bytes, but its 22-character number and code are
// mostly digits and capitals, which take fewer bits as numeric and
// alphanumeric runs. That keeps the code a version smaller (37 modules,
// not 41, for a verify URL), so each module prints larger in the same box.
func qrCode(content string) (*goqr.QrCode, error) {
	segs, err := goqr.MakeSegmentsOptimally(content, goqr.Medium, goqr.MinVersion, goqr.MaxVersion)
	if err != nil {
		return nil, err
	}
	return goqr.EncodeStandardSegments(segs, goqr.Medium)
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
