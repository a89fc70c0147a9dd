package alipay

import (
	"context"
	"fmt"
	"unicode/utf8"

	sdk "github.com/smartwalle/alipay/v3"

	"github.com/lianban/lianban/models"
)

// Product codes of the two ways lianban takes payment.
const (
	productMiniProgram = "JSAPI_PAY"     // alipay.trade.create → my.tradePay
	productWap         = "QUICK_WAP_WAY" // alipay.trade.wap.pay → a cashier URL
)

// defaultSubject is the trade title the payer sees when the order has none.
const defaultSubject = "社会保险费"

// Alipay sub-codes lianban acts on.
const (
	subTradeNotExist    = "ACQ.TRADE_NOT_EXIST"
	subTradeHasSuccess  = "ACQ.TRADE_HAS_SUCCESS"
	subTradeHasClose    = "ACQ.TRADE_HAS_CLOSE"
	subTradeStatusError = "ACQ.TRADE_STATUS_ERROR"
	subTradeHasFinished = "ACQ.TRADE_HAS_FINISHED"
	subBalanceNotEnough = "ACQ.SELLER_BALANCE_NOT_ENOUGH"
	subRefundOverLimit  = "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
	subRefundFeeError   = "ACQ.REFUND_FEE_ERROR"
	subRefundFeeInvalid = "ACQ.REASON_TRADE_REFUND_FEE_ERR"
	subRefundNotAllowed = "ACQ.TRADE_NOT_ALLOW_REFUND"
	subDiscordantRepeat = "ACQ.DISCORDANT_REPEAT_REQUEST"
	subBillNotExist     = "isp.bill_not_exist"
	refundStatusSuccess = "REFUND_SUCCESS"
	fundChangeYes       = "Y"
)

// maxSubjectRunes is Alipay's limit on a trade's subject.
const maxSubjectRunes = 256

