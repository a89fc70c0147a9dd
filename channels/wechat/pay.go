package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/cipher/decryptors"
	"github.com/wechatpay-apiv3/wechatpay-go/core/cipher/encryptors"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"

	"github.com/lianban/lianban/models"
)

// defaultDescription is the order description when the caller gives none;
// the payer sees it in WeChat's payment record.
const defaultDescription = "社会保险费"

// Limits WeChat Pay puts on fields; checked here so the caller gets a clear
// error instead of WeChat's PARAM_ERROR.
const (
	maxOutTradeNo  = 32
	maxDescription = 127 // bytes
	maxReason      = 80  // characters
)

// Pay is the WeChat Pay v3 channel for JSAPI (mini-program) payments. It is
// safe for concurrent use.
type Pay struct {
	cfg     Config
	clock   models.Clock
	client  *core.Client
	bills   *core.Client // same credentials, no response check: bill files are not signed
	jsapi   jsapi.JsapiApiService
	refunds refunddomestic.RefundsApiService
	notify  *notify.Handler
	timeout time.Duration
	payHost string // host of PayAPIBase, allowed in a bill download_url
}

var (
	_ models.PaymentChannel = (*Pay)(nil)
	_ models.BillSource     = (*Pay)(nil)
)

// NewPay returns the WeChat Pay channel for cfg. The key mode follows cfg:
// public key (PubKeyID + PubKey), platform certificates (PlatformCerts), or
// both during a migration. hc carries the calls (nil: a client with cfg's
// timeout); requests for api.mch.weixin.qq.com are sent to cfg.PayAPIBase.
// clock decides the notification replay window (nil: the system clock).
func NewPay(ctx context.Context, cfg Config, hc *http.Client, clock models.Clock) (*Pay, error) {
	if err := cfg.ValidatePay(); err != nil {
		return nil, err
	}
	if clock == nil {
		clock = models.SystemClock{}
	}
	target, err := url.Parse(cfg.payAPIBase())
	if err != nil {
		return nil, fmt.Errorf("wechat: PayAPIBase: %w", err)
	}
	var client http.Client
	if hc != nil {
		client = *hc // a copy: the caller's client keeps its own transport
	} else {
		client.Timeout = cfg.timeout()
	}
	base := client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	client.Transport = &hostRewriter{base: base, scheme: target.Scheme, host: target.Host}

	verifier, authOpt := authOptions(cfg)
	c, err := core.NewClient(ctx, option.WithHTTPClient(&client), authOpt)
	if err != nil {
		return nil, fmt.Errorf("wechat: creating the WeChat Pay client: %w", err)
	}
	h, err := notify.NewRSANotifyHandler(cfg.APIv3Key, verifier)
	if err != nil {
		return nil, fmt.Errorf("wechat: APIv3 key: %w", err)
	}
	return &Pay{
		cfg:     cfg,
		clock:   clock,
		client:  c,
		bills:   core.NewClientWithValidator(c, &validators.NullValidator{}),
		jsapi:   jsapi.JsapiApiService{Client: c},
		refunds: refunddomestic.RefundsApiService{Client: c},
		notify:  h,
		timeout: cfg.timeout(),
		payHost: target.Host,
	}, nil
}

// authOptions picks the verifier for responses and notifications, and the
// SDK option that installs it with the merchant signer.
func authOptions(cfg Config) (auth.Verifier, core.ClientOption) {
	switch {
	case cfg.PubKey != nil && len(cfg.PlatformCerts) > 0:
		// Migrating between modes: WeChat Pay may sign with either, and
		// names which in Wechatpay-Serial.
		v := verifiers.NewSHA256WithRSACombinedVerifier(core.NewCertificateMapWithList(cfg.PlatformCerts), cfg.PubKeyID, *cfg.PubKey)
		return v, multiOption{
			option.WithMerchantCredential(cfg.MchID, cfg.MchSerial, cfg.MchKey),
			option.WithVerifier(v),
			option.WithWechatPayCipher(
				encryptors.NewWechatPayPubKeyEncryptor(cfg.PubKeyID, *cfg.PubKey),
				decryptors.NewWechatPayDecryptor(cfg.MchKey)),
		}
	case cfg.PubKey != nil:
		return verifiers.NewSHA256WithRSAPubkeyVerifier(cfg.PubKeyID, *cfg.PubKey),
			option.WithWechatPayPublicKeyAuthCipher(cfg.MchID, cfg.MchSerial, cfg.MchKey, cfg.PubKeyID, cfg.PubKey)
	default:
		return verifiers.NewSHA256WithRSAVerifier(core.NewCertificateMapWithList(cfg.PlatformCerts)),
			option.WithWechatPayAuthCipher(cfg.MchID, cfg.MchSerial, cfg.MchKey, cfg.PlatformCerts)
	}
}

