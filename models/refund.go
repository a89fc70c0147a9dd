package models

import (
	"strings"
	"unicode/utf8"
)

// RefundStatus is where a refund application (退费申请) is on the path of
// DESIGN.md §3:
//
//	submitted → accepted (税务受理) | refused (不予受理, every reason at once)
//	accepted  → forwarded (to the 社保 or 医保 agency by scheme)
//	forwarded → approved | rejected (签注原因)
//	approved  → refunding → refunded
//
// Until the money starts moving (submitted, accepted, forwarded, approved)
// an application can be withdrawn (撤回) by its applicant or, when the
// applicant is neither the person nor a proven guardian, by the money's
// owners. A status never moves backwards; refused, rejected, refunded and
// withdrawn are final.
type RefundStatus string

// Refund statuses (API: RefundStatus).
const (
	RefundSubmitted RefundStatus = "submitted"
	RefundAccepted  RefundStatus = "accepted"
	RefundRefused   RefundStatus = "refused"
	RefundForwarded RefundStatus = "forwarded"
	RefundApproved  RefundStatus = "approved"
	RefundRejected  RefundStatus = "rejected"
	RefundRefunding RefundStatus = "refunding"
	RefundRefunded  RefundStatus = "refunded"
	RefundWithdrawn RefundStatus = "withdrawn"
)

var refundMoves = map[RefundStatus][]RefundStatus{
	RefundSubmitted: {RefundAccepted, RefundRefused, RefundWithdrawn},
	RefundAccepted:  {RefundForwarded, RefundWithdrawn},
	RefundForwarded: {RefundApproved, RefundRejected, RefundWithdrawn},
	RefundApproved:  {RefundRefunding, RefundWithdrawn},
	RefundRefunding: {RefundRefunded},
}

// CanMoveTo reports whether the state machine allows s → t.
func (s RefundStatus) CanMoveTo(t RefundStatus) bool {
	for _, n := range refundMoves[s] {
		if n == t {
			return true
		}
	}
	return false
}

// Final reports whether nothing more happens to an application in s.
func (s RefundStatus) Final() bool {
	return s == RefundRefused || s == RefundRejected || s == RefundRefunded || s == RefundWithdrawn
}

// Valid reports whether s is a known status.
func (s RefundStatus) Valid() bool {
	switch s {
	case RefundSubmitted, RefundAccepted, RefundRefused, RefundForwarded, RefundApproved, RefundRejected,
		RefundRefunding, RefundRefunded, RefundWithdrawn:
		return true
	}
	return false
}

// Label is the status as the applicant reads it.
func (s RefundStatus) Label() string {
	switch s {
	case RefundSubmitted:
		return "已提交，待税务受理"
	case RefundAccepted:
		return "税务已受理"
	case RefundRefused:
		return "不予受理"
	case RefundForwarded:
		return "已转经办机构复核"
	case RefundApproved:
		return "复核通过，待税务退费"
	case RefundRejected:
		return "复核不予退费"
	case RefundRefunding:
		return "退费办理中"
	case RefundRefunded:
		return "退费已办结"
	case RefundWithdrawn:
		return "已撤回"
	}
	return string(s)
}

// RefundHolder is the department that holds an application in status s:
// the tax window until it is forwarded, then the agency of its scheme's
// department, then tax again to pay it back. A final application is held
// by no one ("").
func RefundHolder(s RefundStatus, department string) string {
	switch s {
	case RefundSubmitted, RefundAccepted, RefundApproved, RefundRefunding:
		return DeptTax
	case RefundForwarded:
		return department
	}
	return ""
}

// DepartmentName is a department as people know it at the hall; a timeline
// names departments, never a person.
func DepartmentName(d string) string {
	switch d {
	case DeptTax:
		return "税务"
	case DeptSocialInsurance:
		return "社保经办机构"
	case DeptMedicalInsurance:
		return "医保经办机构"
	}
	return ""
}

// RefundReason is why an applicant asks for money back (the seed: 多缴、误收
// 以及按照相关政策规定符合退费条件).
type RefundReason string

