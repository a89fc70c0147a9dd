package certificate

import (
	"compress/zlib"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/signintech/gopdf"

	"github.com/lianban/lianban/models"
)

// Renderer draws certificates as PDF. It holds the parsed font and is safe
// for concurrent use: each Render builds its own gopdf document and copies
// the parsed font tables by reference.
type Renderer struct {
	font          *font
	verifyBaseURL string
	// deflaters recycles the BestSpeed zlib writers of the QR image and
	// the font program: a new one allocates about a megabyte of state,
	// which showed in the profile as allocation and GC.
	deflaters sync.Pool
}

// NewRenderer parses the embedded font (once; keep the Renderer for the
// life of the process). verifyBaseURL is the public verification endpoint,
// e.g. "https://lianban.example/api/v1/certificates/verify"; the QR code on
// each document encodes it with ?no=…&code=….
func NewRenderer(verifyBaseURL string) (*Renderer, error) {
	u, err := url.Parse(verifyBaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("certificate: verify URL %q must be an absolute http(s) URL without query or fragment", verifyBaseURL)
	}
	f, err := loadFont()
	if err != nil {
		return nil, err
	}
	r := &Renderer{font: f, verifyBaseURL: verifyBaseURL}
	r.deflaters.New = func() any {
		w, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed) // a valid level cannot fail
		return w
	}
	return r, nil
}

// VerifyURL is the URL c's QR code encodes.
func (r *Renderer) VerifyURL(c models.Certificate) string {
	return r.verifyBaseURL + "?no=" + url.QueryEscape(c.No) + "&code=" + url.QueryEscape(c.VerifyCode)
}

// CheckPrintable returns models.ErrCertificateGlyphMissing when s, a name as
// it will be printed (masked), has a character the font cannot draw. Call
// it before issuing, so a certificate that cannot be printed is never
// numbered and stored.
func (r *Renderer) CheckPrintable(s string) error {
	return r.font.checkName(s)
}

// Render returns c as a PDF. It refuses a certificate that fails
// c.Validate, and a name the font cannot print with
// models.ErrCertificateGlyphMissing. The same certificate always renders to
// the same bytes.
func (r *Renderer) Render(c models.Certificate) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	for _, name := range []string{c.PersonNameMasked, c.PayerMasked, c.UnitName} {
		if err := r.font.checkName(name); err != nil {
			return nil, err
		}
	}
	qr, err := r.qrPNG(r.VerifyURL(c))
	if err != nil {
		return nil, err
	}
	return r.draw(c.Kind.Title()+" "+c.No, c.Authority, c.IssuedAt, func(d *document) {
		d.c = c
		if c.IsUnit() {
			d.cellSize = sizeUnitCell
		}
		d.cols = d.columns()
		d.header(qr)
		d.table()
		d.notes(r.verifyBaseURL)
		d.footers(c.Kind.Title() + " " + c.No)
	})
}

// draw lays a document out with layout twice. The first pass draws
// against the whole font only to learn which characters the document
// prints; the second draws the same page with a font of just those glyphs
// (see subset.go) and is the one written out. The two passes measure the
// same widths, so they lay out alike; the second refuses any character the
// first did not draw rather than print it blank.
func (r *Renderer) draw(title, author string, created time.Time, layout func(d *document)) ([]byte, error) {
	measure, err := newPDF(r.font, nil, title, author, created)
	if err != nil {
		return nil, err
	}
	d := &document{pdf: measure, font: r.font, y: marginTop, cellSize: sizeCell, runes: map[rune]struct{}{}, measuring: true,
		widths: map[widthKey]float64{}}
	layout(d)
	if d.err != nil {
		return nil, d.err
	}
	runes := make([]rune, 0, len(d.runes))
	for ch := range d.runes {
		runes = append(runes, ch)
	}
	sub, err := r.font.tables.subset(runes)
	if err != nil {
		return nil, err
	}
	pdf, err := newPDF(r.font, sub.hollow, title, author, created)
	if err != nil {
		return nil, err
	}
	d = &document{pdf: pdf, font: r.font, y: marginTop, cellSize: sizeCell, runes: d.runes, widths: d.widths}
	layout(d)
	if d.err != nil {
		return nil, d.err
	}
	out, err := d.pdf.GetBytesPdfReturnErr()
	if err != nil {
		return nil, fmt.Errorf("certificate: write PDF: %w", err)
	}
	if out, err = r.replaceFontProgram(out, sub.program); err != nil {
		return nil, err
	}
	if err := fixToUnicode(out); err != nil {
		return nil, err
	}
	return out, nil
}