// Prepay opens an Alipay trade for req.OrderNo.
//
// For the mini-program it calls alipay.trade.create (JSAPI_PAY) for the
// logged-in buyer and returns {"trade_no"} for my.tradePay. With req.H5 it
// signs an alipay.trade.wap.pay URL (no network call) and returns {"url"};
// that trade exists at Alipay only once the payer opens the URL.
//
// Calling Prepay again with the same order and amount is safe: Alipay
// answers trade.create with the same trade_no.
func (c *Client) Prepay(ctx context.Context, req models.PrepayRequest) (models.PayParams, error) {
	const op = "trade.create"
	if req.OrderNo == "" || req.Amount <= 0 {
		return nil, fmt.Errorf("alipay prepay: order %q amount %d: %w", req.OrderNo, req.Amount, models.ErrInvalid)
	}
	if !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(c.clock.Now()) {
		return nil, fmt.Errorf("alipay prepay: order %s expired at %s: %w", req.OrderNo, req.ExpiresAt, models.ErrOrderNotPayable)
	}
	subject := req.Description
	if subject == "" {
		subject = defaultSubject
	}
	if utf8.RuneCountInString(subject) > maxSubjectRunes {
		subject = string([]rune(subject)[:maxSubjectRunes])
	}
	trade := sdk.Trade{
		NotifyURL:   c.cfg.NotifyURL,
		Subject:     subject,
		OutTradeNo:  req.OrderNo,
		TotalAmount: req.Amount.Yuan(),
		SellerId:    c.cfg.SellerID,
	}

	if req.H5 {
		trade.ProductCode = productWap
		trade.ReturnURL = c.cfg.ReturnURL
		wap := sdk.TradeWapPay{Trade: trade, QuitURL: c.cfg.ReturnURL}
		if !req.ExpiresAt.IsZero() {
			// The WAP API takes minutes only; truncating makes Alipay stop
			// taking money before our order expires, never after.
			wap.TimeExpire = req.ExpiresAt.In(models.Beijing).Format(alipayMinute)
		}
		u, err := c.api.TradeWapPay(wap)
		if err != nil {
			return nil, fmt.Errorf("alipay trade.wap.pay: signing the URL: %w: %w", models.ErrInternal, err)
		}
		return models.PayParams{"url": u.String()}, nil
	}

	if req.Payer.Channel != models.ChannelAlipay || req.Payer.Subject == "" {
		// my.tradePay needs the trade's buyer to be the Alipay user paying;
		// a user of another login channel pays through the H5 cashier.
		return nil, fmt.Errorf("alipay prepay: payer of channel %q cannot use my.tradePay: %w", req.Payer.Channel, models.ErrChannelUnsupported)
	}
	trade.ProductCode = productMiniProgram
	if !req.ExpiresAt.IsZero() {
		trade.TimeExpire = req.ExpiresAt.In(models.Beijing).Format(alipayTime)
	}
	create := sdk.TradeCreate{Trade: trade}
	if c.cfg.OpenIDMode {
		create.BuyerOpenId = req.Payer.Subject
	} else {
		create.BuyerId = req.Payer.Subject
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	rsp, err := c.api.TradeCreate(ctx, create)
	biz, err := result(op, err, headerOf(rsp))
	if err != nil {
		return nil, err
	}
	if biz != nil {
		switch {
		case biz.transient():
			return nil, biz.as(models.ErrUnavailable)
		case biz.SubCode == subTradeHasSuccess:
			return nil, biz.as(models.ErrOrderPaidAtChannel)
		case biz.SubCode == subTradeHasClose:
			return nil, biz.as(models.ErrOrderNotPayable)
		default:
			return nil, biz.as(models.ErrInternal)
		}
	}
	if rsp.TradeNo == "" || (rsp.OutTradeNo != "" && rsp.OutTradeNo != req.OrderNo) {
		return nil, unavailable(op, fmt.Errorf("answer trade_no=%q out_trade_no=%q for order %s", rsp.TradeNo, rsp.OutTradeNo, req.OrderNo))
	}
	return models.PayParams{"trade_no": rsp.TradeNo}, nil
}

// Query asks Alipay for the state of an order (alipay.trade.query).
//
// ACQ.TRADE_NOT_EXIST means the payer has not started paying yet (an H5 URL
// not opened): nothing can have been paid, so the order is still paying and
// the workflow closes it once it expires. TRADE_CLOSED also covers a paid
// trade refunded in full; statuses never move backwards in lianban, so that
// reading cannot undo a payment. On a timeout or an unreadable answer Query
// returns TradeUnknown with models.ErrUnavailable.
func (c *Client) Query(ctx context.Context, orderNo string) (models.Trade, error) {
	const op = "trade.query"
	unknown := models.Trade{OrderNo: orderNo, State: models.TradeUnknown}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	rsp, err := c.api.TradeQuery(ctx, sdk.TradeQuery{OutTradeNo: orderNo})
	biz, err := result(op, err, headerOf(rsp))
	if err != nil {
		return unknown, err
	}
	if biz != nil {
		switch {
		case biz.SubCode == subTradeNotExist:
			return models.Trade{OrderNo: orderNo, State: models.TradePaying}, nil
		case biz.transient():
			return unknown, biz.as(models.ErrUnavailable)
		default:
			return unknown, biz.as(models.ErrInternal)
		}
	}
	if rsp.OutTradeNo != "" && rsp.OutTradeNo != orderNo {
		return unknown, unavailable(op, fmt.Errorf("answer for order %q, asked %q", rsp.OutTradeNo, orderNo))
	}
	t := models.Trade{OrderNo: orderNo, TransactionID: rsp.TradeNo}
	switch rsp.TradeStatus {
	case sdk.TradeStatusWaitBuyerPay:
		t.State = models.TradePaying
	case sdk.TradeStatusSuccess, sdk.TradeStatusFinished:
		amount, err := yuanToFen(rsp.TotalAmount)
		if err != nil {
			return unknown, unavailable(op, err)
		}
		t.State, t.Amount, t.PaidAt = models.TradePaid, amount, parseTime(rsp.SendPayDate)
	case sdk.TradeStatusClosed:
		t.State = models.TradeClosed
	default:
		// A status this code does not know is not news about money.
		t.State = models.TradeUnknown
	}
	return t, nil
}

// Close closes an unpaid order (alipay.trade.close). It returns
// models.ErrOrderPaidAtChannel when the payer paid in the meantime, nil when
// the trade is already closed, and models.ErrNotFound when Alipay has not
// seen the trade yet: an H5 URL not opened can still be opened and paid
// until its time_expire, so nothing was closed (it used to answer nil, and
// a payer who switched to WeChat could then pay this order too).
func (c *Client) Close(ctx context.Context, orderNo string) error {
	const op = "trade.close"
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	rsp, err := c.api.TradeClose(ctx, sdk.TradeClose{OutTradeNo: orderNo})
	biz, err := result(op, err, headerOf(rsp))
	if err != nil {
		return err
	}
	if biz == nil {
		return nil
	}
	switch {
	case biz.SubCode == subTradeNotExist:
		return biz.as(models.ErrNotFound)
	case biz.SubCode == subTradeHasSuccess, biz.SubCode == subTradeHasFinished:
		return biz.as(models.ErrOrderPaidAtChannel)
	case biz.SubCode == subTradeStatusError:
		// "Only WAIT_BUYER_PAY can be closed": the trade is either paid
		// or already closed, and only a query tells which.
		t, err := c.Query(ctx, orderNo)
		if err != nil {
			return err
		}
		switch t.State {
		case models.TradePaid:
			return biz.as(models.ErrOrderPaidAtChannel)
		case models.TradeClosed:
			return nil
		default:
			return unavailable(op, fmt.Errorf("close refused (%s) but query says %s", biz.SubCode, t.State))
		}
	case biz.transient():
		return biz.as(models.ErrUnavailable)
	default:
		return biz.as(models.ErrInternal)
	}
}

// Refund pays req.Refund back on a paid order (alipay.trade.refund). The
// out_request_no is req.OutRefundNo, the same on every retry, so Alipay
// refunds it at most once.
//
// fund_change "Y" means money moved: success. "N" is Alipay's answer to a
// repeated request (or a refund still in progress), so the refund query
// decides. A refusal that leaves the money where it is yields RefundFailed
// with an error; anything that may have moved money yields RefundPending.
func (c *Client) Refund(ctx context.Context, req models.RefundRequest) (models.RefundResult, error) {
	const op = "trade.refund"
	pending := models.RefundResult{OutRefundNo: req.OutRefundNo, State: models.RefundPending, Amount: req.Refund}
	if req.OrderNo == "" || req.OutRefundNo == "" || req.Refund <= 0 || (req.Total > 0 && req.Refund > req.Total) {
		return models.RefundResult{}, fmt.Errorf("alipay refund: order %q refund %q amount %d of %d: %w",
			req.OrderNo, req.OutRefundNo, req.Refund, req.Total, models.ErrInvalid)
	}
	callCtx, cancel := c.withTimeout(ctx)
	defer cancel()
	rsp, err := c.api.TradeRefund(callCtx, sdk.TradeRefund{
		OutTradeNo:   req.OrderNo,
		RefundAmount: req.Refund.Yuan(),
		RefundReason: req.Reason,
		OutRequestNo: req.OutRefundNo,
	})
	biz, err := result(op, err, headerOf(rsp))
	if err != nil {
		return pending, err
	}
	if biz != nil {
		failed := models.RefundResult{OutRefundNo: req.OutRefundNo, State: models.RefundFailed, Amount: req.Refund}
		switch biz.SubCode {
		case subTradeNotExist, subTradeStatusError, subTradeHasFinished, subRefundOverLimit,
			subRefundFeeError, subRefundFeeInvalid, subRefundNotAllowed:
			return failed, biz.as(models.ErrInternal)
		case subDiscordantRepeat:
			// This number was used with other details, so an earlier
			// refund may have been made: pending, and an operator looks.
			return pending, biz.as(models.ErrInternal)
		case subBalanceNotEnough:
			// The merchant account is short now; the same out_request_no
			// can be retried once it is topped up.
			return pending, biz.as(models.ErrUnavailable)
		}
		if biz.transient() {
			return pending, biz.as(models.ErrUnavailable)
		}
		// Unknown refusals may hide a refund made earlier: pending.
		return pending, biz.as(models.ErrInternal)
	}
	if rsp.OutTradeNo != "" && rsp.OutTradeNo != req.OrderNo {
		return pending, unavailable(op, fmt.Errorf("answer for order %q, asked %q", rsp.OutTradeNo, req.OrderNo))
	}
	if rsp.FundChange == fundChangeYes {
		return models.RefundResult{OutRefundNo: req.OutRefundNo, State: models.RefundSuccess, Amount: req.Refund, SucceededAt: c.clock.Now()}, nil
	}
	return c.QueryRefund(ctx, req.OrderNo, req.OutRefundNo)
}

// QueryRefund asks Alipay about one refund (alipay.trade.fastpay.refund.query).
// REFUND_SUCCESS is success; no status means Alipay has not (yet) refunded
// it, which stays pending: the workflow retries Refund with the same number.
func (c *Client) QueryRefund(ctx context.Context, orderNo, outRefundNo string) (models.RefundResult, error) {
	const op = "trade.fastpay.refund.query"
	pending := models.RefundResult{OutRefundNo: outRefundNo, State: models.RefundPending}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	rsp, err := c.api.TradeFastPayRefundQuery(ctx, sdk.TradeFastPayRefundQuery{OutTradeNo: orderNo, OutRequestNo: outRefundNo})
	biz, err := result(op, err, headerOf(rsp))
	if err != nil {
		return pending, err
	}
	if biz != nil {
		if biz.transient() {
			return pending, biz.as(models.ErrUnavailable)
		}
		return pending, biz.as(models.ErrInternal)
	}
	if (rsp.OutTradeNo != "" && rsp.OutTradeNo != orderNo) || (rsp.OutRequestNo != "" && rsp.OutRequestNo != outRefundNo) {
		return pending, unavailable(op, fmt.Errorf("answer for %q/%q, asked %q/%q", rsp.OutTradeNo, rsp.OutRequestNo, orderNo, outRefundNo))
	}
	if rsp.RefundStatus != refundStatusSuccess {
		return pending, nil
	}
	amount, err := yuanToFen(rsp.RefundAmount)
	if err != nil {
		return pending, unavailable(op, err)
	}
	at := parseTime(rsp.GMTRefundPay)
	if at.IsZero() {
		at = c.clock.Now()
	}
	return models.RefundResult{OutRefundNo: outRefundNo, State: models.RefundSuccess, Amount: amount, SucceededAt: at}, nil
}
