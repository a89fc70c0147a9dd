package roster

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/lianban/lianban/models"
)

// Kind is what the upload claims to be, from its file name or content type.
// The content has the last word: a zip is read as XLSX whatever it claims.
type Kind int

// The kinds of roster file.
const (
	KindUnknown Kind = iota
	KindCSV
	KindXLSX
)

// contentTypeXLSX is the registered type of an Office Open XML workbook.
const contentTypeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// KindOf guesses the kind from a multipart part's file name and content
// type; the file name wins because browsers and phones often send
// application/octet-stream.
func KindOf(filename, contentType string) Kind {
	switch strings.ToLower(path.Ext(filename)) {
	case ".xlsx":
		return KindXLSX
	case ".csv":
		return KindCSV
	}
	ct, _, _ := strings.Cut(strings.ToLower(contentType), ";")
	switch strings.TrimSpace(ct) {
	case contentTypeXLSX:
		return KindXLSX
	case "text/csv", "application/csv", "text/plain":
		return KindCSV
	}
	return KindUnknown
}

// Unzip limits for XLSX. A 10,000-row sheet with its shared strings is a
// few MB unzipped; 32 MB leaves room and refuses zip bombs (a 5 MB upload
// can unzip to gigabytes). The XML limit equals the total so excelize
// never spills a sheet to a temporary file.
const (
	xlsxUnzipLimit    = 32 << 20
	xlsxUnzipXMLLimit = 32 << 20
)

var (
	zipMagic  = []byte("PK\x03\x04")
	oleMagic  = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1} // .xls, encrypted .xlsx
	utf8BOM   = []byte{0xEF, 0xBB, 0xBF}
	utf16LE   = []byte{0xFF, 0xFE}
	utf16BE   = []byte{0xFE, 0xFF}
	saveAsCSV = "请在Excel或WPS中另存为“CSV UTF-8”或xlsx格式后重新上传"
)

func unreadable(reason string) error { return models.ErrRosterUnreadable.WithReason(reason) }

// Parse reads a whole roster file and returns its employee rows, or an
// error: *Invalid listing every bad row at once, ErrRosterUnreadable when
// the file cannot be read as a roster at all, or ErrUploadTooLarge past
// MaxFileBytes. CSV may be UTF-8 (with or without BOM) or GB18030, the
// encoding Excel on Chinese Windows saves plain "CSV" in. XLSX is read
// from its first sheet.
func Parse(r io.Reader, kind Kind) ([]Row, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("roster: read upload: %w", err)
	}
	if len(b) > MaxFileBytes {
		return nil, models.ErrUploadTooLarge.WithReason(fmt.Sprintf("花名册文件不能超过%dMB", MaxFileBytes>>20))
	}
	switch {
	case len(b) == 0:
		return nil, unreadable("文件是空的")
	case bytes.HasPrefix(b, zipMagic):
		return parseXLSX(b)
	case bytes.HasPrefix(b, oleMagic):
		return nil, unreadable("不支持旧版xls文件或加密的表格，" + saveAsCSV)
	case kind == KindXLSX:
		return nil, unreadable("文件不是有效的xlsx表格，" + saveAsCSV)
	}
	text, err := decodeText(b)
	if err != nil {
		return nil, err
	}
	return parseCSV(text)
}

// decodeText turns CSV bytes into UTF-8 text. Bytes that are valid UTF-8
// are taken as UTF-8: GB18030 text of Chinese names is almost never valid
// UTF-8, so the guess is safe in that direction. Anything else must decode
// as GB18030 without a single undecodable byte.
func decodeText(b []byte) (string, error) {
	if bytes.HasPrefix(b, utf8BOM) {
		b = b[len(utf8BOM):]
		if !utf8.Valid(b) {
			return "", unreadable("文件标明为UTF-8编码但内容不是，" + saveAsCSV)
		}
		return checkText(string(b))
	}
	if bytes.HasPrefix(b, utf16LE) || bytes.HasPrefix(b, utf16BE) {
		return "", unreadable("不支持UTF-16编码的文本，" + saveAsCSV)
	}
	if utf8.Valid(b) {
		return checkText(string(b))
	}
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
	if err != nil || bytes.ContainsRune(out, utf8.RuneError) {
		return "", unreadable("文件编码无法识别（仅支持UTF-8或GB18030），" + saveAsCSV)
	}
	return checkText(string(out))
}

// checkText refuses binary content that happened to decode: a NUL byte
// never appears in a CSV a spreadsheet program wrote.
func checkText(s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", unreadable("文件不是CSV文本，" + saveAsCSV)
	}
	return s, nil
}

// parseCSV reads records; a record's row number is the line it starts on,
// which is the row a spreadsheet shows when it opens the file.
func parseCSV(text string) ([]Row, error) {
	cr := csv.NewReader(strings.NewReader(text))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	return readRecords(nil, func() (int, []string, error) {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return 0, nil, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return 0, nil, unreadable(fmt.Sprintf("第%d行格式有误，无法读取", pe.StartLine))
			}
			return 0, nil, unreadable("文件格式有误，无法读取")
		}
		line, _ := cr.FieldPos(0)
		return line, rec, nil
	})
}