// Refund reasons (API: RefundReason).
const (
	ReasonOverpaid         RefundReason = "overpaid"
	ReasonWronglyCollected RefundReason = "wrongly_collected"
	ReasonPolicy           RefundReason = "policy"
)

// Valid reports whether r is a known reason.
func (r RefundReason) Valid() bool {
	return r == ReasonOverpaid || r == ReasonWronglyCollected || r == ReasonPolicy
}

// Label is the reason in Chinese.
func (r RefundReason) Label() string {
	switch r {
	case ReasonOverpaid:
		return "多缴"
	case ReasonWronglyCollected:
		return "误收"
	case ReasonPolicy:
		return "政策性退费"
	}
	return string(r)
}

// RefundRoute is how the money goes back.
type RefundRoute string

// Refund routes: through the channel the order was paid with (原路退回), or
// by the partner bank to an account (退库到账户).
const (
	RouteOriginal RefundRoute = "original"
	RouteBank     RefundRoute = "bank"
)

// AttachmentKind names a material of the seed's refund materials table
// (自然人社会保险费退费申请: the application form, the payer's identity
// documents, the bank account documents, anything else the tax office or
// agency asks for).
type AttachmentKind string

// Attachment kinds.
const (
	AttachForm        AttachmentKind = "refund_form"  // 《社会保险费退费申请表》
	AttachIdentity    AttachmentKind = "identity"     // 缴费人身份信息资料
	AttachBankAccount AttachmentKind = "bank_account" // 银行账户资料
	AttachOther       AttachmentKind = "other"        // 其他资料
)

// Valid reports whether k is a known kind.
func (k AttachmentKind) Valid() bool {
	return k == AttachForm || k == AttachIdentity || k == AttachBankAccount || k == AttachOther
}

// Label is the material's name in the seed.
func (k AttachmentKind) Label() string {
	switch k {
	case AttachForm:
		return "《社会保险费退费申请表》"
	case AttachIdentity:
		return "缴费人身份信息资料"
	case AttachBankAccount:
		return "银行账户资料"
	case AttachOther:
		return "主管税务机关和社保（医保）经办机构要求提供的其他资料"
	}
	return string(k)
}

// Attachment is one material listed on an application: its kind, a name
// people read, and a reference to the uploaded file (a channel's media id or
// an upload service's key; the file itself is not kept here).
type Attachment struct {
	Kind AttachmentKind `json:"kind"`
	Name string         `json:"name"`
	Ref  string         `json:"ref,omitempty"`
}

// MaxAttachments bounds the materials of one application.
const MaxAttachments = 20

// Check validates an attachment and returns it trimmed.
func (a Attachment) Check() (Attachment, error) {
	a.Name = strings.TrimSpace(a.Name)
	a.Ref = strings.TrimSpace(a.Ref)
	if a.Kind == "" {
		a.Kind = AttachOther
	}
	switch {
	case !a.Kind.Valid():
		return a, ErrInvalid.WithReason("附件类型不正确")
	case a.Name == "" || utf8.RuneCountInString(a.Name) > 100:
		return a, ErrInvalid.WithReason("附件名称不能为空且不超过100个字")
	case len(a.Ref) > 256:
		return a, ErrInvalid.WithReason("附件标识过长")
	}
	return a, nil
}

// BankAccount is where a refund is paid when it cannot go back through the
// original channel. The account name and number are personal data: sealed
// at rest, masked everywhere they are shown.
type BankAccount struct {
	BankName    string `json:"bank_name"`
	AccountName string `json:"account_name"`
	AccountNo   string `json:"account_no"`
}

// Empty reports whether no field is set.
func (b BankAccount) Empty() bool {
	return b.BankName == "" && b.AccountName == "" && b.AccountNo == ""
}

