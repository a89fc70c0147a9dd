package unitpay

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
)

// AgreementChecksPerHour is how many agreements a unit may ask the bank
// to verify in an hour: a unit fixing a typo needs a few.
const AgreementChecksPerHour = 10

// AgreementInput registers a 三方协议: the account the unit wants debited.
type AgreementInput struct {
	BankCode    string `json:"bank_code"`
	AccountName string `json:"account_name"`
	AccountNo   string `json:"account_no"`
}

// Agreement is a 三方协议 as the unit sees it: the account number masked.
type Agreement struct {
	AgreementID     string     `json:"agreement_id"`
	AgreementNo     string     `json:"agreement_no"`
	Status          string     `json:"status"`
	Reason          string     `json:"reason,omitempty"`
	BankCode        string     `json:"bank_code"`
	AccountNoMasked string     `json:"account_no_masked"`
	CreatedAt       time.Time  `json:"created_at"`
	VerifiedAt      *time.Time `json:"verified_at"`
}

func (s *UnitPay) agreementView(r store.TripartiteAgreementRow) Agreement {
	no, err := s.PII.Open(r.AccountNoSealed)
	masked := models.MaskBankAccount(no)
	if err != nil {
		masked = "****"
	}
	return Agreement{AgreementID: r.ID, AgreementNo: r.AgreementNo, Status: r.Status, Reason: r.RefuseReason, BankCode: r.BankCode,
		AccountNoMasked: masked, CreatedAt: r.CreatedAt, VerifiedAt: r.VerifiedAt}
}

// AddTripartiteAgreement asks the bank to verify an agreement on the
// unit's account and keeps its verdict. A refusal is kept too (with the
// bank's reason), so the unit sees why; no verdict (the bank did not
// answer) keeps nothing and is CHANNEL_UNAVAILABLE.
func (s *UnitPay) AddTripartiteAgreement(ctx context.Context, userID, unitID string, in AgreementInput) (Agreement, error) {
	if _, err := s.units.ActsFor(ctx, userID, unitID); err != nil {
		return Agreement{}, err
	}
	// Each verification tells whether an account is held in a name: a
	// guess confirmed or not, so the limit holds while Redis is down.
	if err := s.RateLimit(ctx, "agreement:"+unitID, AgreementChecksPerHour, time.Hour, kernel.CountInDB); err != nil {
		return Agreement{}, err
	}
	in.BankCode = strings.TrimSpace(in.BankCode)
	in.AccountName = strings.TrimSpace(in.AccountName)
	in.AccountNo = strings.Join(strings.Fields(in.AccountNo), "")
	switch {
	case !validCode(in.BankCode, 2, 20):
		return Agreement{}, models.ErrInvalid.WithReason("请填写正确的银行代码 bank_code")
	case in.AccountName == "" || len([]rune(in.AccountName)) > 100:
		return Agreement{}, models.ErrInvalid.WithReason("请填写账户户名 account_name（与单位名称一致）")
	case !validDigits(in.AccountNo, 8, 32):
		return Agreement{}, models.ErrInvalid.WithReason("请填写正确的银行账号 account_no（8至32位数字）")
	}
	if s.Tripartite == nil {
		return Agreement{}, models.ErrUnavailable.WithReason("暂未接入银行三方协议服务")
	}
	u, err := s.units.Unit(ctx, unitID)
	if err != nil {
		return Agreement{}, err
	}
	now := s.Now()
	no, err := s.agreementNumber(ctx, now)
	if err != nil {
		return Agreement{}, err
	}
	row := store.TripartiteAgreementRow{ID: kernel.NewID("ta"), UnitID: unitID, AgreementNo: no, BankCode: in.BankCode,
		AccountNoIndex: s.PII.BlindIndex("bank_account", in.AccountNo), CreatedBy: userID, CreatedAt: now}
	// The account must be held in the unit's own name. Any other name is
	// refused here, before the bank is asked: the bank's verdict on a name
	// we chose to send (and its reasons, which differ for a wrong holder
	// and for another unit's account) would tell the caller whether
	// someone else's account is held in a name they guess.
	var res models.AgreementResult
	if in.AccountName == u.Name {
		res, err = s.Tripartite.VerifyAgreement(ctx, models.AgreementRequest{AgreementNo: no, PayerUSCC: u.USCC,
			AccountName: in.AccountName, AccountNo: in.AccountNo, BankCode: in.BankCode})
		if errors.Is(err, models.ErrInvalid) {
			return Agreement{}, models.ErrInvalid.WithReason("银行不受理该协议信息，请核对后重试")
		}
		if err != nil {
			s.Log.WarnContext(ctx, "agreement not verified: bank did not answer", "unit_id", unitID, "err", err)
			return Agreement{}, models.ErrUnavailable.WithReason("银行暂时无法核验三方协议，请稍后再试")
		}
	}
	switch {
	case in.AccountName != u.Name:
		row.Status, row.RefuseReason = AgreementRefused, "账户户名与单位名称不一致"
	case res.State == models.AgreementVerified:
		row.Status, row.VerifiedAt = AgreementVerified, &now
	default:
		row.Status, row.RefuseReason = AgreementRefused, kernel.Truncate(res.Reason, 200)
		if row.RefuseReason == "" {
			row.RefuseReason = "银行未通过协议验证"
		}
	}
	if row.AccountNameSealed, err = s.Seal(in.AccountName); err != nil {
		return Agreement{}, err
	}
	if row.AccountNoSealed, err = s.Seal(in.AccountNo); err != nil {
		return Agreement{}, err
	}
	if err := s.Conn(ctx).Create(&row).Error; err != nil {
		return Agreement{}, kernel.Internal("save agreement", err)
	}
	return s.agreementView(row), nil
}

