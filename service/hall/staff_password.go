package hall

import (
	"context"
	"errors"
	"unicode/utf8"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
)

// Password rules for a password a person chooses (generated ones are
// longer and random).
const (
	minStaffPassword = 12
	maxStaffPassword = 128
)

// ChangePasswordInput is a staff member changing their own password.
type ChangePasswordInput struct {
	CurrentPassword string `json:"current_password"`
	TOTP            string `json:"totp"`
	NewPassword     string `json:"new_password"`
}

// ChangeStaffPassword lets a staff member replace their own password. It
// asks for the current password and a fresh TOTP code, as a login does, so
// a session left open on a hall computer cannot be used to take the
// account; wrong answers count towards the lockout (a right code already
// used does not). Every session of the
// account ends, this one included: the next step is logging in with the
// new password.
func (s *Hall) ChangeStaffPassword(ctx context.Context, a kernel.StaffActor, in ChangePasswordInput) error {
	if n := utf8.RuneCountInString(in.NewPassword); n < minStaffPassword || n > maxStaffPassword {
		return models.ErrInvalid.WithReason("新密码应为 12 到 128 个字符")
	}
	if in.NewPassword == in.CurrentPassword {
		return models.ErrInvalid.WithReason("新密码不能与原密码相同")
	}
	var row store.StaffAccountRow
	if err := s.Conn(ctx).Where("id = ?", a.StaffID).Take(&row).Error; err != nil {
		return kernel.Internal("load staff", err)
	}
	now := s.Now()
	if row.LockedUntil != nil && row.LockedUntil.After(now) {
		return models.ErrStaffLocked
	}
	secret, err := s.PII.Open(row.TOTPSealed)
	if err != nil {
		return kernel.Internal("open totp secret", err)
	}
	step, totpOK := checkTOTP(secret, in.TOTP, now)
	if !verifyPassword(row.PasswordHash, in.CurrentPassword) || !totpOK {
		return s.passwordChangeFailure(ctx, a, row.ID, "修改密码：原密码或动态口令错误")
	}
	// The right password with a right code already used (most often the
	// one the login just took, within its 30 seconds) is the account's own
	// holder being quick, not a guess: it is refused, as a code never
	// works twice, but not counted towards the lockout, and the answer
	// says to wait for the next code. Only a caller who knows the password
	// and has a code of the last minute gets this answer; every wrong
	// password still counts.
	if step <= row.TOTPLastStep {
		return s.usedCode(ctx, a, row.ID)
	}
	hash, err := hashPassword(in.NewPassword)
	if err != nil {
		return kernel.Internal("hash password", err)
	}
	// The TOTP step is taken in the same conditional update, so a code
	// never works twice, and a concurrent reset (another cred_version)
	// wins over this change.
	res := s.Conn(ctx).Model(&store.StaffAccountRow{}).
		Where("id = ? AND status = ? AND cred_version = ? AND totp_last_step < ?", row.ID, StaffActive, row.CredVersion, step).
		Updates(map[string]any{"password_hash": hash, "totp_last_step": step, "cred_version": row.CredVersion + 1,
			"failed_count": 0, "failed_since": nil, "updated_at": now})
	if res.Error != nil {
		return kernel.Internal("change password", res.Error)
	}
	if res.RowsAffected != 1 {
		// A login or another change took the same code between the read
		// and the update (the holder, with the right password): refused
		// as a used code, uncounted, unless the account changed under it.
		var cur store.StaffAccountRow
		if err := s.Conn(ctx).Select("cred_version", "status", "totp_last_step").Where("id = ?", row.ID).Take(&cur).Error; err == nil &&
			cur.CredVersion == row.CredVersion && cur.Status == StaffActive && cur.TOTPLastStep >= step {
			return s.usedCode(ctx, a, row.ID)
		}
		return s.passwordChangeFailure(ctx, a, row.ID, "修改密码：动态口令已使用或账号已变更")
	}
	return s.AuditNow(ctx, a, kernel.AuditNote{Action: "staff.password", TargetKind: "staff", TargetID: row.ID, Outcome: kernel.AuditOK})
}

// usedCode refuses a change that had the right password and a right code
// already used, without counting it, and audits the refusal.
func (s *Hall) usedCode(ctx context.Context, a kernel.StaffActor, id string) error {
	if err := s.AuditNow(ctx, a, kernel.AuditNote{Action: "staff.password", TargetKind: "staff", TargetID: id, Outcome: kernel.AuditDenied,
		Detail: "修改密码：动态口令已使用（不计入失败次数）"}); err != nil {
		return err
	}
	return models.ErrStaffCredentials.WithReason("这个动态口令已经用过（每个口令只能用一次），请等验证器显示下一个口令后再试")
}

// passwordChangeFailure counts a failed change like a failed login (it may
// lock the account) but answers as a refused request, not a dead session.
func (s *Hall) passwordChangeFailure(ctx context.Context, a kernel.StaffActor, id, detail string) error {
	_, err := s.staffLoginFailure(ctx, a, id, detail)
	if errors.Is(err, models.ErrStaffLoginFailed) {
		return models.ErrStaffCredentials
	}
	return err
}
