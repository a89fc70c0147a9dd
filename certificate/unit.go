package certificate

import (
	"fmt"
	"strconv"

	"github.com/lianban/lianban/models"
)

// unitColumns lays out a unit's tax certificate: per scheme and month, the
// headcount and the unit's and the individuals' parts. Widths add up to
// contentW; long values shrink to fit their cells.
func (d *document) unitColumns(seq func(int, models.CertificateLine) string, amount func(string, float64) column) []column {
	var unitSum, personalSum models.Fen
	for _, l := range d.c.Lines {
		unitSum += l.UnitFen
		personalSum += l.PersonalFen
	}
	return []column{
		{head: "序号", w: 22, cell: seq},
		{head: "原凭证号", w: 100, cell: func(_ int, l models.CertificateLine) string { return l.TaxVoucherNo }},
		{head: "品目名称", w: 98, cell: func(_ int, l models.CertificateLine) string { return l.SchemeName }},
		// YYYY-MM: nine columns leave no room for YYYY年MM月.
		{head: "所属期", w: 46, cell: func(_ int, l models.CertificateLine) string { return l.Period[:4] + "-" + l.Period[4:] }},
		{head: "入库日期", w: 58, cell: func(_ int, l models.CertificateLine) string {
			return l.CreditedAt.In(models.Beijing).Format("2006-01-02")
		}},
		{head: "人数", w: 28, right: true, cell: func(_ int, l models.CertificateLine) string { return strconv.Itoa(l.Headcount) }},
		{head: "单位缴纳", w: 48, right: true, cell: func(_ int, l models.CertificateLine) string { return l.UnitFen.Yuan() },
			total: func() string { return unitSum.Yuan() }},
		{head: "个人缴纳", w: 48, right: true, cell: func(_ int, l models.CertificateLine) string { return l.PersonalFen.Yuan() },
			total: func() string { return personalSum.Yuan() }},
		amount("实缴金额", contentW-22-100-98-46-58-28-48-48),
	}
}

// RenderVoucher returns a 银行端缴税凭证 as a PDF: the slip a unit takes
// to the counter of any partner bank. Its QR code encodes the voucher
// number alone, for the teller to scan instead of typing it. It refuses a
// voucher that fails v.Validate, and a unit name the font cannot print
// with models.ErrCertificateGlyphMissing. The same voucher always renders
// to the same bytes.
func (r *Renderer) RenderVoucher(v models.BankVoucher) ([]byte, error) {
	if err := v.Validate(); err != nil {
		return nil, err
	}
	if err := r.font.checkName(v.UnitName); err != nil {
		return nil, err
	}
	qr, err := r.qrPNG(v.VoucherNo)
	if err != nil {
		return nil, err
	}
	const title = "银行端缴税凭证"
	return r.draw(title+" "+v.VoucherNo, v.Authority, v.IssuedAt, func(d *document) {
		d.voucherHeader(v, title, qr)
		d.voucherTable(v)
		d.voucherNotes(v)
		d.footers(title + " " + v.VoucherNo)
	})
}

