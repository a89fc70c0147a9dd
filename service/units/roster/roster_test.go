package roster

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/lianban/lianban/models"
)

// idFor builds a valid ID number (呼和浩特市新城区, born 1990-03-07) whose
// sequence number is seq, so tests can make many distinct people.
func idFor(t testing.TB, seq int) string {
	t.Helper()
	first := fmt.Sprintf("15010219900307%03d", seq%1000)
	if seq >= 1000 {
		first = fmt.Sprintf("1501021990%02d%02d%03d", 1+seq/1000%12, 1+seq/12000%28, seq%1000)
	}
	c, err := models.IDCheckDigit(first)
	if err != nil {
		t.Fatal(err)
	}
	return first + string(c)
}

func mustParse(t *testing.T, b []byte, kind Kind) []Row {
	t.Helper()
	rows, err := Parse(bytes.NewReader(b), kind)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return rows
}

func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	var inv *Invalid
	if !errors.As(err, &inv) {
		t.Fatalf("err = %v, want *Invalid", err)
	}
	if !errors.Is(err, models.ErrRosterInvalid) {
		t.Fatal("*Invalid must match models.ErrRosterInvalid")
	}
	return inv.Problems
}

// brief drops messages, which tests check separately where they matter.
func brief(ps []Problem) []Problem {
	out := make([]Problem, len(ps))
	for i, p := range ps {
		if p.Message == "" {
			panic("problem without a message")
		}
		out[i] = Problem{Row: p.Row, Field: p.Field, Code: p.Code}
	}
	return out
}

func TestParseUTF8CSV(t *testing.T) {
	idX := idWithX(t)
	csv := "姓名,身份证号码,缴费工资,起始年月\n" +
		"张三," + idFor(t, 1) + ",5000,202611\n" +
		"\n" + // a blank line is skipped but still counted, as a spreadsheet shows it
		" 李四 ," + strings.ToLower(idX) + ",\"5,000.50\",2026-12\r\n" +
		"王五," + idFor(t, 3) + ",4907.1,202701\n"
	rows := mustParse(t, []byte(csv), KindCSV)
	want := []Row{
		{Row: 2, Name: "张三", IDNumber: idFor(t, 1), WageFen: 500000, FromPeriod: "202611"},
		{Row: 4, Name: "李四", IDNumber: idX, WageFen: 500050, FromPeriod: "202612"},
		{Row: 5, Name: "王五", IDNumber: idFor(t, 3), WageFen: 490710, FromPeriod: "202701"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows = %+v\nwant %+v", rows, want)
	}
}

// idWithX finds a valid ID number whose check character is X.
func idWithX(t *testing.T) string {
	for i := 0; i < 1000; i++ {
		if id := idFor(t, i); id[17] == 'X' {
			return id
		}
	}
	t.Fatal("no ID with check character X")
	return ""
}

func TestParseJSONHeadersAndBOM(t *testing.T) {
	// The JSON names are accepted as headers; wage_fen then means fen.
	csv := "\ufefffrom_period,wage_fen,id_number,name,备注\n202611,500050," + idFor(t, 1) + ",张三,新入职\n"
	rows := mustParse(t, []byte(csv), KindUnknown)
	want := []Row{{Row: 2, Name: "张三", IDNumber: idFor(t, 1), WageFen: 500050, FromPeriod: "202611"}}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows = %+v, want %+v", rows, want)
	}
}

func TestParseCSVTitleRowAndTrailingColumns(t *testing.T) {
	// A CSV saved from a template keeps its title row and trailing empty
	// columns; row numbers stay the file's lines.
	csv := "某某公司增员名单,,,,,\n姓名,身份证号码,缴费工资,起始年月,,\n张三," + idFor(t, 1) + ",5000,202611,,\n李四,,5000,202611,,\n"
	_, err := Parse(strings.NewReader(csv), KindCSV)
	if got, want := brief(problemsOf(t, err)), []Problem{{4, FieldIDNumber, CodeIDInvalid, ""}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("problems = %+v, want %+v", got, want)
	}
}

func TestParseWageFenColumnTakesWholeFen(t *testing.T) {
	csv := "name,id_number,wage_fen,from_period\n张三," + idFor(t, 1) + ",5000.5,202611\n李四," + idFor(t, 2) + ",-1,202611\n王五," + idFor(t, 3) + ",9999999999999999999,202611\n"
	_, err := Parse(strings.NewReader(csv), KindCSV)
	want := []Problem{{2, FieldWage, CodeWageInvalid, ""}, {3, FieldWage, CodeWageInvalid, ""}, {4, FieldWage, CodeWageInvalid, ""}}
	if got := brief(problemsOf(t, err)); !reflect.DeepEqual(got, want) {
		t.Fatalf("problems = %+v, want %+v", got, want)
	}
}

