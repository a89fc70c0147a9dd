package models

import (
	"context"
	"net/http"
	"time"
)

// Channel names. A user account belongs to one login channel; an order is
// paid through one payment channel.
const (
	ChannelSandbox = "sandbox"
	ChannelWechat  = "wechat"
	// ChannelWechatWeb is the login channel of 微信城市服务: the H5 pages
	// opened inside WeChat log in through the official account's web
	// OAuth. Its users pay through the payment channel ChannelWechat,
	// with the official account's appid.
	ChannelWechatWeb = "wechat_web"
	ChannelAlipay    = "alipay"
	// ChannelAlipayWeb names the H5 login of the Alipay application
	// (支付宝城市服务, 生活号 pages: web authorization, redeemed only with
	// its state). It is a login, not an account channel: its users are
	// the application's Alipay users, of channel ChannelAlipay, the same
	// accounts the mini-program logs in.
	ChannelAlipayWeb = "alipay_web"
	ChannelTaxApp    = "taxapp"
	ChannelMengsuban = "mengsuban"
)

// ChannelIdentity is who a login channel says the user is. SessionKey (the
// WeChat session_key) never leaves the server: it is kept in the session.
type ChannelIdentity struct {
	Channel    string
	Subject    string // openid, Alipay user_id or open_id, APP user id
	UnionID    string
	SessionKey string
	// RealName, when set, is the real name the channel vouches for; the
	// login binds it to the account (a channel-verified identity).
	RealName *RealName
	// OnceID, when set, makes the credential single-use: the login
	// workflow refuses another login with the same OnceID until OnceUntil
	// (a bearer token valid minutes, such as the tax APP's JWT, whoever
	// replays it).
	OnceID    string
	OnceUntil time.Time
}

// LoginChannel turns the one-time code a front end got from its platform
// (wx.login code, Alipay auth_code, APP token) into a channel identity.
// It returns ErrLoginFailed for a code the platform rejects and
// ErrUnavailable when the platform does not answer.
type LoginChannel interface {
	Name() string
	Login(ctx context.Context, code string) (ChannelIdentity, error)
}

// PrepayRequest asks a payment channel to open an order.
type PrepayRequest struct {
	OrderNo     string // our out_trade_no
	Amount      Fen
	Description string
	Payer       ChannelIdentity // openid / Alipay buyer for JSAPI-style payments
	ExpiresAt   time.Time
	H5          bool // Alipay: a WAP pay URL instead of a mini-program trade_no
}

// PayParams is what the front end passes to the platform's pay call
// (wx.requestPayment, my.tradePay, the sandbox cashier).
type PayParams map[string]string

// TradeState is a channel's view of an order.
type TradeState string

// Trade states. TradeUnknown means the channel could not tell (timeout,
// "状态不明"): it is pending, never failed.
const (
	TradePaying  TradeState = "paying"
	TradePaid    TradeState = "paid"
	TradeClosed  TradeState = "closed"
	TradeUnknown TradeState = "unknown"
)

// Trade is the result of querying an order at its channel.
type Trade struct {
	OrderNo       string
	State         TradeState
	Amount        Fen
	TransactionID string
	PaidAt        time.Time
}

// RefundRequest asks a channel to pay money back on a paid order.
// OutRefundNo is fixed per refund and reused on every retry, so the
// channel refunds it at most once.
type RefundRequest struct {
	OrderNo     string
	OutRefundNo string
	Refund      Fen
	Total       Fen
	Reason      string
}

// RefundState is a channel's view of a refund.
type RefundState string

// Refund states at a channel; RefundPending covers "processing" and unknown.
// RefundAbnormal is WeChat's ABNORMAL: the payer's card could not take the
// money (cancelled or frozen), and WeChat keeps it in its intermediate
// account until the merchant applies for an abnormal refund or acts in the
// merchant platform. It is neither failed (nothing may be paid another way
// while WeChat holds the money) nor success.
const (
	RefundPending  RefundState = "pending"
	RefundSuccess  RefundState = "success"
	RefundFailed   RefundState = "failed"
	RefundAbnormal RefundState = "abnormal"
)