func (d *document) voucherHeader(v models.BankVoucher, title string, qr []byte) {
	d.textCenter(pageW/2, d.y, sizeTitle, title)
	d.y += sizeTitle + 8
	d.textCenter(pageW/2, d.y, sizeSub, "（社会保险费）")
	d.y += sizeSub + 14
	d.line(marginX, d.y, pageW-marginX, d.y)
	d.y += 10

	top := d.y
	d.image(qr, pageW-marginX-qrSize, top, qrSize)
	d.textCenter(pageW-marginX-qrSize/2, top+qrSize+2, 9, "凭证号码")
	info := [][2]string{
		{"凭证号码", v.VoucherNo},
		{"征收机关", v.Authority},
		{"缴费单位", v.UnitName},
		{"统一社会信用代码", v.UnitUSCC},
		{"费款所属期", periodRange(v.PeriodFrom, v.PeriodTo)},
		{"开具时间", v.IssuedAt.In(models.Beijing).Format("2006年01月02日 15:04:05") + "（北京时间）"},
		{"有效期至", v.ExpiresAt.In(models.Beijing).Format("2006年01月02日 15:04:05") + "（北京时间）"},
	}
	for _, kv := range info {
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

func (d *document) voucherTable(v models.BankVoucher) {
	type col struct {
		head  string
		w     float64
		right bool
		cell  func(i int, l models.BankVoucherLine) string
	}
	cols := []col{
		{"序号", 32, false, func(i int, _ models.BankVoucherLine) string { return strconv.Itoa(i + 1) }},
		{"险种", 128, false, func(_ int, l models.BankVoucherLine) string { return l.SchemeName }},
		{"所属期", 68, false, func(_ int, l models.BankVoucherLine) string { return periodLabel(l.Period) }},
		{"人数", 40, true, func(_ int, l models.BankVoucherLine) string { return strconv.Itoa(l.Headcount) }},
		{"单位缴纳（元）", 76, true, func(_ int, l models.BankVoucherLine) string { return l.UnitFen.Yuan() }},
		{"个人缴纳（元）", 76, true, func(_ int, l models.BankVoucherLine) string { return l.PersonalFen.Yuan() }},
		{"应缴金额（元）", contentW - 32 - 128 - 68 - 40 - 76 - 76, true, func(_ int, l models.BankVoucherLine) string { return l.AmountFen.Yuan() }},
	}
	head := func() {
		x := marginX
		for _, c := range cols {
			d.fill(x, d.y, c.w, headH, 235)
			d.cell(x, d.y, c.w, headH, c.head, false, true)
			x += c.w
		}
		d.y += headH
	}
	head()
	var unitSum, personalSum models.Fen
	for i, l := range v.Lines {
		if d.y+rowH > contentLimit {
			d.newPage()
			head()
		}
		x := marginX
		for _, c := range cols {
			d.cell(x, d.y, c.w, rowH, c.cell(i, l), c.right, false)
			x += c.w
		}
		d.y += rowH
		unitSum += l.UnitFen
		personalSum += l.PersonalFen
	}
	if d.y+2*rowH > contentLimit {
		d.newPage()
	}
	span := cols[0].w + cols[1].w + cols[2].w + cols[3].w
	x := marginX
	d.cell(x, d.y, span, rowH, "合计", false, true)
	x += span
	for i, s := range []string{unitSum.Yuan(), personalSum.Yuan(), v.TotalFen.Yuan()} {
		d.cell(x, d.y, cols[4+i].w, rowH, s, true, false)
		x += cols[4+i].w
	}
	d.y += rowH
	d.cell(marginX, d.y, contentW, rowH, "金额合计（大写）：人民币"+upperYuan(v.TotalFen), false, false)
	d.y += rowH + 14
}

func (d *document) voucherNotes(v models.BankVoucher) {
	expires := v.ExpiresAt.In(models.Beijing).Format("2006年01月02日 15:04:05")
	notes := []string{
		"持本凭证到任一合作银行柜台缴款。银行凭凭证号码（可扫描二维码）查询应缴费款，缴款金额须与本凭证金额合计一致。",
		"本凭证有效期至" + expires + "（北京时间）；逾期未缴款的，请重新申报后开具新的凭证。",
		"本凭证所列金额单位为人民币元，应缴金额为单位缴纳部分与个人缴纳部分之和。",
		"本凭证为缴款通知，不作完税依据；费款入库后，可开具税收完税证明。",
	}
	var lines []string
	for i, n := range notes {
		lines = append(lines, d.wrap(fmt.Sprintf("%d. %s", i+1, n), sizeNote, contentW-12)...)
	}
	if d.y+pitchNote*float64(len(lines)+1) > contentLimit {
		d.newPage()
	}
	d.text(marginX, d.y, sizeNote+0.5, "说明：")
	d.y += pitchNote + 2
	for _, l := range lines {
		d.text(marginX+12, d.y, sizeNote, l)
		d.y += pitchNote
	}
}
