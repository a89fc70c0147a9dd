// Package roster reads the employee rosters (花名册) units upload to add
// employees (增员): CSV or XLSX files, or the same rows sent as JSON, all
// through one set of field checks that need no database.
//
// A roster is taken whole or not at all, so the reader never stops at the
// first bad row: it returns every problem at once, each with its row number
// and a Chinese message (一次性告知), and the unit fixes the file in one go.
//
// Row numbers are what the unit sees in its own program. In a CSV, the
// header is row 1 and the first employee row 2. In an XLSX they are the
// sheet's row numbers: with a title row (e.g. "某某公司2026年11月增员名单")
// above the header, the header is row 2 and the first employee row 3,
// exactly as Excel or WPS shows them. Blank rows are skipped but still
// counted, for the same reason. JSON rows are numbered from 1 by position.
//
// Headers may be the API's JSON names or the Chinese ones units use:
//
//	name         姓名
//	id_number    身份证号码, 公民身份号码, 身份证号
//	wage_fen     缴费工资 (in 元; the JSON name wage_fen means fen, as in JSON)
//	from_period  起始年月
//
// A header is compared after dropping white space, '*' marks of required
// columns and a trailing unit in brackets, so "*缴费工资（元）" is 缴费工资.
// Columns headed 序号 or 备注, common in units' templates, are ignored; any
// other header is refused, so a misspelt column is not silently dropped.
//
// Wages are decimal 元 with at most two decimals, converted to fen by
// integer arithmetic. Thousands separators in their proper places are
// accepted ("5,000.00"): XLSX cells formatted "#,##0.00" read that way, and
// CSV exported from them keeps the commas.
package roster

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/lianban/lianban/models"
)

// Limits of one roster. A 10,000-row roster is larger than any unit adds in
// one month; the file and cell limits keep a hostile file from costing more
// than a legitimate one.
const (
	MaxRows      = 10000   // employee rows in one roster (file or JSON)
	MaxFileBytes = 5 << 20 // bytes of a roster file
	MaxCellBytes = 200     // bytes of one cell, after decoding
	// MaxWageFen bounds a monthly wage (99,999,999.99 元): far above any
	// real wage, low enough that no sum over a roster can overflow.
	MaxWageFen = 99_999_999_99
	// maxLeadingRows is how many non-blank rows may stand above the
	// header (titles, notes) before the reader gives up looking for it.
	maxLeadingRows = 5
)

// Row is one employee of a roster after every field check passed.
type Row struct {
	Row        int    // row number in the file (header = 1), or JSON position from 1
	Name       string // trimmed
	IDNumber   string // 18 characters, check character upper-case
	WageFen    int64  // monthly wage in fen, > 0
	FromPeriod string // YYYYMM
}

// Input is one employee as the JSON form of addEmployees sends it.
type Input struct {
	Name       string `json:"name"`
	IDNumber   string `json:"id_number"`
	WageFen    int64  `json:"wage_fen"`
	FromPeriod string `json:"from_period"`
}

// The fields problems are reported on; "" is the row or file as a whole.
const (
	FieldName       = "name"
	FieldIDNumber   = "id_number"
	FieldWage       = "wage_fen"
	FieldFromPeriod = "from_period"
)

// Problem codes. They are part of the API: front ends switch on them.
const (
	CodeHeaderMissing   = "HEADER_MISSING"      // a required column has no header
	CodeHeaderUnknown   = "HEADER_UNKNOWN"      // a header names no known column
	CodeHeaderDuplicate = "HEADER_DUPLICATE"    // two headers name the same column
	CodeNoRows          = "NO_ROWS"             // a header but no employee
	CodeCellTooLong     = "CELL_TOO_LONG"       // a cell over MaxCellBytes
	CodeNameInvalid     = "NAME_INVALID"        // empty or impossible name
	CodeIDInvalid       = "ID_NUMBER_INVALID"   // fails models.ParseIDNumber
	CodeIDDuplicate     = "ID_NUMBER_DUPLICATE" // the same person twice in the roster
	CodeWageInvalid     = "WAGE_INVALID"        // not a positive amount with ≤ 2 decimals
	CodePeriodInvalid   = "PERIOD_INVALID"      // not YYYYMM or YYYY-MM with a real month
)

