package models

import (
	"regexp"
	"strings"
)

// StaffRole is what a hall staff account may do. Each role acts only in its
// own step (separation of duties, 等保 2.0 level 3): the tax window takes in,
// refuses and pays back; each agency's reviewer reviews its own schemes;
// the admin manages accounts and nothing else; the auditor reads the audit
// log and nothing else.
type StaffRole string

// Staff roles.
const (
	RoleTaxWindow  StaffRole = "tax_window"
	RoleSIReviewer StaffRole = "si_reviewer" // 社保: pension schemes
	RoleMIReviewer StaffRole = "mi_reviewer" // 医保: medical schemes
	RoleAdmin      StaffRole = "admin"
	RoleAuditor    StaffRole = "auditor"
)

// StaffRoles lists every role in a stable order.
var StaffRoles = []StaffRole{RoleTaxWindow, RoleSIReviewer, RoleMIReviewer, RoleAdmin, RoleAuditor}

// Valid reports whether r is a known role.
func (r StaffRole) Valid() bool {
	for _, v := range StaffRoles {
		if v == r {
			return true
		}
	}
	return false
}

// Department is the department a role works for ("" for admin and
// auditor, who belong to none).
func (r StaffRole) Department() string {
	switch r {
	case RoleTaxWindow:
		return DeptTax
	case RoleSIReviewer:
		return DeptSocialInsurance
	case RoleMIReviewer:
		return DeptMedicalInsurance
	}
	return ""
}

// Permission is one kind of staff action.
type Permission string

// Permissions.
const (
	PermRefundIntake  Permission = "refund.intake"  // accept, refuse, execute; see every application
	PermRefundReview  Permission = "refund.review"  // review the applications of the role's department
	PermStaffManage   Permission = "staff.manage"   // list, create, disable, reset accounts
	PermAuditRead     Permission = "audit.read"     // list and export the audit log
	PermRefundRead    Permission = "refund.read"    // see applications (intake: all; reviewers: their department's)
	PermSessionManage Permission = "session.manage" // log out, see oneself
	// PermAnomalyRead and PermAnomalyResolve: the anomaly queue, each role
	// its own anomalies (see AnomalyOwner), the auditor every one, read-only.
	PermAnomalyRead    Permission = "anomaly.read"
	PermAnomalyResolve Permission = "anomaly.resolve"
	// PermUnitPOSConfirm: confirm a unit's payment at the hall's POS.
	PermUnitPOSConfirm Permission = "unit_payment.pos_confirm"
	// PermPartnerManage: the counter API's partners and their keys.
	PermPartnerManage Permission = "partner.manage"
	// PermHallPayment: look a person up by name and ID number at the
	// window, declare on their behalf and open a payment at the hall's POS.
	PermHallPayment Permission = "hall.payment"
)

var rolePerms = map[StaffRole][]Permission{
	RoleTaxWindow:  {PermRefundIntake, PermRefundRead, PermSessionManage, PermAnomalyRead, PermAnomalyResolve, PermUnitPOSConfirm, PermHallPayment},
	RoleSIReviewer: {PermRefundReview, PermRefundRead, PermSessionManage, PermAnomalyRead, PermAnomalyResolve},
	RoleMIReviewer: {PermRefundReview, PermRefundRead, PermSessionManage, PermAnomalyRead, PermAnomalyResolve},
	RoleAdmin:      {PermStaffManage, PermSessionManage, PermPartnerManage},
	RoleAuditor:    {PermAuditRead, PermSessionManage, PermAnomalyRead},
}

// May reports whether r has permission p.
func (r StaffRole) May(p Permission) bool {
	for _, q := range rolePerms[r] {
		if q == p {
			return true
		}
	}
	return false
}

// Reviews reports whether r reviews the refunds of department dept: the 社保
// reviewer the pension schemes', the 医保 reviewer the medical schemes'.
func (r StaffRole) Reviews(dept string) bool {
	return r.May(PermRefundReview) && r.Department() == dept
}

// SeesRefundsOf reports whether r may read applications of department dept:
// the tax window all of them, a reviewer its own department's.
func (r StaffRole) SeesRefundsOf(dept string) bool {
	return r == RoleTaxWindow || r.Reviews(dept)
}

// SeesAnomaly reports whether r may read an anomaly owned by owner: its
// owner, and the auditor (every one).
func (r StaffRole) SeesAnomaly(owner StaffRole) bool {
	return r.May(PermAnomalyRead) && (r == owner || r == RoleAuditor)
}

// ResolvesAnomaly reports whether r may close an anomaly owned by owner:
// only its owner.
func (r StaffRole) ResolvesAnomaly(owner StaffRole) bool {
	return r.May(PermAnomalyResolve) && r == owner
}

// Label is the role as the hall names it.
func (r StaffRole) Label() string {
	switch r {
	case RoleTaxWindow:
		return "税务窗口"
	case RoleSIReviewer:
		return "社保复核"
	case RoleMIReviewer:
		return "医保复核"
	case RoleAdmin:
		return "系统管理员"
	case RoleAuditor:
		return "审计员"
	}
	return string(r)
}

var usernamePattern = regexp.MustCompile(`^[a-z][a-z0-9_.-]{2,31}$`)

// NormalizeUsername lower-cases and trims a staff username and checks it:
// 3–32 characters of a–z, 0–9, '_', '.', '-', starting with a letter.
func NormalizeUsername(u string) (string, error) {
	u = strings.ToLower(strings.TrimSpace(u))
	if !usernamePattern.MatchString(u) {
		return u, ErrInvalid.WithReason("用户名为3到32位小写字母、数字或 _ . -，以字母开头")
	}
	return u, nil
}

// Staff errors. Codes are part of the API contract: never rename one.
var (
	// ErrStaffLoginFailed does not say which of username, password or TOTP
	// code was wrong.
	ErrStaffLoginFailed = newErr(KindUnauthenticated, "STAFF_LOGIN_FAILED", "用户名、密码或动态口令错误")
	// ErrStaffCredentials is a wrong current password or TOTP code when a
	// signed-in staff member changes their password: not a dead session.
	ErrStaffCredentials = newErr(KindUnprocessable, "STAFF_CREDENTIALS_INVALID", "原密码或动态口令错误")
	ErrStaffLocked      = newErr(KindRateLimited, "STAFF_LOCKED", "登录失败次数过多，账号已临时锁定，请稍后再试或联系管理员")
	ErrStaffExists      = newErr(KindConflict, "STAFF_EXISTS", "该用户名已存在")
	// ErrRoleForbidden is an action outside the caller's role or department.
	ErrRoleForbidden = newErr(KindForbidden, "FORBIDDEN", "无权访问").WithReason("当前岗位无权办理此事项")
)
