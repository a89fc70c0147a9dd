package alipayfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
)

// Trade statuses, as Alipay spells them.
const (
	statusWait     = "WAIT_BUYER_PAY"
	statusSuccess  = "TRADE_SUCCESS"
	statusClosed   = "TRADE_CLOSED"
	productJSAPI   = "JSAPI_PAY"
	productWap     = "QUICK_WAP_WAY"
	alipayTime     = "2006-01-02 15:04:05"
	alipayMinute   = "2006-01-02 15:04"
	maxTradeAmount = models.Fen(100_000_000 * 100) // Alipay's limit: 100,000,000.00 yuan
)

type trade struct {
	outTradeNo, tradeNo string
	subject, product    string
	buyer               string // user_id, or open_id in OpenIDMode
	notifyURL           string
	returnURL           string
	amount              models.Fen
	status              string
	created, expireAt   time.Time
	paidAt, closedAt    time.Time
	notifyID            string // the payment or close notification's id
	refunds             []*refund
	refunded            models.Fen
}

type refund struct {
	outRequestNo string
	amount       models.Fen
	at           time.Time
	notifyID     string
}

func (t *trade) refund(outRequestNo string) *refund {
	for _, r := range t.refunds {
		if r.outRequestNo == outRequestNo {
			return r
		}
	}
	return nil
}

// apiErr is an Alipay business failure.
type apiErr struct{ code, msg, subCode, subMsg string }

func (e apiErr) body() map[string]any {
	return map[string]any{"code": e.code, "msg": e.msg, "sub_code": e.subCode, "sub_msg": e.subMsg}
}

func businessFailed(subCode, subMsg string) *apiErr {
	return &apiErr{"40004", "Business Failed", subCode, subMsg}
}

func invalidArguments(subCode, subMsg string) *apiErr {
	return &apiErr{"40002", "Invalid Arguments", subCode, subMsg}
}

func success(fields map[string]any) map[string]any {
	fields["code"] = "10000"
	fields["msg"] = "Success"
	return fields
}

// responseKey is the name of a method's answer object.
func responseKey(method string) string {
	return strings.ReplaceAll(method, ".", "_") + "_response"
}

// gateway is the OpenAPI entry point: form POSTs, or GETs for page methods
// (alipay.trade.wap.pay).
func (s *Server) gateway(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "unreadable form", http.StatusBadRequest)
		return
	}
	v := r.Form
	method := v.Get("method")
	key := responseKey(method)
	switch {
	case method == "":
		s.replyUnsigned(w, "error_response", apiErr{"40001", "Missing Required Arguments", "isv.missing-method", "缺少方法名参数"}.body())
		return
	case v.Get("app_id") != s.appID:
		s.replyUnsigned(w, key, invalidArguments("isv.invalid-app-id", "无效的AppID参数").body())
		return
	case v.Get("sign_type") != "RSA2":
		s.replyUnsigned(w, key, invalidArguments("isv.invalid-signature-type", "无效的签名类型").body())
		return
	case verifyRequest(&s.appKey.PublicKey, v) != nil:
		s.replyUnsigned(w, key, invalidArguments("isv.invalid-signature", "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配").body())
		return
	}
	if e := s.checkCertSNs(v); e != nil {
		s.replyUnsigned(w, key, e.body())
		return
	}

	s.mu.Lock()
	s.calls[method]++
	var fault *Fault
	if q := s.faults[method]; len(q) > 0 {
		fault, s.faults[method] = &q[0], q[1:]
	}
	s.mu.Unlock()
	if fault != nil {
		s.writeFault(w, r, key, *fault)
		return
	}

	biz := map[string]any{}
	if bc := v.Get("biz_content"); bc != "" {
		if err := json.Unmarshal([]byte(bc), &biz); err != nil {
			s.reply(w, key, invalidArguments("isv.invalid-parameter", "biz_content 不是合法的 JSON").body())
			return
		}
	}
	str := func(name string) string {
		x, _ := biz[name].(string)
		return x
	}

	var fields map[string]any
	var e *apiErr
	switch method {
	case "alipay.system.oauth.token":
		s.oauthToken(w, v)
		return
	case "alipay.trade.create":
		s.tradeCreate(w, key, v, str)
		return
	case "alipay.trade.wap.pay":
		s.wapPay(w, v, str)
		return
	case "alipay.trade.query":
		fields, e = s.tradeQuery(str)
	case "alipay.trade.close":
		fields, e = s.tradeClose(str)
	case "alipay.trade.refund":
		fields, e = s.tradeRefund(str)
	case "alipay.trade.fastpay.refund.query":
		fields, e = s.refundQuery(str)
	case "alipay.data.dataservice.bill.downloadurl.query":
		fields, e = s.billURL(r, str)
	case "alipay.open.app.alipaycert.download":
		fields, e = s.certDownload(str)
	default:
		s.replyUnsigned(w, key, invalidArguments("isv.invalid-method", "不存在的方法名").body())
		return
	}
	if e != nil {
		s.reply(w, key, e.body())
		return
	}
	s.reply(w, key, success(fields))
}