// RefundResult is a channel's answer about a refund.
type RefundResult struct {
	OutRefundNo string
	State       RefundState
	Amount      Fen
	SucceededAt time.Time
	// ToMerchant: a success that sent the money back to our own merchant
	// account, not to the payer (WeChat's user_received_account 商户基本账户
	// or 商户结算银行账户: an abnormal refund released to the merchant, by
	// apply-abnormal-refund or at the merchant platform). The payer got
	// nothing by it.
	ToMerchant bool
}

// AbnormalRefunder is a channel that can release an abnormal refund
// (RefundAbnormal). ReturnAbnormalRefund asks the channel to send the money
// of the refund outRefundNo on order orderNo back to the merchant's own
// account (WeChat apply-abnormal-refund, type MERCHANT_BANK_CARD), from
// where it is paid to the person another way. It is safe to call again with
// the same numbers; ErrRefundState means the refund is not abnormal (any
// more) at the channel.
type AbnormalRefunder interface {
	ReturnAbnormalRefund(ctx context.Context, orderNo, outRefundNo string) error
}

// NotificationKind says what a verified channel notification reports.
type NotificationKind string

// Notification kinds.
const (
	NotifyPayment NotificationKind = "payment"
	NotifyRefund  NotificationKind = "refund"
)

// Notification is a verified, decrypted asynchronous notification. The
// channel has checked its signature, timestamp and our app/merchant ids; the
// settlement workflow checks the order number and the amount.
type Notification struct {
	Channel       string
	ID            string // unique per notification event; the dedup key
	Kind          NotificationKind
	OrderNo       string
	OutRefundNo   string
	TransactionID string
	Amount        Fen
	Paid          bool // payment: the trade succeeded
	RefundState   RefundState
	At            time.Time
	// AmountIsTotal: a refund notification's Amount is the trade's total
	// refunded so far, this refund included (Alipay's refund_fee), not
	// this refund's own amount.
	AmountIsTotal bool
	// RefundToMerchant: a refund success whose money went back to our own
	// merchant account, not to the payer (RefundResult.ToMerchant).
	RefundToMerchant bool
}

// PaymentChannel is a way of paying: WeChat Pay, Alipay, the sandbox.
//
// Implementations keep SDK types inside their package. A timeout or an
// unreadable answer is reported as ErrUnavailable (or TradeUnknown), never as
// a failed payment.
type PaymentChannel interface {
	Name() string
	Prepay(ctx context.Context, req PrepayRequest) (PayParams, error)
	Query(ctx context.Context, orderNo string) (Trade, error)
	// Close closes an unpaid order. It returns ErrOrderPaidAtChannel when
	// the payer paid in the meantime, and ErrNotFound when the channel has
	// not seen the order yet but could still take payment for it until
	// the ExpiresAt it was opened with (an Alipay H5 URL not opened yet).
	Close(ctx context.Context, orderNo string) error
	Refund(ctx context.Context, req RefundRequest) (RefundResult, error)
	QueryRefund(ctx context.Context, orderNo, outRefundNo string) (RefundResult, error)
	// ParseNotification verifies r's raw body and headers and decodes it.
	// It returns ErrNotificationInvalid for a bad signature, stale timestamp
	// or probe, and ErrNotificationMismatch for a foreign app or merchant.
	ParseNotification(ctx context.Context, r *http.Request) (Notification, error)
	// Acknowledge writes the answer the provider expects: ok means
	// "received, stop sending"; !ok asks the provider to retry.
	Acknowledge(w http.ResponseWriter, ok bool)
}

// IdentityVerifier checks that a name and ID number belong together (and,
// for channels with a face check, that the ticket proves the person is
// present). It returns ErrIdentityMismatch when they do not.
type IdentityVerifier interface {
	Verify(ctx context.Context, name, idNumber, ticket string) error
}

// CreditState is where a paid order's money is on its way to the treasury
// and the agency's books.
type CreditState string

// Settlement states reported by the treasury and the agency.
const (
	SettlementPending CreditState = "pending"
	SettlementDone    CreditState = "done"
)

