package alipay

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	sdk "github.com/smartwalle/alipay/v3"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/lianban/lianban/models"
)

const (
	// billDownloadTimeout bounds fetching one bill file; a busy day's bill
	// is several megabytes, more than one RequestTimeout allows.
	billDownloadTimeout = 2 * time.Minute
	// maxBillBytes bounds what is read from the download URL.
	maxBillBytes = 256 << 20
)

// DownloadBill fetches and parses Alipay's trade bill (bill_type trade, the
// 业务明细) for a Beijing calendar day: day is taken in Beijing time and its
// time of day is ignored. Alipay has yesterday's bill from about 10:00;
// earlier, or for a day without a bill, the error is models.ErrNotFound, and
// the reconciliation tries again later.
//
// Lines: a 交易 row is a payment (State TradePaid, Amount = 订单金额); a 退款
// row is a refund on a paid trade (State TradePaid, Amount 0, RefundAmount =
// the refund), so sum(Amount) − sum(RefundAmount) is the day's net, and only
// lines with RefundAmount == 0 compare Amount with an order.
//
// Encoding: Alipay's CSV files are GBK (GB18030 is a superset); a file that
// is valid UTF-8 is read as UTF-8, which is what the fake may serve.
func (c *Client) DownloadBill(ctx context.Context, day time.Time) ([]models.BillLine, error) {
	const op = "data.dataservice.bill.downloadurl.query"
	date := day.In(models.Beijing).Format(time.DateOnly)
	callCtx, cancel := c.withTimeout(ctx)
	rsp, err := c.api.BillDownloadURLQuery(callCtx, sdk.BillDownloadURLQuery{BillType: "trade", BillDate: date})
	cancel()
	biz, err := result(op, err, headerOf(rsp))
	if err != nil {
		return nil, err
	}
	if biz != nil {
		switch {
		case biz.SubCode == subBillNotExist:
			return nil, biz.as(models.ErrNotFound)
		case biz.transient():
			return nil, biz.as(models.ErrUnavailable)
		default:
			return nil, biz.as(models.ErrInternal)
		}
	}
	if rsp.BillDownloadURL == "" {
		return nil, unavailable(op, errors.New("answer without bill_download_url"))
	}
	data, err := c.fetchBill(ctx, rsp.BillDownloadURL)
	if err != nil {
		return nil, unavailable("bill download", err)
	}
	lines, err := parseBill(data)
	if err != nil {
		return nil, fmt.Errorf("alipay bill %s: %w: %w", date, models.ErrInternal, err)
	}
	return lines, nil
}

func (c *Client) fetchBill(ctx context.Context, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, billDownloadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBillBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxBillBytes {
		return nil, fmt.Errorf("bill over %d bytes", maxBillBytes)
	}
	return b, nil
}

// errNoDetail marks a CSV that is not the 业务明细 (the archive also holds
// a 汇总 summary file).
var errNoDetail = errors.New("not a 业务明细 file")

// parseBill reads a bill download: a zip holding the 业务明细 CSV (and a
// summary), or the CSV itself. Entry names are GBK without the zip UTF-8
// flag, so the detail file is recognised by its content, not its name.
func parseBill(data []byte) ([]models.BillLine, error) {
	if !bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return parseBillCSV(billText(data))
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("bill archive: %w", err)
	}
	for _, f := range zr.File {
		if !strings.HasSuffix(strings.ToLower(f.Name), ".csv") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("bill archive: %w", err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxBillBytes+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("bill archive: %w", err)
		}
		lines, err := parseBillCSV(billText(b))
		if errors.Is(err, errNoDetail) {
			continue
		}
		return lines, err
	}
	return nil, errors.New("bill archive holds no 业务明细 CSV")
}

// billText decodes a bill file: UTF-8 when it is valid UTF-8, else GBK.
func billText(b []byte) string {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if utf8.Valid(b) {
		return string(b)
	}
	u, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
	if err != nil {
		return string(b) // parsing then fails on the header, loudly
	}
	return string(u)
}

// The footer lines that say how many rows the bill has, so a truncated file
// is caught.
var (
	tradeTotalRe  = regexp.MustCompile(`交易合计[：:]\s*(\d+)\s*笔`)
	refundTotalRe = regexp.MustCompile(`退款合计[：:]\s*(\d+)\s*笔`)
)

