package wechatfake

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
)

// order is a JSAPI order at the fake.
type order struct {
	appID, mchID  string
	outTradeNo    string
	description   string
	openID        string
	notifyURL     string
	total         int64
	timeExpire    time.Time
	prepayID      string
	state         string // NOTPAY, SUCCESS, REFUND, CLOSED, PAYERROR
	transactionID string // reserved at prepay, shown once paid
	notifyID      string // id of the payment notification, the same on every retry
	successTime   time.Time
	createdAt     time.Time
	refunded      int64 // sum of refunds not failed
}

// Order is a snapshot of an order at the fake.
type Order struct {
	OrderNo       string
	AppID         string // the app the order was made with (mini-program or official account)
	OpenID        string
	Description   string
	Amount        models.Fen
	State         string // WeChat's trade_state
	PrepayID      string
	TransactionID string // empty until paid
	NotifyURL     string
	ExpiresAt     time.Time
	PaidAt        time.Time
	Refunded      models.Fen
}

// Order returns the order with out_trade_no orderNo.
func (s *Server) Order(orderNo string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[orderNo]
	if !ok {
		return Order{}, false
	}
	out := Order{OrderNo: o.outTradeNo, AppID: o.appID, OpenID: o.openID, Description: o.description, Amount: models.Fen(o.total),
		State: o.state, PrepayID: o.prepayID, NotifyURL: o.notifyURL, ExpiresAt: o.timeExpire,
		PaidAt: o.successTime, Refunded: models.Fen(o.refunded)}
	if o.paid() {
		out.TransactionID = o.transactionID
	}
	return out, true
}

func (o *order) paid() bool { return o.state == "SUCCESS" || o.state == "REFUND" }

// refund is a refund at the fake.
type refund struct {
	refundID    string
	outRefundNo string
	order       *order
	amount      int64
	reason      string
	notifyURL   string
	status      string // PROCESSING, SUCCESS, ABNORMAL, CLOSED
	toMerchant  bool   // an ABNORMAL refund released to the merchant's bank account
	notifyID    string
	createdAt   time.Time
	successTime time.Time
}

// Refund is a snapshot of a refund at the fake.
type Refund struct {
	OutRefundNo string
	RefundID    string
	OrderNo     string
	Amount      models.Fen
	Status      string
	SucceededAt time.Time
	// ToMerchant: the refund was ABNORMAL and released back to the
	// merchant's bank account (apply-abnormal-refund): the payer got
	// nothing, the merchant has the money again.
	ToMerchant bool
}

// Refund returns the refund with out_refund_no outRefundNo.
func (s *Server) Refund(outRefundNo string) (Refund, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refunds[outRefundNo]
	if !ok {
		return Refund{}, false
	}
	return Refund{OutRefundNo: r.outRefundNo, RefundID: r.refundID, OrderNo: r.order.outTradeNo,
		Amount: models.Fen(r.amount), Status: r.status, SucceededAt: r.successTime, ToMerchant: r.toMerchant}, true
}

// RefundCount is how many refunds the fake holds for orderNo: retries with
// the same out_refund_no must not add any.
func (s *Server) RefundCount(orderNo string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.refunds {
		if r.order.outTradeNo == orderNo {
			n++
		}
	}
	return n
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sns/jscode2session", s.jscode2session)
	mux.HandleFunc("GET /sns/oauth2/access_token", s.oauthAccessToken)
	mux.HandleFunc("GET /connect/oauth2/authorize", s.oauthAuthorize)
	mux.HandleFunc("POST /cgi-bin/stable_token", s.stableToken)
	mux.HandleFunc("POST /wxa/business/getuserphonenumber", s.phoneNumber)
	mux.HandleFunc("POST /cgi-bin/message/subscribe/send", s.subscribeSend)

	mux.Handle("POST /v3/pay/transactions/jsapi", s.payAPI(s.prepay))
	mux.Handle("GET /v3/pay/transactions/out-trade-no/{no}", s.payAPI(s.queryOrder))
	mux.Handle("POST /v3/pay/transactions/out-trade-no/{no}/close", s.payAPI(s.closeOrder))
	mux.Handle("POST /v3/refund/domestic/refunds", s.payAPI(s.createRefund))
	mux.Handle("GET /v3/refund/domestic/refunds/{no}", s.payAPI(s.queryRefund))
	mux.Handle("POST /v3/refund/domestic/refunds/{id}/apply-abnormal-refund", s.payAPI(s.applyAbnormalRefund))
	mux.Handle("GET /v3/bill/tradebill", s.payAPI(s.tradeBill))
	mux.Handle("GET /v3/billdownload/file", s.payAPI(s.billDownload))
	return mux
}

