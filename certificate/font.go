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
	return &font{container: container, coverage: coverageOf(&cmap)}, nil
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
func coverageOf(f *gopdf.SubsetFontObj) runeSet {
	set := make(runeSet, (0x10FFFF+64)/64)
	mark := func(r rune, glyph uint) {
		if glyph != 0 {
			set[r>>6] |= 1 << (r & 63)
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
	return set
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