// parseXLSX reads the first sheet; row numbers are the sheet's.
func parseXLSX(b []byte) ([]Row, error) {
	f, err := excelize.OpenReader(bytes.NewReader(b), excelize.Options{
		UnzipSizeLimit:    xlsxUnzipLimit,
		UnzipXMLSizeLimit: xlsxUnzipXMLLimit,
	})
	if err != nil {
		if errors.Is(err, excelize.ErrWorkbookPassword) {
			return nil, unreadable("表格设有密码，请取消密码后重新上传")
		}
		return nil, unreadable("无法打开xlsx表格（文件损坏或过大），" + saveAsCSV)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, unreadable("表格中没有工作表")
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return nil, unreadable("无法读取表格的第一个工作表，" + saveAsCSV)
	}
	defer rows.Close()
	n := 0
	return readRecords(datePeriod(f, sheets[0]), func() (int, []string, error) {
		if !rows.Next() {
			if rows.Error() != nil {
				return 0, nil, unreadable("表格行数过多或格式有误，无法读取")
			}
			return 0, nil, nil
		}
		n++
		cells, err := rows.Columns()
		if err != nil {
			return 0, nil, unreadable(fmt.Sprintf("第%d行格式有误，无法读取", n))
		}
		markLongNumbers(f, sheets[0], n, cells)
		return n, cells, nil
	})
}

// markLongNumbers replaces numeric cells of 15 or more digits with
// numberCell. Excel keeps 15 significant digits, so an ID number typed
// into a number cell has lost its last digits, and may still pass the
// check digit by chance (1 in 11): only the cell type tells.
func markLongNumbers(f *excelize.File, sheet string, row int, cells []string) {
	for i, v := range cells {
		if len(v) < 15 || !(allDigits(v) || strings.ContainsAny(v, "Ee")) {
			continue
		}
		name, err := excelize.CoordinatesToCellName(i+1, row)
		if err != nil {
			continue
		}
		if t, err := f.GetCellType(sheet, name); err == nil && (t == excelize.CellTypeNumber || t == excelize.CellTypeUnset) {
			cells[i] = numberCell
		}
	}
}

// Excel serial numbers of 2000-01-01 and 2100-01-01, the dates a start
// month can fall in (see normPeriod).
const (
	serial2000 = 36526
	serial2100 = 73051
)

// datePeriod reads a 起始年月 cell Excel holds as a date. Typing 2026-11
// into Excel makes a date of 2026-11-01 that shows as "Nov-26", "11-01-26"
// or a bare serial depending on the format, none of which is a period; the
// cell's serial number is the month the unit meant. The day is dropped.
// Numbers such as 202611 lie far above the date range and are kept.
func datePeriod(f *excelize.File, sheet string) func(row, col int, v string) string {
	return func(row, col int, v string) string {
		name, err := excelize.CoordinatesToCellName(col+1, row)
		if err != nil {
			return v
		}
		if t, err := f.GetCellType(sheet, name); err != nil || (t != excelize.CellTypeNumber && t != excelize.CellTypeUnset) {
			return v
		}
		raw, err := f.GetCellValue(sheet, name, excelize.Options{RawCellValue: true})
		if err != nil {
			return v
		}
		x, err := strconv.ParseFloat(raw, 64)
		if err != nil || x < serial2000 || x >= serial2100 {
			return v
		}
		tm, err := excelize.ExcelDateToTime(x, false)
		if err != nil {
			return v
		}
		return tm.Format("200601")
	}
}

// readRecords finds the header, then checks every employee row. next
// returns the row number and cells of each record, and row 0 at the end.
// Up to maxLeadingRows non-blank rows (a title, a note) may precede the
// header, which is the first row naming at least two known columns.
// period, when not nil, may reread a 起始年月 cell that is not a period
// as written (see datePeriod).
func readRecords(period func(row, col int, v string) string, next func() (int, []string, error)) ([]Row, error) {
	c := newChecker()
	var h *header
	headerRow, firstRow, leading, employees := 0, 0, 0, 0
	for {
		row, cells, err := next()
		if err != nil {
			return nil, err
		}
		if row == 0 {
			break
		}
		if h == nil {
			if isBlank(cells) {
				continue
			}
			if firstRow == 0 {
				firstRow = row
			}
			hh, unknown, dup := readHeader(cells)
			if hh.known < 2 {
				if leading++; leading >= maxLeadingRows {
					break
				}
				continue
			}
			h, headerRow = &hh, row
			for _, u := range unknown {
				c.add(row, "", CodeHeaderUnknown, "无法识别的表头“"+clip(u)+"”，表头应为 姓名、身份证号码、缴费工资、起始年月")
			}
			for _, d := range dup {
				c.add(row, "", CodeHeaderDuplicate, "表头“"+clip(d)+"”重复")
			}
			for _, f := range hh.missing() {
				c.add(row, f, CodeHeaderMissing, "缺少“"+columnLabel[f]+"”列")
			}
			if len(c.problems) > 0 {
				// Checking rows against a broken header would flag every row.
				return c.finish()
			}
			continue
		}
		if i := h.index(colPeriod); period != nil && i >= 0 && i < len(cells) {
			if _, ok := normPeriod(strings.TrimSpace(cells[i])); !ok && strings.TrimSpace(cells[i]) != "" {
				cells[i] = period(row, i, cells[i])
			}
		}
		cellsOf, nonBlank := h.cellsOf(cells)
		if !nonBlank {
			continue
		}
		if employees++; employees > MaxRows {
			return nil, tooManyRows()
		}
		c.checkRow(row, cellsOf)
	}
	if h == nil {
		c.add(max(firstRow, 1), "", CodeHeaderMissing, "未找到表头，第一行应为 姓名、身份证号码、缴费工资、起始年月")
		return c.finish()
	}
	if employees == 0 {
		c.add(headerRow, "", CodeNoRows, "花名册中没有职工信息")
	}
	return c.finish()
}

func isBlank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// clip shortens a header quoted back in a message.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= 20 {
		return s
	}
	r := []rune(s)
	return string(r[:20]) + "…"
}