// SettlementRef names a paid order for the treasury and agency interfaces.
type SettlementRef struct {
	OrderNo    string
	Amount     Fen
	Scheme     Scheme
	PaidAt     time.Time
	CreditedAt time.Time
}

// SettlementResult says whether a step (入库 or 记账) has happened and when,
// with the voucher number the other system gave it.
type SettlementResult struct {
	State     CreditState
	At        time.Time
	VoucherNo string
}

// Treasury reports whether a paid order's money has been credited to the
// state treasury (入库, through TIPS).
type Treasury interface {
	CreditStatus(ctx context.Context, ref SettlementRef) (SettlementResult, error)
}

// AgencyBooking reports whether the 社保 or 医保 agency has booked (记账) a
// credited order into the person's account.
type AgencyBooking interface {
	BookingStatus(ctx context.Context, ref SettlementRef) (SettlementResult, error)
}

// BillLine is one transaction in a channel's daily bill (WeChat tradebill,
// Alipay trade bill), used by the T+1 reconciliation.
type BillLine struct {
	OrderNo       string
	TransactionID string
	Amount        Fen
	State         TradeState // TradePaid for a successful payment
	RefundAmount  Fen
	At            time.Time
}

// BillSource is a payment channel that can serve its daily bill. day is a
// Beijing calendar date (its time of day is ignored).
type BillSource interface {
	DownloadBill(ctx context.Context, day time.Time) ([]BillLine, error)
}

// MessageKind is a user-facing notification a channel can push (WeChat
// subscribe messages, Alipay messages).
type MessageKind string

// Message kinds with configurable templates.
const (
	MessagePaymentSucceeded MessageKind = "payment_succeeded"
	MessageRefundResult     MessageKind = "refund_result"
	MessagePeriodEnding     MessageKind = "period_ending"
)

// Message is a push to a user through their login channel. Fields are the
// values the channel's template shows (e.g. "thing1", "amount2"), already
// formatted for people.
type Message struct {
	Kind   MessageKind
	Fields map[string]string
	Page   string
}

// MessageSender pushes messages to users of a channel. A channel without
// pushes simply does not implement it; the in-app message list is always
// written regardless.
type MessageSender interface {
	SendMessage(ctx context.Context, to ChannelIdentity, msg Message) error
}

// PhoneSource resolves a platform's phone-number code (WeChat
// getPhoneNumber) to the user's phone number.
type PhoneSource interface {
	PhoneNumber(ctx context.Context, code string) (string, error)
}

// BankTransferRequest pays money to a bank account: a refund that cannot
// go back through the channel it was paid with. TransferNo is fixed per
// refund and reused on every retry, so the bank pays it at most once.
type BankTransferRequest struct {
	TransferNo  string
	Amount      Fen
	BankName    string
	AccountName string
	AccountNo   string
	Memo        string
}

// BankTransferResult is the bank's answer; RefundPending covers
// "processing" and "unknown".
type BankTransferResult struct {
	TransferNo string
	State      RefundState
	At         time.Time
}

// BankTransfer is the partner bank's transfer interface (退库 to an
// account). Transfer is idempotent by TransferNo; a timeout is pending,
// to be settled by QueryTransfer.
type BankTransfer interface {
	Transfer(ctx context.Context, req BankTransferRequest) (BankTransferResult, error)
	QueryTransfer(ctx context.Context, transferNo string) (BankTransferResult, error)
}

// HouseholdRegistry is the person registry's household (户籍) relations: who
// the registered guardians of a person are. A guardian link to a minor is
// taken from here (or from a proven guardian's consent), never from what a
// user claims.
type HouseholdRegistry interface {
	// Guardians returns the ID numbers of the person's registered
	// guardians; none is an empty list, not an error.
	Guardians(ctx context.Context, idNumber string) ([]string, error)
}

// BankAccountVerifier is the bank's account-name verification (账户户名核验):
// it returns ErrBankAccountName when the account is not held in the name
// given, and ErrUnavailable when the bank does not answer.
type BankAccountVerifier interface {
	VerifyAccountName(ctx context.Context, accountName, accountNo string) error
}
