package certificate

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"sort"
)

// Each PDF embeds a font built for it alone: the glyphs of the characters
// it draws, renumbered from 0, with their outlines and metrics copied from
// the embedded font unchanged.
//
// gopdf subsets by glyph number but keeps the numbering, so from the whole
// font (29,145 glyphs) every PDF carried a full-length loca and hmtx table:
// 230 KB of its 276 KB font program, deflated at zlib's default level on
// each render (gopdf fixes the level). That compression was three quarters
// of a certificate's rendering time. A font of a hundred glyphs is a few
// kilobytes of tables; gopdf parses and subsets it in well under a
// millisecond, and the PDF is smaller to store and to download. What is
// printed, its widths and positions do not change: every glyph keeps its
// outline, advance and side bearing, and the font's head, hhea, OS/2 and
// name tables (bounding box, ascent, descent, flags, name) are the
// embedded font's own.

// TrueType composite-glyph flags (OpenType glyf table).
const (
	argsAreWords   = 0x0001
	haveScale      = 0x0008
	moreComponents = 0x0020
	haveXYScale    = 0x0040
	haveTwoByTwo   = 0x0080
)

// fontTables is what subsetting reads from the embedded font, kept from
// its one parse at startup.
type fontTables struct {
	data     []byte
	glyfOff  uint
	loca     []uint // numGlyphs+1 offsets into glyf
	advances []uint // advance width of every glyph
	hmtxOff  uint
	hMetrics uint // numberOfHMetrics
	// gids maps every rune the font covers to its glyph.
	gids map[rune]uint16
	// raw tables copied into each subset font; post is cut to its
	// 32-byte header (version 3: no glyph names).
	head, hhea, maxp, os2, name, post []byte
	// hinting tables, copied when the font has them (LXGW WenKai has none).
	hinting map[string][]byte
}

// glyph returns glyph g's outline data.
func (t *fontTables) glyph(g uint16) []byte {
	return t.data[t.glyfOff+t.loca[g] : t.glyfOff+t.loca[g+1]]
}

// lsb is glyph g's left side bearing (hmtx).
func (t *fontTables) lsb(g uint16) uint16 {
	off := t.hmtxOff + 4*uint(g) + 2
	if uint(g) >= t.hMetrics {
		off = t.hmtxOff + 4*t.hMetrics + 2*(uint(g)-t.hMetrics)
	}
	return binary.BigEndian.Uint16(t.data[off:])
}

// componentOffsets returns where, in a composite glyph's data, each
// component's glyph number is; nil for a simple glyph.
func componentOffsets(g []byte) ([]int, error) {
	if len(g) < 10 || int16(binary.BigEndian.Uint16(g)) >= 0 {
		return nil, nil
	}
	var offs []int
	for p := 10; ; {
		if p+4 > len(g) {
			return nil, fmt.Errorf("certificate: truncated composite glyph")
		}
		flags := binary.BigEndian.Uint16(g[p:])
		offs = append(offs, p+2)
		p += 4 + 2
		if flags&argsAreWords != 0 {
			p += 2
		}
		switch {
		case flags&haveScale != 0:
			p += 2
		case flags&haveXYScale != 0:
			p += 4
		case flags&haveTwoByTwo != 0:
			p += 8
		}
		if flags&moreComponents == 0 {
			return offs, nil
		}
	}
}

// subsetFont is one document's font in the two forms Renderer.draw uses.
// (The whole subset font, outlines and cmap, is assembleFont(tables) of
// subsetTables.)
type subsetFont struct {
	// hollow is the font with every outline empty, for gopdf to lay
	// out and write (see replaceFontProgram): the subset's glyph
	// numbers, cmap, widths and metrics, and nothing worth deflating.
	hollow []byte
	// program is the font program the PDF embeds in hollow's place:
	// the subset's outlines, without the tables a PDF reader does not
	// use for a CIDFont (cmap, name, OS/2, post); the ones gopdf embeds.
	program []byte
}