// multiOption applies several SDK options as one.
type multiOption []core.ClientOption

func (m multiOption) Apply(s *core.DialSettings) error {
	for _, o := range m {
		if err := o.Apply(s); err != nil {
			return err
		}
	}
	return nil
}

// hostRewriter sends requests for WeChat Pay's hosts to the configured base
// (a fake, a staging proxy). The SDK's URLs are a constant host; the
// merchant signature does not cover the host, so rewriting keeps it valid.
type hostRewriter struct {
	base         http.RoundTripper
	scheme, host string
}

func isWechatPayHost(h string) bool {
	return h == "api.mch.weixin.qq.com" || h == "api2.mch.weixin.qq.com"
}

func (t *hostRewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	if isWechatPayHost(r.URL.Host) && (r.URL.Host != t.host || r.URL.Scheme != t.scheme) {
		r = r.Clone(r.Context()) // a RoundTripper must not modify its request
		r.URL.Scheme, r.URL.Host, r.Host = t.scheme, t.host, ""
	}
	return t.base.RoundTrip(r)
}

// Name is the channel name, "wechat".
func (p *Pay) Name() string { return models.ChannelWechat }

// Prepay opens a JSAPI order and returns what wx.requestPayment takes:
// appId, timeStamp, nonceStr, package ("prepay_id=…"), signType ("RSA") and
// paySign (RSA-SHA256 by the merchant key). Asking again with the same
// order number and amount gets the same prepay_id from WeChat.
func (p *Pay) Prepay(ctx context.Context, req models.PrepayRequest) (models.PayParams, error) {
	switch {
	case req.OrderNo == "" || len(req.OrderNo) > maxOutTradeNo:
		return nil, fmt.Errorf("%w: wechatpay prepay: order number must be 1-%d characters", models.ErrInvalid, maxOutTradeNo)
	case req.Amount <= 0:
		return nil, fmt.Errorf("%w: wechatpay prepay: amount must be positive", models.ErrInvalid)
	case req.Payer.Subject == "":
		return nil, fmt.Errorf("%w: wechatpay prepay: JSAPI needs the payer's openid", models.ErrInvalid)
	}
	appID, err := p.payerAppID(req.Payer.Channel)
	if err != nil {
		return nil, err
	}
	desc := req.Description
	if desc == "" {
		desc = defaultDescription
	}
	pr := jsapi.PrepayRequest{
		Appid:       core.String(appID),
		Mchid:       core.String(p.cfg.MchID),
		Description: core.String(truncateBytes(desc, maxDescription)),
		OutTradeNo:  core.String(req.OrderNo),
		NotifyUrl:   core.String(p.cfg.NotifyURL),
		Amount:      &jsapi.Amount{Total: core.Int64(int64(req.Amount)), Currency: core.String("CNY")},
		Payer:       &jsapi.Payer{Openid: core.String(req.Payer.Subject)},
	}
	if !req.ExpiresAt.IsZero() {
		// WeChat wants yyyy-MM-ddTHH:mm:ss+08:00: whole seconds (Go would
		// add a fraction) in Beijing time.
		t := req.ExpiresAt.Truncate(time.Second).In(models.Beijing)
		pr.TimeExpire = &t
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	resp, _, err := p.jsapi.PrepayWithRequestPayment(ctx, pr)
	if err != nil {
		return nil, mapAPIError("prepay", err, map[string]*models.Error{
			"ORDERPAID":    models.ErrOrderPaidAtChannel,
			"ORDER_CLOSED": models.ErrOrderNotPayable,
		})
	}
	if resp.PrepayId == nil || *resp.PrepayId == "" || resp.PaySign == nil {
		return nil, fmt.Errorf("%w: wechatpay prepay: answer without prepay_id", models.ErrUnavailable)
	}
	return models.PayParams{
		"appId":     deref(resp.Appid),
		"timeStamp": deref(resp.TimeStamp),
		"nonceStr":  deref(resp.NonceStr),
		"package":   deref(resp.Package),
		"signType":  deref(resp.SignType),
		"paySign":   deref(resp.PaySign),
	}, nil
}

// payerAppID is the appid a JSAPI order of a payer of login channel ch is
// made with: an openid is only valid under the appid that issued it, so a
// mini-program user pays with the mini-program's appid and a 微信城市服务
// (official account) user with the official account's.
func (p *Pay) payerAppID(ch string) (string, error) {
	var appID string
	switch ch {
	case models.ChannelWechat, "":
		appID = p.cfg.AppID
	case models.ChannelWechatWeb:
		appID = p.cfg.OAAppID
	default:
		return "", fmt.Errorf("%w: wechatpay prepay: payer is a %s user, not a WeChat one", models.ErrChannelUnsupported, ch)
	}
	if appID == "" {
		return "", fmt.Errorf("%w: wechatpay prepay: no appid configured for %s payers", models.ErrChannelUnsupported, ch)
	}
	return appID, nil
}

// ourAppID reports whether appID is one of the configured apps (the
// mini-program or the official account) and nothing else: a transaction
// of any other app is not ours, even under our merchant id.
func (p *Pay) ourAppID(appID string) bool {
	return appID != "" && (appID == p.cfg.AppID || appID == p.cfg.OAAppID)
}

// Query asks WeChat Pay for the order's state. SUCCESS (and REFUND, a paid
// order since refunded) is paid; NOTPAY and USERPAYING are paying; CLOSED,
// REVOKED and PAYERROR are closed; anything else is unknown. An order WeChat
// has never seen (the prepay never reached it) is models.ErrNotFound.
func (p *Pay) Query(ctx context.Context, orderNo string) (models.Trade, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	tx, _, err := p.jsapi.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{
		OutTradeNo: core.String(orderNo),
		Mchid:      core.String(p.cfg.MchID),
	})
	if err != nil {
		return models.Trade{}, mapAPIError("query", err, map[string]*models.Error{"ORDER_NOT_EXIST": models.ErrNotFound})
	}
	if got := deref(tx.OutTradeNo); got != orderNo {
		return models.Trade{}, fmt.Errorf("%w: wechatpay query: answer is about order %q", models.ErrUnavailable, got)
	}
	if !p.ourAppID(deref(tx.Appid)) || deref(tx.Mchid) != p.cfg.MchID {
		// Signed by WeChat Pay, yet for an app or merchant not ours: not
		// something to settle an order by. Unknown, never failed.
		return models.Trade{}, fmt.Errorf("%w: wechatpay query: answer names app %q merchant %q", models.ErrUnavailable, deref(tx.Appid), deref(tx.Mchid))
	}
	t := models.Trade{
		OrderNo:       orderNo,
		State:         tradeState(deref(tx.TradeState)),
		Amount:        paidAmount(tx.Amount),
		TransactionID: deref(tx.TransactionId),
	}
	if t.State == models.TradePaid {
		t.PaidAt = parseTime(deref(tx.SuccessTime))
	}
	return t, nil
}