// Page geometry in points (A4 is 595.28 × 841.89).
const (
	pageW        = 595.28
	pageH        = 841.89
	marginX      = 50.0
	marginTop    = 48.0
	contentW     = pageW - 2*marginX
	contentLimit = pageH - 72 // lowest y content may reach; the footer is below
	qrSize       = 96.0
)

// Font sizes and line pitches.
const (
	sizeTitle    = 22.0
	sizeSub      = 11.0
	sizeInfo     = 11.0
	pitchInfo    = 19.0
	sizeCell     = 10.0
	sizeUnitCell = 8.5
	rowH         = 20.0
	headH        = 24.0
	sizeNote     = 9.5
	pitchNote    = 15.0
	sizeFoot     = 8.0
	minSize      = 6.5 // smallest size text may shrink to
)

// document is one PDF being drawn. Drawing stops at the first error,
// which Render returns.
type document struct {
	pdf  *gopdf.GoPdf
	font *font
	c    models.Certificate
	err  error
	y    float64 // top of the next element on the current page
	cols []column
	// cellSize is the table's text size: sizeCell, smaller for a unit's
	// nine columns so one size fits every cell.
	cellSize float64
	// runes are the characters drawn: collected while measuring (the
	// first pass of Renderer.draw, whose document is never written),
	// then the only ones the second pass's font subset has.
	runes     map[rune]struct{}
	measuring bool // the first pass: measure and collect, draw nothing
	widths    map[widthKey]float64
}

// column is a table column: its heading, width and the text of a line.
type column struct {
	head  string
	w     float64
	right bool // amounts are right-aligned so their decimals line up
	cell  func(i int, l models.CertificateLine) string
	// total is the column's figure in the total row; the 合计 label
	// spans the columns before the first that has one.
	total func() string
}

// newPDF starts an A4 document with the font and its first page: the
// whole font when subset is nil, else the font subset.
func newPDF(f *font, subset []byte, title, author string, created time.Time) (*gopdf.GoPdf, error) {
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4})
	// The page content is a few kilobytes of text and lines; zlib's
	// default level spent a tenth of a render on it for 1% of the size.
	pdf.SetCompressLevel(zlib.BestSpeed)
	// A fixed creation date (the issue time) keeps re-rendering of a
	// stored document byte-for-byte identical.
	pdf.SetInfo(gopdf.PdfInfo{
		Title:        title,
		Author:       author,
		Creator:      "lianban",
		Producer:     "lianban",
		CreationDate: created.In(models.Beijing),
	})
	var err error
	if subset == nil {
		err = pdf.AddTTFFontFromFontContainer(fontName, f.container)
	} else {
		err = pdf.AddTTFFontData(fontName, subset)
	}
	if err != nil {
		return nil, fmt.Errorf("certificate: font: %w", err)
	}
	pdf.AddPage()
	return pdf, nil
}

// noun is what the document calls itself: a voucher (凭证) or a proof (证明).
func (d *document) noun() string {
	if d.c.Kind == models.CertPaymentVoucher {
		return "凭证"
	}
	return "证明"
}

