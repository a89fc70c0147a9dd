package certificate

import (
	"bytes"
	"encoding/binary"
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
	data, err := ft.subset(runes)
	if err != nil {
		t.Fatal(err)
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
