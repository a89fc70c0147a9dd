package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"

	"github.com/lianban/lianban/models"
)

// maxNotifyBody bounds a notification body; WeChat's are about 1 KB.
const maxNotifyBody = 64 << 10

// signTestPrefix starts the signature of WeChat Pay's probe requests, which
// check that merchants really verify signatures; they must be rejected.
const signTestPrefix = "WECHATPAY/SIGNTEST/"

// replayWindow is how far a notification's timestamp may be from now.
const replayWindow = 5 * time.Minute

// Event types of the notifications WeChat Pay sends to our notify URL.
const (
	eventPaid           = "TRANSACTION.SUCCESS"
	eventRefundSuccess  = "REFUND.SUCCESS"
	eventRefundAbnormal = "REFUND.ABNORMAL"
	eventRefundClosed   = "REFUND.CLOSED"
)

// RefundNotice is the decrypted resource of a REFUND.* notification; the
// SDK has no type for it.
type RefundNotice struct {
	MchID               string `json:"mchid"`
	OutTradeNo          string `json:"out_trade_no"`
	TransactionID       string `json:"transaction_id"`
	OutRefundNo         string `json:"out_refund_no"`
	RefundID            string `json:"refund_id"`
	RefundStatus        string `json:"refund_status"` // SUCCESS, CLOSED, ABNORMAL
	SuccessTime         string `json:"success_time,omitempty"`
	UserReceivedAccount string `json:"user_received_account"`
	Amount              struct {
		Total       int64 `json:"total"`
		Refund      int64 `json:"refund"`
		PayerTotal  int64 `json:"payer_total"`
		PayerRefund int64 `json:"payer_refund"`
	} `json:"amount"`
}

// ParseNotification verifies and decodes a WeChat Pay notification: a
// payment (TRANSACTION.SUCCESS) or a refund result (REFUND.SUCCESS,
// REFUND.ABNORMAL, REFUND.CLOSED).
//
// It needs r.Body untouched: the signature covers the exact bytes, so a
// body read, re-encoded or bound by middleware cannot be verified. It reads
// the body itself and leaves a fresh reader over the same bytes in r.Body.
//
// Any signature or format problem (missing headers, a WECHATPAY/SIGNTEST/
// probe, a timestamp more than five minutes from the clock, a body that does
// not verify or decrypt, an event type we do not handle) is
// models.ErrNotificationInvalid. A validly signed notification for another
// app id or merchant id is models.ErrNotificationMismatch and comes back
// filled in, so the caller can record it as an anomaly. Error texts are
// ours; the SDK's, which embed the whole request, are dropped.
func (p *Pay) ParseNotification(ctx context.Context, r *http.Request) (models.Notification, error) {
	if r.Body == nil {
		return models.Notification{}, invalid("no body")
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxNotifyBody+1))
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(raw))
	if err != nil {
		return models.Notification{}, invalid("reading the body failed")
	}
	if len(raw) > maxNotifyBody {
		return models.Notification{}, invalid("body too large")
	}

	h := r.Header
	sig, serial := h.Get("Wechatpay-Signature"), h.Get("Wechatpay-Serial")
	nonce, ts := h.Get("Wechatpay-Nonce"), h.Get("Wechatpay-Timestamp")
	if sig == "" || serial == "" || nonce == "" || ts == "" {
		return models.Notification{}, invalid("missing Wechatpay-* headers")
	}
	if strings.HasPrefix(sig, signTestPrefix) {
		return models.Notification{}, invalid("signature probe (WECHATPAY/SIGNTEST/)")
	}
	if st := h.Get("Wechatpay-Signature-Type"); st != "" && st != "WECHATPAY2-SHA256-RSA2048" {
		return models.Notification{}, invalid("unsupported signature type")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return models.Notification{}, invalid("malformed timestamp")
	}
	// Checked against our clock as well as the SDK's wall clock, so the
	// window is the one the rest of lianban lives by (and tests can fix it).
	if skew := p.clock.Now().Sub(time.Unix(sec, 0)); skew > replayWindow || skew < -replayWindow {
		return models.Notification{}, invalid("timestamp outside the 5-minute window")
	}
	// The SDK dereferences resource without checking it; make sure the
	// envelope is whole before handing it over.
	var env notify.Request
	if err := json.Unmarshal(raw, &env); err != nil || env.Resource == nil || env.ID == "" {
		return models.Notification{}, invalid("malformed envelope")
	}

	sdkReq := r.Clone(ctx)
	sdkReq.Body = io.NopCloser(bytes.NewReader(raw))
	var plaintext json.RawMessage
	nr, err := p.notify.ParseNotifyRequest(ctx, sdkReq, &plaintext)
	if err != nil {
		return models.Notification{}, invalid("signature verification or decryption failed")
	}

	switch nr.EventType {
	case eventPaid:
		return p.paymentNotification(nr, plaintext)
	case eventRefundSuccess, eventRefundAbnormal, eventRefundClosed:
		return p.refundNotification(nr, plaintext)
	}
	return models.Notification{}, invalid("unsupported event type " + strconv.Quote(nr.EventType))
}

