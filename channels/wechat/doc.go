// Package wechat is lianban's WeChat channel: mini-program login, phone
// numbers and subscribe messages (MiniProgram), the 微信城市服务 login
// through the official account's web OAuth (OfficialAccount, login channel
// wechat_web), and WeChat Pay API v3 for JSAPI payments, refunds, trade
// bills and notifications (Pay).
//
// # Two apps, one merchant
//
// An openid is valid only under the appid that issued it, so Pay opens a
// JSAPI order with the mini-program's appid for a mini-program user and
// with the official account's for a wechat_web user. Notifications and
// queries are accepted for exactly those two appids (with our merchant
// id). The two logins are separate accounts even for one person: their
// openids differ, and the unionid that would link them is kept on the
// account but not used to merge (a merge would hand one app's session the
// other's verified identity on WeChat's word alone).
//
// # Libraries
//
// Payments use github.com/wechatpay-apiv3/wechatpay-go, the official APIv3
// SDK. Its service URLs are a constant host, so Pay points it at
// Config.PayAPIBase with a host-rewriting http.RoundTripper: the merchant
// signature covers the method, path, query, timestamp, nonce and body but
// not the host, so rewriting keeps every request valid. Both key modes are
// supported: WeChat Pay public key (PubKeyID + PubKey, the mode new
// merchants get) and platform certificates (PlatformCerts); with both set the
// verifier accepts either, which is what a merchant migrating between the two
// needs.
//
// The mini-program calls (jscode2session, stable_token, getuserphonenumber,
// subscribe send) and the official account's /sns/oauth2/access_token are
// made here with net/http against Config.APIBase, reusing
// github.com/silenceper/wechat/v2's wire types (auth.ResCode2Session,
// auth.GetPhoneNumberResponse, subscribe.Message, credential.ResAccessToken,
// officialaccount/oauth.ResAccessToken)
// and its cache and access-token interfaces. silenceper itself cannot be
// used for the calls: its URLs are constants and it sends every request
// through the process-global util.DefaultHTTPClient and util.SetURIModifier,
// so pointing it at a fake or a staging host, or giving it timeouts, would
// mean mutating globals shared by the whole process. Its root package
// (wechat) is never imported because its init() reconfigures logrus.
//
// # Access tokens
//
// The access token comes from the stable_token endpoint, which hands every
// replica the same token instead of invalidating the others' as
// /cgi-bin/token does. It is cached in Redis through RedisCache (an adapter
// from go-redis v9 to silenceper's cache.ContextCache; silenceper's own
// adapter is go-redis v8) under silenceper's key, and in process memory. A
// Redis error is a cache miss, never a failure, and the in-memory copy keeps
// an outage from turning every call into a token fetch that burns the daily
// quota (silenceper/wechat PR 762).
//
// # Notifications
//
// Pay.ParseNotification verifies the signature over the raw body (so it
// needs r.Body untouched), rejects WECHATPAY/SIGNTEST/ probes and timestamps
// more than five minutes from the injected clock, decrypts the resource and
// checks the app id and merchant id. It never returns SDK error text: the
// SDK embeds the whole request in its errors.
//
// Package wechatfake is an in-process fake of both WeChat hosts that speaks
// the real wire protocol; tests and the sandbox run the code here against it.
package wechat
