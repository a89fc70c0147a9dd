package wechat

import (
	"bufio"
	"context"
	"crypto/sha1" // WeChat Pay's bill digest is SHA1; it checks integrity, not authenticity
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"

	"github.com/lianban/lianban/models"
)

// maxBillBytes bounds a downloaded bill. A busy collection day is tens of
// megabytes; a bill larger than this is a fault, not data.
const maxBillBytes = 1 << 30

// billMeta is the answer of GET /v3/bill/tradebill.
type billMeta struct {
	HashType    string `json:"hash_type"`
	HashValue   string `json:"hash_value"`
	DownloadURL string `json:"download_url"`
}

// DownloadBill fetches the trade bill (bill_type=ALL) of day, a Beijing
// calendar date whose time of day is ignored, checks its SHA1 against the
// digest WeChat gave, and parses it. A day without trades is an empty list;
// a bill not generated yet (before about 10:00 the next day) is
// models.ErrUnavailable.
//
// Payment lines have State TradePaid and Amount (订单金额). Refund lines
// (交易状态 REFUND) have State TradePaid (the trade they refund was paid),
// Amount 0 and RefundAmount (申请退款金额), so summing Amount gives money in
// and summing RefundAmount money out. Revoked trades are TradeClosed.
func (p *Pay) DownloadBill(ctx context.Context, day time.Time) ([]models.BillLine, error) {
	date := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, models.Beijing).Format(time.DateOnly)
	ctx, cancel := context.WithTimeout(ctx, 4*p.timeout) // the file can be large
	defer cancel()

	res, err := p.client.Get(ctx, consts.WechatPayAPIServer+"/v3/bill/tradebill?bill_date="+date+"&bill_type=ALL")
	if core.IsAPIError(err, "NO_STATEMENT_EXIST") {
		return nil, nil
	}
	if err != nil {
		return nil, mapAPIError("tradebill", err, map[string]*models.Error{"STATEMENT_CREATING": models.ErrUnavailable})
	}
	var meta billMeta
	if err := core.UnMarshalResponse(res.Response, &meta); err != nil {
		return nil, fmt.Errorf("%w: wechatpay tradebill: unreadable answer", models.ErrUnavailable)
	}
	if !strings.EqualFold(meta.HashType, "SHA1") || meta.HashValue == "" {
		return nil, fmt.Errorf("%w: wechatpay tradebill: unsupported hash type %q", models.ErrInternal, meta.HashType)
	}
	if !p.hostAllowed(meta.DownloadURL) {
		return nil, fmt.Errorf("%w: wechatpay tradebill: download_url points outside WeChat Pay", models.ErrInternal)
	}

	// The download request is signed like any other, but its answer is not:
	// p.bills skips the response signature check. The digest above (from a
	// signed answer) is what vouches for the file.
	file, err := p.bills.Get(ctx, meta.DownloadURL)
	if err != nil {
		return nil, mapAPIError("billdownload", err, nil)
	}
	defer file.Response.Body.Close()
	h := sha1.New()
	body := io.TeeReader(io.LimitReader(file.Response.Body, maxBillBytes+1), h)
	lines, err := parseTradeBill(body)
	// Drain what the parser left (the summary), so the digest covers it all.
	if _, cerr := io.Copy(io.Discard, body); cerr != nil && err == nil {
		return nil, fmt.Errorf("%w: wechatpay billdownload: %v", models.ErrUnavailable, cerr)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, meta.HashValue) {
		return nil, fmt.Errorf("%w: wechatpay billdownload: SHA1 %s does not match hash_value", models.ErrUnavailable, got)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: wechatpay bill %s: %v", models.ErrInternal, date, err)
	}
	return lines, nil
}

// Column names of the trade bill used here; the rest are ignored, and
// columns are found by name, so WeChat adding one (as it did with 费率备注
// and the refund times) breaks nothing.
const (
	colTime          = "交易时间"
	colTransactionID = "微信订单号"
	colOrderNo       = "商户订单号"
	colState         = "交易状态"
	colTotal         = "订单金额"
	colSettleTotal   = "应结订单金额"
	colRefundApplied = "申请退款金额"
	colRefund        = "退款金额"
	billSummaryStart = "总交易单数"
)

// parseTradeBill parses WeChat Pay's trade bill: a header line, one line per
// trade or refund with every field prefixed by a backtick (so spreadsheets
// keep long numbers as text), then a summary header (总交易单数,…) and line.
// Amounts are yuan with two decimals and become fen by integer arithmetic.
func parseTradeBill(r io.Reader) ([]models.BillLine, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var (
		cols  map[string]int
		lines []models.BillLine
		n     int
	)
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if cols == nil {
			cols = map[string]int{}
			for i, name := range strings.Split(strings.TrimPrefix(line, "\ufeff"), ",") {
				cols[strings.TrimSpace(name)] = i
			}
			for _, need := range []string{colTime, colTransactionID, colOrderNo, colState} {
				if _, ok := cols[need]; !ok {
					return nil, fmt.Errorf("header lacks column %s", need)
				}
			}
			continue
		}
		if strings.HasPrefix(line, billSummaryStart) {
			return lines, nil
		}
		if !strings.HasPrefix(line, "`") {
			return nil, fmt.Errorf("line %d: not a bill line", n)
		}
		fields := strings.Split(line[1:], ",`")
		if len(fields) < len(cols) {
			return nil, fmt.Errorf("line %d: %d fields, header has %d", n, len(fields), len(cols))
		}
		bl, err := billLine(cols, fields)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		lines = append(lines, bl)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cols == nil {
		return nil, errors.New("empty bill")
	}
	return nil, errors.New("bill ends without its summary: truncated")
}

func billLine(cols map[string]int, f []string) (models.BillLine, error) {
	get := func(name string) string {
		if i, ok := cols[name]; ok {
			return strings.TrimSpace(f[i])
		}
		return ""
	}
	amount := func(names ...string) (models.Fen, error) {
		for _, name := range names {
			if s := get(name); s != "" {
				return models.ParseYuan(s)
			}
		}
		return 0, fmt.Errorf("no %s", names[0])
	}
	at, err := time.ParseInLocation(time.DateTime, get(colTime), models.Beijing)
	if err != nil {
		return models.BillLine{}, fmt.Errorf("bad %s %q", colTime, get(colTime))
	}
	bl := models.BillLine{
		OrderNo:       get(colOrderNo),
		TransactionID: get(colTransactionID),
		At:            at.UTC(),
	}
	switch state := get(colState); state {
	case "SUCCESS":
		bl.State = models.TradePaid
		if bl.Amount, err = amount(colTotal, colSettleTotal); err != nil {
			return bl, err
		}
	case "REFUND":
		bl.State = models.TradePaid
		if bl.RefundAmount, err = amount(colRefundApplied, colRefund); err != nil {
			return bl, err
		}
	case "REVOKED":
		bl.State = models.TradeClosed
	default:
		bl.State = models.TradeUnknown
	}
	if bl.OrderNo == "" {
		return bl, fmt.Errorf("no %s", colOrderNo)
	}
	return bl, nil
}