func TestParseGB18030CSV(t *testing.T) {
	text := "序号,*姓名,公民身份号码,缴费工资（元）,起始年月\r\n1,乌兰其其格," + idFor(t, 1) + ",6000.00,202611\r\n2,𠮷田," + idFor(t, 2) + ",6000,202611\r\n"
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	rows := mustParse(t, b, KindCSV)
	if len(rows) != 2 || rows[0].Name != "乌兰其其格" || rows[1].Name != "𠮷田" || rows[0].WageFen != 600000 {
		t.Fatalf("rows = %+v", rows)
	}
}

func TestParseRefusesUnreadableText(t *testing.T) {
	cases := map[string][]byte{
		"neither utf-8 nor gb18030": []byte("姓名,身份证号码\n\x81\x20\xff,1\n"),
		"bom but not utf-8":         append([]byte{0xEF, 0xBB, 0xBF}, 0xC4, 0xE3),
		"utf-16":                    {0xFF, 0xFE, 'a', 0},
		"binary":                    []byte("name,id\x00\n"),
		"empty":                     {},
		"old xls":                   {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0},
		"xlsx that is not a zip":    []byte("姓名,身份证号码"),
		"corrupt zip":               []byte("PK\x03\x04 not really a zip"),
	}
	for name, b := range cases {
		kind := KindCSV
		if name == "xlsx that is not a zip" {
			kind = KindXLSX
		}
		_, err := Parse(bytes.NewReader(b), kind)
		e, ok := models.AsError(err)
		if !ok || !errors.Is(err, models.ErrRosterUnreadable) || e.Reason == "" {
			t.Errorf("%s: err = %v, want ErrRosterUnreadable with a reason", name, err)
		}
	}
}

