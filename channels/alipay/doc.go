// Package alipay is lianban's Alipay channel: login with an auth_code
// (alipay.system.oauth.token) from the mini-program's my.getAuthCode or,
// through the web authorization page and back (WebLogin, a
// models.RedirectLogin: only with a state the server issued), from H5
// pages; payment through the Alipay mini-program
// (alipay.trade.create, JSAPI_PAY, whose trade_no goes to my.tradePay) or a
// mobile web page (alipay.trade.wap.pay), query, close, refund, RSA2-signed
// asynchronous notifications, and the daily trade bill for reconciliation.
//
// It implements models.LoginChannel, models.PaymentChannel and
// models.BillSource on top of github.com/smartwalle/alipay/v3, in public-key
// mode (公钥模式) or public-key-certificate mode (公钥证书模式), and keeps
// every SDK type inside this package.
//
// In certificate mode requests carry app_cert_sn and alipay_root_cert_sn,
// and answers and notifications name the Alipay certificate that signed
// them (alipay_cert_sn). The certificates trusted form a keyring
// (certRing): the configured ones, plus any Alipay signs with later
// (a rotation), downloaded once and trusted only if they chain to the
// configured root and name the configured certificates' subject (Alipay's
// CA issues every application's certificate too). The SDK's own download of an unknown certificate,
// which trusts whatever the gateway returns, is switched off. Amounts cross the
// boundary as models.Fen; Alipay's yuan strings are converted with integer
// arithmetic only (models.ParseYuan, models.Fen.Yuan).
//
// Three rules keep money safe here:
//   - every answer with code != 10000 becomes an error mapped to a models
//     error, even though the SDK returns such answers with err == nil;
//   - a timeout or an unreadable answer is models.ErrUnavailable (and
//     models.TradeUnknown from Query), never a failed payment;
//   - a notification counts only after its RSA2 signature over the raw form
//     body verifies with Alipay's public key (or a trusted certificate's) and its app_id (and seller_id,
//     when configured) are ours. Its order number and amount are compared with
//     the order by the settlement workflow, which owns the order.
//
// The sub-package alipayfake is an in-process Alipay gateway speaking the real
// protocol, for tests and the sandbox.
package alipay
