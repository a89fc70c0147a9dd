package wechatfake

import (
	"crypto/sha1" // WeChat Pay's bill digest is SHA1
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
)

// billHeader is the ALL trade bill's header as WeChat Pay writes it (27
// columns).
const billHeader = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类," +
	"应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率," +
	"订单金额,申请退款金额,费率备注"

const billSummaryHeader = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"

// feePer1e5YuanPerFen is the fake's fee rate, 0.6% (WeChat's usual), as an
// integer: a fee in units of 1e-5 yuan is the amount in fen times 6.
const feePer1e5YuanPerFen = 6

type billRow struct {
	at   time.Time
	key  string
	line string
}

// Bill renders the ALL trade bill of day (a Beijing date; its time of day
// is ignored) as WeChat Pay would serve it, and whether it has any lines.
func (s *Server) Bill(day time.Time, billType string) ([]byte, bool) {
	date := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, models.Beijing).Format(time.DateOnly)
	sameDay := func(t time.Time) bool { return !t.IsZero() && t.In(models.Beijing).Format(time.DateOnly) == date }
	if billType == "" {
		billType = "ALL"
	}
	var rows []billRow
	var count, total, refunds, fees int64
	s.mu.Lock()
	if billType == "ALL" || billType == "SUCCESS" {
		for _, o := range s.orders {
			if !o.paid() || !sameDay(o.successTime) {
				continue
			}
			fee := o.total * feePer1e5YuanPerFen
			f := []string{o.successTime.In(models.Beijing).Format(time.DateTime), o.appID, o.mchID, "0", "",
				o.transactionID, o.outTradeNo, o.openID, "JSAPI", "SUCCESS", "OTHERS", "CNY",
				yuan(o.total), "0.00", "0", "0", "0.00", "0.00", "", "", o.description, "", fee5(fee), "0.60%",
				yuan(o.total), "0.00", ""}
			rows = append(rows, billRow{o.successTime, o.outTradeNo, "`" + strings.Join(f, ",`")})
			count++
			total += o.total
			fees += fee
		}
	}
	if billType == "ALL" || billType == "REFUND" {
		for _, rf := range s.refunds {
			if rf.status != "SUCCESS" || !sameDay(rf.successTime) {
				continue
			}
			o := rf.order
			fee := -rf.amount * feePer1e5YuanPerFen
			f := []string{rf.successTime.In(models.Beijing).Format(time.DateTime), o.appID, o.mchID, "0", "",
				o.transactionID, o.outTradeNo, o.openID, "JSAPI", "REFUND", "OTHERS", "CNY",
				"0.00", "0.00", rf.refundID, rf.outRefundNo, yuan(rf.amount), "0.00", "ORIGINAL", "SUCCESS",
				o.description, "", fee5(fee), "0.60%", "0.00", yuan(rf.amount), ""}
			rows = append(rows, billRow{rf.successTime, rf.outRefundNo, "`" + strings.Join(f, ",`")})
			count++
			refunds += rf.amount
			fees += fee
		}
	}
	s.mu.Unlock()
	if count == 0 {
		return nil, false
	}
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].at.Equal(rows[j].at) {
			return rows[i].at.Before(rows[j].at)
		}
		return rows[i].key < rows[j].key
	})
	var b strings.Builder
	b.WriteString(billHeader + "\r\n")
	for _, r := range rows {
		b.WriteString(r.line + "\r\n")
	}
	b.WriteString(billSummaryHeader + "\r\n")
	fmt.Fprintf(&b, "`%d,`%s,`%s,`0.00,`%s,`%s,`%s\r\n", count, yuan(total), yuan(refunds), fee5(fees), yuan(total), yuan(refunds))
	return []byte(b.String()), true
}

func (s *Server) tradeBill(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	day, err := time.ParseInLocation(time.DateOnly, q.Get("bill_date"), models.Beijing)
	if err != nil {
		s.payError(w, http.StatusBadRequest, "PARAM_ERROR", "bill_date格式错误")
		return
	}
	bt := q.Get("bill_type")
	if bt != "" && bt != "ALL" && bt != "SUCCESS" && bt != "REFUND" {
		s.payError(w, http.StatusBadRequest, "PARAM_ERROR", "bill_type不正确")
		return
	}
	file, ok := s.Bill(day, bt)
	if !ok {
		s.payError(w, http.StatusBadRequest, "NO_STATEMENT_EXIST", "账单文件不存在")
		return
	}
	sum := sha1.Sum(file)
	token := randAlnum(40)
	s.mu.Lock()
	s.bills[token] = file
	s.mu.Unlock()
	s.reply(w, http.StatusOK, map[string]string{
		"hash_type":    "SHA1",
		"hash_value":   hex.EncodeToString(sum[:]),
		"download_url": "https://api.mch.weixin.qq.com/v3/billdownload/file?token=" + token,
	})
}

// billDownload serves a bill file. Like WeChat Pay it checks the request
// signature but does not sign the answer.
func (s *Server) billDownload(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	file, ok := s.bills[r.URL.Query().Get("token")]
	s.mu.Unlock()
	if !ok {
		s.payError(w, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "下载链接已失效")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(file)
}

// yuan renders fen as WeChat's bill does: yuan with two decimals.
func yuan(fen int64) string { return models.Fen(fen).Yuan() }

// fee5 renders an amount in 1e-5 yuan with five decimals, as the bill's
// fee column is written ("2.28000", "-0.27000").
func fee5(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%05d", sign, v/100000, v%100000)
}