// payHandler handles a pay API call whose body has been read and whose
// merchant signature has been verified.
type payHandler func(w http.ResponseWriter, r *http.Request, body []byte)

// payAPI reads the body, verifies the merchant's Authorization and then
// calls h; like WeChat Pay it answers 401 SIGN_ERROR to anything unsigned
// or wrongly signed.
func (s *Server) payAPI(h payHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			s.payError(w, http.StatusBadRequest, "PARAM_ERROR", "读取请求失败")
			return
		}
		s.mu.Lock()
		fail := s.failNext > 0
		if fail {
			s.failNext--
		}
		s.mu.Unlock()
		if fail {
			s.payError(w, http.StatusInternalServerError, "SYSTEM_ERROR", "系统繁忙，请稍后重试")
			return
		}
		if err := s.verifyMerchant(r, body); err != nil {
			s.payError(w, http.StatusUnauthorized, "SIGN_ERROR", "签名错误: "+err.Error())
			return
		}
		h(w, r, body)
	})
}

// verifyMerchant checks the WECHATPAY2-SHA256-RSA2048 Authorization header:
// merchant id, certificate serial, a timestamp within five minutes, and an
// RSA-SHA256 signature by the merchant key over
// METHOD\nrequest-target\ntimestamp\nnonce\nbody\n.
func (s *Server) verifyMerchant(r *http.Request, body []byte) error {
	const scheme = "WECHATPAY2-SHA256-RSA2048 "
	h := r.Header.Get("Authorization")
	if !strings.HasPrefix(h, scheme) {
		return errors.New("missing or unsupported Authorization")
	}
	p := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(h, scheme), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return errors.New("malformed Authorization")
		}
		p[k] = strings.Trim(v, `"`)
	}
	switch {
	case p["mchid"] != s.mchID:
		return errors.New("unknown mchid")
	case p["serial_no"] != s.keys.MchSerial:
		return errors.New("unknown merchant certificate serial")
	case p["nonce_str"] == "":
		return errors.New("missing nonce_str")
	}
	ts, err := strconv.ParseInt(p["timestamp"], 10, 64)
	if err != nil {
		return errors.New("malformed timestamp")
	}
	if d := s.clock.Now().Sub(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("timestamp expired")
	}
	sig, err := base64.StdEncoding.DecodeString(p["signature"])
	if err != nil {
		return errors.New("signature not base64")
	}
	msg := r.Method + "\n" + r.RequestURI + "\n" + p["timestamp"] + "\n" + p["nonce_str"] + "\n" + string(body) + "\n"
	sum := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(&s.keys.MchKey.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return errors.New("signature does not verify")
	}
	return nil
}

