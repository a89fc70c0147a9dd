package wechatfake

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
)

// NotifyOptions bends a payment notification for tests. The zero value
// builds the notification WeChat would send.
type NotifyOptions struct {
	AppID, MchID string      // in the encrypted transaction (default the fake's)
	Amount       *models.Fen // total and payer_total (default the order's)
	TradeState   string      // default SUCCESS
	Timestamp    time.Time   // Wechatpay-Timestamp (default the clock's now)
	SignTest     bool        // signature starts with WECHATPAY/SIGNTEST/, as WeChat's probes do
	BadSignature bool        // a well-formed signature that does not verify
}

// Notification builds the valid, signed TRANSACTION.SUCCESS notification of
// orderNo (whether or not it has been paid), for a test to post, replay or
// tamper with. The body is the exact bytes the signature covers.
func (s *Server) Notification(orderNo string) (http.Header, []byte, error) {
	return s.BuildNotification(orderNo, NotifyOptions{})
}

// SignTestNotification is a WECHATPAY/SIGNTEST/ probe for orderNo.
func (s *Server) SignTestNotification(orderNo string) (http.Header, []byte, error) {
	return s.BuildNotification(orderNo, NotifyOptions{SignTest: true})
}

// StaleNotification is orderNo's notification correctly signed age ago.
func (s *Server) StaleNotification(orderNo string, age time.Duration) (http.Header, []byte, error) {
	return s.BuildNotification(orderNo, NotifyOptions{Timestamp: s.clock.Now().Add(-age)})
}

// ForeignNotification is orderNo's notification, correctly signed and
// encrypted, naming another app id and/or merchant id (empty keeps ours).
func (s *Server) ForeignNotification(orderNo, appID, mchID string) (http.Header, []byte, error) {
	return s.BuildNotification(orderNo, NotifyOptions{AppID: appID, MchID: mchID})
}

// AmountNotification is orderNo's notification, correctly signed, reporting
// amount instead of the order's.
func (s *Server) AmountNotification(orderNo string, amount models.Fen) (http.Header, []byte, error) {
	return s.BuildNotification(orderNo, NotifyOptions{Amount: &amount})
}

// BuildNotification builds orderNo's TRANSACTION.SUCCESS notification as
// bent by o.
func (s *Server) BuildNotification(orderNo string, o NotifyOptions) (http.Header, []byte, error) {
	now := s.clock.Now()
	s.mu.Lock()
	ord, ok := s.orders[orderNo]
	var tx transaction
	var id string
	var created time.Time
	if ok {
		// As if paid, so tests can build one before (or without) Pay.
		c := *ord
		if !c.paid() {
			c.state, c.successTime = "SUCCESS", now
		}
		tx, id, created = c.transaction(), c.notifyID, c.successTime
	}
	s.mu.Unlock()
	if !ok {
		return nil, nil, fmt.Errorf("wechatfake: no order %q", orderNo)
	}
	if o.AppID != "" {
		tx.AppID = o.AppID
	}
	if o.MchID != "" {
		tx.MchID = o.MchID
	}
	if o.Amount != nil {
		a := int64(*o.Amount)
		tx.Amount.Total, tx.Amount.PayerTotal = a, &a
	}
	if o.TradeState != "" {
		tx.TradeState, tx.TradeStateDesc = o.TradeState, tradeStateDesc(o.TradeState)
	}
	plain, err := json.Marshal(tx)
	if err != nil {
		return nil, nil, err
	}
	return s.envelope(id, "TRANSACTION.SUCCESS", "支付成功", "transaction", created, plain, o)
}

// refundNotice is the resource of a REFUND.* notification.
type refundNotice struct {
	MchID               string `json:"mchid"`
	OutTradeNo          string `json:"out_trade_no"`
	TransactionID       string `json:"transaction_id"`
	OutRefundNo         string `json:"out_refund_no"`
	RefundID            string `json:"refund_id"`
	RefundStatus        string `json:"refund_status"`
	SuccessTime         string `json:"success_time,omitempty"`
	UserReceivedAccount string `json:"user_received_account"`
	Amount              struct {
		Total       int64 `json:"total"`
		Refund      int64 `json:"refund"`
		PayerTotal  int64 `json:"payer_total"`
		PayerRefund int64 `json:"payer_refund"`
	} `json:"amount"`
}

