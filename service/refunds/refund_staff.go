package refunds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// StaffRefundStep is a timeline step as the hall sees it: with the acting
// staff member's username and role.
type StaffRefundStep struct {
	RefundStep
	ActorKind string `json:"actor_kind"`
	ActorName string `json:"actor_name,omitempty"`
	ActorRole string `json:"actor_role,omitempty"`
}

// StaffRefundItem is an item with what the hall checks: the record's state
// and the order that paid it.
type StaffRefundItem struct {
	RefundItem
	RecordStatus string     `json:"record_status"`
	RecordFen    models.Fen `json:"record_fen"`
	Channel      string     `json:"channel"`
	PaidAt       *time.Time `json:"paid_at,omitempty"`
}

// Payout is one payment back, as the tax window sees it.
type Payout struct {
	PayoutNo    string                    `json:"payout_no"`
	Kind        string                    `json:"kind"`
	Channel     string                    `json:"channel,omitempty"`
	OrderNo     string                    `json:"order_no,omitempty"`
	AmountFen   models.Fen                `json:"amount_fen"`
	Status      string                    `json:"status"`
	Attempts    int                       `json:"attempts"`
	LastError   string                    `json:"last_error,omitempty"`
	BankAccount *models.MaskedBankAccount `json:"bank_account,omitempty"`
	CreatedAt   time.Time                 `json:"created_at"`
	SucceededAt *time.Time                `json:"succeeded_at,omitempty"`
	FailedAt    *time.Time                `json:"failed_at,omitempty"`
}

// StaffRefund is an application as the hall sees it. Personal data is
// masked here too; reading it is audited.
type StaffRefund struct {
	Refund
	PersonIDNumberMasked string            `json:"person_id_number_masked"`
	ApplicantMasked      string            `json:"applicant_masked"`
	StaffItems           []StaffRefundItem `json:"staff_items"`
	StaffTimeline        []StaffRefundStep `json:"staff_timeline"`
	Payouts              []Payout          `json:"payouts"`
	MaterialsMissing     []string          `json:"materials_missing"`
	// ApplicantWarnings tell the hall who applied in relation to the
	// money: a clear warning when it is neither the payer nor the person.
	ApplicantWarnings []string `json:"applicant_warnings"`
	// UnitUSCC is a unit's application's 统一社会信用代码.
	UnitUSCC string `json:"unit_uscc,omitempty"`
}

// StaffRefundSummary is a line of the hall's work list.
type StaffRefundSummary struct {
	RefundNo         string              `json:"refund_no"`
	Status           models.RefundStatus `json:"status"`
	StatusName       string              `json:"status_name"`
	Scheme           models.Scheme       `json:"scheme"`
	SchemeName       string              `json:"scheme_name"`
	Department       string              `json:"department"`
	Holder           string              `json:"holder"`
	PersonNameMasked string              `json:"person_name_masked"`
	RefundFen        models.Fen          `json:"refund_fen"`
	RefundedFen      models.Fen          `json:"refunded_fen"`
	Route            models.RefundRoute  `json:"route"`
	CreatedAt        time.Time           `json:"created_at"`
	UpdatedAt        time.Time           `json:"updated_at"`
	// ApplicantRole and ReviewFirst: applications filed by someone other
	// than the person or a proven guardian come first in the list.
	ApplicantRole string `json:"applicant_role"`
	ReviewFirst   bool   `json:"review_first"`
	UnitName      string `json:"unit_name,omitempty"` // a unit's application
}

// reviewerStatuses are the statuses an agency reviewer sees: from the
// moment the tax window forwarded the application.
var reviewerStatuses = []string{string(models.RefundForwarded), string(models.RefundApproved), string(models.RefundRejected),
	string(models.RefundRefunding), string(models.RefundRefunded)}

// mayRead reports whether the actor may see an application: the tax window
// every one, a reviewer those of its department once forwarded.
func mayRead(a kernel.StaffActor, r store.RefundRow) bool {
	if a.Role == models.RoleTaxWindow {
		return true
	}
	if !a.Role.Reviews(r.Department) {
		return false
	}
	for _, s := range reviewerStatuses {
		if s == r.Status {
			return true
		}
	}
	return false
}

