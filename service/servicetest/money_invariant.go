package servicetest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/lianban/lianban/channels/alipay/alipayfake"
	"github.com/lianban/lianban/channels/bank/bankfake"
	"github.com/lianban/lianban/channels/wechat/wechatfake"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/store"
)

// MoneyFakes are the places money can be for a test: the channels that took
// it and the bank that paid some of it back.
type MoneyFakes struct {
	Wechat *wechatfake.Server
	Alipay *alipayfake.Server
	Bank   *bankfake.Server
}

// CheckMoney is the bank invariant: per person and in total, what we hold
// as paid minus refunded equals what the channels hold for us (money an
// abnormal refund sent back to our merchant account included) less what
// the bank paid out for those orders; and no order is paid without
// records unless a refund of it is under way.
func CheckMoney(t *testing.T, db *store.DB, f MoneyFakes) {
	t.Helper()
	var orders []store.OrderRow
	if err := db.Gorm.Where("channel IN ?", []string{models.ChannelWechat, models.ChannelAlipay}).Find(&orders).Error; err != nil {
		t.Fatal(err)
	}
	var payouts []store.RefundPayoutRow
	if err := db.Gorm.Find(&payouts).Error; err != nil {
		t.Fatal(err)
	}
	bankPaid := map[string]int64{}
	underWay := map[string]bool{}
	for _, p := range payouts {
		if p.Status == refunds.PayoutPending || p.Status == refunds.PayoutAbnormal || p.Status == refunds.PayoutReturning {
			underWay[p.OrderNo] = true
		}
		if p.Kind != refunds.PayoutBank || f.Bank == nil {
			continue
		}
		tr, ok := f.Bank.Get(p.PayoutNo)
		if !ok || !tr.Paid {
			continue
		}
		for _, part := range strings.Split(p.Allocation, ",") {
			order, fen, _ := strings.Cut(part, ":")
			n, err := strconv.ParseInt(fen, 10, 64)
			if err != nil {
				t.Fatalf("allocation %q", p.Allocation)
			}
			bankPaid[order] += n
		}
	}
	ours, theirs := map[string]int64{}, map[string]int64{}
	var oursTotal, theirsTotal int64
	for _, o := range orders {
		var held int64
		switch o.Channel {
		case models.ChannelWechat:
			if wo, ok := f.Wechat.Order(o.OrderNo); ok && wo.TransactionID != "" {
				held = int64(wo.Amount - wo.Refunded)
			}
		case models.ChannelAlipay:
			if tr, ok := f.Alipay.Trade(o.OrderNo); ok && !tr.PaidAt.IsZero() {
				held = int64(tr.Amount - tr.Refunded)
			}
		}
		held -= bankPaid[o.OrderNo]
		var net int64
		switch o.Status {
		case contrib.OrderPaid, contrib.OrderPartiallyRefunded, contrib.OrderRefunded:
			net = o.AmountFen - o.RefundedFen
		}
		if net != held {
			t.Errorf("order %s (%s): we hold %d fen as paid, the channel and bank %d", o.OrderNo, o.Status, net, held)
		}
		ours[o.PersonID] += net
		theirs[o.PersonID] += held
		oursTotal += net
		theirsTotal += held
		if o.Status == contrib.OrderPaid {
			var recs int64
			if err := db.Gorm.Model(&store.RecordRow{}).Where("order_no = ?", o.OrderNo).Count(&recs).Error; err != nil {
				t.Fatal(err)
			}
			if recs == 0 && !underWay[o.OrderNo] {
				t.Errorf("order %s is paid with no records and no refund under way", o.OrderNo)
			}
		}
	}
	for p := range ours {
		if ours[p] != theirs[p] {
			t.Errorf("person %s: %d fen held as paid, %d at the channels", p, ours[p], theirs[p])
		}
	}
	if oursTotal != theirsTotal {
		t.Errorf("in total: %d fen held as paid, %d at the channels", oursTotal, theirsTotal)
	}
}
