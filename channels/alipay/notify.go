package alipay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	sdk "github.com/smartwalle/alipay/v3"

	"github.com/lianban/lianban/models"
)

// maxNotificationBytes bounds the body read from an unauthenticated caller;
// a real notification is about 1.5 KB.
const maxNotificationBytes = 64 << 10

// ParseNotification verifies and decodes an Alipay asynchronous
// notification (a form POST).
//
// Only the raw form body counts: parameters in the URL are not signed and
// are ignored. The RSA2 signature is checked with Alipay's public key (in
// certificate mode: the trusted certificate alipay_cert_sn names, see
// certRing) over every parameter except sign, sign_type and
// alipay_cert_sn; then app_id must be ours, and
// seller_id too when Config.SellerID is set. The result is
// models.ErrNotificationInvalid for a bad signature or format and
// models.ErrNotificationMismatch for a validly signed notification of another
// application or seller.
//
// Kinds: a notification with refund_fee or gmt_refund reports a refund
// (OutRefundNo is its out_biz_no; Amount is refund_fee, the trade's total
// refunded so far, which equals this refund only for the first one);
// otherwise TRADE_SUCCESS and TRADE_FINISHED report a payment (Paid, Amount
// from total_amount) and TRADE_CLOSED an order closed unpaid. ID is
// notify_id, which Alipay keeps across retries of one notification.
func (c *Client) ParseNotification(ctx context.Context, r *http.Request) (models.Notification, error) {
	if r.Method != http.MethodPost || r.Body == nil {
		return models.Notification{}, invalid("method %s without a form body", r.Method)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxNotificationBytes+1))
	if err != nil {
		return models.Notification{}, invalid("reading the body: %v", err)
	}
	if len(body) > maxNotificationBytes {
		return models.Notification{}, invalid("body over %d bytes", maxNotificationBytes)
	}
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return models.Notification{}, invalid("body is not a form: %v", err)
	}
	if values.Get("sign") == "" {
		return models.Notification{}, invalid("unsigned")
	}
	if c.ring == nil && values.Has("alipay_cert_sn") {
		// Public-key mode: Alipay names no certificate.
		return models.Notification{}, invalid("alipay_cert_sn in public-key mode")
	}
	if cs := values.Get("charset"); cs != "" && !strings.EqualFold(cs, "utf-8") {
		// lianban's requests say charset=utf-8, so Alipay notifies in UTF-8.
		return models.Notification{}, invalid("charset %q", cs)
	}
	n, err := c.decode(ctx, values)
	if err != nil {
		return models.Notification{}, err
	}
	if n.AppId != c.cfg.AppID {
		return models.Notification{}, fmt.Errorf("alipay notification: app_id %q is not ours: %w", n.AppId, models.ErrNotificationMismatch)
	}
	if c.cfg.SellerID != "" && n.SellerId != c.cfg.SellerID {
		return models.Notification{}, fmt.Errorf("alipay notification: seller_id %q is not ours: %w", n.SellerId, models.ErrNotificationMismatch)
	}
	if n.NotifyId == "" || n.OutTradeNo == "" {
		return models.Notification{}, invalid("notify_id %q out_trade_no %q", n.NotifyId, n.OutTradeNo)
	}

	out := models.Notification{
		Channel:       models.ChannelAlipay,
		ID:            n.NotifyId,
		OrderNo:       n.OutTradeNo,
		TransactionID: n.TradeNo,
	}
	if n.RefundFee != "" || n.GmtRefund != "" {
		if n.OutBizNo == "" {
			return models.Notification{}, invalid("refund without out_biz_no")
		}
		amount, err := yuanToFen(n.RefundFee)
		if err != nil {
			return models.Notification{}, invalid("refund_fee: %v", err)
		}
		out.Kind, out.OutRefundNo, out.Amount, out.AmountIsTotal = models.NotifyRefund, n.OutBizNo, amount, true
		out.RefundState = models.RefundSuccess
		out.At = c.firstTime(n.GmtRefund, n.NotifyTime)
		return out, nil
	}
	switch n.TradeStatus {
	case sdk.TradeStatusSuccess, sdk.TradeStatusFinished:
		amount, err := yuanToFen(n.TotalAmount)
		if err != nil {
			return models.Notification{}, invalid("total_amount: %v", err)
		}
		out.Kind, out.Paid, out.Amount = models.NotifyPayment, true, amount
		out.At = c.firstTime(n.GmtPayment, n.NotifyTime)
	case sdk.TradeStatusClosed:
		out.Kind, out.Paid = models.NotifyPayment, false
		if amount, err := yuanToFen(n.TotalAmount); err == nil {
			out.Amount = amount
		}
		out.At = c.firstTime(n.GmtClose, n.NotifyTime)
	default:
		// WAIT_BUYER_PAY is not sent by default and says nothing final; an
		// unknown status must not be read as "closed". Refusing it means
		// Alipay retries, which costs nothing.
		return models.Notification{}, invalid("trade_status %q", n.TradeStatus)
	}
	return out, nil
}

// decode verifies and decodes the notification's values. In certificate
// mode the certificate it names must be trusted (see certRing): a new one
// is downloaded and checked first, one that cannot be trusted is invalid.
// A notification naming no certificate is tried with each trusted one
// (alipay_cert_sn is outside the signed content, so naming one changes
// nothing else).
func (c *Client) decode(ctx context.Context, values url.Values) (*sdk.Notification, error) {
	if c.ring == nil {
		n, err := c.api.DecodeNotification(ctx, values)
		if err != nil {
			return nil, invalid("signature: %v", err)
		}
		return n, nil
	}
	if sn := values.Get("alipay_cert_sn"); sn != "" {
		if err := c.ring.ensure(ctx, sn, false); err != nil {
			if errors.Is(err, errCertUntrusted) {
				return nil, invalid("certificate: %v", err)
			}
			// The download failed: refused for now, and Alipay retries.
			return nil, invalid("certificate %s not yet trusted: %v", sn, err)
		}
		n, err := c.api.DecodeNotification(ctx, values)
		if err != nil {
			return nil, invalid("signature: %v", err)
		}
		return n, nil
	}
	for _, sn := range c.ring.knownSNs() {
		v := cloneValues(values)
		v.Set("alipay_cert_sn", sn)
		if n, err := c.api.DecodeNotification(ctx, v); err == nil {
			return n, nil
		}
	}
	return nil, invalid("signature: no trusted certificate verifies it")
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// Acknowledge answers a notification. ok writes 200 with exactly "success",
// the only answer that stops Alipay's retries; !ok writes 500 "fail", and
// Alipay retries (up to 8 times over about 25 hours).
func (c *Client) Acknowledge(w http.ResponseWriter, ok bool) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if ok {
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "success")
		return
	}
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = io.WriteString(w, "fail")
}

func (c *Client) firstTime(candidates ...string) time.Time {
	for _, s := range candidates {
		if t := parseTime(s); !t.IsZero() {
			return t
		}
	}
	return c.clock.Now()
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("alipay notification: %s: %w", fmt.Sprintf(format, args...), models.ErrNotificationInvalid)
}
