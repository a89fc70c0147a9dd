package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/miniprogram/auth"
	"github.com/silenceper/wechat/v2/miniprogram/subscribe"
	"github.com/silenceper/wechat/v2/util"

	"github.com/lianban/lianban/models"
)

// maxAPIBody bounds what we read from a WeChat JSON answer; real answers are
// a few hundred bytes.
const maxAPIBody = 1 << 20

// WeChat errcodes this package acts on.
const (
	errSystemBusy       = -1
	errInvalidToken     = 40001 // access_token invalid or not the latest
	errInvalidTokenFmt  = 40014
	errTokenExpired     = 42001
	errInvalidCode      = 40029
	errCodeUsed         = 40163
	errHighRiskUser     = 40226
	errInvalidAppID     = 40013
	errInvalidSecret    = 40125
	errIPNotAllowed     = 40164
	errMinuteQuota      = 45011
	errDailyQuota       = 45009
	errUserNotSubscribe = 43101 // the user has not (or no longer) accepted this template
)

// MiniProgram is the WeChat mini-program channel: login (code2session), the
// phone number from getPhoneNumber, and subscribe messages. It is safe for
// concurrent use.
type MiniProgram struct {
	cfg    Config
	base   string
	hc     *http.Client
	tokens *tokenSource
	log    *slog.Logger
}

var (
	_ models.LoginChannel  = (*MiniProgram)(nil)
	_ models.PhoneSource   = (*MiniProgram)(nil)
	_ models.MessageSender = (*MiniProgram)(nil)
)

// NewMiniProgram returns the mini-program channel for cfg, which should pass
// ValidateMiniProgram. The access token is cached in rdb (nil: in memory
// only). hc carries the calls (nil: a client with cfg's timeout).
func NewMiniProgram(cfg Config, rdb redis.UniversalClient, hc *http.Client) *MiniProgram {
	if hc == nil {
		hc = &http.Client{Timeout: cfg.timeout()}
	}
	m := &MiniProgram{cfg: cfg, base: cfg.apiBase(), hc: hc, log: cfg.logger()}
	var c cache.ContextCache // stays a nil interface without Redis
	if rdb != nil {
		c = NewRedisCache(rdb, m.log)
	}
	m.tokens = newTokenSource(c, stableTokenCacheKey(cfg.AppID), m.fetchStableToken, m.log)
	return m
}

// AccessTokenHandle exposes the token source as silenceper's handle, for
// code that needs the token for a call this package does not make.
func (m *MiniProgram) AccessTokenHandle() credential.AccessTokenContextHandle { return m.tokens }

// Name is the channel name, "wechat".
func (m *MiniProgram) Name() string { return models.ChannelWechat }

// Login exchanges a wx.login code for the user's openid, unionid and
// session_key. A code WeChat rejects (invalid, used, risky user) is
// models.ErrLoginFailed; WeChat not answering is models.ErrUnavailable.
func (m *MiniProgram) Login(ctx context.Context, code string) (models.ChannelIdentity, error) {
	// A wx.login code is 32 characters; anything far longer is not one and
	// should not be forwarded.
	if code == "" || len(code) > 128 {
		return models.ChannelIdentity{}, fmt.Errorf("%w: wechat: empty or oversized login code", models.ErrLoginFailed)
	}
	q := url.Values{
		"appid":      {m.cfg.AppID},
		"secret":     {m.cfg.Secret},
		"js_code":    {code},
		"grant_type": {"authorization_code"},
	}
	var res auth.ResCode2Session
	err := m.doJSON(ctx, "jscode2session", http.MethodGet, "/sns/jscode2session", q, nil, &res)
	if err != nil {
		return models.ChannelIdentity{}, codeExchangeError(err)
	}
	if res.OpenID == "" || res.SessionKey == "" {
		return models.ChannelIdentity{}, fmt.Errorf("%w: wechat jscode2session: answer without openid or session_key", models.ErrUnavailable)
	}
	return models.ChannelIdentity{
		Channel:    models.ChannelWechat,
		Subject:    res.OpenID,
		UnionID:    res.UnionID,
		SessionKey: res.SessionKey,
	}, nil
}