// Problem is one thing wrong with a roster, at one row.
type Problem struct {
	Row     int    `json:"row"`
	Field   string `json:"field,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Invalid is a roster refused for its rows: every problem found, ordered
// by row. It matches models.ErrRosterInvalid under errors.Is, so the
// service maps it like any domain error and lists Problems in the body.
// Messages never quote cell contents, so logging it leaks no ID numbers.
type Invalid struct {
	Problems []Problem
}

func (e *Invalid) Error() string {
	var b strings.Builder
	b.WriteString(models.ErrRosterInvalid.Code)
	for i, p := range e.Problems {
		if i == 10 {
			fmt.Fprintf(&b, "; …%d more", len(e.Problems)-10)
			break
		}
		fmt.Fprintf(&b, "; row %d %s %s", p.Row, p.Field, p.Code)
	}
	return b.String()
}

// Unwrap lets errors.Is(err, models.ErrRosterInvalid) hold.
func (e *Invalid) Unwrap() error { return models.ErrRosterInvalid }

// column is what a header names.
type column int

const (
	colIgnored column = iota
	colName
	colID
	colWageYuan
	colWageFen
	colPeriod
)

// headerNames maps normalised headers to columns.
var headerNames = map[string]column{
	"name": colName, "姓名": colName,
	"id_number": colID, "身份证号码": colID, "公民身份号码": colID, "身份证号": colID,
	"wage_fen": colWageFen, "缴费工资": colWageYuan,
	"from_period": colPeriod, "起始年月": colPeriod,
	"序号": colIgnored, "备注": colIgnored,
}

// field is the field a column's problems are reported on.
func (c column) field() string {
	switch c {
	case colName:
		return FieldName
	case colID:
		return FieldIDNumber
	case colWageYuan, colWageFen:
		return FieldWage
	case colPeriod:
		return FieldFromPeriod
	}
	return ""
}

// fieldRank orders a row's problems as the template orders its columns.
var fieldRank = map[string]int{FieldName: 1, FieldIDNumber: 2, FieldWage: 3, FieldFromPeriod: 4}

// columnLabel names a column the way the template does.
var columnLabel = map[string]string{
	FieldName: "姓名", FieldIDNumber: "身份证号码", FieldWage: "缴费工资", FieldFromPeriod: "起始年月",
}

// normHeader reduces a header to the form headerNames holds.
func normHeader(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n', '\u3000', '\ufeff', '\u200b', '*', '＊':
			return -1
		}
		return r
	}, s)
	if i := strings.IndexAny(s, "(（"); i > 0 {
		s = s[:i]
	}
	return strings.ToLower(s)
}

// header is the column layout of a roster.
type header struct {
	cols []column // by cell index; colIgnored past the end
	// known counts the cells that name a field, to tell a header from a title.
	known int
}

// readHeader maps cells to columns and reports unknown and duplicate
// headers. Blank header cells are ignored with their columns.
func readHeader(cells []string) (header, []string, []string) {
	h := header{cols: make([]column, len(cells))}
	var unknown, dup []string
	seen := map[column]bool{}
	for i, c := range cells {
		n := normHeader(c)
		if n == "" {
			continue
		}
		col, ok := headerNames[n]
		if !ok {
			unknown = append(unknown, c)
			continue
		}
		if col == colIgnored {
			continue
		}
		if col == colWageFen || col == colWageYuan {
			if seen[colWageFen] || seen[colWageYuan] {
				dup = append(dup, c)
				continue
			}
		} else if seen[col] {
			dup = append(dup, c)
			continue
		}
		seen[col] = true
		h.cols[i] = col
		h.known++
	}
	return h, unknown, dup
}

// index is the cell index of col, or -1.
func (h header) index(col column) int {
	for i, c := range h.cols {
		if c == col {
			return i
		}
	}
	return -1
}

// missing lists the required fields h has no column for.
func (h header) missing() []string {
	has := map[string]bool{}
	for _, c := range h.cols {
		has[c.field()] = true
	}
	var out []string
	for _, f := range []string{FieldName, FieldIDNumber, FieldWage, FieldFromPeriod} {
		if !has[f] {
			out = append(out, f)
		}
	}
	return out
}

// cellsOf picks a record's cells by column. A blank row returns false.
func (h header) cellsOf(record []string) (map[column]string, bool) {
	out := make(map[column]string, 5)
	blank := true
	for i, v := range record {
		if strings.TrimSpace(v) != "" {
			blank = false
		}
		if i < len(h.cols) && h.cols[i] != colIgnored {
			out[h.cols[i]] = v
		}
	}
	return out, !blank
}

// numberCell stands for a long number read from an XLSX number cell,
// which cannot be an intact ID number (see markLongNumbers).
const numberCell = "\x00number"

// checker accumulates rows and problems over a whole roster.
type checker struct {
	rows     []Row
	problems []Problem
	byID     map[string][]int // ID number → rows carrying it
}

func newChecker() *checker { return &checker{byID: map[string][]int{}} }

func (c *checker) add(row int, field, code, msg string) {
	c.problems = append(c.problems, Problem{Row: row, Field: field, Code: code, Message: msg})
}

// checkRow runs every field check on one row from a file and keeps the row
// when all pass. Every field is checked even after one fails, so one pass
// over the roster finds everything.
func (c *checker) checkRow(row int, cells map[column]string) {
	ok := true
	long := map[column]bool{}
	for _, col := range []column{colName, colID, colWageYuan, colWageFen, colPeriod} {
		if len(cells[col]) > MaxCellBytes {
			c.add(row, col.field(), CodeCellTooLong, columnLabel[col.field()]+"内容过长")
			long[col] = true
			ok = false
		}
	}
	r := Row{Row: row}
	var good bool
	if !long[colName] {
		if r.Name, good = c.name(row, cells[colName]); !good {
			ok = false
		}
	}
	if !long[colID] {
		if r.IDNumber, good = c.idNumber(row, cells[colID]); !good {
			ok = false
		}
	}
	if v, isFen := cells[colWageFen]; isFen && !long[colWageFen] {
		if r.WageFen, good = c.wageFenText(row, v); !good {
			ok = false
		}
	} else if !isFen && !long[colWageYuan] {
		if r.WageFen, good = c.wageYuan(row, cells[colWageYuan]); !good {
			ok = false
		}
	}
	if !long[colPeriod] {
		if r.FromPeriod, good = c.period(row, cells[colPeriod]); !good {
			ok = false
		}
	}
	if ok {
		c.rows = append(c.rows, r)
	}
}

func (c *checker) name(row int, v string) (string, bool) {
	n, err := models.CheckPersonName(v)
	if err != nil {
		c.add(row, FieldName, CodeNameInvalid, reasonOf(err, "姓名格式不正确"))
		return "", false
	}
	return n, true
}

func (c *checker) idNumber(row int, v string) (string, bool) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		c.add(row, FieldIDNumber, CodeIDInvalid, "请填写身份证号码")
		return "", false
	case v == numberCell, strings.ContainsAny(v, "Ee") && strings.Contains(v, "+"):
		// 1.50102E+17: Excel turned the number into a float and lost digits.
		c.add(row, FieldIDNumber, CodeIDInvalid, "身份证号码被表格软件当作数字显示，请将该列设为文本格式后重新填写")
		return "", false
	}
	id, err := models.ParseIDNumber(v)
	if err != nil {
		c.add(row, FieldIDNumber, CodeIDInvalid, reasonOf(err, "身份证号码格式不正确"))
		return "", false
	}
	c.byID[id.Number] = append(c.byID[id.Number], row)
	return id.Number, true
}

// wageYuan parses a wage in 元.
func (c *checker) wageYuan(row int, v string) (int64, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		c.add(row, FieldWage, CodeWageInvalid, "请填写缴费工资")
		return 0, false
	}
	plain, ok := dropThousands(v)
	if !ok {
		c.add(row, FieldWage, CodeWageInvalid, "缴费工资应为金额（元），如 5000 或 5000.50")
		return 0, false
	}
	if strings.HasPrefix(plain, "-") {
		c.add(row, FieldWage, CodeWageInvalid, "缴费工资不能为负数")
		return 0, false
	}
	if _, frac, _ := strings.Cut(plain, "."); len(frac) > 2 && allDigits(frac) {
		c.add(row, FieldWage, CodeWageInvalid, "缴费工资最多保留两位小数")
		return 0, false
	}
	fen, err := models.ParseYuan(plain)
	if err != nil {
		c.add(row, FieldWage, CodeWageInvalid, "缴费工资应为金额（元），如 5000 或 5000.50")
		return 0, false
	}
	return c.wageRange(row, int64(fen))
}

// wageFenText parses a wage in fen from a file column headed wage_fen.
func (c *checker) wageFenText(row int, v string) (int64, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		c.add(row, FieldWage, CodeWageInvalid, "请填写缴费工资")
		return 0, false
	}
	if !allDigits(strings.TrimPrefix(v, "-")) || len(v) > 18 {
		c.add(row, FieldWage, CodeWageInvalid, "wage_fen 列应为整数（分）")
		return 0, false
	}
	n, _ := strconv.ParseInt(v, 10, 64)
	return c.wageRange(row, n)
}

func (c *checker) wageRange(row int, fen int64) (int64, bool) {
	switch {
	case fen < 0:
		c.add(row, FieldWage, CodeWageInvalid, "缴费工资不能为负数")
	case fen == 0:
		c.add(row, FieldWage, CodeWageInvalid, "缴费工资应大于0")
	case fen > MaxWageFen:
		c.add(row, FieldWage, CodeWageInvalid, "缴费工资超出合理范围")
	default:
		return fen, true
	}
	return 0, false
}

// period accepts YYYYMM or YYYY-MM with a real month, as the API does.
func (c *checker) period(row int, v string) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		c.add(row, FieldFromPeriod, CodePeriodInvalid, "请填写起始年月")
		return "", false
	}
	p, ok := normPeriod(v)
	if !ok {
		c.add(row, FieldFromPeriod, CodePeriodInvalid, "起始年月应为6位年月，如 202611 或 2026-11")
		return "", false
	}
	return p, true
}

// normPeriod turns YYYYMM or YYYY-MM into YYYYMM. Years are bounded to
// 2000–2099: a roster adds employees from a recent month, and the bound
// catches typos such as 20261 or 0226-11.
func normPeriod(v string) (string, bool) {
	if len(v) == 7 && v[4] == '-' {
		v = v[:4] + v[5:]
	}
	if len(v) != 6 || !allDigits(v) || v[:2] != "20" {
		return "", false
	}
	m := (v[4]-'0')*10 + v[5] - '0'
	if m < 1 || m > 12 {
		return "", false
	}
	return v, true
}

// dropThousands removes thousands separators when every comma sits where
// one belongs ("12,345.60"); a comma anywhere else ("5,00", "1,2345") is
// more likely a decimal comma or a typo, and is refused.
func dropThousands(v string) (string, bool) {
	if !strings.Contains(v, ",") {
		return v, true
	}
	whole, frac, hasDot := strings.Cut(strings.TrimPrefix(v, "-"), ".")
	groups := strings.Split(whole, ",")
	if len(groups[0]) < 1 || len(groups[0]) > 3 {
		return "", false
	}
	for _, g := range groups[1:] {
		if len(g) != 3 {
			return "", false
		}
	}
	out := strings.Join(groups, "")
	if strings.HasPrefix(v, "-") {
		out = "-" + out
	}
	if hasDot {
		out += "." + frac
	}
	return out, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// reasonOf is a domain error's reason, for the message of a problem.
func reasonOf(err error, fallback string) string {
	if e, ok := models.AsError(err); ok && e.Reason != "" {
		return e.Reason
	}
	return fallback
}

// finish reports duplicates, orders problems by row and returns the rows,
// or *Invalid with every problem.
func (c *checker) finish() ([]Row, error) {
	for _, rows := range c.byID {
		if len(rows) < 2 {
			continue
		}
		for _, r := range rows {
			var others []string
			for _, o := range rows {
				if o != r {
					others = append(others, strconv.Itoa(o))
				}
			}
			c.add(r, FieldIDNumber, CodeIDDuplicate, "与第"+strings.Join(others, "、")+"行的身份证号码重复")
		}
	}
	if len(c.problems) > 0 {
		sort.SliceStable(c.problems, func(i, j int) bool {
			a, b := c.problems[i], c.problems[j]
			if a.Row != b.Row {
				return a.Row < b.Row
			}
			return fieldRank[a.Field] < fieldRank[b.Field]
		})
		return nil, &Invalid{Problems: c.problems}
	}
	return c.rows, nil
}

// Check validates rows sent as JSON with the same checks a file gets,
// numbering them from 1 by position. It returns the rows, *Invalid with
// every problem, or ErrRosterUnreadable when there are too many.
func Check(in []Input) ([]Row, error) {
	if len(in) > MaxRows {
		return nil, tooManyRows()
	}
	c := newChecker()
	if len(in) == 0 {
		c.add(0, "", CodeNoRows, "请至少填写一名职工")
		return c.finish()
	}
	for i, e := range in {
		row := i + 1
		r := Row{Row: row}
		ok := true
		var good bool
		for _, s := range []struct{ f, v string }{{FieldName, e.Name}, {FieldIDNumber, e.IDNumber}, {FieldFromPeriod, e.FromPeriod}} {
			if len(s.v) > MaxCellBytes {
				c.add(row, s.f, CodeCellTooLong, columnLabel[s.f]+"内容过长")
				ok = false
			}
		}
		if !ok {
			continue
		}
		if r.Name, good = c.name(row, e.Name); !good {
			ok = false
		}
		if r.IDNumber, good = c.idNumber(row, e.IDNumber); !good {
			ok = false
		}
		if r.WageFen, good = c.wageRange(row, e.WageFen); !good {
			ok = false
		}
		if r.FromPeriod, good = c.period(row, e.FromPeriod); !good {
			ok = false
		}
		if ok {
			c.rows = append(c.rows, r)
		}
	}
	return c.finish()
}

func tooManyRows() error {
	return models.ErrRosterUnreadable.WithReason(fmt.Sprintf("每次最多导入%d人，请分批导入", MaxRows))
}