// Normalize trims the fields, removes spaces from the number and checks
// them: a bank name, an account name of at most 50 characters, and an
// account number of 8 to 32 digits (bank cards are 16–19, 对公 accounts
// longer).
func (b BankAccount) Normalize() (BankAccount, error) {
	b.BankName = strings.TrimSpace(b.BankName)
	b.AccountName = strings.TrimSpace(b.AccountName)
	b.AccountNo = strings.Join(strings.Fields(b.AccountNo), "")
	switch {
	case b.BankName == "" || utf8.RuneCountInString(b.BankName) > 50:
		return b, ErrBankAccountInvalid.WithReason("请填写开户银行")
	case b.AccountName == "" || utf8.RuneCountInString(b.AccountName) > 50:
		return b, ErrBankAccountInvalid.WithReason("请填写账户名称")
	case len(b.AccountNo) < 8 || len(b.AccountNo) > 32:
		return b, ErrBankAccountInvalid.WithReason("银行账号应为8到32位数字")
	}
	for _, r := range b.AccountNo {
		if r < '0' || r > '9' {
			return b, ErrBankAccountInvalid.WithReason("银行账号应为8到32位数字")
		}
	}
	return b, nil
}

// MaskedBankAccount is a bank account as responses show it.
type MaskedBankAccount struct {
	BankName          string `json:"bank_name"`
	AccountNameMasked string `json:"account_name_masked"`
	AccountNoMasked   string `json:"account_no_masked"`
}

// Masked returns the account as it may be shown.
func (b BankAccount) Masked() MaskedBankAccount {
	return MaskedBankAccount{BankName: b.BankName, AccountNameMasked: MaskName(b.AccountName), AccountNoMasked: MaskBankAccount(b.AccountNo)}
}

// CheckReasons trims a list of refusal reasons (一次性告知: all of them at
// once), drops blanks and duplicates, and requires at least one.
func CheckReasons(in []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, r := range in {
		r = strings.TrimSpace(r)
		if r == "" || seen[r] {
			continue
		}
		if utf8.RuneCountInString(r) > 200 {
			return nil, ErrInvalid.WithReason("每条原因不超过200个字")
		}
		seen[r] = true
		out = append(out, r)
	}
	switch {
	case len(out) == 0:
		return nil, ErrInvalid.WithReason("不予受理须一次性告知全部原因，至少填写一条")
	case len(out) > 20:
		return nil, ErrInvalid.WithReason("原因不超过20条")
	}
	return out, nil
}

// Refund errors. Codes are part of the API contract: never rename one.
var (
	ErrRefundNotCredited = newErr(KindUnprocessable, "REFUND_NOT_CREDITED", "所选费款尚未入库，暂不能申请退费")
	ErrRefundExceeds     = newErr(KindUnprocessable, "REFUND_AMOUNT_EXCEEDED", "申请退费金额超过可退金额")
	ErrRefundOpen        = newErr(KindConflict, "REFUND_ALREADY_OPEN", "该险种已有正在办理的退费申请，请办结后再申请")
	ErrRefundState       = newErr(KindConflict, "REFUND_STATE_CONFLICT", "退费申请当前状态不能办理此操作")
	ErrBankAccountNeeded = newErr(KindUnprocessable, "BANK_ACCOUNT_REQUIRED", "该笔费款无法原路退回，请提供银行账户")
	// ErrBankAccountInvalid is a malformed bank account.
	ErrBankAccountInvalid = newErr(KindInvalid, "BANK_ACCOUNT_INVALID", "银行账户信息不正确")
	// ErrRefundApplicant is a caller who may see a person's records (a
	// grant) but whose money it is not: only the payer, the (adult) person
	// or a proven guardian of a minor may ask money back.
	ErrRefundApplicant = newErr(KindForbidden, "REFUND_APPLICANT_NOT_ALLOWED", "只有缴费人、参保人本人或经核验的监护人可以申请退费")
	// ErrRefundWithdraw is a party of an application who may not withdraw
	// it: the person or a proven guardian filed it.
	ErrRefundWithdraw = newErr(KindForbidden, "REFUND_WITHDRAW_NOT_ALLOWED", "该退费申请由参保人本人或其监护人提出，您不能撤回")
	// ErrBankAccountName is an account the bank says is not held in the
	// name given (account-name verification), or in a name money may not
	// go to.
	ErrBankAccountName = newErr(KindUnprocessable, "BANK_ACCOUNT_NAME_MISMATCH", "银行账户户名核验未通过")
)
