package models

import "errors"

// Kind classifies an error for transport: handlers map each Kind to one HTTP
// status in a single table, and nothing else decides a status.
type Kind int

// The kinds of error lianban reports.
const (
	KindInternal         Kind = iota // a bug or an outage; clients see only a generic message
	KindInvalid                      // the request is malformed (400)
	KindUnauthenticated              // no or dead session (401)
	KindForbidden                    // authenticated but not allowed (403)
	KindNotFound                     // no such object, or not visible to the caller (404)
	KindConflict                     // the state forbids it: already done, duplicate (409)
	KindUnprocessable                // well-formed but the rules say no (422)
	KindRateLimited                  // too many attempts (429)
	KindUnavailable                  // a channel or dependency did not answer; retry later (503)
	KindMethodNotAllowed             // the path exists, the method does not (405)
	KindTooLarge                     // the request body is over the limit (413)
	KindUnsupportedType              // the content is of a type not accepted here (415)
)

// Error is a domain error with a stable UPPER_SNAKE code front ends switch
// on and a message for people, in Chinese. Reason optionally explains a
// refusal in words the user understands (e.g. why they are not eligible).
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Reason  string
}

func (e *Error) Error() string {
	if e.Reason != "" {
		return e.Code + ": " + e.Reason
	}
	return e.Code
}

// Is makes errors.Is match any *Error with the same code, so a sentinel
// matches the copies WithReason makes of it.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// WithReason returns a copy of e carrying a reason for the user.
func (e *Error) WithReason(reason string) *Error {
	c := *e
	c.Reason = reason
	return &c
}

// AsError returns the *Error inside err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

func newErr(k Kind, code, msg string) *Error { return &Error{Kind: k, Code: code, Message: msg} }