// agreementNumber draws an agreement number no agreement holds. The
// number goes to the bank before the agreement is stored (what the bank
// answers decides how it is stored), so a collision cannot be drawn
// again after the insert as the orders' numbers are: the bank would have
// verified one number for two units. Six random digits meet another
// drawn in the same second one time in a million per pair; what is left
// is two units drawing the same number between this check and their
// inserts, and the second insert then fails (500) without storing
// anything.
func (s *UnitPay) agreementNumber(ctx context.Context, now time.Time) (string, error) {
	for range 5 {
		no := s.Number("TA", now, 6)
		var n int64
		if err := s.Conn(ctx).Model(&store.TripartiteAgreementRow{}).Where("agreement_no = ?", no).Count(&n).Error; err != nil {
			return "", kernel.Internal("agreement number", err)
		}
		if n == 0 {
			return no, nil
		}
	}
	return "", kernel.Internal("agreement number", errors.New("five drawn numbers were all taken"))
}

// ListTripartiteAgreements lists a unit's agreements, newest first.
func (s *UnitPay) ListTripartiteAgreements(ctx context.Context, userID, unitID string) ([]Agreement, error) {
	if _, err := s.units.ActsFor(ctx, userID, unitID); err != nil {
		return nil, err
	}
	var rows []store.TripartiteAgreementRow
	if err := s.Conn(ctx).Where("unit_id = ?", unitID).Order("created_at DESC, id").Limit(100).Find(&rows).Error; err != nil {
		return nil, kernel.Internal("list agreements", err)
	}
	out := make([]Agreement, 0, len(rows))
	for _, r := range rows {
		out = append(out, s.agreementView(r))
	}
	return out, nil
}

func validDigits(v string, min, max int) bool {
	if len(v) < min || len(v) > max {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

func validCode(v string, min, max int) bool {
	if len(v) < min || len(v) > max {
		return false
	}
	for i := 0; i < len(v); i++ {
		b := v[i]
		if (b < '0' || b > '9') && (b < 'A' || b > 'Z') && (b < 'a' || b > 'z') {
			return false
		}
	}
	return true
}
