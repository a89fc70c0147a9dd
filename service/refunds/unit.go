package refunds

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// A unit's refund (business 9 of the seed, 单位社会保险费退费) is a row of
// refunds with unit_id set and person_id '': the staff steps, payouts,
// events and messages are the individual's. What differs is here:
//
//   - One application asks money back from one order of the unit in one
//     scheme (a unit's order spans its schemes). Its open key is
//     "unit:<unit_id>|<scheme>", so a unit has one open application per
//     scheme, and the review goes to the scheme's agency: 社保 for the
//     pension schemes, 医保 for the medical ones. A unit asking back from
//     both files one application per scheme.
//   - The money goes to a bank account held in the unit's name, checked by
//     the bank's account-name verification (the 开户许可证 copy among its
//     attachments is what the window compares it with). A unit's order was
//     paid by 三方协议 debit, 银行端凭证 or POS, none of which refunds
//     "through the channel", so there is no original route.
//   - Its materials are uploads (refund_attachments), at least one: the
//     开户许可证 copy.
//   - Its parties are the people acting for the unit now (legal
//     representative and operators): they see it, are told of each step
//     and may withdraw it; nobody else does, not even a member who filed
//     it and has since been removed.

// RoleUnit is the applicant role of a unit's application.
const RoleUnit = "unit"

// maxUnitAttachments bounds the files of one application.
const maxUnitAttachments = 20

// UnitRefundInput is a unit's refund application (createUnitRefund).
type UnitRefundInput struct {
	OrderNo      string              `json:"order_no"`
	Scheme       models.Scheme       `json:"scheme"`
	RefundFen    models.Fen          `json:"refund_fen"`
	Reason       models.RefundReason `json:"reason"`
	ReasonDetail string              `json:"reason_detail"`
	BankAccount  *models.BankAccount `json:"bank_account"`
	Attachments  []string            `json:"attachments"`
}