// reply writes {"<key>":<obj>,"sign":"…"} with the signature over the exact
// bytes of obj, which is what the client verifies.
func (s *Server) reply(w http.ResponseWriter, key string, obj map[string]any) {
	b, err := json.Marshal(obj)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html;charset=utf-8") // what Alipay sends
	k, sn := s.signer()
	if sn != "" {
		fmt.Fprintf(w, `{"%s":%s,"alipay_cert_sn":"%s","sign":"%s"}`, key, b, sn, rsa2(k, b))
		return
	}
	fmt.Fprintf(w, `{"%s":%s,"sign":"%s"}`, key, b, rsa2(k, b))
}

// replyUnsigned is how Alipay answers requests it could not authenticate.
func (s *Server) replyUnsigned(w http.ResponseWriter, key string, obj map[string]any) {
	b, _ := json.Marshal(obj)
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	fmt.Fprintf(w, `{"%s":%s}`, key, b)
}

func (s *Server) writeFault(w http.ResponseWriter, r *http.Request, key string, f Fault) {
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case f.Body != "":
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		fmt.Fprint(w, f.Body)
	case f.BadSignature:
		b, _ := json.Marshal(success(map[string]any{"trade_status": statusSuccess, "total_amount": "0.01"}))
		fmt.Fprintf(w, `{"%s":%s,"sign":"%s"}`, key, b, rsa2(s.appKey, b))
	case f.Code != "":
		msg := map[string]string{"20000": "Service Currently Unavailable", "40002": "Invalid Arguments", "40004": "Business Failed"}[f.Code]
		s.reply(w, key, apiErr{f.Code, msg, f.SubCode, f.SubMsg}.body())
	default:
		s.reply(w, key, success(map[string]any{}))
	}
}

func (s *Server) oauthToken(w http.ResponseWriter, v url.Values) {
	// The token API answers failures in error_response, signed.
	code := v.Get("code")
	switch {
	case v.Get("grant_type") != "authorization_code":
		s.reply(w, "error_response", invalidArguments("isv.grant-type-invalid", "grant_type 参数不正确").body())
		return
	case code == "" || strings.HasPrefix(code, "invalid"):
		s.reply(w, "error_response", invalidArguments("isv.code-invalid", "授权码code无效").body())
		return
	}
	s.mu.Lock()
	userID := s.userFor(code)
	now := s.clock.Now()
	s.mu.Unlock()
	token := "authusrB" + s.randomHex(16)
	// A successful token answer has no code field: the SDK's IsSuccess
	// and lianban's check are built around that.
	rsp := map[string]any{
		"access_token":  token,
		"expires_in":    1296000,
		"re_expires_in": 2592000,
		"refresh_token": "authusrB" + s.randomHex(16),
		"auth_start":    now.In(models.Beijing).Format(alipayTime),
	}
	if s.openIDMode {
		rsp["open_id"] = s.OpenIDFor(userID)
	} else {
		rsp["user_id"] = userID
		rsp["alipay_user_id"] = "20880" + userID[4:]
	}
	s.reply(w, responseKey("alipay.system.oauth.token"), rsp)
}

