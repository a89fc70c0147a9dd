package certificate

import (
	"embed"
	"fmt"

	"github.com/signintech/gopdf"

	"github.com/lianban/lianban/models"
)

// fontFiles holds the font and its licence inside the binary, so a fresh
// machine renders certificates with nothing installed and every copy of
// the font travels with its OFL text.
//
//go:embed fonts/LXGWWenKai-Regular.ttf fonts/OFL.txt
var fontFiles embed.FS

const (
	fontPath    = "fonts/LXGWWenKai-Regular.ttf"
	licensePath = "fonts/OFL.txt"
	// fontName is the PDF BaseFont. The six-letter tag and "+" mark the
	// embedded font as a subset (PDF 32000 §9.6.4), which is what it is;
	// one subset per file, so a fixed tag is enough.
	fontName = "LBCERT+LXGWWenKai-Regular"
)

// FontLicense returns the copyright notice and SIL Open Font License of the
// embedded font, for the server to publish with its other notices.
func FontLicense() string {
	b, err := fontFiles.ReadFile(licensePath)
	if err != nil {
		// The file is embedded at build time; it cannot be missing.
		panic("certificate: embedded font licence: " + err.Error())
	}
	return string(b)
}

// font is the embedded font, parsed once. container is what each PDF copies
// the parsed tables from (gopdf gives every document its own glyph subset
// but shares the tables read-only); coverage is the set of runes with a real
// glyph, for refusing text before it would print as a blank.
type font struct {
	container *gopdf.FontContainer
	coverage  runeSet
	tables    *fontTables
}

func loadFont() (*font, error) {
	data, err := fontFiles.ReadFile(fontPath)
	if err != nil {
		return nil, fmt.Errorf("certificate: read embedded font: %w", err)
	}
	container := new(gopdf.FontContainer)
	if err := container.AddTTFFontData(fontName, data); err != nil {
		return nil, fmt.Errorf("certificate: parse font: %w", err)
	}
	// A second parse, only for look-ups: FontContainer does not expose its
	// parsed font. It shares data and costs a few milliseconds once.
	var cmap gopdf.SubsetFontObj
	if err := cmap.SetTTFData(data); err != nil {
		return nil, fmt.Errorf("certificate: parse font: %w", err)
	}
	coverage, gids := coverageOf(&cmap)
	tables, err := tablesOf(&cmap, gids)
	if err != nil {
		return nil, err
	}
	return &font{container: container, coverage: coverage, tables: tables}, nil
}

// tablesOf keeps what subsetting needs from the parsed font.
func tablesOf(f *gopdf.SubsetFontObj, gids map[rune]uint16) (*fontTables, error) {
	ttf := f.GetTTFParser()
	data := ttf.FontData()
	dir := ttf.GetTables()
	table := func(tag string, minLen uint) ([]byte, error) {
		e, ok := dir[tag]
		if !ok || e.Length < minLen || e.Offset+e.Length > uint(len(data)) {
			return nil, fmt.Errorf("certificate: font table %q missing or short", tag)
		}
		return data[e.Offset : e.Offset+e.Length], nil
	}
	t := &fontTables{data: data, glyfOff: dir["glyf"].Offset, loca: ttf.LocaTable, advances: ttf.Widths(),
		hmtxOff: dir["hmtx"].Offset, hMetrics: ttf.NumberOfHMetrics(), gids: gids, hinting: map[string][]byte{}}
	if n := ttf.NumGlyphs(); uint(len(t.loca)) != n+1 || uint(len(t.advances)) != n || t.hMetrics == 0 || t.hMetrics > n {
		return nil, fmt.Errorf("certificate: font tables inconsistent with %d glyphs", n)
	}
	var err error
	for _, x := range []struct {
		dst *[]byte
		tag string
		min uint
	}{{&t.head, "head", 54}, {&t.hhea, "hhea", 36}, {&t.maxp, "maxp", 6}, {&t.os2, "OS/2", 78}, {&t.name, "name", 6}, {&t.post, "post", 32}, {new([]byte), "hmtx", 4 * t.hMetrics}, {new([]byte), "glyf", 0}} {
		if *x.dst, err = table(x.tag, x.min); err != nil {
			return nil, err
		}
	}
	t.post = append([]byte{0, 3, 0, 0}, t.post[4:32]...)
	for _, tag := range []string{"cvt ", "fpgm", "prep"} {
		if _, ok := dir[tag]; ok {
			if t.hinting[tag], err = table(tag, 0); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

// runeSet is a bitset over all of Unicode (139 KB).
type runeSet []uint64

func (s runeSet) has(r rune) bool {
	return r >= 0 && int(r>>6) < len(s) && s[r>>6]&(1<<(r&63)) != 0
}

// coverageOf lists the runes the font draws, reading the cmap tables gopdf
// parsed with gopdf's own arithmetic (format 4 in the BMP, format 12
// above it) over each declared range at once; asking gopdf rune by rune
// scans all segments every time and is a hundred times slower.
// TestCoverageAgreesWithGopdf holds the two to the same answers. Glyph 0 is
// .notdef, the empty box: gopdf returns it for some unmapped runes without
// calling OnGlyphNotFound, which is why we do not rely on that callback.
func coverageOf(f *gopdf.SubsetFontObj) (runeSet, map[rune]uint16) {
	set := make(runeSet, (0x10FFFF+64)/64)
	gids := map[rune]uint16{}
	mark := func(r rune, glyph uint) {
		if glyph != 0 {
			set[r>>6] |= 1 << (r & 63)
			gids[r] = uint16(glyph)
		}
	}
	ttf := f.GetTTFParser()
	segs := ttf.SegCount
	for i := range segs {
		start, end, delta, rangeOffset := ttf.StartCount[i], ttf.EndCount[i], ttf.IdDelta[i], ttf.IdRangeOffset[i]
		for c := start; c <= end && c <= 0xFFFF; c++ {
			if rangeOffset == 0 {
				mark(rune(c), (c+delta)&0xFFFF)
				continue
			}
			idx := rangeOffset/2 + (c - start) - (segs - i)
			if idx >= uint(len(ttf.GlyphIdArray)) {
				continue
			}
			if g := ttf.GlyphIdArray[idx]; g != 0 {
				mark(rune(c), (g+delta)&0xFFFF)
			}
		}
	}
	// gopdf reads the format-12 table only above the BMP.
	for _, g := range ttf.GroupingTables() {
		for c := max(g.StartCharCode, 0x10000); c <= g.EndCharCode && c <= 0x10FFFF; c++ {
			mark(rune(c), g.GlyphID+(c-g.StartCharCode))
		}
	}
	return set, gids
}

// firstMissing returns the first rune of s the font cannot draw.
func (f *font) firstMissing(s string) (rune, bool) {
	for _, r := range s {
		if !f.coverage.has(r) {
			return r, true
		}
	}
	return 0, false
}

// checkName refuses a name (as it will be printed) that has a character
// the font lacks.
func (f *font) checkName(s string) error {
	if r, ok := f.firstMissing(s); ok {
		return models.ErrCertificateGlyphMissing.WithReason(fmt.Sprintf("“%c”（%U）无法打印", r, r))
	}
	return nil
}