// reply writes a signed pay API answer; v nil means no body (204).
func (s *Server) reply(w http.ResponseWriter, status int, v any) {
	var body []byte
	if v != nil {
		var err error
		if body, err = json.Marshal(v); err != nil {
			panic("wechatfake: encoding answer: " + err.Error())
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	ts, nonce := s.clock.Now().Unix(), randAlnum(32)
	w.Header().Set("Request-ID", "08"+strings.ToUpper(randHex(16)))
	w.Header().Set("Wechatpay-Timestamp", strconv.FormatInt(ts, 10))
	w.Header().Set("Wechatpay-Nonce", nonce)
	w.Header().Set("Wechatpay-Serial", s.platformSerial())
	w.Header().Set("Wechatpay-Signature", s.sign(ts, nonce, body))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *Server) payError(w http.ResponseWriter, status int, code, msg string) {
	s.reply(w, status, map[string]string{"code": code, "message": msg})
}

func (s *Server) prepay(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		AppID       string `json:"appid"`
		MchID       string `json:"mchid"`
		Description string `json:"description"`
		OutTradeNo  string `json:"out_trade_no"`
		TimeExpire  string `json:"time_expire"`
		NotifyURL   string `json:"notify_url"`
		Amount      struct {
			Total    int64  `json:"total"`
			Currency string `json:"currency"`
		} `json:"amount"`
		Payer struct {
			OpenID string `json:"openid"`
		} `json:"payer"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		s.payError(w, http.StatusBadRequest, "PARAM_ERROR", "请求体格式错误")
		return
	}
	var expire time.Time
	if req.TimeExpire != "" {
		t, err := time.Parse(time.RFC3339, req.TimeExpire)
		if err != nil || strings.Contains(req.TimeExpire, ".") {
			s.payError(w, http.StatusBadRequest, "PARAM_ERROR", "time_expire格式错误")
			return
		}
		expire = t
	}
	nu, nerr := url.Parse(req.NotifyURL)
	switch {
	case req.MchID != s.mchID:
		s.payError(w, http.StatusBadRequest, "MCH_NOT_EXISTS", "商户号不存在")
		return
	case req.AppID != s.appID && req.AppID != s.oaAppID:
		// Both the mini-program and the official account are bound to
		// the merchant; any other appid is not.
		s.payError(w, http.StatusBadRequest, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
		return
	case req.Description == "" || len(req.Description) > 127:
		s.payError(w, http.StatusBadRequest, "PARAM_ERROR", "description长度不正确")
		return
	case req.OutTradeNo == "" || len(req.OutTradeNo) > 32:
		s.payError(w, http.StatusBadRequest, "PARAM_ERROR", "out_trade_no长度不正确")
		return
	case nerr != nil || !nu.IsAbs() || nu.RawQuery != "":
		s.payError(w, http.StatusBadRequest, "PARAM_ERROR", "notify_url格式错误")
		return
	case req.Amount.Total < 1:
		s.payError(w, http.StatusBadRequest, "PARAM_ERROR", "amount.total必须大于0")
		return
	case req.Amount.Currency != "" && req.Amount.Currency != "CNY":
		s.payError(w, http.StatusBadRequest, "PARAM_ERROR", "仅支持人民币")
		return
	case req.Payer.OpenID == "":
		s.payError(w, http.StatusBadRequest, "PARAM_ERROR", "JSAPI下单缺少payer.openid")
		return
	}
	s.mu.Lock()
	if app, ok := s.openIDApp[req.Payer.OpenID]; ok && app != req.AppID {
		// An openid is valid only under the appid that issued it.
		s.mu.Unlock()
		s.payError(w, http.StatusBadRequest, "PARAM_ERROR", "appid和openid不匹配")
		return
	}
	o, exists := s.orders[req.OutTradeNo]
	switch {
	case exists && o.paid():
		s.mu.Unlock()
		s.payError(w, http.StatusBadRequest, "ORDERPAID", "该订单已支付")
		return
	case exists && o.state == "CLOSED":
		s.mu.Unlock()
		s.payError(w, http.StatusBadRequest, "ORDER_CLOSED", "该订单已关闭")
		return
	case exists && (o.total != req.Amount.Total || o.openID != req.Payer.OpenID):
		s.mu.Unlock()
		s.payError(w, http.StatusBadRequest, "INVALID_REQUEST", "201 商户订单号重复")
		return
	case !exists:
		o = &order{appID: req.AppID, mchID: req.MchID, outTradeNo: req.OutTradeNo, description: req.Description,
			openID: req.Payer.OpenID, notifyURL: req.NotifyURL, total: req.Amount.Total, timeExpire: expire,
			prepayID: "wx" + randHex(16), state: "NOTPAY", transactionID: "4200" + randDigits(24),
			notifyID: newEventID(), createdAt: s.clock.Now()}
		s.orders[req.OutTradeNo] = o
	}
	prepayID := o.prepayID
	s.mu.Unlock()
	s.reply(w, http.StatusOK, map[string]string{"prepay_id": prepayID})
}

func (s *Server) queryOrder(w http.ResponseWriter, r *http.Request, _ []byte) {
	if r.URL.Query().Get("mchid") != s.mchID {
		s.payError(w, http.StatusBadRequest, "PARAM_ERROR", "mchid不正确")
		return
	}
	s.mu.Lock()
	o, ok := s.orders[r.PathValue("no")]
	var tx transaction
	if ok {
		tx = o.transaction()
	}
	s.mu.Unlock()
	if !ok {
		s.payError(w, http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
		return
	}
	s.reply(w, http.StatusOK, tx)
}

func (s *Server) closeOrder(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		MchID string `json:"mchid"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.MchID != s.mchID {
		s.payError(w, http.StatusBadRequest, "PARAM_ERROR", "mchid不正确")
		return
	}
	s.mu.Lock()
	o, ok := s.orders[r.PathValue("no")]
	var paid bool
	if ok {
		if paid = o.paid(); !paid {
			o.state = "CLOSED"
		}
	}
	s.mu.Unlock()
	switch {
	case !ok:
		s.payError(w, http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
	case paid:
		s.payError(w, http.StatusBadRequest, "ORDERPAID", "订单已支付")
	default:
		s.reply(w, http.StatusNoContent, nil)
	}
}

// transaction is WeChat Pay's transaction resource, as the query answers and
// the payment notification carries it.
type transaction struct {
	AppID          string    `json:"appid"`
	MchID          string    `json:"mchid"`
	OutTradeNo     string    `json:"out_trade_no"`
	TransactionID  string    `json:"transaction_id,omitempty"`
	TradeType      string    `json:"trade_type,omitempty"`
	TradeState     string    `json:"trade_state"`
	TradeStateDesc string    `json:"trade_state_desc"`
	BankType       string    `json:"bank_type,omitempty"`
	Attach         string    `json:"attach"`
	SuccessTime    string    `json:"success_time,omitempty"`
	Payer          txPayer   `json:"payer"`
	Amount         txAmounts `json:"amount"`
}

type txPayer struct {
	OpenID string `json:"openid"`
}

type txAmounts struct {
	Total         int64  `json:"total"`
	PayerTotal    *int64 `json:"payer_total,omitempty"`
	Currency      string `json:"currency"`
	PayerCurrency string `json:"payer_currency,omitempty"`
}

// tradeStateDesc is WeChat's trade_state_desc for a trade_state.
func tradeStateDesc(state string) string {
	switch state {
	case "SUCCESS":
		return "支付成功"
	case "REFUND":
		return "转入退款"
	case "NOTPAY":
		return "未支付"
	case "CLOSED":
		return "已关闭"
	case "PAYERROR":
		return "支付失败"
	}
	return ""
}

func (o *order) transaction() transaction {
	tx := transaction{AppID: o.appID, MchID: o.mchID, OutTradeNo: o.outTradeNo, TradeState: o.state,
		TradeStateDesc: tradeStateDesc(o.state), Payer: txPayer{OpenID: o.openID},
		Amount: txAmounts{Total: o.total, Currency: "CNY"}}
	if o.paid() {
		total := o.total
		tx.TransactionID, tx.TradeType, tx.BankType = o.transactionID, "JSAPI", "OTHERS"
		tx.SuccessTime = o.successTime.In(models.Beijing).Format(time.RFC3339)
		tx.Amount.PayerTotal, tx.Amount.PayerCurrency = &total, "CNY"
	}
	return tx
}

// Pay simulates the payer at WeChat's cashier. success marks the order paid
// and delivers a signed TRANSACTION.SUCCESS notification to its notify_url
// in the background (see Options.NotifyRetry and WaitDeliveries); !success
// is a failed payment (PAYERROR), which WeChat does not notify. An unknown,
// paid, closed or expired order is an error, as the cashier would refuse it.
func (s *Server) Pay(orderNo string, success bool) error {
	now := s.clock.Now()
	s.mu.Lock()
	o, ok := s.orders[orderNo]
	var err error
	switch {
	case !ok:
		err = fmt.Errorf("wechatfake: no order %q", orderNo)
	case o.paid():
		err = fmt.Errorf("wechatfake: order %q is already paid", orderNo)
	case o.state == "CLOSED":
		err = fmt.Errorf("wechatfake: order %q is closed", orderNo)
	case !o.timeExpire.IsZero() && now.After(o.timeExpire):
		err = fmt.Errorf("wechatfake: order %q expired at %s", orderNo, o.timeExpire.Format(time.RFC3339))
	case !success:
		o.state = "PAYERROR"
	default:
		o.state, o.successTime = "SUCCESS", now
	}
	var notifyURL string
	if ok {
		notifyURL = o.notifyURL
	}
	s.mu.Unlock()
	if err != nil || !success {
		return err
	}
	s.deliver("TRANSACTION.SUCCESS", orderNo, notifyURL, func() (http.Header, []byte, error) {
		return s.BuildNotification(orderNo, NotifyOptions{})
	})
	return nil
}

func (s *Server) createRefund(w http.ResponseWriter, _ *http.Request, body []byte) {
	var req struct {
		TransactionID string `json:"transaction_id"`
		OutTradeNo    string `json:"out_trade_no"`
		OutRefundNo   string `json:"out_refund_no"`
		Reason        string `json:"reason"`
		NotifyURL     string `json:"notify_url"`
		Amount        struct {
			Refund   int64  `json:"refund"`
			Total    int64  `json:"total"`
			Currency string `json:"currency"`
		} `json:"amount"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.OutRefundNo == "" || len(req.OutRefundNo) > 64 {
		s.payError(w, http.StatusBadRequest, "PARAM_ERROR", "参数错误")
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	o := s.orders[req.OutTradeNo]
	if o == nil && req.TransactionID != "" {
		for _, c := range s.orders {
			if c.paid() && c.transactionID == req.TransactionID {
				o = c
			}
		}
	}
	if o == nil {
		s.mu.Unlock()
		s.payError(w, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单不存在")
		return
	}
	// The same out_refund_no refunds once: a retry gets the refund back.
	if rf, ok := s.refunds[req.OutRefundNo]; ok {
		same := rf.order == o && rf.amount == req.Amount.Refund
		out := rf.resource()
		s.mu.Unlock()
		if !same {
			s.payError(w, http.StatusBadRequest, "INVALID_REQUEST", "退款单号已存在且参数不一致")
			return
		}
		s.reply(w, http.StatusOK, out)
		return
	}
	switch {
	case !o.paid():
		s.mu.Unlock()
		s.payError(w, http.StatusBadRequest, "INVALID_REQUEST", "订单未支付，不能退款")
		return
	case req.Amount.Total != o.total:
		s.mu.Unlock()
		s.payError(w, http.StatusBadRequest, "PARAM_ERROR", "订单金额与原订单不一致")
		return
	case req.Amount.Refund < 1 || o.refunded+req.Amount.Refund > o.total:
		s.mu.Unlock()
		s.payError(w, http.StatusBadRequest, "INVALID_REQUEST", "退款金额超过订单可退金额")
		return
	}
	rf := &refund{refundID: "503" + randDigits(26), outRefundNo: req.OutRefundNo, order: o, amount: req.Amount.Refund,
		reason: req.Reason, notifyURL: or(req.NotifyURL, o.notifyURL), status: "PROCESSING",
		notifyID: newEventID(), createdAt: now}
	if !s.manualRefunds {
		rf.status, rf.successTime = "SUCCESS", now
	}
	s.refunds[req.OutRefundNo] = rf
	o.refunded += rf.amount
	o.state = "REFUND"
	out := rf.resource()
	s.mu.Unlock()
	s.reply(w, http.StatusOK, out)
	if out.Status == "SUCCESS" {
		s.deliverRefund(out.OutRefundNo, rf.notifyURL)
	}
}

// CompleteRefund ends a PROCESSING refund (Options.ManualRefunds): success
// or ABNORMAL, and notifies REFUND.SUCCESS or REFUND.ABNORMAL.
func (s *Server) CompleteRefund(outRefundNo string, success bool) error {
	now := s.clock.Now()
	s.mu.Lock()
	rf, ok := s.refunds[outRefundNo]
	switch {
	case !ok:
		s.mu.Unlock()
		return fmt.Errorf("wechatfake: no refund %q", outRefundNo)
	case rf.status != "PROCESSING":
		s.mu.Unlock()
		return fmt.Errorf("wechatfake: refund %q is already %s", outRefundNo, rf.status)
	case success:
		rf.status, rf.successTime = "SUCCESS", now
	default:
		rf.status = "ABNORMAL"
		rf.order.refunded -= rf.amount // the money did not leave
	}
	notifyURL := rf.notifyURL
	s.mu.Unlock()
	s.deliverRefund(outRefundNo, notifyURL)
	return nil
}

// SettleAbnormalRefund is a person at the merchant platform paying an
// ABNORMAL refund out by hand (to a card the payer gave): the refund
// succeeds, the money leaves, and REFUND.SUCCESS is sent as a new event.
func (s *Server) SettleAbnormalRefund(outRefundNo string) error {
	now := s.clock.Now()
	s.mu.Lock()
	rf, ok := s.refunds[outRefundNo]
	if !ok || rf.status != "ABNORMAL" {
		s.mu.Unlock()
		return fmt.Errorf("wechatfake: refund %q is not abnormal", outRefundNo)
	}
	rf.status, rf.successTime, rf.notifyID = "SUCCESS", now, newEventID()
	rf.order.refunded += rf.amount
	notifyURL := rf.notifyURL
	s.mu.Unlock()
	s.deliverRefund(outRefundNo, notifyURL)
	return nil
}

// ReturnAbnormalRefundAtPlatform is a person at the merchant platform
// sending an ABNORMAL refund back to the merchant's bank account: the
// refund succeeds with user_received_account 商户基本账户, the payer gets
// nothing (the order's refunded total stays without it), and
// REFUND.SUCCESS is sent as a new event.
func (s *Server) ReturnAbnormalRefundAtPlatform(outRefundNo string) error {
	now := s.clock.Now()
	s.mu.Lock()
	rf, ok := s.refunds[outRefundNo]
	if !ok || rf.status != "ABNORMAL" {
		s.mu.Unlock()
		return fmt.Errorf("wechatfake: refund %q is not abnormal", outRefundNo)
	}
	rf.status, rf.successTime, rf.toMerchant, rf.notifyID = "SUCCESS", now, true, newEventID()
	notifyURL := rf.notifyURL
	s.mu.Unlock()
	s.deliverRefund(outRefundNo, notifyURL)
	return nil
}

// applyAbnormalRefund releases an ABNORMAL refund, named by WeChat's
// refund_id: MERCHANT_BANK_CARD sends the money to the merchant's bank
// account (the order's refunded total stays without it: the payer got
// nothing), USER_BANK_CARD would need the payer's card, which this fake
// does not take. The refund then succeeds and REFUND.SUCCESS is sent, as
// WeChat does.
func (s *Server) applyAbnormalRefund(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		OutRefundNo string `json:"out_refund_no"`
		Type        string `json:"type"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.OutRefundNo == "" {
		s.payError(w, http.StatusBadRequest, "PARAM_ERROR", "参数错误")
		return
	}
	if req.Type != "MERCHANT_BANK_CARD" {
		s.payError(w, http.StatusBadRequest, "PARAM_ERROR", "不支持的异常退款类型")
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	rf, ok := s.refunds[req.OutRefundNo]
	switch {
	case !ok || rf.refundID != r.PathValue("id"):
		s.mu.Unlock()
		s.payError(w, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "退款单不存在")
		return
	case rf.status != "ABNORMAL":
		s.mu.Unlock()
		s.payError(w, http.StatusBadRequest, "INVALID_REQUEST", "退款单状态不正确，非异常退款")
		return
	}
	rf.status, rf.successTime, rf.toMerchant = "SUCCESS", now, true
	rf.notifyID = newEventID()
	out := rf.resource()
	notifyURL := rf.notifyURL
	s.mu.Unlock()
	s.reply(w, http.StatusOK, out)
	s.deliverRefund(req.OutRefundNo, notifyURL)
}

func (s *Server) deliverRefund(outRefundNo, notifyURL string) {
	s.deliver("REFUND", outRefundNo, notifyURL, func() (http.Header, []byte, error) {
		return s.RefundNotification(outRefundNo)
	})
}

func (s *Server) queryRefund(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	rf, ok := s.refunds[r.PathValue("no")]
	var out refundResource
	if ok {
		out = rf.resource()
	}
	s.mu.Unlock()
	if !ok {
		s.payError(w, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "退款单不存在")
		return
	}
	s.reply(w, http.StatusOK, out)
}

// refundResource is the refund as the refund APIs answer it.
type refundResource struct {
	RefundID            string        `json:"refund_id"`
	OutRefundNo         string        `json:"out_refund_no"`
	TransactionID       string        `json:"transaction_id"`
	OutTradeNo          string        `json:"out_trade_no"`
	Channel             string        `json:"channel"`
	UserReceivedAccount string        `json:"user_received_account"`
	SuccessTime         string        `json:"success_time,omitempty"`
	CreateTime          string        `json:"create_time"`
	Status              string        `json:"status"`
	FundsAccount        string        `json:"funds_account"`
	Amount              refundAmounts `json:"amount"`
	PromotionDetail     []struct{}    `json:"promotion_detail"`
}

type refundAmounts struct {
	Total            int64      `json:"total"`
	Refund           int64      `json:"refund"`
	From             []struct{} `json:"from"`
	PayerTotal       int64      `json:"payer_total"`
	PayerRefund      int64      `json:"payer_refund"`
	SettlementRefund int64      `json:"settlement_refund"`
	SettlementTotal  int64      `json:"settlement_total"`
	DiscountRefund   int64      `json:"discount_refund"`
	Currency         string     `json:"currency"`
}

func (rf *refund) resource() refundResource {
	out := refundResource{RefundID: rf.refundID, OutRefundNo: rf.outRefundNo, TransactionID: rf.order.transactionID,
		OutTradeNo: rf.order.outTradeNo, Channel: "ORIGINAL", UserReceivedAccount: "支付用户零钱",
		CreateTime: rf.createdAt.In(models.Beijing).Format(time.RFC3339), Status: rf.status, FundsAccount: "AVAILABLE",
		PromotionDetail: []struct{}{},
		Amount: refundAmounts{Total: rf.order.total, Refund: rf.amount, From: []struct{}{}, PayerTotal: rf.order.total,
			PayerRefund: rf.amount, SettlementRefund: rf.amount, SettlementTotal: rf.order.total, Currency: "CNY"}}
	if rf.toMerchant {
		out.UserReceivedAccount = "商户基本账户"
	}
	if rf.status == "SUCCESS" {
		out.SuccessTime = rf.successTime.In(models.Beijing).Format(time.RFC3339)
	}
	return out
}