func (p *Pay) paymentNotification(nr *notify.Request, plaintext []byte) (models.Notification, error) {
	var tx payments.Transaction
	if err := json.Unmarshal(plaintext, &tx); err != nil || deref(tx.OutTradeNo) == "" || tx.Amount == nil {
		return models.Notification{}, invalid("malformed transaction")
	}
	n := models.Notification{
		Channel:       models.ChannelWechat,
		ID:            nr.ID,
		Kind:          models.NotifyPayment,
		OrderNo:       deref(tx.OutTradeNo),
		TransactionID: deref(tx.TransactionId),
		Amount:        paidAmount(tx.Amount),
		Paid:          deref(tx.TradeState) == "SUCCESS",
		At:            p.eventTime(deref(tx.SuccessTime), nr.CreateTime),
	}
	if !p.ourAppID(deref(tx.Appid)) || deref(tx.Mchid) != p.cfg.MchID {
		return n, fmt.Errorf("%w: wechatpay notification for another app or merchant", models.ErrNotificationMismatch)
	}
	return n, nil
}

func (p *Pay) refundNotification(nr *notify.Request, plaintext []byte) (models.Notification, error) {
	var rn RefundNotice
	if err := json.Unmarshal(plaintext, &rn); err != nil || rn.OutTradeNo == "" || rn.OutRefundNo == "" {
		return models.Notification{}, invalid("malformed refund")
	}
	n := models.Notification{
		Channel:       models.ChannelWechat,
		ID:            nr.ID,
		Kind:          models.NotifyRefund,
		OrderNo:       rn.OutTradeNo,
		OutRefundNo:   rn.OutRefundNo,
		TransactionID: rn.RefundID, // WeChat's id of the refund itself
		Amount:        models.Fen(rn.Amount.Refund),
		RefundState:   refundState(rn.RefundStatus),
		At:            p.eventTime(rn.SuccessTime, nr.CreateTime),
	}
	n.RefundToMerchant = n.RefundState == models.RefundSuccess && receivedByMerchant(rn.UserReceivedAccount)
	// A refund resource names the merchant only, no app id.
	if rn.MchID != p.cfg.MchID {
		return n, fmt.Errorf("%w: wechatpay refund notification for another merchant", models.ErrNotificationMismatch)
	}
	return n, nil
}

// eventTime is when the event happened: the success time, else the
// notification's creation time, else now.
func (p *Pay) eventTime(success string, created *time.Time) time.Time {
	if t := parseTime(success); !t.IsZero() {
		return t
	}
	if created != nil {
		return created.UTC()
	}
	return p.clock.Now()
}

func invalid(why string) error {
	return fmt.Errorf("%w: wechatpay notification: %s", models.ErrNotificationInvalid, why)
}

// Acknowledge answers WeChat Pay. ok (received, or a duplicate of something
// received) is 204, which WeChat counts as delivered; !ok is 500 with
// {"code":"FAIL"}, which makes WeChat retry on its schedule (15 s … 24 h).
func (p *Pay) Acknowledge(w http.ResponseWriter, ok bool) {
	if ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = io.WriteString(w, `{"code":"FAIL","message":"失败"}`)
}