// openTrade creates the trade for an order, or returns the existing one when
// the request repeats it, as Alipay does for a repeated out_trade_no.
func (s *Server) openTrade(t trade, expire string) (*trade, *apiErr) {
	if t.outTradeNo == "" || t.subject == "" {
		return nil, invalidArguments("isv.missing-parameter", "缺少必选参数 out_trade_no 或 subject")
	}
	if t.amount <= 0 || t.amount > maxTradeAmount {
		return nil, businessFailed("ACQ.INVALID_PARAMETER", "参数无效：total_amount")
	}
	if expire != "" {
		at, err := time.ParseInLocation(alipayTime, expire, models.Beijing)
		if err != nil {
			at, err = time.ParseInLocation(alipayMinute, expire, models.Beijing)
		}
		if err != nil {
			return nil, businessFailed("ACQ.INVALID_PARAMETER", "参数无效：time_expire")
		}
		t.expireAt = at.UTC()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if !t.expireAt.IsZero() && !t.expireAt.After(now) {
		return nil, businessFailed("ACQ.INVALID_PARAMETER", "参数无效：time_expire 已过")
	}
	if old := s.trades[t.outTradeNo]; old != nil {
		s.expire(old)
		switch {
		case old.status == statusSuccess:
			return nil, businessFailed("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
		case old.status == statusClosed:
			return nil, businessFailed("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
		case old.amount != t.amount || old.product != t.product || (t.buyer != "" && old.buyer != t.buyer):
			return nil, businessFailed("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
		}
		return old, nil
	}
	s.seq++
	t.tradeNo = fmt.Sprintf("%s22001%014d", now.In(models.Beijing).Format("20060102"), s.seq)
	t.status = statusWait
	t.created = now
	nt := t
	s.trades[nt.outTradeNo] = &nt
	s.byTradeNo[nt.tradeNo] = &nt
	return &nt, nil
}

func (s *Server) tradeCreate(w http.ResponseWriter, key string, v url.Values, str func(string) string) {
	amount, err := models.ParseYuan(str("total_amount"))
	if err != nil {
		s.reply(w, key, businessFailed("ACQ.INVALID_PARAMETER", "参数无效：total_amount").body())
		return
	}
	if p := str("product_code"); p != productJSAPI {
		s.reply(w, key, businessFailed("ACQ.INVALID_PARAMETER", "参数无效：product_code "+p).body())
		return
	}
	if seller := str("seller_id"); seller != "" && seller != s.sellerID {
		s.reply(w, key, businessFailed("ACQ.INVALID_PARAMETER", "参数无效：seller_id").body())
		return
	}
	buyer := str("buyer_id")
	if s.openIDMode {
		buyer = str("buyer_open_id")
	}
	if buyer == "" {
		s.reply(w, key, businessFailed("ACQ.INVALID_PARAMETER", "参数无效：缺少买家信息").body())
		return
	}
	t, e := s.openTrade(trade{
		outTradeNo: str("out_trade_no"), subject: str("subject"), product: productJSAPI,
		buyer: buyer, notifyURL: v.Get("notify_url"), amount: amount,
	}, str("time_expire"))
	if e != nil {
		s.reply(w, key, e.body())
		return
	}
	s.reply(w, key, success(map[string]any{"out_trade_no": t.outTradeNo, "trade_no": t.tradeNo}))
}

// wapPay is the payer opening the signed cashier URL: the trade is created
// now, and the page offers to pay it.
func (s *Server) wapPay(w http.ResponseWriter, v url.Values, str func(string) string) {
	amount, err := models.ParseYuan(str("total_amount"))
	if err != nil || str("product_code") != productWap {
		http.Error(w, "支付宝：参数无效（total_amount / product_code）", http.StatusBadRequest)
		return
	}
	t, e := s.openTrade(trade{
		outTradeNo: str("out_trade_no"), subject: str("subject"), product: productWap,
		notifyURL: v.Get("notify_url"), returnURL: v.Get("return_url"), amount: amount,
	}, str("time_expire"))
	if e != nil {
		http.Error(w, "支付宝："+e.subMsg+"（"+e.subCode+"）", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = s.cashier.Execute(w, map[string]string{
		"Subject": t.subject, "Amount": t.amount.Yuan(), "OrderNo": t.outTradeNo, "TradeNo": t.tradeNo,
	})
}

const cashierPage = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>支付宝收银台（模拟）</title></head>
<body>
<h1>支付宝收银台（模拟）</h1>
<p>{{.Subject}}</p>
<p>订单号 {{.OrderNo}}，交易号 {{.TradeNo}}</p>
<p>应付 <strong>¥{{.Amount}}</strong></p>
<form method="post" action="cashier/pay">
<input type="hidden" name="out_trade_no" value="{{.OrderNo}}">
<button name="result" value="success">确认付款</button>
<button name="result" value="fail">支付失败</button>
</form>
</body></html>
`

// cashierPay is the payer pressing a button on the cashier page.
func (s *Server) cashierPay(w http.ResponseWriter, r *http.Request) {
	orderNo := r.PostFormValue("out_trade_no")
	if err := s.Pay(orderNo, r.PostFormValue("result") == "success"); err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	s.mu.Lock()
	t := s.trades[orderNo]
	returnURL, tradeNo, amount := t.returnURL, t.tradeNo, t.amount
	s.mu.Unlock()
	if returnURL == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "支付完成，请返回商户页面")
		return
	}
	// The synchronous return carries signed parameters, like Alipay's; it
	// is only a hint, the notification decides.
	q := s.Sign(url.Values{
		"app_id": {s.appID}, "seller_id": {s.sellerID}, "method": {"alipay.trade.wap.pay.return"},
		"out_trade_no": {orderNo}, "trade_no": {tradeNo}, "total_amount": {amount.Yuan()},
		"charset": {"utf-8"}, "version": {"1.0"},
		"timestamp": {s.clock.Now().In(models.Beijing).Format(alipayTime)},
	})
	sep := "?"
	if strings.Contains(returnURL, "?") {
		sep = "&"
	}
	http.Redirect(w, r, returnURL+sep+q.Encode(), http.StatusSeeOther)
}

// lookup finds a trade by out_trade_no or trade_no; s.mu is held.
func (s *Server) lookup(str func(string) string) *trade {
	t := s.trades[str("out_trade_no")]
	if t == nil {
		t = s.byTradeNo[str("trade_no")]
	}
	if t != nil {
		s.expire(t)
	}
	return t
}

// expire closes an unpaid trade whose time_expire has passed, as Alipay
// does; s.mu is held.
func (s *Server) expire(t *trade) {
	if t.status == statusWait && !t.expireAt.IsZero() && !s.clock.Now().Before(t.expireAt) {
		t.status, t.closedAt = statusClosed, t.expireAt
	}
}

func tradeNotExist() *apiErr { return businessFailed("ACQ.TRADE_NOT_EXIST", "交易不存在") }

func (s *Server) tradeQuery(str func(string) string) (map[string]any, *apiErr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookup(str)
	if t == nil {
		return nil, tradeNotExist()
	}
	rsp := map[string]any{
		"trade_no": t.tradeNo, "out_trade_no": t.outTradeNo, "trade_status": t.status,
		"total_amount": t.amount.Yuan(), "buyer_logon_id": "138******00",
	}
	if s.openIDMode {
		rsp["buyer_open_id"] = t.buyer
	} else {
		rsp["buyer_user_id"] = t.buyer
	}
	if !t.paidAt.IsZero() {
		paid := t.amount.Yuan()
		rsp["send_pay_date"] = t.paidAt.In(models.Beijing).Format(alipayTime)
		rsp["buyer_pay_amount"], rsp["receipt_amount"], rsp["invoice_amount"], rsp["point_amount"] = paid, paid, paid, "0.00"
	}
	return rsp, nil
}

func (s *Server) tradeClose(str func(string) string) (map[string]any, *apiErr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookup(str)
	if t == nil {
		return nil, tradeNotExist()
	}
	if t.status != statusWait {
		return nil, businessFailed("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	}
	t.status, t.closedAt = statusClosed, s.clock.Now()
	return map[string]any{"trade_no": t.tradeNo, "out_trade_no": t.outTradeNo}, nil
}

func (s *Server) tradeRefund(str func(string) string) (map[string]any, *apiErr) {
	amount, err := models.ParseYuan(str("refund_amount"))
	if err != nil || amount <= 0 {
		return nil, businessFailed("ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额无效")
	}
	s.mu.Lock()
	t := s.lookup(str)
	if t == nil {
		s.mu.Unlock()
		return nil, tradeNotExist()
	}
	reqNo := str("out_request_no")
	if reqNo == "" {
		reqNo = t.outTradeNo // Alipay's default: a full refund's number is the order's
	}
	answer := func(fundChange string) map[string]any {
		rsp := map[string]any{
			"trade_no": t.tradeNo, "out_trade_no": t.outTradeNo, "buyer_logon_id": "138******00",
			"fund_change": fundChange, "refund_fee": t.refunded.Yuan(),
			"gmt_refund_pay": s.clock.Now().In(models.Beijing).Format(alipayTime),
		}
		if s.openIDMode {
			rsp["buyer_open_id"] = t.buyer
		} else {
			rsp["buyer_user_id"] = t.buyer
		}
		return rsp
	}
	if old := t.refund(reqNo); old != nil {
		defer s.mu.Unlock()
		if old.amount != amount {
			return nil, businessFailed("ACQ.DISCORDANT_REPEAT_REQUEST", "不一致的请求")
		}
		return answer("N"), nil // a repeat: refunded once, no money moves
	}
	switch {
	case t.status != statusSuccess:
		s.mu.Unlock()
		return nil, businessFailed("ACQ.TRADE_STATUS_ERROR", "交易状态非法")
	case amount > t.amount-t.refunded:
		s.mu.Unlock()
		return nil, businessFailed("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
	}
	now := s.clock.Now()
	rf := &refund{outRequestNo: reqNo, amount: amount, at: now, notifyID: s.newNotifyID(now)}
	t.refunds = append(t.refunds, rf)
	t.refunded += amount
	if t.refunded == t.amount {
		t.status, t.closedAt = statusClosed, now // a full refund closes the trade
	}
	rsp := answer("Y")
	notice := s.refundNotification(t, rf)
	notifyURL := t.notifyURL
	s.mu.Unlock()
	s.dispatch(t.outTradeNo, notifyURL, notice)
	return rsp, nil
}

func (s *Server) refundQuery(str func(string) string) (map[string]any, *apiErr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookup(str)
	if t == nil {
		return nil, tradeNotExist()
	}
	reqNo := str("out_request_no")
	rsp := map[string]any{"trade_no": t.tradeNo, "out_trade_no": t.outTradeNo, "out_request_no": reqNo}
	if rf := t.refund(reqNo); rf != nil {
		// No refund_status means "not received or failed", Alipay says.
		rsp["total_amount"] = t.amount.Yuan()
		rsp["refund_amount"] = rf.amount.Yuan()
		rsp["refund_status"] = "REFUND_SUCCESS"
		rsp["gmt_refund_pay"] = rf.at.In(models.Beijing).Format(alipayTime)
	}
	return rsp, nil
}