func tradeState(s string) models.TradeState {
	switch s {
	case "SUCCESS", "REFUND":
		return models.TradePaid
	case "NOTPAY", "USERPAYING":
		return models.TradePaying
	case "CLOSED", "REVOKED", "PAYERROR":
		return models.TradeClosed
	}
	return models.TradeUnknown
}

// paidAmount is what the payer paid (payer_total), falling back to the
// order total: with no coupons on a government fee the two are equal, and if
// they ever differ the settlement's amount check should see the difference.
func paidAmount(a *payments.TransactionAmount) models.Fen {
	if a == nil {
		return 0
	}
	if a.PayerTotal != nil {
		return models.Fen(*a.PayerTotal)
	}
	if a.Total != nil {
		return models.Fen(*a.Total)
	}
	return 0
}

// Close closes an unpaid order. models.ErrOrderPaidAtChannel means the payer
// paid in the meantime (ORDERPAID). An order already closed, or never opened
// at WeChat, is closed as far as anyone can pay it: nil.
func (p *Pay) Close(ctx context.Context, orderNo string) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	_, err := p.jsapi.CloseOrder(ctx, jsapi.CloseOrderRequest{
		OutTradeNo: core.String(orderNo),
		Mchid:      core.String(p.cfg.MchID),
	})
	if err == nil || core.IsAPIError(err, "ORDER_CLOSED") || core.IsAPIError(err, "ORDER_NOT_EXIST") {
		return nil
	}
	return mapAPIError("close", err, map[string]*models.Error{"ORDERPAID": models.ErrOrderPaidAtChannel})
}

