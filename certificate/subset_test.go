package certificate

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"testing"

	"github.com/signintech/gopdf"
)

// TestSubsetFontKeepsEveryGlyphAndWidth parses a subset font as gopdf does
// and checks that each character maps to the embedded font's own outline
// and advance width, including a character beyond the BMP and a composite
// glyph, whose components must come along renumbered.
func TestSubsetFontKeepsEveryGlyphAndWidth(t *testing.T) {
	r := newTestRenderer(t)
	ft := r.font.tables
	runes := []rune("李*𬌗 缴费凭证0123456789（）：.")
	var composite rune
	for ch, g := range ft.gids {
		if offs, err := componentOffsets(ft.glyph(g)); err == nil && len(offs) > 0 && (composite == 0 || ch < composite) {
			composite = ch
		}
	}
	if composite != 0 {
		runes = append(runes, composite)
	}
	tables, err := ft.subsetTables(runes)
	if err != nil {
		t.Fatal(err)
	}
	data := assembleFont(tables)
	if got := tableChecksum(data); got != 0xB1B0AFBA {
		t.Errorf("font checksum %#x, want 0xB1B0AFBA (checkSumAdjustment)", got)
	}
	var sub gopdf.SubsetFontObj
	if err := sub.SetTTFData(data); err != nil {
		t.Fatalf("gopdf cannot parse the subset: %v", err)
	}
	p := sub.GetTTFParser()
	glyf := p.GetTables()["glyf"].Offset
	outline := func(g uint) []byte { return data[glyf+p.LocaTable[g] : glyf+p.LocaTable[g+1]] }
	if p.NumGlyphs() > uint(len(runes))+8 {
		t.Errorf("%d glyphs for %d characters", p.NumGlyphs(), len(runes))
	}
	for _, ch := range runes {
		g, err := sub.CharCodeToGlyphIndex(ch)
		if err != nil || g == 0 {
			t.Fatalf("%U: glyph %d, %v", ch, g, err)
		}
		old := ft.gids[ch]
		if got, want := sub.GlyphIndexToPdfWidth(g), ft.advances[old]*1000/p.UnitsPerEm(); got != want {
			t.Errorf("%U: width %d, want %d", ch, got, want)
		}
		got, want := outline(g), ft.glyph(old)
		offs, _ := componentOffsets(want)
		for _, o := range offs {
			// The component is renumbered to a glyph with the same outline.
			c := uint(binary.BigEndian.Uint16(got[o:]))
			if !bytes.Equal(bytes.TrimRight(outline(c), "\x00"), bytes.TrimRight(ft.glyph(binary.BigEndian.Uint16(want[o:])), "\x00")) {
				t.Errorf("%U: component at %d is not the original's", ch, o)
			}
			got, want = append([]byte{}, got...), append([]byte{}, want...)
			got[o], got[o+1], want[o], want[o+1] = 0, 0, 0, 0
		}
		if !bytes.Equal(bytes.TrimRight(got, "\x00"), bytes.TrimRight(want, "\x00")) {
			t.Errorf("%U: outline differs from the embedded font's", ch)
		}
	}
	if composite == 0 {
		t.Log("the font has no composite glyph")
	}
	if _, err := ft.subset([]rune{0x31350}); err == nil {
		t.Error("a character the font lacks was subset")
	}
}

// TestRenderedCrossReferencesPointAtTheirObjects: the font program is
// replaced after gopdf wrote the file (fontfile.go), which moves every
// later object; a reader must still find each object where the table says
// (poppler quietly rebuilds a broken table, so its tools cannot tell).
func TestRenderedCrossReferencesPointAtTheirObjects(t *testing.T) {
	r := newTestRenderer(t)
	pdfs := map[string][]byte{}
	for _, tc := range goldenCases {
		pdf, err := r.Render(tc.cert())
		if err != nil {
			t.Fatal(err)
		}
		pdfs[tc.name] = pdf
	}
	pdf, err := r.RenderVoucher(voucherSlipFixture())
	if err != nil {
		t.Fatal(err)
	}
	pdfs["bank_voucher"] = pdf
	for name, pdf := range pdfs {
		x := bytes.LastIndex(pdf, []byte("\nxref\n0 ")) + 1
		sx := bytes.LastIndex(pdf, []byte("startxref\n"))
		var at int
		if _, err := fmt.Sscanf(string(pdf[sx:]), "startxref\n%d\n%%%%EOF\n", &at); err != nil || at != x {
			t.Errorf("%s: startxref %d (%v), xref at %d", name, at, err, x)
		}
		var count int
		fmt.Sscanf(string(pdf[x:]), "xref\n0 %d\n", &count)
		lines := pdf[x+bytes.Index(pdf[x:], []byte("0000000000 65535 f")):]
		if count < 10 {
			t.Fatalf("%s: %d objects", name, count)
		}
		for i := 1; i < count; i++ {
			var off, gen int
			fmt.Sscanf(string(lines[20*i:20*i+20]), "%010d %05d n", &off, &gen)
			if want := fmt.Sprintf("%d 0 obj\n", i); !bytes.HasPrefix(pdf[off:], []byte(want)) {
				t.Errorf("%s: object %d at %d reads %q", name, i, off, pdf[off:off+12])
			}
		}
		// The font program is deflated and whole.
		k := bytes.Index(pdf, []byte("/Length1 "))
		var n, n1 int
		fmt.Sscanf(string(pdf[bytes.LastIndex(pdf[:k], []byte("<</Length ")):]), "<</Length %d\n/Filter /FlateDecode\n/Length1 %d\n", &n, &n1)
		s := k + bytes.Index(pdf[k:], []byte("stream\n")) + len("stream\n")
		if !bytes.HasPrefix(pdf[s+n:], []byte("\nendstream\n")) {
			t.Errorf("%s: font stream /Length %d is wrong", name, n)
		}
		zr, err := zlib.NewReader(bytes.NewReader(pdf[s : s+n]))
		if err != nil {
			t.Fatal(err)
		}
		prog, err := io.ReadAll(zr)
		if err != nil || len(prog) != n1 || n1 < 20_000 {
			t.Errorf("%s: font program %d bytes (%v), /Length1 %d", name, len(prog), err, n1)
		}
	}
}
