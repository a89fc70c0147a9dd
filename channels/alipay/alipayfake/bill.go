package alipayfake

import (
	"archive/zip"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/lianban/lianban/models"
)

// billURLValidity is how long a bill download URL works, as at Alipay.
const billURLValidity = 30 * time.Second

// billReadyAfter is when a day's bill appears: 10:00 Beijing the next day.
const billReadyAfter = 24*time.Hour + 10*time.Hour

// billURL answers alipay.data.dataservice.bill.downloadurl.query.
func (s *Server) billURL(r *http.Request, str func(string) string) (map[string]any, *apiErr) {
	if str("bill_type") != "trade" {
		return nil, invalidArguments("isv.invalid-parameter", "参数无效：bill_type 仅支持 trade")
	}
	day, err := time.ParseInLocation(time.DateOnly, str("bill_date"), models.Beijing)
	if err != nil {
		return nil, invalidArguments("isv.invalid-parameter", "参数无效：bill_date")
	}
	now := s.clock.Now()
	if now.Before(day.Add(billReadyAfter)) {
		return nil, businessFailed("isp.bill_not_exist", "账单不存在")
	}
	expires := strconv.FormatInt(now.Add(billURLValidity).Unix(), 10)
	date := day.Format("20060102")
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	q := url.Values{"bizType": {"trade"}, "bizDates": {date}, "expires": {expires}, "token": {s.billToken(date, expires)}}
	return map[string]any{"bill_download_url": scheme + "://" + r.Host + "/downloadBillFile.resource?" + q.Encode()}, nil
}

func (s *Server) billToken(date, expires string) string {
	m := hmac.New(sha256.New, s.billSecret)
	m.Write([]byte("trade|" + date + "|" + expires))
	return hex.EncodeToString(m.Sum(nil))
}

// downloadBill serves the bill zip for a signed, unexpired download URL.
func (s *Server) downloadBill(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	date, expires := q.Get("bizDates"), q.Get("expires")
	if !hmac.Equal([]byte(q.Get("token")), []byte(s.billToken(date, expires))) {
		http.Error(w, "invalid token", http.StatusForbidden)
		return
	}
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || s.clock.Now().Unix() > exp {
		http.Error(w, "link expired", http.StatusForbidden)
		return
	}
	day, err := time.ParseInLocation("20060102", date, models.Beijing)
	if err != nil {
		http.Error(w, "bad date", http.StatusBadRequest)
		return
	}
	b, err := s.BillArchive(day)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/oct-stream")
	w.Header().Set("Content-Disposition", "attachment; filename="+s.sellerID+"0156_"+date+".csv.zip")
	_, _ = w.Write(b)
}

// billRow is one line of the 业务明细.
type billRow struct {
	at                   time.Time
	tradeNo, outTradeNo  string
	kind, subject, buyer string
	created              time.Time
	amount               models.Fen // negative for refunds
	refundNo             string
}

// BillArchive is the trade bill for a Beijing day as Alipay serves it: a zip
// with the 业务明细 CSV and the 汇总 CSV, both GBK, with GBK entry names.
func (s *Server) BillArchive(day time.Time) ([]byte, error) {
	detail, summary := s.billCSV(day)
	date := day.In(models.Beijing).Format("20060102")
	account := s.sellerID + "0156"
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct{ name, text string }{
		{account + "_" + date + "_业务明细.csv", detail},
		{account + "_" + date + "_业务明细(汇总).csv", summary},
	} {
		name, err := simplifiedchinese.GBK.NewEncoder().String(f.name)
		if err != nil {
			return nil, err
		}
		body, err := simplifiedchinese.GBK.NewEncoder().String(f.text)
		if err != nil {
			return nil, err
		}
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, NonUTF8: true, Modified: s.clock.Now()})
		if err != nil {
			return nil, err
		}
		if _, err := fw.Write([]byte(body)); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// billCSV renders the day's 业务明细 and 汇总 in UTF-8.