// Refund asks WeChat Pay to pay req.Refund back to the payer. WeChat refunds
// an out_refund_no at most once, so a retry after a timeout must reuse it;
// the answer usually says pending, and QueryRefund or the REFUND.*
// notification gives the end. NOT_ENOUGH (the merchant balance cannot cover
// it yet) is models.ErrUnavailable: retry later with the same number.
func (p *Pay) Refund(ctx context.Context, req models.RefundRequest) (models.RefundResult, error) {
	switch {
	case req.OrderNo == "" || req.OutRefundNo == "":
		return models.RefundResult{}, fmt.Errorf("%w: wechatpay refund: order and refund numbers are required", models.ErrInvalid)
	case req.Refund <= 0 || req.Refund > req.Total:
		return models.RefundResult{}, fmt.Errorf("%w: wechatpay refund: refund must be within the order total", models.ErrInvalid)
	}
	cr := refunddomestic.CreateRequest{
		OutTradeNo:  core.String(req.OrderNo),
		OutRefundNo: core.String(req.OutRefundNo),
		NotifyUrl:   core.String(p.cfg.NotifyURL),
		Amount: &refunddomestic.AmountReq{
			Refund:   core.Int64(int64(req.Refund)),
			Total:    core.Int64(int64(req.Total)),
			Currency: core.String("CNY"),
		},
	}
	if req.Reason != "" {
		cr.Reason = core.String(truncateRunes(req.Reason, maxReason))
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	r, _, err := p.refunds.Create(ctx, cr)
	if core.IsAPIError(err, "USER_ACCOUNT_ABNORMAL") {
		// WeChat cannot pay this user back through the original route; the
		// refund must go another way (the bank account on the application).
		return models.RefundResult{OutRefundNo: req.OutRefundNo, State: models.RefundFailed, Amount: req.Refund}, nil
	}
	if err != nil {
		return models.RefundResult{}, mapAPIError("refund", err, map[string]*models.Error{
			"NOT_ENOUGH":          models.ErrUnavailable,
			"RESOURCE_NOT_EXISTS": models.ErrNotFound,
		})
	}
	return refundResult(r), nil
}

// QueryRefund asks WeChat Pay where a refund is: SUCCESS is success,
// PROCESSING pending, CLOSED failed and ABNORMAL abnormal (WeChat holds the
// money until it is released).
func (p *Pay) QueryRefund(ctx context.Context, orderNo, outRefundNo string) (models.RefundResult, error) {
	if outRefundNo == "" {
		return models.RefundResult{}, fmt.Errorf("%w: wechatpay refund query: refund number is required", models.ErrInvalid)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	r, _, err := p.refunds.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(outRefundNo)})
	if err != nil {
		return models.RefundResult{}, mapAPIError("refund query", err, map[string]*models.Error{"RESOURCE_NOT_EXISTS": models.ErrNotFound})
	}
	if got := deref(r.OutTradeNo); orderNo != "" && got != "" && got != orderNo {
		return models.RefundResult{}, fmt.Errorf("%w: wechatpay refund query: refund %s belongs to order %q", models.ErrInternal, outRefundNo, got)
	}
	return refundResult(r), nil
}

func refundResult(r *refunddomestic.Refund) models.RefundResult {
	res := models.RefundResult{OutRefundNo: deref(r.OutRefundNo), State: models.RefundPending}
	if r.Status != nil {
		res.State = refundState(string(*r.Status))
	}
	if r.Amount != nil && r.Amount.Refund != nil {
		res.Amount = models.Fen(*r.Amount.Refund)
	}
	if r.SuccessTime != nil && res.State == models.RefundSuccess {
		res.SucceededAt = r.SuccessTime.UTC()
	}
	res.ToMerchant = res.State == models.RefundSuccess && receivedByMerchant(deref(r.UserReceivedAccount))
	return res
}

// receivedByMerchant reports whether a refund's user_received_account is
// the merchant's own account: WeChat names where a refund's money went,
// and "退还商户" is 商户基本账户 or 商户结算银行账户. An abnormal refund
// released to the merchant (by apply-abnormal-refund, or by hand at the
// merchant platform) is reported SUCCESS like one paid to the payer; only
// this tells them apart. The other values (a bank card, 支付用户零钱, …)
// are the payer's.
func receivedByMerchant(account string) bool {
	switch strings.TrimSpace(account) {
	case "商户基本账户", "商户结算银行账户":
		return true
	}
	return false
}

func refundState(s string) models.RefundState {
	switch s {
	case "SUCCESS":
		return models.RefundSuccess
	case "CLOSED":
		return models.RefundFailed
	case "ABNORMAL":
		// The payer's card refused the money; WeChat keeps it until
		// apply-abnormal-refund or a manual step. Counting it failed made
		// the hall pay the person again by bank.
		return models.RefundAbnormal
	}
	return models.RefundPending // PROCESSING, or a state we do not know yet
}

