package alipay

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/lianban/lianban/models"
)

// DefaultAuthorizeBase is the host of Alipay's web authorization page,
// used when Config.AuthorizeBase is empty.
const DefaultAuthorizeBase = "https://openauth.alipay.com"

// AuthorizePath is the web authorization page of 生活号 and 城市服务 H5
// pages (网页授权), on AuthorizeBase.
const AuthorizePath = "/oauth2/publicAppAuthorize.htm"

// ScopeBase is the scope the H5 asks for: silent, the user id only, the
// same one the mini-program's my.getAuthCode gives this application.
const ScopeBase = "auth_base"

// WebLogin is the H5 login of the Alipay application (支付宝城市服务 and
// 生活号 pages): the browser goes to Alipay's web authorization page and
// comes back with an auth_code, which the login workflow redeems only
// with the state it issued for that start (models.RedirectLogin; login
// CSRF). It is registered apart from the Client, under
// models.ChannelAlipayWeb, because the workflow refuses a redirect
// login's code without its state, and the mini-program's codes
// (my.getAuthCode, no browser redirect to plant one in) must stay
// redeemable alone through the Client. Its Login is the Client's, so the
// account is the same Alipay user of channel alipay as in the
// mini-program. It is safe for concurrent use.
type WebLogin struct {
	c *Client
}

var _ models.RedirectLogin = (*WebLogin)(nil)

// WebLogin returns the H5 login of c's application.
func (c *Client) WebLogin() *WebLogin { return &WebLogin{c: c} }

// Name is the login's name, "alipay_web"; its accounts are of channel
// "alipay".
func (w *WebLogin) Name() string { return models.ChannelAlipayWeb }

// Login redeems an auth_code from the web authorization page, as the
// Client's Login does the mini-program's: the same token call, the same
// user id.
func (w *WebLogin) Login(ctx context.Context, code string) (models.ChannelIdentity, error) {
	return w.c.Login(ctx, code)
}

// AuthorizeURL is where the H5 sends the user for an auth_code: Alipay's
// web authorization page for this application with scope auth_base (on
// the configured host, a fake's in the sandbox). Alipay sends the browser
// back to redirectURI with auth_code and state.
func (w *WebLogin) AuthorizeURL(redirectURI, state string) string {
	q := url.Values{
		"app_id":       {w.c.cfg.AppID},
		"scope":        {ScopeBase},
		"redirect_uri": {redirectURI},
		"state":        {state},
	}
	return w.c.cfg.authorizeBase() + AuthorizePath + "?" + q.Encode()
}

// RedirectAllowed implements models.RedirectLogin: only the configured H5
// pages (Config.H5RedirectURIs), exactly.
func (w *WebLogin) RedirectAllowed(uri string) bool {
	return slices.Contains(w.c.cfg.H5RedirectURIs, uri)
}

// WebLoginConfigured reports whether any H5 page may receive a login;
// without one the H5 login is left unregistered.
func (c *Client) WebLoginConfigured() bool { return len(c.cfg.H5RedirectURIs) > 0 }

func (c Config) authorizeBase() string {
	if c.AuthorizeBase == "" {
		return DefaultAuthorizeBase
	}
	return strings.TrimRight(c.AuthorizeBase, "/")
}