func (d *document) header(qr []byte) {
	c := d.c
	d.textCenter(pageW/2, d.y, sizeTitle, c.Kind.Title())
	if c.Revoked {
		d.pdf.SetTextColor(200, 0, 0)
		d.text(pageW-marginX-70, d.y+4, 16, "【已作废】")
		d.pdf.SetTextColor(0, 0, 0)
	}
	d.y += sizeTitle + 8
	var sub []string
	if c.Kind == models.CertTaxPayment {
		sub = append(sub, "表格式")
	}
	if c.ReissueOf != "" {
		sub = append(sub, "补开")
	}
	if len(sub) > 0 {
		d.textCenter(pageW/2, d.y, sizeSub, "（"+strings.Join(sub, "·")+"）")
		d.y += sizeSub + 6
	}
	d.y += 8
	d.line(marginX, d.y, pageW-marginX, d.y)
	d.y += 10

	top := d.y
	d.image(qr, pageW-marginX-qrSize, top, qrSize)
	d.textCenter(pageW-marginX-qrSize/2, top+qrSize+2, 9, "扫码验真")

	info := [][2]string{
		{d.noun() + "编号", c.No},
	}
	if c.Kind == models.CertTaxPayment {
		info = append(info, [2]string{"税务机关", c.Authority})
	} else {
		info = append(info, [2]string{"开具单位", c.Authority})
	}
	info = append(info,
		[2]string{"开具时间", c.IssuedAt.In(models.Beijing).Format("2006年01月02日 15:04:05") + "（北京时间）"},
	)
	if c.IsUnit() {
		// The unit's own document: its full name and code. Its lines
		// name their schemes.
		info = append(info, [2]string{"纳税人名称", c.UnitName}, [2]string{"统一社会信用代码", c.UnitUSCC})
	} else {
		info = append(info, [2]string{"姓名", c.PersonNameMasked}, [2]string{"证件号码", c.PersonIDMasked})
	}
	switch {
	case c.IsUnit():
	case c.Kind == models.CertTaxPayment:
		info = append(info, [2]string{"品目名称", c.Scheme.Name()})
	default:
		info = append(info, [2]string{"险种", c.Scheme.Name()})
	}
	info = append(info, [2]string{"费款所属期", periodRange(c.PeriodFrom, c.PeriodTo)})
	if c.Kind == models.CertPaymentVoucher {
		info = append(info,
			[2]string{"订单号", c.OrderNo},
			[2]string{"缴费人", c.PayerMasked},
			[2]string{"缴费时间", c.Lines[0].PaidAt.In(models.Beijing).Format("2006年01月02日 15:04:05")},
		)
	}
	if c.ReissueOf != "" {
		info = append(info, [2]string{"原" + d.noun() + "编号", c.ReissueOf})
	}
	for _, kv := range info {
		// Rows beside the QR code must stop short of it.
		w := contentW
		if d.y < top+qrSize+16 {
			w -= qrSize + 12
		}
		s := kv[0] + "：" + kv[1]
		d.text(marginX, d.y, d.fit(s, sizeInfo, w), s)
		d.y += pitchInfo
	}
	d.y = max(d.y, top+qrSize+16) + 10
}

// columns lays out the table for the kind; widths add up to contentW.
func (d *document) columns() []column {
	seq := column{head: "序号", w: 40, cell: func(i int, _ models.CertificateLine) string { return fmt.Sprint(i + 1) }}
	period := func(w float64) column {
		return column{head: "费款所属期", w: w, cell: func(_ int, l models.CertificateLine) string { return linePeriod(l) }}
	}
	amount := func(head string, w float64) column {
		return column{head: head, w: w, right: true, cell: func(_ int, l models.CertificateLine) string { return l.AmountFen.Yuan() },
			total: func() string { return d.c.TotalFen.Yuan() }}
	}
	if d.c.IsUnit() {
		return d.unitColumns(seq.cell, amount)
	}
	if d.c.Kind == models.CertTaxPayment {
		return []column{
			{head: "序号", w: 32, cell: seq.cell},
			{head: "原凭证号", w: 118, cell: func(_ int, l models.CertificateLine) string { return l.TaxVoucherNo }},
			{head: "税（费）种", w: 86, cell: func(_ int, l models.CertificateLine) string { return feeKind(l.Scheme) }},
			period(105),
			{head: "入库日期", w: 72, cell: func(_ int, l models.CertificateLine) string {
				return l.CreditedAt.In(models.Beijing).Format("2006-01-02")
			}},
			amount("实缴金额（元）", contentW-32-118-86-105-72),
		}
	}
	return []column{
		seq,
		period(150),
		{head: "缴费基数（元）", w: 105, right: true, cell: func(_ int, l models.CertificateLine) string {
			if l.BaseFen == 0 {
				return "—"
			}
			return l.BaseFen.Yuan()
		}},
		amount("缴费金额（元）", 105),
		{head: "状态", w: contentW - 40 - 150 - 105 - 105, cell: func(_ int, l models.CertificateLine) string { return l.StatusLabel() }},
	}
}

// totalCol is the index of the first column with a figure in the total
// row; 合计 spans the columns before it.
func (d *document) totalCol() int {
	for i, col := range d.cols {
		if col.total != nil {
			return i
		}
	}
	return len(d.cols) - 1
}

func (d *document) table() {
	d.tableHead()
	for i, l := range d.c.Lines {
		if d.y+rowH > contentLimit {
			d.newPage()
			d.tableHead()
		}
		x := marginX
		for _, col := range d.cols {
			d.cell(x, d.y, col.w, rowH, col.cell(i, l), col.right, false)
			x += col.w
		}
		d.y += rowH
	}

	// The total row: 合计 across the columns before the amount.
	if d.y+rowH > contentLimit {
		d.newPage()
	}
	ac := d.totalCol()
	x, span := marginX, 0.0
	for _, col := range d.cols[:ac] {
		span += col.w
	}
	d.cell(x, d.y, span, rowH, "合计", false, true)
	x += span
	for _, col := range d.cols[ac:] {
		s := ""
		if col.total != nil {
			s = col.total()
		}
		d.cell(x, d.y, col.w, rowH, s, true, false)
		x += col.w
	}
	d.y += rowH
	if d.c.Kind == models.CertTaxPayment {
		if d.y+rowH > contentLimit {
			d.newPage()
		}
		d.cell(marginX, d.y, contentW, rowH, "金额合计（大写）：人民币"+upperYuan(d.c.TotalFen), false, false)
		d.y += rowH
	}
	d.y += 14
}