func (s *Server) billCSV(day time.Time) (detail, summary string) {
	y, m, d := day.In(models.Beijing).Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, models.Beijing)
	to := from.AddDate(0, 0, 1)
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(from) && t.Before(to) }

	s.mu.Lock()
	var rows []billRow
	for _, t := range s.trades {
		if in(t.paidAt) {
			rows = append(rows, billRow{at: t.paidAt, tradeNo: t.tradeNo, outTradeNo: t.outTradeNo, kind: "交易",
				subject: t.subject, buyer: t.buyer, created: t.created, amount: t.amount})
		}
		for _, rf := range t.refunds {
			if in(rf.at) {
				rows = append(rows, billRow{at: rf.at, tradeNo: t.tradeNo, outTradeNo: t.outTradeNo, kind: "退款",
					subject: t.subject, buyer: t.buyer, created: t.created, amount: -rf.amount, refundNo: rf.outRequestNo})
			}
		}
	}
	s.mu.Unlock()
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].at.Equal(rows[j].at) {
			return rows[i].at.Before(rows[j].at)
		}
		return rows[i].tradeNo+rows[i].kind < rows[j].tradeNo+rows[j].kind
	})

	var trades, refunds int
	var income, refunded models.Fen
	var b strings.Builder
	period := fmt.Sprintf("#起始日期：[%s]   终止日期：[%s]\n", from.Format("2006年01月02日 15:04:05"), to.Format("2006年01月02日 15:04:05"))
	b.WriteString("#支付宝业务明细查询\n#账号：[" + s.sellerID + "0156]\n" + period)
	b.WriteString("#-----------------------------------------业务明细列表----------------------------------------\n")
	cw := csv.NewWriter(&b)
	_ = cw.Write([]string{"支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号", "门店名称",
		"操作员", "终端号", "对方账户", "订单金额（元）", "商家实收（元）", "支付宝红包（元）", "集分宝（元）", "支付宝优惠（元）",
		"商家优惠（元）", "券核销金额（元）", "券名称", "商家红包消费金额（元）", "卡消费金额（元）", "退款批次号/请求号",
		"服务费（元）", "分润（元）", "备注"})
	for _, r := range rows {
		if r.amount < 0 {
			refunds++
			refunded += -r.amount
		} else {
			trades++
			income += r.amount
		}
		// Alipay pads ids with a tab so spreadsheets keep them as text.
		_ = cw.Write([]string{r.tradeNo + "\t", r.outTradeNo + "\t", r.kind, r.subject, bj(r.created), bj(r.at),
			"", "", "", "", maskBuyer(r.buyer), r.amount.Yuan(), r.amount.Yuan(), "0.00", "0.00", "0.00", "0.00", "0.00", "",
			"0.00", "0.00", r.refundNo, "0.00", "0.00", ""})
	}
	cw.Flush()
	b.WriteString("#-----------------------------------------业务明细列表结束------------------------------------\n")
	fmt.Fprintf(&b, "#交易合计：%d笔，商家实收共：%s元，商家优惠共：0.00元\n", trades, income.Yuan())
	fmt.Fprintf(&b, "#退款合计：%d笔，商家实收退款共：%s元，商家优惠退款共：0.00元\n", refunds, (-refunded).Yuan())
	fmt.Fprintf(&b, "#导出时间：[%s]\n", s.clock.Now().In(models.Beijing).Format("2006年01月02日 15:04:05"))

	var sb strings.Builder
	sb.WriteString("#支付宝业务汇总查询\n#账号：[" + s.sellerID + "0156]\n" + period)
	sb.WriteString("#-----------------------------------------业务汇总列表----------------------------------------\n")
	sb.WriteString("门店编号,门店名称,交易订单总笔数,退款订单总笔数,已收入金额（元）,支付宝红包收入（元）,集分宝收入（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）\n")
	fmt.Fprintf(&sb, "合计,,%d,%d,%s,0.00,0.00,0.00,0.00,0.00,0.00,0.00,%s\n", trades, refunds, income.Yuan(), (income - refunded).Yuan())
	sb.WriteString("#-----------------------------------------业务汇总列表结束------------------------------------\n")
	return b.String(), sb.String()
}

// maskBuyer shows the counterpart account as Alipay does, partly hidden.
func maskBuyer(id string) string {
	if len(id) < 8 {
		return "***"
	}
	return id[:4] + "******" + id[len(id)-2:]
}