// PhoneNumber resolves a getPhoneNumber code to the user's phone number:
// the bare number for mainland numbers (country code 86), otherwise the
// number with its country code.
func (m *MiniProgram) PhoneNumber(ctx context.Context, code string) (string, error) {
	if code == "" || len(code) > 256 {
		return "", fmt.Errorf("%w: wechat: empty or oversized phone code", models.ErrInvalid)
	}
	var res auth.GetPhoneNumberResponse
	err := m.withToken(ctx, "getuserphonenumber", "/wxa/business/getuserphonenumber", map[string]string{"code": code}, &res)
	var ae *apiError
	if errors.As(err, &ae) {
		switch ae.code {
		case errInvalidCode:
			return "", fmt.Errorf("%w: %w", models.ErrInvalid.WithReason("手机号授权已失效，请重新授权"), ae)
		case errSystemBusy, errDailyQuota:
			return "", fmt.Errorf("%w: %w", models.ErrUnavailable, ae)
		case errMinuteQuota:
			return "", fmt.Errorf("%w: %w", models.ErrRateLimited, ae)
		default:
			return "", fmt.Errorf("%w: %w", models.ErrInternal, ae)
		}
	}
	if err != nil {
		return "", err
	}
	info := res.PhoneInfo
	// The watermark names the app the number was issued to; a foreign one
	// means the code was not obtained in our mini-program.
	if info.WaterMark.AppID != "" && info.WaterMark.AppID != m.cfg.AppID {
		return "", fmt.Errorf("%w: wechat getuserphonenumber: watermark names another app", models.ErrInvalid)
	}
	if info.PurePhoneNumber == "" {
		return "", fmt.Errorf("%w: wechat getuserphonenumber: answer without a phone number", models.ErrUnavailable)
	}
	if info.CountryCode == "" || info.CountryCode == "86" {
		return info.PurePhoneNumber, nil
	}
	if info.PhoneNumber != "" {
		return info.PhoneNumber, nil
	}
	return "+" + info.CountryCode + info.PurePhoneNumber, nil
}

// SendMessage pushes a subscribe message with the template configured for
// msg.Kind. With no template configured for the kind it does nothing. A user
// who has not accepted the template (43101) is skipped too: resending cannot
// succeed until they accept again, and the in-app message list has it.
func (m *MiniProgram) SendMessage(ctx context.Context, to models.ChannelIdentity, msg models.Message) error {
	tpl := m.cfg.Templates[msg.Kind]
	if tpl == "" {
		return nil
	}
	if to.Subject == "" {
		return fmt.Errorf("%w: wechat: subscribe message without an openid", models.ErrInvalid)
	}
	data := make(map[string]*subscribe.DataItem, len(msg.Fields))
	for k, v := range msg.Fields {
		data[k] = &subscribe.DataItem{Value: v}
	}
	state := m.cfg.MessageState
	if state == "" {
		state = "formal"
	}
	req := &subscribe.Message{
		ToUser:           to.Subject,
		TemplateID:       tpl,
		Page:             msg.Page,
		Data:             data,
		MiniprogramState: state,
		Lang:             "zh_CN",
	}
	var res util.CommonError
	err := m.withToken(ctx, "subscribe.send", "/cgi-bin/message/subscribe/send", req, &res)
	var ae *apiError
	if errors.As(err, &ae) {
		switch ae.code {
		case errUserNotSubscribe:
			m.log.DebugContext(ctx, "wechat: subscribe message skipped, user has not accepted the template", "kind", msg.Kind)
			return nil
		case errSystemBusy, errDailyQuota, errMinuteQuota:
			return fmt.Errorf("%w: %w", models.ErrUnavailable, ae)
		default: // 40003 bad openid, 40037 bad template, 47003 bad data: our bug
			return fmt.Errorf("%w: %w", models.ErrInternal, ae)
		}
	}
	return err
}

// fetchStableToken calls /cgi-bin/stable_token without force_refresh, so
// every replica (and any other tool of ours) receives the same token.
func (m *MiniProgram) fetchStableToken(ctx context.Context) (credential.ResAccessToken, error) {
	body := map[string]any{
		"grant_type":    "client_credential",
		"appid":         m.cfg.AppID,
		"secret":        m.cfg.Secret,
		"force_refresh": false,
	}
	var res credential.ResAccessToken
	err := m.doJSON(ctx, "stable_token", http.MethodPost, "/cgi-bin/stable_token", nil, body, &res)
	var ae *apiError
	if errors.As(err, &ae) {
		if ae.code == errSystemBusy || ae.code == errDailyQuota || ae.code == errMinuteQuota {
			return res, fmt.Errorf("%w: %w", models.ErrUnavailable, ae)
		}
		return res, fmt.Errorf("%w: %w", models.ErrInternal, ae) // wrong appid/secret, IP not allowed
	}
	if err != nil {
		return res, err
	}
	if res.AccessToken == "" {
		return res, fmt.Errorf("%w: wechat stable_token: answer without a token", models.ErrUnavailable)
	}
	return res, nil
}