func TestParseReportsEveryBadRowAtOnce(t *testing.T) {
	dup := idFor(t, 7)
	bad := idFor(t, 8)
	bad = bad[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", bad[17])+1)%11])
	csv := strings.Join([]string{
		"姓名,身份证号码,缴费工资,起始年月",
		"张三," + idFor(t, 1) + ",5000,202611",              // 2 good
		"," + idFor(t, 2) + ",5000,202611",                // 3 empty name
		"李四," + bad + ",5000,202611",                      // 4 check digit
		"王五,1.50102199003E+17,5000,202611",                // 5 ID typed as a number
		"赵六," + idFor(t, 5) + ",-1,202611",                // 6 negative
		"钱七," + idFor(t, 6) + ",5000.123,202611",          // 7 three decimals
		"孙八," + dup + ",5000,202613",                      // 8 month 13
		"周九," + dup + ",5,00,2026-1",                      // 9 duplicate of 8, extra cell shifts nothing: "5" wage ok, "00" period bad
		"吴十," + idFor(t, 9) + ",1e3,2026/11",              // 10 wage and period malformed
		"郑一," + idFor(t, 10) + ",0,202611",                // 11 zero wage
		"冯二," + idFor(t, 11) + ",100000000,",              // 12 wage over the bound, no period
		"陈三," + idFor(t, 12) + ",\"5,00\",202611",         // 13 misplaced comma
		"褚四,," + strings.Repeat("9", 30) + ",202611",      // 14 no ID, wage overflow
		"卫五,\u202e" + idFor(t, 13) + ",5000,202611",       // 15 bidi control in ID
		"蒋\u202e六," + idFor(t, 14) + ",5000,202611",       // 16 bidi control in name
		"沈七," + strings.Repeat("1", 300) + ",5000,202611", // 17 cell too long
		"韩八," + dup + ",5000,202611",                      // 18 third copy
	}, "\n")
	_, err := Parse(strings.NewReader(csv), KindCSV)
	got := brief(problemsOf(t, err))
	want := []Problem{
		{3, FieldName, CodeNameInvalid, ""},
		{4, FieldIDNumber, CodeIDInvalid, ""},
		{5, FieldIDNumber, CodeIDInvalid, ""},
		{6, FieldWage, CodeWageInvalid, ""},
		{7, FieldWage, CodeWageInvalid, ""},
		{8, FieldIDNumber, CodeIDDuplicate, ""},
		{8, FieldFromPeriod, CodePeriodInvalid, ""},
		{9, FieldIDNumber, CodeIDDuplicate, ""},
		{9, FieldFromPeriod, CodePeriodInvalid, ""},
		{10, FieldWage, CodeWageInvalid, ""},
		{10, FieldFromPeriod, CodePeriodInvalid, ""},
		{11, FieldWage, CodeWageInvalid, ""},
		{12, FieldWage, CodeWageInvalid, ""},
		{12, FieldFromPeriod, CodePeriodInvalid, ""},
		{13, FieldWage, CodeWageInvalid, ""},
		{14, FieldIDNumber, CodeIDInvalid, ""},
		{14, FieldWage, CodeWageInvalid, ""},
		{15, FieldIDNumber, CodeIDInvalid, ""},
		{16, FieldName, CodeNameInvalid, ""},
		{17, FieldIDNumber, CodeCellTooLong, ""},
		{18, FieldIDNumber, CodeIDDuplicate, ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems:\n%+v\nwant\n%+v", got, want)
	}
	msgs := map[int]string{}
	for _, p := range problemsOf(t, err) {
		msgs[p.Row*10+len(p.Field)] += p.Message
		if strings.Contains(p.Message, dup) || strings.Contains(p.Message, bad) {
			t.Errorf("row %d: message quotes an ID number: %s", p.Row, p.Message)
		}
	}
	if m := msgs[8*10+len(FieldIDNumber)]; !strings.Contains(m, "第9、18行") {
		t.Errorf("duplicate at row 8 should name rows 9 and 18: %q", m)
	}
	if m := msgs[5*10+len(FieldIDNumber)]; !strings.Contains(m, "文本格式") {
		t.Errorf("an ID typed as a number should say to use text cells: %q", m)
	}
	if m := msgs[7*10+len(FieldWage)]; !strings.Contains(m, "两位小数") {
		t.Errorf("three decimals should say two at most: %q", m)
	}
	if s := err.Error(); strings.Contains(s, dup) {
		t.Errorf("Error() quotes an ID number: %s", s)
	}
}

func TestParseHeaderProblems(t *testing.T) {
	cases := []struct {
		name string
		csv  string
		want []Problem
	}{
		{"unknown and missing", "姓名,身份证,缴费工资,起始年月\n张三,1,2,3\n", []Problem{
			{1, "", CodeHeaderUnknown, ""}, {1, FieldIDNumber, CodeHeaderMissing, ""}}},
		{"duplicate", "姓名,身份证号码,公民身份号码,缴费工资,起始年月\n", []Problem{
			{1, "", CodeHeaderDuplicate, ""}}},
		{"two wage columns", "姓名,身份证号码,缴费工资,wage_fen,起始年月\n", []Problem{
			{1, "", CodeHeaderDuplicate, ""}}},
		{"no header", "张三,x,5000,202611\n", []Problem{{1, "", CodeHeaderMissing, ""}}},
		{"no rows", "姓名,身份证号码,缴费工资,起始年月\n\n,,,\n", []Problem{{1, "", CodeNoRows, ""}}},
	}
	for _, c := range cases {
		_, err := Parse(strings.NewReader(c.csv), KindCSV)
		if got := brief(problemsOf(t, err)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: problems = %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestParseLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString("姓名,身份证号码,缴费工资,起始年月\n")
	for i := 0; i <= MaxRows; i++ {
		fmt.Fprintf(&b, "张三,%s,5000,202611\n", idFor(t, i))
	}
	_, err := Parse(strings.NewReader(b.String()), KindCSV)
	if !errors.Is(err, models.ErrRosterUnreadable) {
		t.Fatalf("%d rows: err = %v, want ErrRosterUnreadable", MaxRows+1, err)
	}
	big := bytes.Repeat([]byte("a"), MaxFileBytes+1)
	if _, err := Parse(bytes.NewReader(big), KindCSV); !errors.Is(err, models.ErrUploadTooLarge) {
		t.Fatalf("oversized file: err = %v, want ErrUploadTooLarge", err)
	}
	in := make([]Input, MaxRows+1)
	if _, err := Check(in); !errors.Is(err, models.ErrRosterUnreadable) {
		t.Fatalf("too many JSON rows: err = %v", err)
	}
}

// xlsxFile builds a workbook the way a unit's template looks.
func xlsxFile(t testing.TB, title bool, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	r := 1
	if title {
		if err := f.SetCellValue(sheet, "A1", "某某有限公司2026年11月增员名单"); err != nil {
			t.Fatal(err)
		}
		if err := f.MergeCell(sheet, "A1", "D1"); err != nil {
			t.Fatal(err)
		}
		r = 2
	}
	header := []any{"姓名", "身份证号码", "缴费工资(元)", "起始年月"}
	for _, row := range append([][]any{header}, rows...) {
		cell, _ := excelize.CoordinatesToCellName(1, r)
		if err := f.SetSheetRow(sheet, cell, &row); err != nil {
			t.Fatal(err)
		}
		r++
	}
	// A second sheet must be ignored.
	if _, err := f.NewSheet("说明"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParseXLSXNumericCells(t *testing.T) {
	b := xlsxFile(t, false, [][]any{
		{"张三", idFor(t, 1), 5000, 202611},
		{"李四", idFor(t, 2), 5000.5, "2026-12"},
		{"王五", idFor(t, 3), "4,907.10", "202701"},
	})
	rows := mustParse(t, b, KindXLSX)
	want := []Row{
		{Row: 2, Name: "张三", IDNumber: idFor(t, 1), WageFen: 500000, FromPeriod: "202611"},
		{Row: 3, Name: "李四", IDNumber: idFor(t, 2), WageFen: 500050, FromPeriod: "202612"},
		{Row: 4, Name: "王五", IDNumber: idFor(t, 3), WageFen: 490710, FromPeriod: "202701"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows = %+v\nwant %+v", rows, want)
	}
}

func TestParseXLSXDateCellsAsPeriods(t *testing.T) {
	nov := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	b := xlsxFile(t, false, [][]any{
		{"张三", idFor(t, 1), 5000, nov},
		{"李四", idFor(t, 2), 5000, nov},
		{"王五", idFor(t, 3), 5000, nov},
		{"赵六", idFor(t, 4), 5000, 46327}, // a plain number in the date range is still a serial
		{"钱七", idFor(t, 5), 5000, 12},    // neither a period nor a date of this century
	})
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	custom := `yyyy"年"m"月"`
	for row, style := range map[int]excelize.Style{2: {NumFmt: 14}, 3: {NumFmt: 17}, 4: {CustomNumFmt: &custom}} {
		id, err := f.NewStyle(&style)
		if err != nil {
			t.Fatal(err)
		}
		cell := fmt.Sprintf("D%d", row)
		if err := f.SetCellStyle("Sheet1", cell, cell, id); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	_, err = Parse(&buf, KindXLSX)
	if got, want := brief(problemsOf(t, err)), []Problem{{6, FieldFromPeriod, CodePeriodInvalid, ""}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("problems = %+v, want %+v", got, want)
	}
	buf.Reset()
	f.RemoveRow("Sheet1", 6)
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	for _, r := range mustParse(t, buf.Bytes(), KindXLSX) {
		if r.FromPeriod != "202611" {
			t.Errorf("row %d: period %q, want 202611", r.Row, r.FromPeriod)
		}
	}
}

func TestParseXLSXTitleRowKeepsSheetRowNumbers(t *testing.T) {
	// The content decides: an XLSX claimed as CSV is still read as XLSX.
	b := xlsxFile(t, true, [][]any{
		{"张三", idFor(t, 1), 5000, 202611},
		// Typed as a number: Excel keeps 15 digits. Even when the digits
		// that are left pass the check, the number cell gives it away.
		{"李四", float64(150102196003280000), 5000, 202611},
		{"王五", idFor(t, 3), 5000.555, 202611},
	})
	_, err := Parse(bytes.NewReader(b), KindCSV)
	ps := problemsOf(t, err)
	got := brief(ps)
	want := []Problem{{4, FieldIDNumber, CodeIDInvalid, ""}, {5, FieldWage, CodeWageInvalid, ""}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems = %+v, want %+v (sheet rows: title 1, header 2)", got, want)
	}
	if !strings.Contains(ps[0].Message, "文本格式") {
		t.Fatalf("an ID in a number cell should say to use text cells: %q", ps[0].Message)
	}
	b = xlsxFile(t, true, [][]any{{"张三", idFor(t, 1), 5000, 202611}})
	if rows := mustParse(t, b, KindXLSX); len(rows) != 1 || rows[0].Row != 3 {
		t.Fatalf("rows = %+v, want one at sheet row 3", rows)
	}
}

func TestParseXLSXRefusesZipBomb(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	for i := 0; i < 2*xlsxUnzipLimit>>20; i++ {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > MaxFileBytes {
		t.Fatalf("bomb is %d bytes, should fit the upload limit", buf.Len())
	}
	if _, err := Parse(&buf, KindXLSX); !errors.Is(err, models.ErrRosterUnreadable) {
		t.Fatalf("zip bomb: err = %v, want ErrRosterUnreadable", err)
	}
}

func TestCheckJSONRows(t *testing.T) {
	rows, err := Check([]Input{
		{Name: "张三", IDNumber: idFor(t, 1), WageFen: 500050, FromPeriod: "2026-11"},
	})
	if err != nil || len(rows) != 1 || rows[0] != (Row{Row: 1, Name: "张三", IDNumber: idFor(t, 1), WageFen: 500050, FromPeriod: "202611"}) {
		t.Fatalf("Check = %+v, %v", rows, err)
	}
	_, err = Check([]Input{
		{Name: "张三", IDNumber: idFor(t, 1), WageFen: 500050, FromPeriod: "202611"},
		{Name: "", IDNumber: idFor(t, 1), WageFen: -5, FromPeriod: "202600"},
		{Name: strings.Repeat("名", 100), IDNumber: idFor(t, 2), WageFen: 1, FromPeriod: "202611"},
	})
	got := brief(problemsOf(t, err))
	want := []Problem{
		{1, FieldIDNumber, CodeIDDuplicate, ""},
		{2, FieldName, CodeNameInvalid, ""},
		{2, FieldIDNumber, CodeIDDuplicate, ""},
		{2, FieldWage, CodeWageInvalid, ""},
		{2, FieldFromPeriod, CodePeriodInvalid, ""},
		{3, FieldName, CodeCellTooLong, ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems = %+v\nwant %+v", got, want)
	}
	if _, err := Check(nil); !errors.Is(err, models.ErrRosterInvalid) {
		t.Fatalf("empty JSON roster: err = %v", err)
	}
}

func TestKindOf(t *testing.T) {
	cases := []struct {
		name, ct string
		want     Kind
	}{
		{"增员.XLSX", "application/octet-stream", KindXLSX},
		{"roster.csv", "", KindCSV},
		{"blob", contentTypeXLSX, KindXLSX},
		{"blob", "text/csv; charset=gb18030", KindCSV},
		{"a.xls", "application/vnd.ms-excel", KindUnknown},
	}
	for _, c := range cases {
		if got := KindOf(c.name, c.ct); got != c.want {
			t.Errorf("KindOf(%q, %q) = %v, want %v", c.name, c.ct, got, c.want)
		}
	}
}

func roster5000(t testing.TB) []byte {
	var b bytes.Buffer
	b.WriteString("姓名,身份证号码,缴费工资,起始年月\n")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&b, "职工%d,%s,%d.%02d,202611\n", i, idFor(t, i), 3000+i, i%100)
	}
	return b.Bytes()
}

func TestParse5000Rows(t *testing.T) {
	rows := mustParse(t, roster5000(t), KindCSV)
	if len(rows) != 5000 || rows[4999].Row != 5001 || rows[4999].WageFen != 799999 {
		t.Fatalf("got %d rows, last %+v", len(rows), rows[len(rows)-1])
	}
}

func BenchmarkParse5000(b *testing.B) {
	data := roster5000(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(data), KindCSV); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse5000XLSX(b *testing.B) {
	rows := make([][]any, 5000)
	for i := range rows {
		rows[i] = []any{fmt.Sprintf("职工%d", i), idFor(b, i), 3000 + i, 202611}
	}
	data := xlsxFile(b, true, rows)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(data), KindXLSX); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseCSV checks the reader never panics and that whatever it accepts
// passed every field check.
func FuzzParseCSV(f *testing.F) {
	f.Add([]byte("姓名,身份证号码,缴费工资,起始年月\n张三,150102199003070011,5000,202611\n"))
	f.Add([]byte("\ufeffname,id_number,wage_fen,from_period\n\"a\"\"b\",x,1,2026-13\n"))
	f.Add([]byte("标题\n姓名,公民身份号码,缴费工资（元）,起始年月\n,,\"5,000.00\",\n"))
	f.Add([]byte{0xD0, 0xCF, 0x11, 0xE0})
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := Parse(bytes.NewReader(data), KindCSV)
		if err != nil {
			if _, ok := models.AsError(err); !ok {
				t.Fatalf("error is not a domain error: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, r := range rows {
			if _, err := models.ParseIDNumber(r.IDNumber); err != nil || seen[r.IDNumber] {
				t.Fatalf("accepted bad or duplicate ID in %+v", r)
			}
			seen[r.IDNumber] = true
			if r.WageFen <= 0 || r.WageFen > MaxWageFen || len(r.FromPeriod) != 6 || r.Name == "" || r.Row < 2 {
				t.Fatalf("accepted bad row %+v", r)
			}
		}
	})
}
