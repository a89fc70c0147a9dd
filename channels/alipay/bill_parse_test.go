package alipay

import (
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
)

const utf8Bill = `#支付宝业务明细查询
#账号：[20880000000000010156]
#起始日期：[2026年03月01日 00:00:00]   终止日期：[2026年03月02日 00:00:00]
#-----------------------------------------业务明细列表----------------------------------------
支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注
2026030122001000000000000001	,LB0001	,交易,"社会保险费, 2026",2026-03-01 09:00:00,2026-03-01 09:00:05,,,,,2088******01,380.00,380.00,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,0.00,0.00,
2026030122001000000000000001	,LB0001	,退款,社会保险费,2026-03-01 09:00:00,2026-03-01 11:30:00,,,,,2088******01,-80.50,-80.50,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,RF0001,0.00,0.00,
#-----------------------------------------业务明细列表结束------------------------------------
#交易合计：1笔，商家实收共：380.00元，商家优惠共：0.00元
#退款合计：1笔，商家实收退款共：-80.50元，商家优惠退款共：0.00元
`

func TestAUTF8BillIsParsedIntoFenLines(t *testing.T) {
	got, err := parseBill([]byte(utf8Bill))
	if err != nil {
		t.Fatal(err)
	}
	want := []models.BillLine{
		{OrderNo: "LB0001", TransactionID: "2026030122001000000000000001", Amount: 38000, State: models.TradePaid,
			At: time.Date(2026, 3, 1, 1, 0, 5, 0, time.UTC)},
		{OrderNo: "LB0001", TransactionID: "2026030122001000000000000001", RefundAmount: 8050, State: models.TradePaid,
			At: time.Date(2026, 3, 1, 3, 30, 0, 0, time.UTC)},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestABillWhoseRowsDisagreeWithItsFooterIsRejected(t *testing.T) {
	truncated := strings.Replace(utf8Bill, "#交易合计：1笔", "#交易合计：2笔", 1)
	if _, err := parseBill([]byte(truncated)); err == nil {
		t.Fatal("a bill missing a row was accepted")
	}
}

func TestABillWithAnUnknownBusinessTypeIsRejected(t *testing.T) {
	odd := strings.Replace(utf8Bill, ",交易,", ",冻结,", 1)
	if _, err := parseBill([]byte(odd)); err == nil {
		t.Fatal("an unknown 业务类型 was skipped silently")
	}
}

func TestABillWithAGroupedAmountIsRejected(t *testing.T) {
	odd := strings.Replace(utf8Bill, ",380.00,380.00,", `,"1,380.00",380.00,`, 1)
	if _, err := parseBill([]byte(odd)); err == nil {
		t.Fatal("an amount with a grouping comma was accepted")
	}
}

func TestAFileWithoutTheDetailHeaderIsNotABill(t *testing.T) {
	if _, err := parseBill([]byte("#支付宝业务汇总查询\n门店编号,门店名称\n合计,,\n")); err == nil {
		t.Fatal("a summary file was taken for the detail")
	}
}