// subset builds a TrueType font holding the glyphs of runes (and the
// components of composite ones), numbered from 1 in rune order after
// .notdef. Every rune must be in the font.
func (t *fontTables) subset(runes []rune) (*subsetFont, error) {
	tables, err := t.subsetTables(runes)
	if err != nil {
		return nil, err
	}
	cmap, name, os2, post := tables["cmap"], tables["name"], tables["OS/2"], tables["post"]
	for _, tag := range []string{"cmap", "name", "OS/2", "post"} {
		delete(tables, tag)
	}
	f := &subsetFont{program: assembleFont(tables)}
	maps.Copy(tables, map[string][]byte{"cmap": cmap, "name": name, "OS/2": os2, "post": post,
		"glyf": nil, "loca": make([]byte, len(tables["loca"]))})
	f.hollow = assembleFont(tables)
	return f, nil
}

// subsetTables returns the tables of the subset font of runes.
func (t *fontTables) subsetTables(runes []rune) (map[string][]byte, error) {
	runes = slices.Clone(runes)
	slices.Sort(runes)
	runes = slices.Compact(runes)

	old := []uint16{0} // new glyph number → glyph in the embedded font
	renum := map[uint16]uint16{0: 0}
	add := func(g uint16) uint16 {
		n, ok := renum[g]
		if !ok {
			n = uint16(len(old))
			renum[g] = n
			old = append(old, g)
		}
		return n
	}
	mapped := make([]uint16, len(runes))
	for i, r := range runes {
		g, ok := t.gids[r]
		if !ok {
			return nil, fmt.Errorf("certificate: %U is not in the font", r)
		}
		mapped[i] = add(g)
	}

	// glyf and loca; add may grow old while composites are copied.
	var glyf []byte
	loca := make([]uint32, 0, len(old)+1)
	for i := 0; i < len(old); i++ {
		if len(old) >= 0xFFFF {
			return nil, fmt.Errorf("certificate: too many glyphs")
		}
		loca = append(loca, uint32(len(glyf)))
		src := t.glyph(old[i])
		offs, err := componentOffsets(src)
		if err != nil {
			return nil, err
		}
		start := len(glyf)
		glyf = append(glyf, src...)
		for _, o := range offs {
			n := add(binary.BigEndian.Uint16(src[o:]))
			binary.BigEndian.PutUint16(glyf[start+o:], n)
		}
		for len(glyf)%4 != 0 {
			glyf = append(glyf, 0)
		}
	}
	loca = append(loca, uint32(len(glyf)))
	n := len(old)

	locaB := make([]byte, 4*len(loca))
	for i, v := range loca {
		binary.BigEndian.PutUint32(locaB[4*i:], v)
	}
	hmtx := make([]byte, 4*n)
	for i, g := range old {
		binary.BigEndian.PutUint16(hmtx[4*i:], uint16(t.advances[g]))
		binary.BigEndian.PutUint16(hmtx[4*i+2:], t.lsb(g))
	}
	head := slices.Clone(t.head)
	binary.BigEndian.PutUint32(head[8:], 0)  // checkSumAdjustment, set below
	binary.BigEndian.PutUint16(head[50:], 1) // indexToLocFormat: long offsets
	hhea := slices.Clone(t.hhea)
	binary.BigEndian.PutUint16(hhea[34:], uint16(n)) // numberOfHMetrics: all
	maxp := slices.Clone(t.maxp)
	binary.BigEndian.PutUint16(maxp[4:], uint16(n)) // numGlyphs

	tables := map[string][]byte{
		"cmap": subsetCmap(runes, mapped),
		"glyf": glyf, "head": head, "hhea": hhea, "hmtx": hmtx, "loca": locaB,
		"maxp": maxp, "name": t.name, "OS/2": t.os2, "post": t.post,
	}
	for tag, b := range t.hinting {
		tables[tag] = b
	}
	return tables, nil
}