// RefundUpload is an uploaded file an application carries.
type RefundUpload struct {
	UploadID    string `json:"upload_id"`
	Kind        string `json:"kind"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

// CheckUnitRefundInput checks an application's own fields and returns it
// normalised with its bank account.
func CheckUnitRefundInput(in UnitRefundInput) (UnitRefundInput, models.BankAccount, error) {
	if !in.Scheme.IsUnit() {
		return in, models.BankAccount{}, models.ErrSchemeInvalid.WithReason("单位退费的险种应为单位参保的险种")
	}
	if !in.Reason.Valid() {
		return in, models.BankAccount{}, models.ErrInvalid.WithReason("退费原因应为 overpaid（多缴）、wrongly_collected（误收）或 policy（政策性退费）")
	}
	if in.RefundFen <= 0 {
		return in, models.BankAccount{}, models.ErrInvalid.WithReason("退费金额应大于0")
	}
	in.OrderNo = strings.TrimSpace(in.OrderNo)
	if in.OrderNo == "" {
		return in, models.BankAccount{}, models.ErrInvalid.WithReason("请选择要退费的缴费订单 order_no")
	}
	in.ReasonDetail = strings.TrimSpace(in.ReasonDetail)
	if utf8.RuneCountInString(in.ReasonDetail) > 500 {
		return in, models.BankAccount{}, models.ErrInvalid.WithReason("退费说明不超过500个字")
	}
	seen := map[string]bool{}
	var ids []string
	for _, id := range in.Attachments {
		id = strings.TrimSpace(id)
		if id == "" || len(id) > 40 {
			return in, models.BankAccount{}, models.ErrInvalid.WithReason("附件应为上传文件的 upload_id")
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return in, models.BankAccount{}, models.ErrInvalid.WithReason("请上传银行开户许可证复印件（及缴费凭证）作为附件")
	}
	if len(ids) > maxUnitAttachments {
		return in, models.BankAccount{}, models.ErrInvalid.WithReason("附件不超过20个")
	}
	in.Attachments = ids
	if in.BankAccount == nil || in.BankAccount.Empty() {
		return in, models.BankAccount{}, models.ErrBankAccountNeeded.WithReason("单位退费须填写本单位名下的银行账户，并附开户许可证复印件")
	}
	b, err := in.BankAccount.Normalize()
	return in, b, err
}

// CheckUnitRefundAccount checks an account a unit's money may be paid to:
// held in the unit's name, as the bank's account-name verification says.
func (s *Refunds) CheckUnitRefundAccount(ctx context.Context, unit store.UnitRow, b models.BankAccount) error {
	if b.AccountName != unit.Name {
		return models.ErrBankAccountInvalid.WithReason("单位退费只能退至本单位名下的银行账户，户名应为“" + unit.Name + "”")
	}
	v, ok := s.Bank.(models.BankAccountVerifier)
	if !ok {
		return models.ErrUnavailable.WithReason("银行账户核验暂不可用")
	}
	if err := v.VerifyAccountName(ctx, b.AccountName, b.AccountNo); err != nil {
		if errors.Is(err, models.ErrBankAccountName) {
			return models.ErrBankAccountName.WithReason("开户银行核验：该账户的户名与本单位名称不一致")
		}
		return err
	}
	return nil
}

// FileUnitRefund files a unit's application. The caller has checked
// that userID acts for the unit, the input (CheckUnitRefundInput) and that
// every upload may be attached; the account is checked here, after the
// money, so nobody learns from the bank what the unit could not ask back.
func (s *Refunds) FileUnitRefund(ctx context.Context, userID string, unit store.UnitRow, in UnitRefundInput, bank models.BankAccount) (Refund, error) {
	var o store.OrderRow
	if err := s.Conn(ctx).Where("order_no = ? AND unit_id = ?", in.OrderNo, unit.ID).Take(&o).Error; err != nil {
		if kernel.IsNotFound(err) {
			return Refund{}, models.ErrNotFound.WithReason("本单位没有该缴费订单")
		}
		return Refund{}, kernel.Internal("load unit order", err)
	}
	openKey := "unit:" + unit.ID + "|" + string(in.Scheme)
	if err := s.noOpenRefund(ctx, openKey); err != nil {
		return Refund{}, err
	}
	plan, err := s.planUnitRefund(ctx, unit.ID, o, in)
	if err != nil {
		if errors.Is(err, models.ErrRefundExceeds) {
			if oerr := s.noOpenRefund(ctx, openKey); oerr != nil {
				return Refund{}, oerr
			}
		}
		return Refund{}, err
	}
	if err := s.CheckUnitRefundAccount(ctx, unit, bank); err != nil {
		return Refund{}, err
	}
	now := s.Now()
	row := store.RefundRow{ApplicantUserID: userID, UnitID: unit.ID, Scheme: string(in.Scheme), Department: in.Scheme.Department(),
		Reason: string(in.Reason), ReasonDetail: in.ReasonDetail, RefundFen: int64(in.RefundFen), Route: string(models.RouteBank),
		Attachments: "[]", Status: string(models.RefundSubmitted), Holder: models.DeptTax, OpenKey: &openKey,
		CreatedAt: now, UpdatedAt: now, ApplicantRole: RoleUnit}
	if err := s.sealAccount(&row, bank); err != nil {
		return Refund{}, err
	}
	attach := func(tx *gorm.DB) error {
		for _, id := range in.Attachments {
			if err := tx.Create(&store.RefundAttachmentRow{RefundNo: row.RefundNo, UploadID: id, CreatedAt: now}).Error; err != nil {
				return err
			}
		}
		return nil
	}
	if err := s.file(ctx, userID, &row, plan.items, attach); err != nil {
		return Refund{}, err
	}
	s.Log.InfoContext(ctx, "unit refund submitted", "refund_no", row.RefundNo, "unit_id", unit.ID, "scheme", row.Scheme, "refund_fen", row.RefundFen)
	return s.GetRefund(ctx, userID, row.RefundNo)
}

// UnitRefundsOf lists a unit's applications, newest first, as its
// members see them; the caller has checked that userID acts for the unit.
func (s *Refunds) UnitRefundsOf(ctx context.Context, userID, unitID string, page kernel.Page) ([]Refund, string, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return nil, "", err
	}
	return s.ownerPage(ctx, u, s.Conn(ctx).Where("unit_id = ?", unitID), page)
}

// refundPerson is the person an application's money was paid for; a
// unit's application has none (the zero Person, masked to "").
func (s *Refunds) refundPerson(ctx context.Context, r store.RefundRow) (kernel.Person, error) {
	if r.UnitID != "" {
		return kernel.Person{}, nil
	}
	return s.Person(ctx, r.PersonID)
}

func (s *Refunds) unitName(ctx context.Context, unitID string) (string, error) {
	var u store.UnitRow
	if err := s.Conn(ctx).Select("name").Where("id = ?", unitID).Take(&u).Error; err != nil {
		return "", kernel.Internal("load unit", err)
	}
	return u.Name, nil
}

// unitParties are the users acting for a unit now: the logins named on
// its active memberships and every login of their people.
func unitParties(db *gorm.DB, unitID string) ([]string, error) {
	var ms []store.UnitMemberRow
	if err := db.Where("unit_id = ? AND removed_at IS NULL", unitID).Find(&ms).Error; err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out, persons []string
	for _, m := range ms {
		persons = append(persons, m.PersonID)
		if m.UserID != "" && !seen[m.UserID] {
			seen[m.UserID] = true
			out = append(out, m.UserID)
		}
	}
	if len(persons) > 0 {
		var users []string
		if err := db.Model(&store.UserRow{}).Where("person_id IN ?", persons).Order("id").Pluck("id", &users).Error; err != nil {
			return nil, err
		}
		for _, id := range users {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out, nil
}

// unitView adds a unit's side to an application's view: the unit and its
// uploaded files. An individual's application is left as it is.
func (s *Refunds) unitView(ctx context.Context, r store.RefundRow, v *Refund) error {
	if r.UnitID == "" {
		return nil
	}
	name, err := s.unitName(ctx, r.UnitID)
	if err != nil {
		return err
	}
	v.UnitID, v.UnitName, v.Uploads = r.UnitID, name, []RefundUpload{}
	var rows []struct {
		UploadID    string
		Kind        string
		ContentType string
		Size        int64
		SHA256      string `gorm:"column:sha256"`
	}
	if err := s.Conn(ctx).Table("refund_attachments AS a").Select("a.upload_id, a.kind, u.content_type, u.size, u.sha256").
		Joins("JOIN uploads u ON u.id = a.upload_id").Where("a.refund_no = ?", r.RefundNo).Order("a.created_at, a.upload_id").
		Scan(&rows).Error; err != nil {
		return kernel.Internal("refund attachments", err)
	}
	for _, a := range rows {
		v.Uploads = append(v.Uploads, RefundUpload{UploadID: a.UploadID, Kind: a.Kind, ContentType: a.ContentType, Size: a.Size, SHA256: a.SHA256})
	}
	return nil
}

// unitStaffView finishes the hall's view of a unit's application: the
// unit's code instead of a person's ID number, and the materials the
// window still has to see.
func (s *Refunds) unitStaffView(ctx context.Context, r store.RefundRow, v StaffRefund) (StaffRefund, error) {
	var u store.UnitRow
	if err := s.Conn(ctx).Where("id = ?", r.UnitID).Take(&u).Error; err != nil {
		return StaffRefund{}, kernel.Internal("load unit", err)
	}
	v.PersonIDNumberMasked, v.UnitUSCC = "", u.USCC
	if len(v.Uploads) == 0 {
		v.MaterialsMissing = append(v.MaterialsMissing, "银行开户许可证复印件")
	}
	return v, nil
}

// StaffRefundAttachment returns one uploaded file of an application to a
// staff member who may read the application; the download is audited
// before the bytes leave, and a file the application does not carry is
// NOT_FOUND.
func (s *Refunds) StaffRefundAttachment(ctx context.Context, a kernel.StaffActor, refundNo, uploadID string,
	open func(context.Context, store.UploadRow) ([]byte, error)) (store.UploadRow, []byte, error) {
	target := refundNo + "/" + uploadID
	if err := s.hall.Require(ctx, a, models.PermRefundRead, "refund.attachment", "refund", target); err != nil {
		return store.UploadRow{}, nil, err
	}
	r, err := s.LoadRefund(ctx, refundNo)
	if err != nil {
		return store.UploadRow{}, nil, err
	}
	if !mayRead(a, r) {
		return store.UploadRow{}, nil, s.hall.Deny(ctx, a, "refund.attachment", "refund", target)
	}
	var n int64
	if err := s.Conn(ctx).Model(&store.RefundAttachmentRow{}).Where("refund_no = ? AND upload_id = ?", refundNo, uploadID).
		Count(&n).Error; err != nil {
		return store.UploadRow{}, nil, kernel.Internal("refund attachment", err)
	}
	if n == 0 {
		return store.UploadRow{}, nil, models.ErrNotFound
	}
	var up store.UploadRow
	if err := s.Conn(ctx).Where("id = ?", uploadID).Take(&up).Error; err != nil {
		return store.UploadRow{}, nil, kernel.Internal("load upload", err)
	}
	if err := s.AuditNow(ctx, a, kernel.AuditNote{Action: "refund.attachment", TargetKind: "refund", TargetID: target, Outcome: kernel.AuditOK,
		Detail: fmt.Sprintf("%s %d 字节", up.ContentType, up.Size)}); err != nil {
		return store.UploadRow{}, nil, err
	}
	b, err := open(ctx, up)
	return up, b, err
}

// planUnitRefund spreads a unit's application over its order's scheme:
// first what the order paid but could not book (no record: the
// declaration was paid by another order meanwhile, or an employee's month
// was already paid in the same fund — the anomaly tells staff to refund it
// by this path), then the employees' records, earliest month first. The
// unbooked part is one item without a record. It used to be records only,
// so the unbooked money could never be asked back.
func (s *Refunds) planUnitRefund(ctx context.Context, unitID string, o store.OrderRow, in UnitRefundInput) (refundPlanResult, error) {
	unbooked, declared, period, err := s.unbookedUnitFen(ctx, o, in.Scheme)
	if err != nil {
		return refundPlanResult{}, err
	}
	take := min(unbooked, int64(in.RefundFen))
	rest := int64(in.RefundFen) - take
	var plan refundPlanResult
	if rest > 0 {
		q := func() *gorm.DB {
			return s.Conn(ctx).Where("payer_unit_id = ? AND scheme = ? AND order_no = ?", unitID, string(in.Scheme), in.OrderNo)
		}
		plan, err = s.planRecords(ctx, q, RefundInput{Scheme: in.Scheme, OrderNo: in.OrderNo, RefundFen: models.Fen(rest)})
		if errors.Is(err, models.ErrNotFound) && declared {
			err = models.ErrRefundExceeds.WithReason("所选费款已全部退还或正在退费，没有可退金额")
			if unbooked > 0 {
				err = models.ErrRefundExceeds.WithReason("所选费款本次最多可退 " + models.Fen(unbooked).Yuan() + " 元")
			}
		}
		if err != nil {
			return refundPlanResult{}, err
		}
	}
	if take > 0 {
		plan.items = append([]store.RefundItemRow{{OrderNo: o.OrderNo, Period: period, AmountFen: take}}, plan.items...)
		if len(plan.orders) == 0 {
			plan.orders = []store.OrderRow{o}
		}
	}
	return plan, nil
}

// unbookedUnitFen is what a paid unit order paid for a scheme beyond its
// records, less what applications not refused, rejected or withdrawn hold
// of it, and never more than the order has left; whether the order's
// declaration has lines of the scheme at all; and its period.
func (s *Refunds) unbookedUnitFen(ctx context.Context, o store.OrderRow, scheme models.Scheme) (int64, bool, string, error) {
	var d store.UnitDeclarationRow
	if err := s.Conn(ctx).Select("period").Where("id = ?", o.UnitDeclarationID).Take(&d).Error; err != nil {
		return 0, false, "", kernel.Internal("load unit declaration", err)
	}
	if o.Status != contrib.OrderPaid && o.Status != contrib.OrderPartiallyRefunded {
		return 0, false, d.Period, nil
	}
	var lines, booked, held, open int64
	db := s.Conn(ctx)
	if err := db.Model(&store.UnitDeclarationLineRow{}).Select("COALESCE(SUM(amount_fen), 0)").
		Where("declaration_id = ? AND scheme = ?", o.UnitDeclarationID, string(scheme)).Scan(&lines).Error; err != nil {
		return 0, false, "", kernel.Internal("sum unit lines", err)
	}
	if err := db.Model(&store.RecordRow{}).Select("COALESCE(SUM(amount_fen), 0)").
		Where("order_no = ? AND scheme = ?", o.OrderNo, string(scheme)).Scan(&booked).Error; err != nil {
		return 0, false, "", kernel.Internal("sum unit records", err)
	}
	if err := db.Table("refund_items AS i").Select("COALESCE(SUM(i.amount_fen), 0)").Joins("JOIN refunds r ON r.refund_no = i.refund_no").
		Where("i.order_no = ? AND i.record_id = '' AND r.scheme = ? AND r.status NOT IN ?", o.OrderNo, string(scheme), closedStatuses).
		Scan(&held).Error; err != nil {
		return 0, false, "", kernel.Internal("unbooked refund holds", err)
	}
	if err := db.Table("refund_items AS i").Select("COALESCE(SUM(i.amount_fen), 0)").Joins("JOIN refunds r ON r.refund_no = i.refund_no").
		Where("i.order_no = ? AND r.status NOT IN ?", o.OrderNo, append([]string{string(models.RefundRefunded)}, closedStatuses...)).
		Scan(&open).Error; err != nil {
		return 0, false, "", kernel.Internal("open refund holds", err)
	}
	var n int64
	if err := db.Model(&store.UnitDeclarationLineRow{}).Where("declaration_id = ? AND scheme = ?", o.UnitDeclarationID, string(scheme)).
		Count(&n).Error; err != nil {
		return 0, false, "", kernel.Internal("count unit lines", err)
	}
	return max(0, min(lines-booked-held, o.AmountFen-o.RefundedFen-open)), n > 0, d.Period, nil
}