func (d *document) tableHead() {
	x := marginX
	for _, col := range d.cols {
		d.fill(x, d.y, col.w, headH, 235)
		d.cell(x, d.y, col.w, headH, col.head, false, true)
		x += col.w
	}
	d.y += headH
}

// notes explains the stages, the masking and how to verify, so a reader
// needs nothing but the paper.
func (d *document) notes(verifyBase string) {
	c := d.c
	var notes []string
	notes = append(notes, "本"+d.noun()+"所列金额单位为人民币元。")
	// The stage of each status the table shows. A tax certificate lists
	// credited money only, and says so below.
	if c.Kind != models.CertTaxPayment {
		seen := map[string]bool{}
		for _, status := range []string{models.CertLinePaid, models.CertLineCredited, models.CertLineBooked, models.CertLineRefunding, models.CertLineRefunded} {
			for _, l := range c.Lines {
				if l.Status == status && !seen[status] {
					seen[status] = true
					notes = append(notes, l.StageNote())
				}
			}
		}
	}
	if c.IsUnit() {
		notes = append(notes, "本证明按险种和费款所属期列示单位缴纳部分、个人缴纳部分及缴费人数。")
	} else {
		notes = append(notes, "为保护个人信息，姓名和证件号码已作部分隐藏。")
	}
	if c.Kind == models.CertTaxPayment {
		notes = append(notes, "本证明仅证明所列费款已缴入国库，不作纳税人记账、抵扣凭证。")
	}
	if c.Revoked {
		notes = append(notes, "本"+d.noun()+"已作废，不能作为缴费依据。")
	}
	notes = append(notes, "验真：扫描二维码，或访问 "+verifyBase+" 输入"+d.noun()+"编号和验证码，核验本"+d.noun()+"真伪。")

	var lines []string
	for i, n := range notes {
		lines = append(lines, d.wrap(fmt.Sprintf("%d. %s", i+1, n), sizeNote, contentW-12)...)
	}
	need := pitchNote*float64(len(lines)+1) + 30
	if d.y+need > contentLimit {
		d.newPage()
	}
	d.text(marginX, d.y, sizeNote+0.5, "说明：")
	d.y += pitchNote + 2
	for _, l := range lines {
		d.text(marginX+12, d.y, sizeNote, l)
		d.y += pitchNote
	}
	d.y += 8
	d.text(marginX, d.y, 12, "验证码："+c.VerifyCode)
}

// footers number the pages, each with the document's label (its title and
// number) so a page separated from the others still says which document it
// belongs to.
func (d *document) footers(label string) {
	n := d.pdf.GetNumberOfPages()
	for p := 1; p <= n; p++ {
		if d.err == nil && !d.measuring { // a page nothing was drawn on cannot be selected
			d.err = d.pdf.SetPage(p)
		}
		d.pdf.SetTextColor(90, 90, 90)
		d.text(marginX, pageH-48, sizeFoot, label)
		d.textRight(pageW-marginX, pageH-48, sizeFoot, fmt.Sprintf("第%d页 共%d页", p, n))
		d.pdf.SetTextColor(0, 0, 0)
	}
}

func (d *document) newPage() {
	d.pdf.AddPage()
	d.y = marginTop
}

// setFont selects the font at size and checks that it can draw s. Every
// string passes here, so nothing is ever printed as a blank: names were
// refused with their own error before drawing; anything else missing is
// our bug.
func (d *document) setFont(size float64, s string) bool {
	if d.err != nil {
		return false
	}
	if r, ok := d.font.firstMissing(s); ok {
		d.err = fmt.Errorf("certificate: %U in %q is not in the font", r, s)
		return false
	}
	for _, r := range s {
		if d.measuring {
			d.runes[r] = struct{}{}
		} else if _, ok := d.runes[r]; !ok {
			d.err = fmt.Errorf("certificate: %U in %q was not drawn when measuring", r, s)
			return false
		}
	}
	if err := d.pdf.SetFont(fontName, "", size); err != nil {
		d.err = fmt.Errorf("certificate: font: %w", err)
		return false
	}
	return true
}