// ListStaffRefunds lists applications for the hall: those filed by someone
// other than the person or a proven guardian first, then the rest, each
// newest first; the tax window all of them, a reviewer its department's.
// Reading the list is audited (it shows masked names). The page token is
// the group ("0" review first, "1" the rest) and the last refund number.
func (s *Refunds) ListStaffRefunds(ctx context.Context, a kernel.StaffActor, status string, page kernel.Page) ([]StaffRefundSummary, string, error) {
	if err := s.hall.Require(ctx, a, models.PermRefundRead, "refund.list", "refund", ""); err != nil {
		return nil, "", err
	}
	if status != "" && !models.RefundStatus(status).Valid() {
		return nil, "", models.ErrInvalid.WithReason("status 不是有效的退费状态")
	}
	q := s.Conn(ctx)
	if a.Role != models.RoleTaxWindow {
		q = q.Where("department = ? AND status IN ?", a.Role.Department(), reviewerStatuses)
	}
	if status != "" {
		q = q.Where("status = ?", status)
	}
	const rank = "CASE WHEN applicant_role IN ('person', 'guardian', 'unit') THEN 1 ELSE 0 END"
	if page.After != "" {
		group, after, ok := strings.Cut(page.After, ":")
		switch {
		case !ok:
			q = q.Where(rank+" = 1 AND refund_no < ?", page.After) // a token from before the groups
		case group == "0":
			q = q.Where("(("+rank+" = 0 AND refund_no < ?) OR "+rank+" = 1)", after)
		default:
			q = q.Where(rank+" = 1 AND refund_no < ?", after)
		}
	}
	var rows []store.RefundRow
	if err := q.Order(rank + ", refund_no DESC").Limit(page.Size + 1).Find(&rows).Error; err != nil {
		return nil, "", kernel.Internal("list refunds", err)
	}
	next := ""
	if len(rows) > page.Size {
		rows = rows[:page.Size]
		last := rows[len(rows)-1]
		group := "1"
		if reviewFirst(last.ApplicantRole) {
			group = "0"
		}
		next = group + ":" + last.RefundNo
	}
	if err := s.AuditNow(ctx, a, kernel.AuditNote{Action: "refund.list", TargetKind: "refund", Outcome: kernel.AuditOK,
		Detail: fmt.Sprintf("status=%s, %d 条", status, len(rows))}); err != nil {
		return nil, "", err
	}
	out := make([]StaffRefundSummary, 0, len(rows))
	for _, r := range rows {
		p, err := s.refundPerson(ctx, r)
		if err != nil {
			return nil, "", err
		}
		role, err := s.applicantRole(ctx, r)
		if err != nil {
			return nil, "", err
		}
		st := models.RefundStatus(r.Status)
		out = append(out, StaffRefundSummary{RefundNo: r.RefundNo, Status: st, StatusName: st.Label(), Scheme: models.Scheme(r.Scheme),
			SchemeName: models.Scheme(r.Scheme).Name(), Department: r.Department, Holder: r.Holder,
			PersonNameMasked: models.MaskName(p.Name), RefundFen: models.Fen(r.RefundFen), RefundedFen: models.Fen(r.RefundedFen),
			Route: models.RefundRoute(r.Route), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ApplicantRole: role, ReviewFirst: reviewFirst(role)})
		if r.UnitID != "" {
			if out[len(out)-1].UnitName, err = s.unitName(ctx, r.UnitID); err != nil {
				return nil, "", err
			}
		}
	}
	return out, next, nil
}

// GetStaffRefund returns one application for the hall; the read is audited
// before anything is returned.
func (s *Refunds) GetStaffRefund(ctx context.Context, a kernel.StaffActor, refundNo string) (StaffRefund, error) {
	if err := s.hall.Require(ctx, a, models.PermRefundRead, "refund.read", "refund", refundNo); err != nil {
		return StaffRefund{}, err
	}
	r, err := s.LoadRefund(ctx, refundNo)
	if err != nil {
		return StaffRefund{}, err
	}
	if !mayRead(a, r) {
		return StaffRefund{}, s.hall.Deny(ctx, a, "refund.read", "refund", refundNo)
	}
	if err := s.AuditNow(ctx, a, kernel.AuditNote{Action: "refund.read", TargetKind: "refund", TargetID: refundNo, Outcome: kernel.AuditOK}); err != nil {
		return StaffRefund{}, err
	}
	return s.staffRefundView(ctx, r)
}

