package certificate

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"strconv"
)

// gopdf deflates the font program it embeds at zlib's default level, which
// it does not let us change, and the outlines of a hundred CJK glyphs are
// 40-50 KB that deflate poorly and slowly: after subsetting, that was still
// a third of a render. So gopdf is given the document's font with every
// outline empty (subsetFont.hollow), whose program deflates to almost
// nothing, and replaceFontProgram puts the real program in its place,
// deflated at BestSpeed (a few percent larger, several times faster).
//
// gopdf writes the font program as the one stream with a /Length1 entry:
//
//	<</Length n
//	/Filter /FlateDecode
//	/Length1 m
//	>>
//	stream
//	…
//	endstream
//
// and a classic cross-reference table, one 20-byte line per object, after
// all objects. Replacing the stream shifts every later object, the table and
// startxref by the same amount, which is rewritten in place. Anything else
// in the layout means gopdf's output changed, and Render fails rather than
// write a broken file.

var (
	fontStreamKey = []byte("\n/Length1 ")
	fontDictStart = []byte("<</Length ")
	streamEnd     = []byte("\nendstream\n")
)

// replaceFontProgram returns pdf with its font program replaced by prog.
func (r *Renderer) replaceFontProgram(pdf, prog []byte) ([]byte, error) {
	k := bytes.Index(pdf, fontStreamKey)
	if k < 0 || bytes.LastIndex(pdf, fontStreamKey) != k {
		return nil, fmt.Errorf("certificate: want one font program in the PDF")
	}
	start := bytes.LastIndex(pdf[:k], fontDictStart)
	n := bytes.Index(pdf[k:], streamEnd)
	if start < 0 || n < 0 {
		return nil, fmt.Errorf("certificate: unexpected font program layout")
	}
	end := k + n + len(streamEnd)

	var z bytes.Buffer
	if err := r.deflate(&z, prog); err != nil {
		return nil, err
	}
	stream := fmt.Sprintf("<</Length %d\n/Filter /FlateDecode\n/Length1 %d\n>>\nstream\n", z.Len(), len(prog))
	out := make([]byte, 0, len(pdf)-(end-start)+len(stream)+z.Len()+len(streamEnd))
	out = append(out, pdf[:start]...)
	out = append(out, stream...)
	out = append(out, z.Bytes()...)
	out = append(out, streamEnd...)
	out = append(out, pdf[end:]...)
	return shiftXref(out, start, len(out)-len(pdf))
}

// deflate appends b to w as a zlib stream at BestSpeed.
func (r *Renderer) deflate(w io.Writer, b []byte) error {
	zw := r.deflaters.Get().(*zlib.Writer)
	defer r.deflaters.Put(zw)
	zw.Reset(w)
	if _, err := zw.Write(b); err != nil {
		return err
	}
	return zw.Close()
}

// shiftXref adds delta to every cross-reference offset past from (in
// place: the offsets are fixed-width) and to startxref's number.
func shiftXref(pdf []byte, from, delta int) ([]byte, error) {
	bad := fmt.Errorf("certificate: unexpected cross-reference layout")
	x := bytes.LastIndex(pdf, []byte("\nxref\n0 "))
	if x < 0 {
		return nil, bad
	}
	p := x + len("\nxref\n0 ")
	nl := bytes.IndexByte(pdf[p:], '\n')
	if nl < 0 {
		return nil, bad
	}
	count, err := strconv.Atoi(string(pdf[p : p+nl]))
	if err != nil {
		return nil, bad
	}
	p += nl + 1
	if len(pdf) < p+20*count {
		return nil, bad
	}
	for i := range count {
		line := pdf[p+20*i : p+20*i+20]
		off, err := strconv.Atoi(string(line[:10]))
		if err != nil || line[10] != ' ' || line[19] != '\n' {
			return nil, bad
		}
		if line[17] == 'n' && off > from {
			copy(line[:10], fmt.Sprintf("%010d", off+delta))
		}
	}
	const sx = "\nstartxref\n"
	s := bytes.LastIndex(pdf, []byte(sx))
	if s < 0 {
		return nil, bad
	}
	num := s + len(sx)
	e := bytes.IndexByte(pdf[num:], '\n')
	if e < 0 {
		return nil, bad
	}
	xrefAt, err := strconv.Atoi(string(pdf[num : num+e]))
	if err != nil || xrefAt != x+1-delta {
		return nil, bad
	}
	tail := string(pdf[num+e:]) // "\n%%EOF\n"
	return append(strconv.AppendInt(pdf[:num], int64(xrefAt+delta), 10), tail...), nil
}