// subsetCmap maps runes[i] to glyphs[i]: a format 4 subtable (Windows
// Unicode BMP, which gopdf reads for the BMP) and a format 12 one
// (Windows Unicode full repertoire, which it reads above the BMP), each
// with one segment per character.
func subsetCmap(runes []rune, glyphs []uint16) []byte {
	var bmp []int
	for i, r := range runes {
		if r < 0xFFFF {
			bmp = append(bmp, i)
		}
	}
	segs := len(bmp) + 1 // and the final 0xFFFF segment
	f4 := make([]byte, 16+8*segs)
	be := binary.BigEndian
	be.PutUint16(f4[0:], 4)
	be.PutUint16(f4[2:], uint16(len(f4)))
	be.PutUint16(f4[6:], uint16(2*segs))
	sel := 0
	for 1<<(sel+1) <= segs {
		sel++
	}
	be.PutUint16(f4[8:], uint16(2<<sel))
	be.PutUint16(f4[10:], uint16(sel))
	be.PutUint16(f4[12:], uint16(2*segs-2<<sel))
	ends, starts, deltas := f4[14:], f4[16+2*segs:], f4[16+4*segs:] // idRangeOffsets stay 0
	for k, i := range bmp {
		r := uint16(runes[i])
		be.PutUint16(ends[2*k:], r)
		be.PutUint16(starts[2*k:], r)
		be.PutUint16(deltas[2*k:], glyphs[i]-r) // modulo 65536
	}
	be.PutUint16(ends[2*len(bmp):], 0xFFFF)
	be.PutUint16(starts[2*len(bmp):], 0xFFFF)
	be.PutUint16(deltas[2*len(bmp):], 1)

	f12 := make([]byte, 16+12*len(runes))
	be.PutUint16(f12[0:], 12)
	be.PutUint32(f12[4:], uint32(len(f12)))
	be.PutUint32(f12[12:], uint32(len(runes)))
	for i, r := range runes {
		g := f12[16+12*i:]
		be.PutUint32(g[0:], uint32(r))
		be.PutUint32(g[4:], uint32(r))
		be.PutUint32(g[8:], uint32(glyphs[i]))
	}

	out := make([]byte, 4+8*2, 4+8*2+len(f4)+len(f12))
	be.PutUint16(out[2:], 2) // version 0, two encoding records
	be.PutUint16(out[4:], 3)
	be.PutUint16(out[6:], 1)
	be.PutUint32(out[8:], uint32(len(out)))
	be.PutUint16(out[12:], 3)
	be.PutUint16(out[14:], 10)
	be.PutUint32(out[16:], uint32(len(out)+len(f4)))
	out = append(out, f4...)
	return append(out, f12...)
}

// assembleFont writes a TrueType file: the table directory in tag order,
// each table 4-byte aligned with its checksum, and head's
// checkSumAdjustment.
func assembleFont(tables map[string][]byte) []byte {
	tags := make([]string, 0, len(tables))
	for tag := range tables {
		tags = append(tags, tag)
	}
	sort.Strings(tags)
	be := binary.BigEndian
	n := len(tags)
	sel := 0
	for 1<<(sel+1) <= n {
		sel++
	}
	size := 12 + 16*n
	for _, tag := range tags {
		size += (len(tables[tag]) + 3) &^ 3
	}
	out := make([]byte, 12+16*n, size)
	be.PutUint32(out[0:], 0x00010000)
	be.PutUint16(out[4:], uint16(n))
	be.PutUint16(out[6:], uint16(16<<sel))
	be.PutUint16(out[8:], uint16(sel))
	be.PutUint16(out[10:], uint16(16*n-16<<sel))
	headAt := 0
	var sum uint32 // of the whole file: the tables' sums and the directory's
	for i, tag := range tags {
		b := tables[tag]
		rec := out[12+16*i:]
		copy(rec, tag)
		cs := tableChecksum(b)
		sum += cs
		be.PutUint32(rec[4:], cs)
		be.PutUint32(rec[8:], uint32(len(out)))
		be.PutUint32(rec[12:], uint32(len(b)))
		if tag == "head" {
			headAt = len(out)
		}
		out = append(out, b...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	// Tables start 4-aligned and are zero-padded, so the file's sum is
	// the directory's plus the tables'.
	sum += tableChecksum(out[:12+16*n])
	be.PutUint32(out[headAt+8:], 0xB1B0AFBA-sum)
	return out
}

// tableChecksum is the OpenType checksum: the sum of big-endian uint32s,
// the last one zero-padded.
func tableChecksum(b []byte) uint32 {
	var sum uint32
	i := 0
	for ; i+4 <= len(b); i += 4 {
		sum += binary.BigEndian.Uint32(b[i:])
	}
	if i < len(b) {
		var w [4]byte
		copy(w[:], b[i:])
		sum += binary.BigEndian.Uint32(w[:])
	}
	return sum
}
