package certificate

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
)

// gopdf v0.33.0 writes the ToUnicode CMap (what copy-and-paste, search and
// text extraction read) with "%04X" for the character, so a character
// beyond the BMP such as 𬌗 U+2C317 comes out as the invalid <2C317>, and
// readers extract a different character (U+2C31) although the right glyph
// is drawn. A name on a certificate must copy out as written, so Render
// rewrites that CMap with the character in UTF-16 (<D870DF17>), as the PDF
// specification requires.
//
// The rewrite keeps the stream's exact length so that its /Length and the
// cross-reference offsets stay valid: single-glyph bfrange entries become
// shorter bfchar entries, which always leaves room for the surrogate
// pairs, and spaces (whitespace to a CMap parser) make up the rest.

const (
	cmapStart = "/CIDInit /ProcSet findresource begin\n"
	cmapEnd   = "endcmap CMapName currentdict /CMap defineresource pop end end\n"
	cmapBody  = "endcodespacerange\n"
)

// cmapEntry is one glyph's mapping: the glyph as 4 hex digits and the
// character.
type cmapEntry struct {
	glyph string
	char  rune
}

// fixToUnicode rewrites pdf's ToUnicode CMap in place when it maps a glyph
// to a character beyond the BMP, and leaves pdf untouched otherwise.
func fixToUnicode(pdf []byte) error {
	start := bytes.Index(pdf, []byte(cmapStart))
	if start < 0 {
		return fmt.Errorf("certificate: no ToUnicode CMap in the PDF")
	}
	n := bytes.Index(pdf[start:], []byte(cmapEnd))
	if n < 0 {
		return fmt.Errorf("certificate: unterminated ToUnicode CMap")
	}
	cmap := pdf[start : start+n]
	head, body, ok := strings.Cut(string(cmap), cmapBody)
	if !ok {
		return fmt.Errorf("certificate: ToUnicode CMap without a codespace range")
	}
	entries, err := parseBfranges(body)
	if err != nil {
		return err
	}
	astral := false
	for _, e := range entries {
		astral = astral || e.char > 0xFFFF
	}
	if !astral {
		return nil
	}

	var out bytes.Buffer
	out.WriteString(head)
	out.WriteString(cmapBody)
	// A CMap block holds at most 100 entries (PDF 32000 §9.10.3).
	for i := 0; i < len(entries); i += 100 {
		block := entries[i:min(i+100, len(entries))]
		fmt.Fprintf(&out, "%d beginbfchar\n", len(block))
		for _, e := range block {
			fmt.Fprintf(&out, "<%s><", e.glyph)
			for _, u := range utf16.Encode([]rune{e.char}) {
				fmt.Fprintf(&out, "%04X", u)
			}
			out.WriteString(">\n")
		}
		out.WriteString("endbfchar\n")
	}
	if out.Len() > len(cmap) {
		return fmt.Errorf("certificate: rewritten ToUnicode CMap does not fit (%d > %d bytes)", out.Len(), len(cmap))
	}
	copy(cmap, out.Bytes())
	for i := out.Len(); i < len(cmap); i++ {
		cmap[i] = ' '
	}
	return nil
}

// parseBfranges reads gopdf's single bfrange block, one line per glyph:
// <glyph><glyph><char>. Anything else means gopdf's output changed, and we
// would rather fail than corrupt the file.
func parseBfranges(body string) ([]cmapEntry, error) {
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if len(lines) < 2 || !strings.HasSuffix(lines[0], " beginbfrange") || lines[len(lines)-1] != "endbfrange" {
		return nil, fmt.Errorf("certificate: unexpected ToUnicode CMap layout")
	}
	entries := make([]cmapEntry, 0, len(lines)-2)
	for _, l := range lines[1 : len(lines)-1] {
		f := strings.Split(strings.TrimSuffix(strings.TrimPrefix(l, "<"), ">"), "><")
		if len(f) != 3 || len(f[0]) != 4 || f[0] != f[1] {
			return nil, fmt.Errorf("certificate: unexpected ToUnicode entry %q", l)
		}
		cp, err := strconv.ParseUint(f[2], 16, 32)
		if err != nil || cp > unicode.MaxRune {
			return nil, fmt.Errorf("certificate: unexpected ToUnicode entry %q", l)
		}
		entries = append(entries, cmapEntry{glyph: f[0], char: rune(cp)})
	}
	return entries, nil
}