func (s *Refunds) staffRefundView(ctx context.Context, r store.RefundRow) (StaffRefund, error) {
	base, err := s.refundView(ctx, r)
	if err != nil {
		return StaffRefund{}, err
	}
	p, err := s.refundPerson(ctx, r)
	if err != nil {
		return StaffRefund{}, err
	}
	v := StaffRefund{Refund: base, PersonIDNumberMasked: models.MaskIDNumber(p.IDNumber), ApplicantMasked: s.contrib.PayerMasked(ctx, r.ApplicantUserID),
		StaffItems: []StaffRefundItem{}, StaffTimeline: []StaffRefundStep{}, Payouts: []Payout{}, MaterialsMissing: []string{},
		ApplicantWarnings: applicantWarnings(base.ApplicantRole)}
	var items []store.RefundItemRow
	if err := s.Conn(ctx).Where("refund_no = ?", r.RefundNo).Order("period").Find(&items).Error; err != nil {
		return StaffRefund{}, kernel.Internal("refund items", err)
	}
	for _, it := range items {
		si := StaffRefundItem{RefundItem: RefundItem{Period: it.Period, OrderNo: it.OrderNo, AmountFen: models.Fen(it.AmountFen)}}
		var rec store.RecordRow
		if err := s.Conn(ctx).Where("id = ?", it.RecordID).Take(&rec).Error; err == nil {
			si.RecordStatus, si.RecordFen = rec.Status, models.Fen(rec.AmountFen)
		}
		var o store.OrderRow
		if err := s.Conn(ctx).Where("order_no = ?", it.OrderNo).Take(&o).Error; err == nil {
			si.Channel, si.PaidAt = o.Channel, o.PaidAt
			if o.UnitID != "" {
				si.Channel = o.Method // a unit's order: tripartite, bank_voucher or pos
			}
		}
		v.StaffItems = append(v.StaffItems, si)
	}
	events, err := s.refundEvents(ctx, r.RefundNo)
	if err != nil {
		return StaffRefund{}, err
	}
	for _, e := range events {
		st := StaffRefundStep{RefundStep: stepOf(e), ActorKind: e.ActorKind, ActorRole: e.ActorRole}
		if e.ActorKind == actorStaff {
			st.ActorName = e.ActorName
		}
		v.StaffTimeline = append(v.StaffTimeline, st)
	}
	var payouts []store.RefundPayoutRow
	if err := s.Conn(ctx).Where("refund_no = ?", r.RefundNo).Order("created_at, payout_no").Find(&payouts).Error; err != nil {
		return StaffRefund{}, kernel.Internal("refund payouts", err)
	}
	for _, p := range payouts {
		pv := Payout{PayoutNo: p.PayoutNo, Kind: p.Kind, Channel: p.Channel, OrderNo: p.OrderNo, AmountFen: models.Fen(p.AmountFen),
			Status: p.Status, Attempts: p.Attempts, LastError: p.LastError, CreatedAt: p.CreatedAt, SucceededAt: p.SucceededAt, FailedAt: p.FailedAt}
		if p.Kind == PayoutBank {
			name, _ := s.PII.Open(p.AccountNameSealed)
			no, _ := s.PII.Open(p.AccountNoSealed)
			m := models.BankAccount{BankName: p.BankName, AccountName: name, AccountNo: no}.Masked()
			pv.BankAccount = &m
		}
		v.Payouts = append(v.Payouts, pv)
	}
	// The seed's materials: the payer's identity documents are covered by
	// real-name binding; a refund to a bank account needs its documents.
	var attach []models.Attachment
	_ = json.Unmarshal([]byte(r.Attachments), &attach)
	has := map[models.AttachmentKind]bool{}
	for _, at := range attach {
		has[at.Kind] = true
	}
	if r.UnitID != "" {
		return s.unitStaffView(ctx, r, v)
	}
	if r.Route == string(models.RouteBank) && !has[models.AttachBankAccount] {
		v.MaterialsMissing = append(v.MaterialsMissing, models.AttachBankAccount.Label())
	}
	return v, nil
}

// StaffEvent is a timeline step made by a staff member.
func StaffEvent(a kernel.StaffActor, to models.RefundStatus, holder string, reasons []string, note string) store.RefundEventRow {
	ev := store.RefundEventRow{Status: string(to), ActorKind: actorStaff, ActorID: a.StaffID, ActorName: a.Username,
		ActorRole: string(a.Role), Department: a.Role.Department(), Holder: holder, Note: note}
	if len(reasons) > 0 {
		b, _ := json.Marshal(reasons)
		ev.Reasons = string(b)
	}
	return ev
}

