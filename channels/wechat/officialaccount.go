package wechat

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	oaconfig "github.com/silenceper/wechat/v2/officialaccount/config"
	oacontext "github.com/silenceper/wechat/v2/officialaccount/context"
	"github.com/silenceper/wechat/v2/officialaccount/oauth"

	"github.com/lianban/lianban/models"
)

// ScopeBase is the web OAuth scope 微信城市服务 asks for: silent, openid only.
const ScopeBase = "snsapi_base"

// OfficialAccount is the 微信城市服务 login: the H5 pages opened inside
// WeChat send the user through the official account's web OAuth
// (scope snsapi_base) and hand the code it returns to the server, which
// exchanges it for the user's openid under the official account's appid
// (/sns/oauth2/access_token). It is safe for concurrent use.
//
// The call is made here against Config.APIBase, decoding into
// silenceper's officialaccount/oauth.ResAccessToken: silenceper's
// GetUserAccessTokenContext sends it through the process-global
// util.DefaultHTTPClient with a constant host, and folds the errcode into
// a string, losing what tells a used code (the user retries) from WeChat
// being down (see the package comment).
type OfficialAccount struct {
	cfg  Config
	base string
	hc   *http.Client
}

var _ models.RedirectLogin = (*OfficialAccount)(nil)

// NewOfficialAccount returns the official-account login for cfg, which
// should pass ValidateOfficialAccount. hc carries the calls (nil: a client
// with cfg's timeout).
func NewOfficialAccount(cfg Config, hc *http.Client) *OfficialAccount {
	if hc == nil {
		hc = &http.Client{Timeout: cfg.timeout()}
	}
	return &OfficialAccount{cfg: cfg, base: cfg.apiBase(), hc: hc}
}

// Name is the login channel name, "wechat_web".
func (o *OfficialAccount) Name() string { return models.ChannelWechatWeb }

// AuthorizeURL is where the H5 sends the user to get a code: WeChat's
// authorize page for the official account with scope snsapi_base, built by
// silenceper (on the configured host, a fake's in the sandbox).
// redirectURI must be on the official account's authorised web domain.
func (o *OfficialAccount) AuthorizeURL(redirectURI, state string) string {
	// Only the appid is given: the secret has no business in a URL.
	oa := oauth.NewOauth(&oacontext.Context{Config: &oaconfig.Config{AppID: o.cfg.OAAppID}})
	u, _ := oa.GetRedirectURL(redirectURI, ScopeBase, state) // never fails
	if base := strings.TrimRight(o.cfg.OAAuthorizeBase, "/"); base != "" && base != DefaultOAuthorizeBase {
		u = base + strings.TrimPrefix(u, DefaultOAuthorizeBase)
	}
	return u
}

// RedirectAllowed implements models.RedirectLogin: only the configured
// pages, exactly.
func (o *OfficialAccount) RedirectAllowed(uri string) bool {
	return slices.Contains(o.cfg.OARedirectURIs, uri)
}

// Login exchanges a web OAuth code for the user's openid (and unionid when
// the official account is bound to an open-platform account). A code
// WeChat rejects (invalid, used, expired) is models.ErrLoginFailed; WeChat
// not answering is models.ErrUnavailable. A snapshot-page visitor
// (is_snapshotuser, a virtual account WeChat makes for pages opened from
// 朋友圈 previews) is refused: its openid is nobody's.
func (o *OfficialAccount) Login(ctx context.Context, code string) (models.ChannelIdentity, error) {
	if code == "" || len(code) > 128 {
		return models.ChannelIdentity{}, fmt.Errorf("%w: wechat oauth2: empty or oversized code", models.ErrLoginFailed)
	}
	q := url.Values{
		"appid":      {o.cfg.OAAppID},
		"secret":     {o.cfg.OASecret},
		"code":       {code},
		"grant_type": {"authorization_code"},
	}
	var res oauth.ResAccessToken
	err := callJSON(ctx, o.hc, o.base, o.cfg.timeout(), "oauth2/access_token", http.MethodGet, "/sns/oauth2/access_token", q, nil, &res)
	if err != nil {
		return models.ChannelIdentity{}, codeExchangeError(err)
	}
	if res.OpenID == "" {
		return models.ChannelIdentity{}, fmt.Errorf("%w: wechat oauth2/access_token: answer without openid", models.ErrUnavailable)
	}
	if res.IsSnapShotUser == 1 {
		return models.ChannelIdentity{}, fmt.Errorf("%w: wechat oauth2: snapshot-page virtual user", models.ErrLoginFailed)
	}
	// The user access token is not kept: snsapi_base gives nothing more
	// to fetch with it, and a token unused is a token that cannot leak.
	return models.ChannelIdentity{Channel: models.ChannelWechatWeb, Subject: res.OpenID, UnionID: res.UnionID}, nil
}