// The error table. Codes are part of the API contract: never rename one.
var (
	ErrInternal            = newErr(KindInternal, "INTERNAL", "系统繁忙，请稍后再试")
	ErrInvalid             = newErr(KindInvalid, "INVALID_ARGUMENT", "请求参数有误")
	ErrUnauthenticated     = newErr(KindUnauthenticated, "UNAUTHENTICATED", "登录已失效，请重新登录")
	ErrForbidden           = newErr(KindForbidden, "FORBIDDEN", "无权访问")
	ErrNotFound            = newErr(KindNotFound, "NOT_FOUND", "未找到相关信息")
	ErrRateLimited         = newErr(KindRateLimited, "RATE_LIMITED", "操作过于频繁，请稍后再试")
	ErrUnavailable         = newErr(KindUnavailable, "CHANNEL_UNAVAILABLE", "渠道暂时无法处理，请稍后再试")
	ErrIdempotencyReused   = newErr(KindConflict, "IDEMPOTENCY_KEY_REUSED", "该请求标识已用于其他请求")
	ErrIDNumberInvalid     = newErr(KindInvalid, "ID_NUMBER_INVALID", "身份证号码格式不正确")
	ErrIdentityMismatch    = newErr(KindUnprocessable, "IDENTITY_MISMATCH", "姓名与身份证号码不一致")
	ErrIdentityBound       = newErr(KindConflict, "IDENTITY_ALREADY_BOUND", "该账号已完成实名认证")
	ErrIdentityRequired    = newErr(KindForbidden, "IDENTITY_REQUIRED", "请先完成实名认证")
	ErrLoginFailed         = newErr(KindUnauthenticated, "LOGIN_FAILED", "登录失败，请重试")
	ErrFamilyExists        = newErr(KindConflict, "FAMILY_MEMBER_EXISTS", "该家庭成员已添加")
	ErrNotEligible         = newErr(KindUnprocessable, "NOT_ELIGIBLE", "不符合参保条件")
	ErrAlreadyEnrolled     = newErr(KindConflict, "ALREADY_ENROLLED", "已参保，无需重复登记")
	ErrNotEnrolled         = newErr(KindUnprocessable, "NOT_ENROLLED", "尚未参保登记")
	ErrAlreadyDeclared     = newErr(KindConflict, "ALREADY_DECLARED", "该期费款已申报，请勿重复申报")
	ErrAlreadyPaid         = newErr(KindConflict, "ALREADY_PAID", "该期费款已缴纳，请勿重复缴费")
	ErrOutOfCollection     = newErr(KindUnprocessable, "OUT_OF_COLLECTION_PERIOD", "不在缴费期内")
	ErrBaseOutOfRange      = newErr(KindUnprocessable, "BASE_OUT_OF_RANGE", "缴费基数超出上下限")
	ErrDeclarationExpired  = newErr(KindConflict, "DECLARATION_EXPIRED", "申报已过期，请重新申报")
	ErrDeclarationPaying   = newErr(KindConflict, "DECLARATION_NOT_PAYABLE", "该申报当前不能发起缴费")
	ErrChannelUnsupported  = newErr(KindInvalid, "CHANNEL_UNSUPPORTED", "不支持该缴费渠道")
	ErrOrderNotPayable     = newErr(KindConflict, "ORDER_NOT_PAYABLE", "订单当前状态不能支付")
	ErrSandboxOnly         = newErr(KindNotFound, "NOT_FOUND", "未找到相关信息")
	ErrPolicyUnavailable   = newErr(KindNotFound, "POLICY_NOT_FOUND", "暂无该地区该年度的缴费标准")
	ErrRegionInvalid       = newErr(KindInvalid, "REGION_INVALID", "参保地区不在内蒙古自治区范围内")
	ErrSchemeInvalid       = newErr(KindInvalid, "SCHEME_INVALID", "险种不正确")
	ErrNotificationInvalid = newErr(KindInvalid, "NOTIFICATION_INVALID", "通知验签失败")
	// ErrNotificationMismatch is a validly signed notification that does not
	// match our order (amount, app id, merchant): it settles nothing and is
	// recorded as an anomaly for reconciliation.
	ErrNotificationMismatch = newErr(KindUnprocessable, "NOTIFICATION_MISMATCH", "通知与订单不符")
	// ErrOrderPaidAtChannel is what a channel's Close returns when the payer
	// paid between our last query and the close (WeChat ORDERPAID).
	ErrOrderPaidAtChannel = newErr(KindConflict, "ORDER_PAID", "订单已支付")
	// ErrDeclarationPayingByOther is a declaration another payer has an
	// open order for: their order and pay_params are theirs alone.
	ErrDeclarationPayingByOther = newErr(KindConflict, "DECLARATION_PAYING_BY_OTHER", "他人正在为该申报缴费，请等待其完成或稍后再试")
	// ErrGuardianshipNotProven is a guardianship the person registry's
	// household (户籍) relations do not show and no proven guardian
	// consented to.
	ErrGuardianshipNotProven = newErr(KindForbidden, "GUARDIANSHIP_NOT_PROVEN", "未能核验监护关系")
	// ErrBodyTooLarge is a request body over the server's limit; it is
	// refused before it is decoded.
	ErrBodyTooLarge = newErr(KindTooLarge, "BODY_TOO_LARGE", "请求内容过大")
	// ErrNameInvalid is a person's name that cannot be a registered name:
	// empty, too long, or carrying control, format (bidi, zero-width) or
	// only invisible characters.
	ErrNameInvalid = newErr(KindInvalid, "NAME_INVALID", "姓名格式不正确")
	// ErrUSCCInvalid is a 统一社会信用代码 that is not one under GB 32100:
	// wrong length or characters, unknown authority, class or region code,
	// or a wrong check character (the reason says which).
	ErrUSCCInvalid = newErr(KindInvalid, "USCC_INVALID", "统一社会信用代码格式不正确")
	// ErrUnitMismatch is a unit the registry knows but whose name, or whose
	// legal representative, is not what the caller says.
	ErrUnitMismatch = newErr(KindUnprocessable, "UNIT_MISMATCH", "单位信息与登记信息不一致")
	// ErrUnitUnknown is a valid code the unit registry has no unit for: a
	// distinct answer of UnitRegistry, not an outage.
	ErrUnitUnknown = newErr(KindNotFound, "UNIT_NOT_FOUND", "未查询到该单位的登记信息")
	// ErrSchemeNotForUnitType is a unit scheme the unit's type may not
	// register: an enterprise cannot take the 机关事业单位 schemes and the
	// reverse.
	ErrSchemeNotForUnitType = newErr(KindUnprocessable, "SCHEME_NOT_ALLOWED_FOR_UNIT", "该单位类型不能登记此险种")
	// ErrWageInvalid is a declared monthly wage that is not a positive
	// amount of whole fen within the sane maximum.
	ErrWageInvalid = newErr(KindInvalid, "WAGE_INVALID", "缴费工资不正确")
	// ErrPeriodInvalid is a 费款所属期 that is not a real month as YYYYMM.
	ErrPeriodInvalid = newErr(KindInvalid, "PERIOD_INVALID", "费款所属期不正确")
	// ErrUploadTypeNotAllowed is an upload whose content is not PDF, JPEG
	// or PNG, whatever its name or claimed type says.
	ErrUploadTypeNotAllowed = newErr(KindUnsupportedType, "UPLOAD_TYPE_NOT_ALLOWED", "仅支持上传PDF、JPEG或PNG格式的文件")
	// ErrUploadTooLarge is an uploaded file over its limit (10 MB for
	// materials, less for rosters; the reason says which).
	ErrUploadTooLarge = newErr(KindTooLarge, "UPLOAD_TOO_LARGE", "上传的文件过大")
	// ErrRosterUnreadable is a roster file that cannot be read as a whole:
	// not CSV or XLSX, an encoding neither UTF-8 nor GB18030, too many rows.
	// The reason says what to do.
	ErrRosterUnreadable = newErr(KindInvalid, "ROSTER_UNREADABLE", "无法读取花名册文件")
	// ErrRosterInvalid is a roster with bad rows; the rows and what is wrong
	// with each travel with it (roster.Invalid), all at once, and nothing
	// of the roster is taken.
	ErrRosterInvalid = newErr(KindUnprocessable, "ROSTER_INVALID", "花名册有误，请按提示修改后重新提交")
	// ErrUnitOperatorUnknown is a 办税员 the legal representative named who
	// is no verified user of lianban under that name and ID number. It does
	// not say which part did not match.
	ErrUnitOperatorUnknown = newErr(KindUnprocessable, "UNIT_OPERATOR_UNKNOWN", "未找到该办税员：请确认其已在联办完成实名认证，且姓名与身份证号码填写正确")
	// ErrUnitOperatorExists is a person who already acts for the unit.
	ErrUnitOperatorExists = newErr(KindConflict, "UNIT_OPERATOR_EXISTS", "该人员已是本单位的法定代表人或办税员")
	// ErrUnitLegalRepFixed is an attempt to remove the legal
	// representative as if they were an operator.
	ErrUnitLegalRepFixed = newErr(KindUnprocessable, "UNIT_LEGAL_REP_NOT_REMOVABLE", "法定代表人（负责人）不能被移除")
	// ErrUnitSchemeRegistered is a second 参保登记 of a unit in one scheme.
	ErrUnitSchemeRegistered = newErr(KindConflict, "UNIT_SCHEME_REGISTERED", "本单位已登记该险种，无需重复登记")
	// ErrUnitNotRegistered is 增员 or 预处理数据 for a unit that has
	// registered no scheme yet.
	ErrUnitNotRegistered = newErr(KindUnprocessable, "UNIT_NOT_REGISTERED", "本单位尚未办理参保登记，请先登记险种")
	// ErrUnitDeclarationExists is a second declaration of a unit's month;
	// a change after confirming is a correction declaration.
	ErrUnitDeclarationExists = newErr(KindConflict, "UNIT_DECLARATION_EXISTS", "本月已申报，如需变更请提交更正申报")
	// ErrUnitNothingToDeclare is a declaration of a month with no employee
	// insured, or a correction with no difference to declare.
	ErrUnitNothingToDeclare = newErr(KindUnprocessable, "UNIT_NOTHING_TO_DECLARE", "没有需要申报的数据")
	// ErrUnitEmployeeEnded is 减员 of a spell that has already ended.
	ErrUnitEmployeeEnded = newErr(KindConflict, "UNIT_EMPLOYEE_ENDED", "该职工已办理减员")
	// ErrRosterConflict is a roster whose people another request added at
	// the same moment: nothing was taken; submitting again reports them.
	ErrRosterConflict = newErr(KindConflict, "ROSTER_CONFLICT", "花名册中有职工正被同时办理，请稍后重新提交")
	// ErrUnitCorrectionNotPayable is a correction whose difference owes
	// nothing or less than nothing (wages lowered, employees left): money
	// paid too much comes back through a unit refund application, not a
	// declaration.
	ErrUnitCorrectionNotPayable = newErr(KindUnprocessable, "UNIT_CORRECTION_NOT_PAYABLE", "更正后应缴金额未增加，无需补缴；多缴的费款请通过单位退费申请办理")
	// ErrAgreementNotVerified is a 三方协议 payment through an agreement the
	// unit does not have, or that the bank has not verified.
	ErrAgreementNotVerified = newErr(KindUnprocessable, "AGREEMENT_NOT_VERIFIED", "三方协议不存在或未通过银行验证")
	// ErrPaidAmountMismatch is a confirmation of a payment with another
	// amount than the order's: nothing is settled.
	ErrPaidAmountMismatch = newErr(KindUnprocessable, "PAID_AMOUNT_MISMATCH", "实收金额与订单金额不符")
	// ErrPartnerAuthFailed is a /partner/v1 request whose partner, key,
	// signature, timestamp or nonce does not hold: unknown or disabled
	// partner, wrong key, a changed body or path, a timestamp outside
	// ±300 s, or a nonce already used. One code for all, so a caller
	// learns nothing about which part failed.
	ErrPartnerAuthFailed = newErr(KindUnauthenticated, "PARTNER_AUTH_FAILED", "合作方请求验签失败")
	// ErrPartnerExists is a new partner whose id is taken.
	ErrPartnerExists = newErr(KindConflict, "PARTNER_EXISTS", "该合作方编号已存在")
	// ErrPartnerLastKey is retiring a partner's only live key: the
	// partner's terminals would all stop at once. Rotate first, or disable
	// the partner to stop it.
	ErrPartnerLastKey = newErr(KindConflict, "PARTNER_LAST_KEY", "不能停用合作方唯一的有效密钥").WithReason("请先轮换密钥；如需停止该合作方的全部请求，请停用合作方")
	// ErrReversalNotAllowed is a counter's reversal (冲正) of a payment
	// that is not its to reverse any more: another business day than the
	// payment's, or already credited by the treasury (入库). Money taken
	// then comes back only through a refund.
	ErrReversalNotAllowed = newErr(KindConflict, "REVERSAL_NOT_ALLOWED", "只能在缴费当日、入库前冲正")
	// ErrPartnerTxnReused is a partner transaction id already used for
	// another request (another order, amount or time): nothing is done.
	// The same request again gets the first answer.
	ErrPartnerTxnReused = newErr(KindConflict, "PARTNER_TXN_REUSED", "该交易流水号已用于其他交易")
	// ErrMethodNotAllowed is a path that exists with another method.
	ErrMethodNotAllowed = newErr(KindMethodNotAllowed, "METHOD_NOT_ALLOWED", "不支持该请求方法")
	// ErrRequestInProgress is a request whose twin (the same idempotency
	// key, the same staff step, the same partner key change) is still
	// running: the caller asks again later and gets its outcome.
	ErrRequestInProgress = newErr(KindConflict, "REQUEST_IN_PROGRESS", "请求正在处理中，请稍后查询结果")
)