// withToken makes a POST that needs the access token. When WeChat says the
// token is invalid or expired (another tool forced a refresh, or our cache
// outlived it) the token is dropped and the call made once more.
func (m *MiniProgram) withToken(ctx context.Context, api, path string, body, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := m.tokens.GetAccessTokenContext(ctx)
		if err != nil {
			return err
		}
		err = m.doJSON(ctx, api, http.MethodPost, path, url.Values{"access_token": {tok}}, body, out)
		var ae *apiError
		if attempt == 0 && errors.As(err, &ae) &&
			(ae.code == errInvalidToken || ae.code == errTokenExpired || ae.code == errInvalidTokenFmt) {
			m.tokens.invalidate(ctx, tok)
			continue
		}
		return err
	}
}

// apiError is a non-zero errcode from WeChat.
type apiError struct {
	api  string
	code int64
	msg  string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("wechat %s: errcode=%d errmsg=%s", e.api, e.code, e.msg)
}

// doJSON makes one call and decodes the answer into out. It returns
// *apiError for a non-zero errcode and a models.ErrUnavailable error for
// anything that is not a readable answer.
func (m *MiniProgram) doJSON(ctx context.Context, api, method, path string, q url.Values, body, out any) error {
	return callJSON(ctx, m.hc, m.base, m.cfg.timeout(), api, method, path, q, body, out)
}

// callJSON is doJSON for any of WeChat's JSON APIs on base (the
// mini-program's and the official account's share the host and format).
func callJSON(ctx context.Context, hc *http.Client, base string, timeout time.Duration, api, method, path string, q url.Values, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u := base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // message fields are shown to people as written
		if err := enc.Encode(body); err != nil {
			return fmt.Errorf("%w: wechat %s: encoding request: %v", models.ErrInternal, api, err)
		}
		rd = &buf
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("%w: wechat %s: %v", models.ErrInternal, api, redactURLError(err))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: wechat %s: %v", models.ErrUnavailable, api, redactURLError(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBody))
	if err != nil {
		return fmt.Errorf("%w: wechat %s: reading answer: %v", models.ErrUnavailable, api, redactURLError(err))
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: wechat %s: HTTP %d", models.ErrUnavailable, api, resp.StatusCode)
	}
	var ce util.CommonError
	if err := json.Unmarshal(raw, &ce); err != nil {
		return fmt.Errorf("%w: wechat %s: unreadable answer", models.ErrUnavailable, api)
	}
	if ce.ErrCode != 0 {
		return &apiError{api: api, code: ce.ErrCode, msg: ce.ErrMsg}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%w: wechat %s: unreadable answer", models.ErrUnavailable, api)
	}
	return nil
}

// redactURLError drops the URL from a *url.Error: our URLs carry the app
// secret (jscode2session) or the access token, which must not reach logs.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// codeExchangeError maps the error of exchanging a one-time login code
// (the mini-program's jscode2session, the official account's web OAuth) to
// the domain: WeChat busy or out of daily quota is unavailable, the
// per-minute quota rate-limited, our own appid, secret or IP refused an
// internal fault, and any refusal of the code itself (invalid, used,
// expired, risky user, or a reason new to us) a failed login, after which
// the user logs in again. Any other error (transport) is returned as is.
func codeExchangeError(err error) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.code {
	case errSystemBusy, errDailyQuota:
		return fmt.Errorf("%w: %w", models.ErrUnavailable, ae)
	case errMinuteQuota:
		return fmt.Errorf("%w: %w", models.ErrRateLimited, ae)
	case errInvalidAppID, errInvalidSecret, errIPNotAllowed:
		return fmt.Errorf("%w: %w", models.ErrInternal, ae)
	case errInvalidCode, errCodeUsed, errHighRiskUser:
		return fmt.Errorf("%w: %w", models.ErrLoginFailed, ae)
	default: // a refusal new to us (42003 expired, …): the user logs in again
		return fmt.Errorf("%w: %w", models.ErrLoginFailed, ae)
	}
}