// StateConflict explains why an application cannot take an action now,
// and audits the attempt.
func (s *Refunds) StateConflict(ctx context.Context, a kernel.StaffActor, action string, r store.RefundRow) error {
	cur, err := s.LoadRefund(ctx, r.RefundNo)
	if err != nil {
		return err
	}
	if aerr := s.AuditNow(ctx, a, kernel.AuditNote{Action: action, TargetKind: "refund", TargetID: r.RefundNo, Outcome: kernel.AuditFailed,
		Detail: "状态为 " + cur.Status}); aerr != nil {
		return aerr
	}
	return models.ErrRefundState.WithReason("当前状态：" + models.RefundStatus(cur.Status).Label())
}

// AcceptRefund is the tax window accepting an application (税务受理). It is
// forwarded at once to the agency of its scheme (社保 for pension schemes,
// 医保 for medical ones), and its records move to refunding.
func (s *Refunds) AcceptRefund(ctx context.Context, a kernel.StaffActor, refundNo string) (StaffRefund, error) {
	if err := s.hall.Require(ctx, a, models.PermRefundIntake, "refund.accept", "refund", refundNo); err != nil {
		return StaffRefund{}, err
	}
	r, err := s.LoadRefund(ctx, refundNo)
	if err != nil {
		return StaffRefund{}, err
	}
	return s.staffStep(ctx, a, "refund.accept", r, models.RefundSubmitted, models.RefundAccepted, models.RefundForwarded, nil,
		"转"+models.DepartmentName(r.Department), func(tx *gorm.DB) error {
			if ok, err := s.MoveRefund(tx, r, models.RefundAccepted, models.RefundForwarded, nil); err != nil || !ok {
				return errors.Join(err, errors.New("accepted refund did not move on"))
			}
			// A unit's money that booked no record is an item without
			// one (planUnitRefund): no record to move.
			var ids []string
			if err := tx.Model(&store.RefundItemRow{}).Where("refund_no = ? AND record_id <> ''", r.RefundNo).Pluck("record_id", &ids).Error; err != nil {
				return err
			}
			res := tx.Model(&store.RecordRow{}).Where("id IN ? AND status IN ?", ids, []string{contrib.RecordCredited, contrib.RecordBooked}).
				Update("status", contrib.RecordRefunding)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected != int64(len(ids)) {
				return models.ErrRefundState.WithReason("所选缴费记录的状态已变化，请核实后处理")
			}
			if err := s.AddEvent(tx, r.RefundNo, StaffEvent(a, models.RefundAccepted, models.DeptTax, nil, "")); err != nil {
				return err
			}
			return s.AddEvent(tx, r.RefundNo, store.RefundEventRow{Status: string(models.RefundForwarded), ActorKind: ActorSystem,
				ActorID: "system", Department: models.DeptTax, Holder: r.Department,
				Note: "已转" + models.DepartmentName(r.Department) + "复核"})
		})
}

// RefuseRefund is the tax window refusing an application (不予受理) with
// every reason at once (一次性告知).
func (s *Refunds) RefuseRefund(ctx context.Context, a kernel.StaffActor, refundNo string, reasons []string) (StaffRefund, error) {
	if err := s.hall.Require(ctx, a, models.PermRefundIntake, "refund.refuse", "refund", refundNo); err != nil {
		return StaffRefund{}, err
	}
	reasons, err := models.CheckReasons(reasons)
	if err != nil {
		return StaffRefund{}, err
	}
	r, err := s.LoadRefund(ctx, refundNo)
	if err != nil {
		return StaffRefund{}, err
	}
	return s.staffStep(ctx, a, "refund.refuse", r, models.RefundSubmitted, models.RefundRefused, models.RefundRefused, reasons,
		strings.Join(reasons, "；"), func(tx *gorm.DB) error {
			return s.AddEvent(tx, r.RefundNo, StaffEvent(a, models.RefundRefused, "", reasons, ""))
		})
}

// ReviewInput is an agency's review.
type ReviewInput struct {
	Approve *bool  `json:"approve"`
	Reason  string `json:"reason"`
}