// RefundNotification builds the REFUND.SUCCESS / REFUND.ABNORMAL /
// REFUND.CLOSED notification of a refund that has a result.
func (s *Server) RefundNotification(outRefundNo string) (http.Header, []byte, error) {
	s.mu.Lock()
	rf, ok := s.refunds[outRefundNo]
	var rn refundNotice
	var id, status string
	var at time.Time
	if ok {
		status, id, at = rf.status, rf.notifyID, rf.createdAt
		rn = refundNotice{MchID: rf.order.mchID, OutTradeNo: rf.order.outTradeNo, TransactionID: rf.order.transactionID,
			OutRefundNo: rf.outRefundNo, RefundID: rf.refundID, RefundStatus: rf.status, UserReceivedAccount: "支付用户零钱"}
		if rf.toMerchant {
			rn.UserReceivedAccount = "商户基本账户"
		}
		rn.Amount.Total, rn.Amount.Refund = rf.order.total, rf.amount
		rn.Amount.PayerTotal, rn.Amount.PayerRefund = rf.order.total, rf.amount
		if rf.status == "SUCCESS" {
			rn.SuccessTime, at = rf.successTime.In(models.Beijing).Format(time.RFC3339), rf.successTime
		}
	}
	s.mu.Unlock()
	switch {
	case !ok:
		return nil, nil, fmt.Errorf("wechatfake: no refund %q", outRefundNo)
	case status == "PROCESSING":
		return nil, nil, fmt.Errorf("wechatfake: refund %q has no result yet", outRefundNo)
	}
	plain, err := json.Marshal(rn)
	if err != nil {
		return nil, nil, err
	}
	summary := map[string]string{"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}[status]
	return s.envelope(id, "REFUND."+status, summary, "refund", at, plain, NotifyOptions{})
}

// envelope encrypts plain with the APIv3 key (AEAD_AES_256_GCM, the key's
// bytes as they are, a 12-character nonce) and signs the body like an
// answer.
func (s *Server) envelope(id, event, summary, resourceType string, created time.Time, plain []byte, o NotifyOptions) (http.Header, []byte, error) {
	block, err := aes.NewCipher([]byte(s.keys.APIv3Key))
	if err != nil {
		return nil, nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, err
	}
	nonce := randAlnum(12)
	ct := gcm.Seal(nil, []byte(nonce), plain, []byte(resourceType))
	env := struct {
		ID           string `json:"id"`
		CreateTime   string `json:"create_time"`
		ResourceType string `json:"resource_type"`
		EventType    string `json:"event_type"`
		Summary      string `json:"summary"`
		Resource     struct {
			OriginalType   string `json:"original_type"`
			Algorithm      string `json:"algorithm"`
			Ciphertext     string `json:"ciphertext"`
			AssociatedData string `json:"associated_data"`
			Nonce          string `json:"nonce"`
		} `json:"resource"`
	}{ID: id, CreateTime: created.In(models.Beijing).Format(time.RFC3339), ResourceType: "encrypt-resource",
		EventType: event, Summary: summary}
	env.Resource.OriginalType, env.Resource.Algorithm = resourceType, "AEAD_AES_256_GCM"
	env.Resource.Ciphertext = base64.StdEncoding.EncodeToString(ct)
	env.Resource.AssociatedData, env.Resource.Nonce = resourceType, nonce
	body, err := json.Marshal(env)
	if err != nil {
		return nil, nil, err
	}

	ts := o.Timestamp
	if ts.IsZero() {
		ts = s.clock.Now()
	}
	sigNonce := randAlnum(32)
	sig := s.sign(ts.Unix(), sigNonce, body)
	switch {
	case o.SignTest:
		sig = "WECHATPAY/SIGNTEST/" + sig
	case o.BadSignature:
		sig = base64.StdEncoding.EncodeToString(randBytes(256))
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Wechatpay-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("Wechatpay-Nonce", sigNonce)
	h.Set("Wechatpay-Serial", s.platformSerial())
	h.Set("Wechatpay-Signature", sig)
	h.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
	h.Set("Request-ID", "08"+strings.ToUpper(randHex(16)))
	return h, body, nil
}

// newEventID makes a notification id; WeChat's are unique per event and
// repeat on every retry of it.
func newEventID() string {
	b := randBytes(16)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Delivery is one attempt to post a notification.
type Delivery struct {
	Event   string // TRANSACTION.SUCCESS or REFUND
	Key     string // order number or refund number
	URL     string
	Attempt int // 1-based
	Status  int // HTTP status; 0 when the post failed
	Err     string
	At      time.Time
}

// Deliveries returns every delivery attempt so far, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// WaitDeliveries waits until no notification is being delivered (each has
// been acknowledged or has run out of attempts), or ctx ends.
func (s *Server) WaitDeliveries(ctx context.Context) error {
	s.mu.Lock()
	if s.pending == 0 {
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.idle = append(s.idle, ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// deliver posts a notification in the background on the retry schedule,
// rebuilding it before each attempt (WeChat signs every attempt afresh, so
// a late retry is not stale), until a 200 or 204.
func (s *Server) deliver(event, key, url string, build func() (http.Header, []byte, error)) {
	if len(s.retry) == 0 || url == "" {
		return
	}
	s.mu.Lock()
	s.pending++
	s.mu.Unlock()
	go func() {
		defer s.deliveryDone()
		for i, delay := range s.retry {
			if delay > 0 {
				t := time.NewTimer(delay)
				select {
				case <-t.C:
				case <-s.ctx.Done():
					t.Stop()
					return
				}
			}
			d := Delivery{Event: event, Key: key, URL: url, Attempt: i + 1, At: s.clock.Now()}
			d.Status, d.Err = s.post(url, build)
			s.mu.Lock()
			s.deliveries = append(s.deliveries, d)
			s.mu.Unlock()
			if d.Status == http.StatusOK || d.Status == http.StatusNoContent {
				return
			}
			s.log.Debug("wechatfake: notification not acknowledged", "event", event, "key", key, "attempt", i+1, "status", d.Status, "err", d.Err)
		}
	}()
}

func (s *Server) post(url string, build func() (http.Header, []byte, error)) (int, string) {
	h, body, err := build()
	if err != nil {
		return 0, err.Error()
	}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header = h
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	return resp.StatusCode, ""
}

func (s *Server) deliveryDone() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending--
	if s.pending == 0 {
		for _, ch := range s.idle {
			close(ch)
		}
		s.idle = nil
	}
}