// Column names of the 业务明细, after cleanColumn.
const (
	colTradeNo     = "支付宝交易号"
	colOrderNo     = "商户订单号"
	colType        = "业务类型"
	colCreated     = "创建时间"
	colFinished    = "完成时间"
	colAmount      = "订单金额"
	colReceived    = "商家实收"
	billTypeTrade  = "交易"
	billTypeRefund = "退款"
)

func parseBillCSV(text string) ([]models.BillLine, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	header, err := r.Read()
	for err == nil && !hasColumn(header, colTradeNo) {
		// Lines before the header in some exports are not comments.
		header, err = r.Read()
	}
	if err == io.EOF {
		return nil, errNoDetail
	}
	if err != nil {
		return nil, fmt.Errorf("bill header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[cleanColumn(h)] = i
	}
	for _, name := range []string{colTradeNo, colOrderNo, colType, colFinished, colAmount} {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("bill header lacks %s", name)
		}
	}
	field := func(rec []string, name string) string {
		i, ok := col[name]
		if !ok || i >= len(rec) {
			return ""
		}
		return cleanField(rec[i])
	}

	var lines []models.BillLine
	var trades, refunds int
	for n := 2; ; n++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("bill row %d: %w", n, err)
		}
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue
		}
		at := parseTime(field(rec, colFinished))
		if at.IsZero() {
			at = parseTime(field(rec, colCreated))
		}
		line := models.BillLine{
			OrderNo:       field(rec, colOrderNo),
			TransactionID: field(rec, colTradeNo),
			State:         models.TradePaid,
			At:            at,
		}
		switch typ := field(rec, colType); typ {
		case billTypeTrade:
			amount, err := yuanToFen(field(rec, colAmount))
			if err != nil {
				return nil, fmt.Errorf("bill row %d: %s: %w", n, colAmount, err)
			}
			line.Amount = amount
			trades++
		case billTypeRefund:
			amount, err := signedYuanToFen(field(rec, colAmount))
			if err != nil {
				return nil, fmt.Errorf("bill row %d: %s: %w", n, colAmount, err)
			}
			if amount == 0 {
				if amount, err = signedYuanToFen(field(rec, colReceived)); err != nil {
					return nil, fmt.Errorf("bill row %d: %s: %w", n, colReceived, err)
				}
			}
			line.RefundAmount = max(amount, -amount)
			refunds++
		default:
			return nil, fmt.Errorf("bill row %d: unknown 业务类型 %q", n, typ)
		}
		if line.OrderNo == "" || line.TransactionID == "" {
			return nil, fmt.Errorf("bill row %d: missing %s or %s", n, colOrderNo, colTradeNo)
		}
		lines = append(lines, line)
	}
	if err := checkTotal(text, tradeTotalRe, trades, billTypeTrade); err != nil {
		return nil, err
	}
	if err := checkTotal(text, refundTotalRe, refunds, billTypeRefund); err != nil {
		return nil, err
	}
	return lines, nil
}

// checkTotal compares the rows read with the footer's count, when the
// footer has one.
func checkTotal(text string, re *regexp.Regexp, got int, what string) error {
	m := re.FindStringSubmatch(text)
	if m == nil {
		return nil
	}
	want, err := strconv.Atoi(m[1])
	if err != nil || want != got {
		return fmt.Errorf("bill has %d %s rows, its footer says %s", got, what, m[1])
	}
	return nil
}

// cleanColumn turns "订单金额（元）" into "订单金额".
func cleanColumn(s string) string {
	s = cleanField(s)
	for _, unit := range []string{"（元）", "(元)"} {
		s = strings.TrimSuffix(s, unit)
	}
	return s
}

// cleanField drops the padding Alipay puts around values (tabs that keep
// spreadsheet programs from turning numbers into floats).
func cleanField(s string) string { return strings.Trim(s, " \t\r\n`\"") }

func hasColumn(rec []string, name string) bool {
	for _, f := range rec {
		if cleanColumn(f) == name {
			return true
		}
	}
	return false
}