// mapAPIError turns an SDK error into a models error. codes maps WeChat
// error codes to the sentinel they mean for this call. Errors that are not
// WeChat answers (timeouts, connection errors, a response whose signature
// does not verify) are models.ErrUnavailable: the result is unknown, never
// failed. The text keeps WeChat's code and message, not the SDK's dump of
// headers.
func mapAPIError(op string, err error, codes map[string]*models.Error) error {
	var ae *core.APIError
	if errors.As(err, &ae) {
		detail := fmt.Sprintf("wechatpay %s: HTTP %d %s %s", op, ae.StatusCode, ae.Code, ae.Message)
		if s, ok := codes[ae.Code]; ok {
			return fmt.Errorf("%w: %s", s, detail)
		}
		if ae.StatusCode >= 500 || ae.StatusCode == http.StatusTooManyRequests ||
			ae.Code == "SYSTEM_ERROR" || ae.Code == "FREQUENCY_LIMITED" || ae.Code == "BANK_ERROR" {
			return fmt.Errorf("%w: %s", models.ErrUnavailable, detail)
		}
		return fmt.Errorf("%w: %s", models.ErrInternal, detail)
	}
	return fmt.Errorf("%w: wechatpay %s: %v", models.ErrUnavailable, op, redactURLError(err))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// parseTime reads WeChat's RFC 3339 times; an unreadable one is the zero
// time rather than an error, because the state matters more than the time.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// hostAllowed reports whether a URL WeChat handed us (a bill download_url)
// points at WeChat Pay or our configured base: the download request carries
// our merchant signature, which must not go elsewhere.
func (p *Pay) hostAllowed(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return false
	}
	if isWechatPayHost(u.Host) && u.Scheme == "https" {
		return true
	}
	return strings.EqualFold(u.Host, p.payHost)
}

// abnormalRefundToMerchant is apply-abnormal-refund's type that sends the
// money back to the merchant's own bank account; USER_BANK_CARD would need
// the person's card number and name, encrypted, which the hall pays to by
// its own bank transfer instead.
const abnormalRefundToMerchant = "MERCHANT_BANK_CARD"

// ReturnAbnormalRefund releases an ABNORMAL refund back to the merchant's
// bank account (POST /v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund).
// The SDK has no call for it, so it is sent through the SDK's signed
// client like its own calls. The refund is looked up first: its WeChat id
// is in the path; one already returned to the merchant is done (nil), and
// any other refund no longer ABNORMAL is models.ErrRefundState.
func (p *Pay) ReturnAbnormalRefund(ctx context.Context, orderNo, outRefundNo string) error {
	if outRefundNo == "" {
		return fmt.Errorf("%w: wechatpay abnormal refund: refund number is required", models.ErrInvalid)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	r, _, err := p.refunds.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(outRefundNo)})
	if err != nil {
		return mapAPIError("refund query", err, map[string]*models.Error{"RESOURCE_NOT_EXISTS": models.ErrNotFound})
	}
	if got := deref(r.OutTradeNo); orderNo != "" && got != "" && got != orderNo {
		return fmt.Errorf("%w: wechatpay abnormal refund: refund %s belongs to order %q", models.ErrInternal, outRefundNo, got)
	}
	if r.Status != nil && *r.Status == refunddomestic.STATUS_SUCCESS && receivedByMerchant(deref(r.UserReceivedAccount)) {
		// Already back in the merchant's account: an earlier call whose
		// answer was lost, or a release at the merchant platform. Refusing
		// it left the payout returning for good, and the person unpaid.
		return nil
	}
	if r.Status == nil || *r.Status != refunddomestic.STATUS_ABNORMAL || deref(r.RefundId) == "" {
		st := ""
		if r.Status != nil {
			st = string(*r.Status)
		}
		return fmt.Errorf("%w: wechatpay abnormal refund: refund %s is %s", models.ErrRefundState, outRefundNo, st)
	}
	u := consts.WechatPayAPIServer + "/v3/refund/domestic/refunds/" + url.PathEscape(deref(r.RefundId)) + "/apply-abnormal-refund"
	body := map[string]string{"out_refund_no": outRefundNo, "type": abnormalRefundToMerchant}
	if _, err := p.client.Post(ctx, u, body); err != nil {
		return mapAPIError("apply abnormal refund", err, map[string]*models.Error{
			"RESOURCE_NOT_EXISTS": models.ErrNotFound,
			"INVALID_REQUEST":     models.ErrRefundState,
		})
	}
	return nil
}