// ReviewRefund is the agency's review (复核): the 社保 reviewer for pension
// schemes, the 医保 reviewer for medical ones. A rejection must say why
// (签注原因); its records go back to credited or booked.
func (s *Refunds) ReviewRefund(ctx context.Context, a kernel.StaffActor, refundNo string, in ReviewInput) (StaffRefund, error) {
	if err := s.hall.Require(ctx, a, models.PermRefundReview, "refund.review", "refund", refundNo); err != nil {
		return StaffRefund{}, err
	}
	if in.Approve == nil {
		return StaffRefund{}, models.ErrInvalid.WithReason("请选择复核结论 approve")
	}
	reason := strings.TrimSpace(in.Reason)
	if utf8Len(reason) > 500 {
		return StaffRefund{}, models.ErrInvalid.WithReason("原因不超过500个字")
	}
	if !*in.Approve && reason == "" {
		return StaffRefund{}, models.ErrInvalid.WithReason("不予退费须签注原因")
	}
	r, err := s.LoadRefund(ctx, refundNo)
	if err != nil {
		return StaffRefund{}, err
	}
	if !a.Role.Reviews(r.Department) {
		return StaffRefund{}, s.hall.Deny(ctx, a, "refund.review", "refund", refundNo)
	}
	to := models.RefundApproved
	if !*in.Approve {
		to = models.RefundRejected
	}
	var reasons []string
	if reason != "" {
		reasons = []string{reason}
	}
	return s.staffStep(ctx, a, "refund.review", r, models.RefundForwarded, to, to, reasons, string(to)+" "+reason, func(tx *gorm.DB) error {
		if to == models.RefundRejected {
			if err := s.restoreRecords(tx, r.RefundNo); err != nil {
				return err
			}
		}
		return s.AddEvent(tx, r.RefundNo, StaffEvent(a, to, models.RefundHolder(to, r.Department), reasons, ""))
	})
}

// staffStep moves an application from → to by a conditional update and, in
// the same transaction, does the step's own work, writes the applicant's
// message (about status told) and the audit entry. An application that
// moved on meanwhile is a state conflict; the message is pushed once the
// transaction has committed.
func (s *Refunds) staffStep(ctx context.Context, a kernel.StaffActor, action string, r store.RefundRow, from, to, told models.RefundStatus,
	reasons []string, detail string, work func(tx *gorm.DB) error) (StaffRefund, error) {
	var pushes []kernel.PendingPush
	moved := false
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		pushes, moved = nil, false
		ok, err := s.MoveRefund(tx, r, from, to, nil)
		if err != nil || !ok {
			return err
		}
		moved = true
		if err := work(tx); err != nil {
			return err
		}
		pp, err := s.RefundMessage(tx, r, told, reasons, "")
		if err != nil {
			return err
		}
		pushes = append(pushes, pp)
		return s.AuditTx(tx, a, kernel.AuditNote{Action: action, TargetKind: "refund", TargetID: r.RefundNo, Outcome: kernel.AuditOK, Detail: detail})
	})
	if err != nil {
		return StaffRefund{}, kernel.Internal(action, err)
	}
	if !moved {
		return StaffRefund{}, s.StateConflict(ctx, a, action, r)
	}
	s.contrib.ForgetRefundPayables(ctx, r.RefundNo)
	s.Push(ctx, pushes)
	return s.ReloadStaffView(ctx, r.RefundNo)
}

// restoreRecords puts an application's refunding records back to booked
// (if the agency had booked them) or credited.
func (s *Refunds) restoreRecords(tx *gorm.DB, refundNo string) error {
	var ids []string
	if err := tx.Model(&store.RefundItemRow{}).Where("refund_no = ?", refundNo).Pluck("record_id", &ids).Error; err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	return tx.Exec("UPDATE records SET status = CASE WHEN booked_at IS NOT NULL THEN ? ELSE ? END WHERE id IN ? AND status = ?",
		contrib.RecordBooked, contrib.RecordCredited, ids, contrib.RecordRefunding).Error
}

// ReloadStaffView reads an application again, as staff see it, after a
// step changed it.
func (s *Refunds) ReloadStaffView(ctx context.Context, refundNo string) (StaffRefund, error) {
	r, err := s.LoadRefund(ctx, refundNo)
	if err != nil {
		return StaffRefund{}, err
	}
	return s.staffRefundView(ctx, r)
}

func utf8Len(s string) int { return len([]rune(s)) }