func (d *document) width(size float64, s string) float64 {
	k := widthKey{size, s}
	if w, ok := d.widths[k]; ok {
		return w
	}
	if !d.setFont(size, s) {
		return 0
	}
	w, err := d.pdf.MeasureTextWidth(s)
	if err != nil {
		d.err = fmt.Errorf("certificate: measure: %w", err)
	}
	d.widths[k] = w
	return w
}

// widthKey is a measured string at a size. Both passes of Renderer.draw
// share the measurements: the subset font has the same advances, so the
// second pass would measure the same widths again (wrap measures the notes
// character by character).
type widthKey struct {
	size float64
	s    string
}

// text draws s with its top-left corner at (x, y).
func (d *document) text(x, y, size float64, s string) {
	if s == "" || !d.setFont(size, s) || d.measuring {
		return
	}
	d.pdf.SetXY(x, y)
	if err := d.pdf.Cell(nil, s); err != nil {
		d.err = fmt.Errorf("certificate: text: %w", err)
	}
}

func (d *document) textCenter(cx, y, size float64, s string) {
	d.text(cx-d.width(size, s)/2, y, size, s)
}

func (d *document) textRight(rx, y, size float64, s string) {
	d.text(rx-d.width(size, s), y, size, s)
}

// cell draws a bordered table cell with s vertically centred, shrinking
// the text when it would overflow rather than letting it cross into the
// next column.
func (d *document) cell(x, y, w, h float64, s string, right, center bool) {
	if d.err != nil {
		return
	}
	if !d.measuring {
		d.pdf.SetLineWidth(0.6)
		d.pdf.RectFromUpperLeftWithStyle(x, y, w, h, "D")
	}
	if s == "" {
		return
	}
	const pad = 6.0
	size := d.fit(s, d.cellSize, w-2*pad)
	tw := d.width(size, s)
	tx := x + pad
	switch {
	case center:
		tx = x + (w-tw)/2
	case right:
		tx = x + w - pad - tw
	}
	d.text(tx, y+(h-size)/2, size, s)
}

// fit returns the largest size up to size, in half points and no smaller
// than minSize, at which s is at most w wide. Shrinking keeps an unusually
// long value (an order number, a yearly period) readable and inside its
// box instead of running into its neighbour.
func (d *document) fit(s string, size, w float64) float64 {
	for size > minSize && d.width(size, s) > w {
		size -= 0.5
	}
	return size
}

func (d *document) fill(x, y, w, h float64, gray uint8) {
	if d.err != nil || d.measuring {
		return
	}
	d.pdf.SetFillColor(gray, gray, gray)
	d.pdf.RectFromUpperLeftWithStyle(x, y, w, h, "F")
	d.pdf.SetFillColor(0, 0, 0)
}

func (d *document) line(x1, y1, x2, y2 float64) {
	if d.err != nil || d.measuring {
		return
	}
	d.pdf.SetLineWidth(0.8)
	d.pdf.Line(x1, y1, x2, y2)
}

func (d *document) image(png []byte, x, y, size float64) {
	if d.err != nil || d.measuring {
		return
	}
	h, err := gopdf.ImageHolderByBytes(png)
	if err == nil {
		err = d.pdf.ImageByHolder(h, x, y, &gopdf.Rect{W: size, H: size})
	}
	if err != nil {
		d.err = fmt.Errorf("certificate: QR image: %w", err)
	}
}

// wrap breaks s into lines no wider than w. CJK text may break between any
// two characters; gopdf's own splitter is avoided because it measures
// every prefix again (quadratic) and the notes are long.
func (d *document) wrap(s string, size, w float64) []string {
	var lines []string
	var line []rune
	lw := 0.0
	for _, r := range s {
		rw := d.width(size, string(r))
		if lw+rw > w && len(line) > 0 {
			lines = append(lines, string(line))
			line, lw = line[:0], 0
		}
		line = append(line, r)
		lw += rw
	}
	if len(line) > 0 {
		lines = append(lines, string(line))
	}
	return lines
}

// feeKind is the tax table's 税（费）种 of a scheme.
func feeKind(s models.Scheme) string {
	if s.Department() == models.DeptMedicalInsurance {
		return "基本医疗保险费"
	}
	return "基本养老保险费"
}

// periodLabel prints YYYYMM as YYYY年MM月.
func periodLabel(p string) string {
	t, err := time.Parse("200601", p)
	if err != nil {
		return p
	}
	return t.Format("2006年01月")
}

func periodRange(from, to string) string {
	if to == "" || to == from {
		return periodLabel(from)
	}
	return periodLabel(from) + "至" + periodLabel(to)
}

func linePeriod(l models.CertificateLine) string { return periodRange(l.Period, l.PeriodTo) }
