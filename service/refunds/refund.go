package refunds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// Refunds (退费) cross three departments (DESIGN.md §3): the applicant files
// an application for money already credited to the treasury (入库); the tax
// window accepts it (it is then forwarded to the 社保 or 医保 agency by
// scheme) or refuses it with every reason at once; the agency approves it
// or rejects it with its reason (签注); the tax window pays it back through
// the original channel (same out_refund_no on every retry) or by bank
// transfer (same TransferNo), and the payment is confirmed by the answer, a
// notification or a query. Every step is a conditional update that acts
// only when one row changed, records who, when and why on the timeline and
// in the audit log, and tells the applicant.
//
// Records move credited/booked → refunding when the application is
// accepted, → refunded when the money for them is confirmed; a rejection
// puts them back. Orders move paid → partially_refunded → refunded as the
// money goes back, by conditional updates that can never refund more than
// the order's amount.

const (
	refundRateLimit = 20 // applications per user per hour
	// originalRouteWindow: an order paid longer ago than this cannot be
	// refunded through its channel by the time the application is through
	// (WeChat and Alipay refund within a year), so a bank account is asked
	// for up front.
	originalRouteWindow = 330 * 24 * time.Hour
	// channelRefundLimit: the channels refund orders up to a year old.
	channelRefundLimit = 365 * 24 * time.Hour
)

// Event actors.
const (
	actorApplicant = "applicant"
	actorStaff     = "staff"
	ActorSystem    = "system"
)

// RefundInput is a refund application (createRefund).
type RefundInput struct {
	Person       people.PersonRef    `json:"person"`
	Scheme       models.Scheme       `json:"scheme"`
	OrderNo      string              `json:"order_no"`
	Periods      []string            `json:"periods"`
	RefundFen    models.Fen          `json:"refund_fen"`
	Reason       models.RefundReason `json:"reason"`
	ReasonDetail string              `json:"reason_detail"`
	BankAccount  *models.BankAccount `json:"bank_account"`
	Attachments  []models.Attachment `json:"attachments"`
}

// RefundStep is one step of an application's timeline as the applicant sees
// it: which department acted and which holds the application after it,
// never a person's name.
type RefundStep struct {
	Status         models.RefundStatus `json:"status"`
	StatusName     string              `json:"status_name"`
	At             time.Time           `json:"at"`
	Department     string              `json:"department,omitempty"`
	DepartmentName string              `json:"department_name,omitempty"`
	Holder         string              `json:"holder"`
	HolderName     string              `json:"holder_name"`
	Reasons        []string            `json:"reasons,omitempty"`
	Note           string              `json:"note,omitempty"`
}

// RefundItem is one month (or year) an application asks back.
type RefundItem struct {
	Period    string     `json:"period"`
	OrderNo   string     `json:"order_no"`
	AmountFen models.Fen `json:"amount_fen"`
}

// Refund is the applicant's view of an application.
type Refund struct {
	RefundNo         string                    `json:"refund_no"`
	Status           models.RefundStatus       `json:"status"`
	StatusName       string                    `json:"status_name"`
	Scheme           models.Scheme             `json:"scheme"`
	SchemeName       string                    `json:"scheme_name"`
	Department       string                    `json:"department"`
	DepartmentName   string                    `json:"department_name"`
	Holder           string                    `json:"holder"`
	HolderName       string                    `json:"holder_name"`
	PersonNameMasked string                    `json:"person_name_masked"`
	RefundFen        models.Fen                `json:"refund_fen"`
	RefundedFen      models.Fen                `json:"refunded_fen"`
	Reason           models.RefundReason       `json:"reason"`
	ReasonName       string                    `json:"reason_name"`
	ReasonDetail     string                    `json:"reason_detail"`
	Route            models.RefundRoute        `json:"route"`
	BankAccount      *models.MaskedBankAccount `json:"bank_account,omitempty"`
	Items            []RefundItem              `json:"items"`
	Attachments      []models.Attachment       `json:"attachments"`
	Reasons          []string                  `json:"reasons,omitempty"`
	Timeline         []RefundStep              `json:"timeline"`
	CreatedAt        time.Time                 `json:"created_at"`
	UpdatedAt        time.Time                 `json:"updated_at"`
	ClosedAt         *time.Time                `json:"closed_at,omitempty"`
	// ApplicantRole is who filed it in relation to the money: person,
	// guardian, payer, or other (older applications).
	ApplicantRole string `json:"applicant_role"`
	// AppliedByMe and CanWithdraw are the caller's side of it (the
	// applicant's and owners' views only).
	AppliedByMe *bool `json:"applied_by_me,omitempty"`
	CanWithdraw *bool `json:"can_withdraw,omitempty"`
	// A unit's application (unit.go): the unit, and the uploaded files it
	// carries (refund_attachments).
	UnitID   string         `json:"unit_id,omitempty"`
	UnitName string         `json:"unit_name,omitempty"`
	Uploads  []RefundUpload `json:"uploads,omitempty"`
}

// CreateRefund files an application. Only months credited to the treasury
// (入库) can be asked back, never more than was paid for them and not yet
// refunded or under another application, one scheme per application and
// one open application per person and scheme (a unique key). The money's
// owners may apply (refund_owner.go): the person (an adult), a proven
// guardian of a minor, or a payer for what they paid; a grant lets one see
// records, not ask money back.
func (s *Refunds) CreateRefund(ctx context.Context, userID string, in RefundInput) (Refund, error) {
	if err := s.RateLimit(ctx, "refund:"+userID, refundRateLimit, time.Hour, kernel.LetThrough); err != nil {
		return Refund{}, err
	}
	in, bank, err := checkRefundInput(in)
	if err != nil {
		return Refund{}, err
	}
	p, role, err := s.refundApplicant(ctx, userID, in.Person)
	if err != nil {
		return Refund{}, err
	}
	openKey := p.ID + "|" + string(in.Scheme)
	// A payer asks back only what they paid, and hears of another open
	// application only once it is clear they paid something (below).
	payer := ""
	if role == RolePayer {
		payer = userID
	} else if err := s.noOpenRefund(ctx, openKey); err != nil {
		return Refund{}, err
	}
	plan, err := s.refundPlan(ctx, p.ID, payer, in)
	if err != nil {
		if errors.Is(err, models.ErrNotFound) && role == RolePayer {
			if u, uerr := s.User(ctx, userID); uerr == nil {
				if acc, aerr := s.people.AccessTo(ctx, u, p.ID); aerr == nil && acc != people.AccessPayOnly {
					// They may see the records, so say why, not "not found".
					return Refund{}, models.ErrRefundApplicant
				}
			}
		}
		if errors.Is(err, models.ErrRefundExceeds) {
			// An application filed meanwhile holds the months: say so.
			if oerr := s.noOpenRefund(ctx, openKey); oerr != nil {
				return Refund{}, oerr
			}
		}
		return Refund{}, err
	}
	if payer != "" {
		if err := s.noOpenRefund(ctx, openKey); err != nil {
			return Refund{}, err
		}
	}
	route := models.RouteOriginal
	if bank != nil {
		route = models.RouteBank
		var orderNos []string
		for _, o := range plan.orders {
			orderNos = append(orderNos, o.OrderNo)
		}
		if err := s.CheckRefundAccount(ctx, p, orderNos, *bank); err != nil {
			return Refund{}, err
		}
	} else {
		for _, o := range plan.orders {
			if ok, why := s.originalRouteOpen(o); !ok {
				return Refund{}, models.ErrBankAccountNeeded.WithReason(why + "，请填写银行账户")
			}
		}
	}
	attach, _ := json.Marshal(in.Attachments)
	now := s.Now()
	row := store.RefundRow{ApplicantUserID: userID, PersonID: p.ID, Scheme: string(in.Scheme), Department: in.Scheme.Department(),
		Reason: string(in.Reason), ReasonDetail: in.ReasonDetail, RefundFen: int64(in.RefundFen), Route: string(route),
		Attachments: string(attach), Status: string(models.RefundSubmitted), Holder: models.DeptTax, OpenKey: &openKey,
		CreatedAt: now, UpdatedAt: now, ApplicantRole: role}
	if bank != nil {
		if err := s.sealAccount(&row, *bank); err != nil {
			return Refund{}, err
		}
	}
	if err := s.file(ctx, userID, &row, plan.items, nil); err != nil {
		return Refund{}, err
	}
	s.Log.InfoContext(ctx, "refund submitted", "refund_no", row.RefundNo, "scheme", row.Scheme, "refund_fen", row.RefundFen, "route", row.Route,
		"applicant_role", role)
	return s.GetRefund(ctx, userID, row.RefundNo)
}

// file writes a new application in one transaction: row under a fresh
// refund number (a rare collision gets another), its items, whatever more
// adds, the first step and the parties' message, which is pushed after the
// commit. An application filed meanwhile under row's open key is the
// refusal, as noOpenRefund words it.
func (s *Refunds) file(ctx context.Context, userID string, row *store.RefundRow, items []store.RefundItemRow, more func(tx *gorm.DB) error) error {
	var pushes []kernel.PendingPush
	for attempt := 0; ; attempt++ {
		row.RefundNo = kernel.NewNumber("TF", row.CreatedAt, 6)
		inserted := false
		err := s.Tx(ctx, func(tx *gorm.DB) error {
			pushes = nil
			ok, err := kernel.InsertIfAbsent(tx, row)
			if err != nil || !ok {
				return err
			}
			inserted = true
			for _, it := range items {
				it.RefundNo = row.RefundNo
				if err := tx.Create(&it).Error; err != nil {
					return err
				}
			}
			if more != nil {
				if err := more(tx); err != nil {
					return err
				}
			}
			if err := s.AddEvent(tx, row.RefundNo, store.RefundEventRow{Status: string(models.RefundSubmitted), ActorKind: actorApplicant,
				ActorID: userID, Holder: models.DeptTax}); err != nil {
				return err
			}
			pp, err := s.RefundMessage(tx, *row, models.RefundSubmitted, nil, "")
			pushes = append(pushes, pp)
			return err
		})
		if err != nil {
			return kernel.Internal("file refund", err)
		}
		if inserted {
			break
		}
		if err := s.noOpenRefund(ctx, *row.OpenKey); err != nil {
			return err
		}
		if attempt >= 2 {
			return kernel.Internal("file refund", errors.New("refund numbers keep colliding"))
		}
	}
	s.Push(ctx, pushes)
	return nil
}

// sealAccount keeps a bank account on an application, sealed.
func (s *Refunds) sealAccount(row *store.RefundRow, b models.BankAccount) (err error) {
	row.BankName = b.BankName
	if row.AccountNameSealed, err = s.Seal(b.AccountName); err != nil {
		return err
	}
	row.AccountNoSealed, err = s.Seal(b.AccountNo)
	return err
}

// noOpenRefund is ErrRefundOpen while the person has an open application
// for the scheme.
func (s *Refunds) noOpenRefund(ctx context.Context, openKey string) error {
	var n int64
	if err := s.Conn(ctx).Model(&store.RefundRow{}).Where("open_key = ?", openKey).Count(&n).Error; err != nil {
		return kernel.Internal("open refund", err)
	}
	if n > 0 {
		return models.ErrRefundOpen
	}
	return nil
}

func checkRefundInput(in RefundInput) (RefundInput, *models.BankAccount, error) {
	if !in.Scheme.Valid() {
		return in, nil, models.ErrSchemeInvalid
	}
	if !in.Reason.Valid() {
		return in, nil, models.ErrInvalid.WithReason("退费原因应为 overpaid（多缴）、wrongly_collected（误收）或 policy（政策性退费）")
	}
	if in.RefundFen <= 0 {
		return in, nil, models.ErrInvalid.WithReason("退费金额应大于0")
	}
	in.ReasonDetail = strings.TrimSpace(in.ReasonDetail)
	if utf8.RuneCountInString(in.ReasonDetail) > 500 {
		return in, nil, models.ErrInvalid.WithReason("退费说明不超过500个字")
	}
	in.OrderNo = strings.TrimSpace(in.OrderNo)
	if in.OrderNo == "" && len(in.Periods) == 0 {
		return in, nil, models.ErrInvalid.WithReason("请选择要退费的缴费订单或所属期")
	}
	if len(in.Periods) > 36 {
		return in, nil, models.ErrInvalid.WithReason("一次最多选择36个所属期")
	}
	seen := map[string]bool{}
	var periods []string
	for _, p := range in.Periods {
		if _, err := time.Parse("200601", p); err != nil || len(p) != 6 {
			return in, nil, models.ErrInvalid.WithReason("所属期格式应为 YYYYMM")
		}
		if !seen[p] {
			seen[p] = true
			periods = append(periods, p)
		}
	}
	in.Periods = periods
	if len(in.Attachments) > models.MaxAttachments {
		return in, nil, models.ErrInvalid.WithReason("附件不超过20个")
	}
	for i, a := range in.Attachments {
		c, err := a.Check()
		if err != nil {
			return in, nil, err
		}
		in.Attachments[i] = c
	}
	if in.Attachments == nil {
		in.Attachments = []models.Attachment{}
	}
	if in.BankAccount == nil || in.BankAccount.Empty() {
		return in, nil, nil
	}
	b, err := in.BankAccount.Normalize()
	if err != nil {
		return in, nil, err
	}
	return in, &b, nil
}

// refundPlanResult is what an application asks back: one item per record,
// and the orders they were paid by.
type refundPlanResult struct {
	items  []store.RefundItemRow
	orders []store.OrderRow
}

// closedStatuses are applications whose items no longer hold money back.
var closedStatuses = []string{string(models.RefundRefused), string(models.RefundRejected), string(models.RefundWithdrawn)}

// refundPlan picks the records an application names and spreads the
// amount over them, earliest month first, each up to what is left of it:
// its amount less what refunded or open applications already hold. An
// order is never asked for more than it was paid less what it refunded and
// what open applications hold of it. payerUserID, when set, keeps to the
// records that user paid.
func (s *Refunds) refundPlan(ctx context.Context, personID, payerUserID string, in RefundInput) (refundPlanResult, error) {
	return s.planRecords(ctx, func() *gorm.DB { return s.refundRecords(ctx, personID, payerUserID, in) }, in)
}

// refundRecords selects the records an application names: the person's
// in the scheme, of the payer when set, of the order and months when
// named.
func (s *Refunds) refundRecords(ctx context.Context, personID, payerUserID string, in RefundInput) *gorm.DB {
	// A month a unit paid is the unit's to ask back (unit.go), never its
	// employee's or the operator's who paid it.
	q := s.Conn(ctx).Where("person_id = ? AND scheme = ? AND payer_unit_id = ''", personID, string(in.Scheme))
	if payerUserID != "" {
		q = q.Where("payer_user_id = ?", payerUserID)
	}
	if in.OrderNo != "" {
		q = q.Where("order_no = ?", in.OrderNo)
	}
	if len(in.Periods) > 0 {
		q = q.Where("period IN ?", in.Periods)
	}
	return q
}

// planRecords is refundPlan on the records q selects (a person's, or a
// unit's in unit.go); q makes a fresh query each call. Only credited money
// can be asked back, and the worker may learn of a credit up to half an
// hour after it: a plan refused for months only paid asks the treasury
// about their orders and is made again on what it said.
func (s *Refunds) planRecords(ctx context.Context, q func() *gorm.DB, in RefundInput) (refundPlanResult, error) {
	plan, waiting, err := s.planOn(ctx, q(), in)
	if !errors.Is(err, models.ErrRefundNotCredited) {
		return plan, err
	}
	s.contrib.CreditWaitedOn(ctx, waiting)
	plan, _, err = s.planOn(ctx, q(), in)
	return plan, err
}

// paidOrders are the orders of the records only paid (not yet credited),
// the earliest paid first.
func paidOrders(recs []store.RecordRow) []string {
	var paid []store.RecordRow
	for _, r := range recs {
		if r.Status == contrib.RecordPaid {
			paid = append(paid, r)
		}
	}
	slices.SortStableFunc(paid, func(a, b store.RecordRow) int { return a.PaidAt.Compare(b.PaidAt) })
	out := make([]string, 0, len(paid))
	for _, r := range paid {
		out = append(out, r.OrderNo)
	}
	return out
}

// planOn is one planRecords on the records q selects. Refused as not
// credited, it also returns the orders of the months only paid, the
// earliest paid first.
func (s *Refunds) planOn(ctx context.Context, q *gorm.DB, in RefundInput) (refundPlanResult, []string, error) {
	var recs []store.RecordRow
	if err := q.Order("period").Find(&recs).Error; err != nil {
		return refundPlanResult{}, nil, kernel.Internal("refund records", err)
	}
	if len(recs) == 0 {
		return refundPlanResult{}, nil, models.ErrNotFound.WithReason("没有找到所选的缴费记录")
	}
	have := map[string]bool{}
	for _, r := range recs {
		have[r.Period] = true
	}
	for _, p := range in.Periods {
		if !have[p] {
			return refundPlanResult{}, nil, models.ErrNotFound.WithReason("所属期 " + p + " 没有该险种的缴费记录")
		}
	}
	ids := make([]string, 0, len(recs))
	orderNos := map[string]bool{}
	for _, r := range recs {
		switch r.Status {
		case contrib.RecordPaid:
			return refundPlanResult{}, paidOrders(recs), models.ErrRefundNotCredited.WithReason("所属期 " + r.Period + " 的费款尚未入库")
		case contrib.RecordRefunding:
			return refundPlanResult{}, nil, models.ErrRefundOpen
		}
		ids = append(ids, r.ID)
		orderNos[r.OrderNo] = true
	}
	byRecord, openByOrder, err := s.refundHolds(ctx, ids, keys(orderNos))
	if err != nil {
		return refundPlanResult{}, nil, err
	}
	var orders []store.OrderRow
	if err := s.Conn(ctx).Where("order_no IN ?", keys(orderNos)).Order("order_no").Find(&orders).Error; err != nil {
		return refundPlanResult{}, nil, kernel.Internal("refund orders", err)
	}
	orderLeft := map[string]int64{}
	for _, o := range orders {
		orderLeft[o.OrderNo] = orderRoom(o, openByOrder)
	}
	want := int64(in.RefundFen)
	var total int64
	var items []store.RefundItemRow
	used := map[string]bool{}
	for _, r := range recs {
		avail := recordRoom(r, byRecord, orderLeft[r.OrderNo])
		total += avail
		if want <= 0 || avail <= 0 {
			continue
		}
		take := min(avail, want)
		want -= take
		orderLeft[r.OrderNo] -= take
		items = append(items, store.RefundItemRow{RecordID: r.ID, OrderNo: r.OrderNo, Period: r.Period, AmountFen: take})
		used[r.OrderNo] = true
	}
	if want > 0 {
		if total <= 0 {
			return refundPlanResult{}, nil, models.ErrRefundExceeds.WithReason("所选费款已全部退还或正在退费，没有可退金额")
		}
		return refundPlanResult{}, nil, models.ErrRefundExceeds.WithReason("所选费款本次最多可退 " + models.Fen(total).Yuan() + " 元")
	}
	var usedOrders []store.OrderRow
	for _, o := range orders {
		if used[o.OrderNo] {
			usedOrders = append(usedOrders, o)
		}
	}
	return refundPlanResult{items: items, orders: usedOrders}, nil, nil
}

// refundHolds is what applications that are not refused, rejected or
// withdrawn already hold of the records ids (refunded or not), and of
// the orders orderNos what the ones not yet refunded hold.
func (s *Refunds) refundHolds(ctx context.Context, ids, orderNos []string) (byRecord, openByOrder map[string]int64, err error) {
	type held struct {
		RecordID  string
		OrderNo   string
		Status    string
		AmountFen int64
	}
	var hs []held
	if err := s.Conn(ctx).Table("refund_items AS i").Select("i.record_id, i.order_no, r.status, i.amount_fen").
		Joins("JOIN refunds r ON r.refund_no = i.refund_no").
		Where("(i.record_id IN ? OR i.order_no IN ?) AND r.status NOT IN ?", ids, orderNos, closedStatuses).
		Scan(&hs).Error; err != nil {
		return nil, nil, kernel.Internal("refund holds", err)
	}
	byRecord, openByOrder = map[string]int64{}, map[string]int64{}
	for _, h := range hs {
		byRecord[h.RecordID] += h.AmountFen
		if h.Status != string(models.RefundRefunded) {
			openByOrder[h.OrderNo] += h.AmountFen
		}
	}
	return byRecord, openByOrder, nil
}

// orderRoom is what an order has left to give back: what was paid less
// what was refunded and what open applications hold of it (openByOrder,
// refundHolds); nothing for an order not paid.
func orderRoom(o store.OrderRow, openByOrder map[string]int64) int64 {
	if o.Status != contrib.OrderPaid && o.Status != contrib.OrderPartiallyRefunded {
		return 0
	}
	return max(0, o.AmountFen-o.RefundedFen-openByOrder[o.OrderNo])
}

// recordRoom is what a month can give back: its amount less what
// applications hold of it (byRecord, refundHolds), within what its order
// has left. createRefund's plan and listRefundable both count with it, so
// the form offers what an application may take.
func recordRoom(r store.RecordRow, byRecord map[string]int64, orderLeft int64) int64 {
	return min(max(0, r.AmountFen-byRecord[r.ID]), orderLeft)
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// accountNameRule: money goes back to whom it belongs (CheckRefundAccount);
// one payer's account never takes what another payer paid.
const accountNameRule = "退费只能退至缴费人或参保人本人名下的银行账户；涉及多位缴费人的费款只能退至参保人本人名下"

// originalRouteOpen says whether an order's money can still go back through
// its channel by the time an application is through.
func (s *Refunds) originalRouteOpen(o store.OrderRow) (bool, string) {
	if _, ok := s.Payments[o.Channel]; !ok {
		return false, "该笔费款的缴费渠道不支持原路退回"
	}
	if o.PaidAt == nil || s.Now().Sub(*o.PaidAt) > originalRouteWindow {
		return false, "该笔费款缴纳已接近或超过一年，无法原路退回"
	}
	return true, ""
}

// ChannelRefundable says whether the channel will still refund an order now.
func (s *Refunds) ChannelRefundable(o store.OrderRow) bool {
	_, ok := s.Payments[o.Channel]
	return ok && o.PaidAt != nil && s.Now().Sub(*o.PaidAt) < channelRefundLimit
}

// ListRefunds lists the applications the caller filed or that concern
// their money: on orders they paid, for the person they are, or for a
// minor they are a proven guardian of; newest first.
func (s *Refunds) ListRefunds(ctx context.Context, userID string, page kernel.Page) ([]Refund, string, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return nil, "", err
	}
	q := s.Conn(ctx)
	paid := s.Conn(ctx).Table("refund_items AS i").Select("i.refund_no").Joins("JOIN orders o ON o.order_no = i.order_no").
		Where("o.payer_user_id = ?", userID)
	if u.PersonID != nil {
		persons := []string{*u.PersonID}
		var minors []string
		if err := s.Conn(ctx).Model(&store.GuardianshipRow{}).Where("guardian_person_id = ? AND revoked_at IS NULL", *u.PersonID).
			Distinct().Pluck("minor_person_id", &minors).Error; err != nil {
			return nil, "", kernel.Internal("guardianships", err)
		}
		for _, id := range minors {
			p, err := s.Person(ctx, id)
			if err != nil {
				return nil, "", err
			}
			if p.Parsed.MinorAt(s.Now()) {
				persons = append(persons, id)
			}
		}
		q = q.Where("(applicant_user_id = ? OR person_id IN ? OR refund_no IN (?))", userID, persons, paid)
	} else {
		q = q.Where("(applicant_user_id = ? OR refund_no IN (?))", userID, paid)
	}
	// A unit's applications are the unit's (listUnitRefunds), not the
	// personal list of whoever filed them.
	q = q.Where("unit_id = ''")
	return s.ownerPage(ctx, u, q, page)
}

// ownerPage is one page of the applications q selects, newest first, as
// u sees them.
func (s *Refunds) ownerPage(ctx context.Context, u store.UserRow, q *gorm.DB, page kernel.Page) ([]Refund, string, error) {
	if page.After != "" {
		q = q.Where("refund_no < ?", page.After)
	}
	var rows []store.RefundRow
	if err := q.Order("refund_no DESC").Limit(page.Size + 1).Find(&rows).Error; err != nil {
		return nil, "", kernel.Internal("list refunds", err)
	}
	next := ""
	if len(rows) > page.Size {
		rows = rows[:page.Size]
		next = rows[len(rows)-1].RefundNo
	}
	out := make([]Refund, 0, len(rows))
	for _, r := range rows {
		v, err := s.ownerView(ctx, u, r)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	return out, next, nil
}

// ownerView is an application as its applicant or one of the money's
// owners sees it: whether they filed it and whether they may withdraw it.
func (s *Refunds) ownerView(ctx context.Context, u store.UserRow, r store.RefundRow) (Refund, error) {
	v, err := s.refundView(ctx, r)
	if err != nil {
		return Refund{}, err
	}
	mine := r.ApplicantUserID == u.ID
	if !mine && r.UnitID == "" {
		acc, err := s.people.AccessTo(ctx, u, r.PersonID)
		if err != nil {
			return Refund{}, err
		}
		if acc == people.AccessPayOnly {
			// A payer who may not see the person's records sees the
			// orders they paid, not other payers' order numbers.
			var paid []string
			if err := s.Conn(ctx).Model(&store.OrderRow{}).Where("payer_user_id = ? AND person_id = ?", u.ID, r.PersonID).
				Pluck("order_no", &paid).Error; err != nil {
				return Refund{}, kernel.Internal("paid orders", err)
			}
			own := map[string]bool{}
			for _, o := range paid {
				own[o] = true
			}
			for i := range v.Items {
				if !own[v.Items[i].OrderNo] {
					v.Items[i].OrderNo = ""
				}
			}
			// The applicant's own account of why and the materials they
			// filed (identity papers, bank papers) are the person's
			// data, not a payer's.
			v.ReasonDetail, v.Attachments = "", []models.Attachment{}
		}
	}
	can := false
	for _, st := range withdrawable {
		can = can || st == v.Status
	}
	if can && !mine {
		if can, err = s.ownersMayWithdraw(ctx, r); err != nil {
			return Refund{}, err
		}
	}
	v.AppliedByMe, v.CanWithdraw = &mine, &can
	return v, nil
}

// GetRefund returns an application the caller filed or that concerns
// their money (as payer, person or proven guardian); anyone else gets
// NOT_FOUND.
func (s *Refunds) GetRefund(ctx context.Context, userID, refundNo string) (Refund, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return Refund{}, err
	}
	var r store.RefundRow
	if err := s.Conn(ctx).Where("refund_no = ?", refundNo).Take(&r).Error; err != nil {
		if kernel.IsNotFound(err) {
			return Refund{}, models.ErrNotFound
		}
		return Refund{}, kernel.Internal("load refund", err)
	}
	ok, err := s.mayReadRefund(ctx, u, r)
	if err != nil {
		return Refund{}, err
	}
	if !ok {
		return Refund{}, models.ErrNotFound
	}
	return s.ownerView(ctx, u, r)
}

// LoadRefund loads an application by number; a missing one is ErrNotFound.
func (s *Refunds) LoadRefund(ctx context.Context, refundNo string) (store.RefundRow, error) {
	var r store.RefundRow
	if err := s.Conn(ctx).Where("refund_no = ?", refundNo).Take(&r).Error; err != nil {
		if kernel.IsNotFound(err) {
			return r, models.ErrNotFound
		}
		return r, kernel.Internal("load refund", err)
	}
	return r, nil
}

func (s *Refunds) refundBankAccount(r store.RefundRow) (*models.BankAccount, error) {
	if r.AccountNoSealed == "" {
		return nil, nil
	}
	name, err := s.PII.Open(r.AccountNameSealed)
	if err != nil {
		return nil, kernel.Internal("open account name", err)
	}
	no, err := s.PII.Open(r.AccountNoSealed)
	if err != nil {
		return nil, kernel.Internal("open account no", err)
	}
	return &models.BankAccount{BankName: r.BankName, AccountName: name, AccountNo: no}, nil
}

// refundView builds the applicant's view: departments, never names.
func (s *Refunds) refundView(ctx context.Context, r store.RefundRow) (Refund, error) {
	p, err := s.refundPerson(ctx, r)
	if err != nil {
		return Refund{}, err
	}
	st := models.RefundStatus(r.Status)
	v := Refund{RefundNo: r.RefundNo, Status: st, StatusName: st.Label(), Scheme: models.Scheme(r.Scheme),
		SchemeName: models.Scheme(r.Scheme).Name(), Department: r.Department, DepartmentName: models.DepartmentName(r.Department),
		Holder: r.Holder, HolderName: holderName(r.Holder), PersonNameMasked: models.MaskName(p.Name),
		RefundFen: models.Fen(r.RefundFen), RefundedFen: models.Fen(r.RefundedFen), Reason: models.RefundReason(r.Reason),
		ReasonName: models.RefundReason(r.Reason).Label(), ReasonDetail: r.ReasonDetail, Route: models.RefundRoute(r.Route),
		Items: []RefundItem{}, Attachments: []models.Attachment{}, Timeline: []RefundStep{}, CreatedAt: r.CreatedAt,
		UpdatedAt: r.UpdatedAt, ClosedAt: r.ClosedAt}
	if r.Attachments != "" {
		_ = json.Unmarshal([]byte(r.Attachments), &v.Attachments)
	}
	if v.ApplicantRole, err = s.applicantRole(ctx, r); err != nil {
		return Refund{}, err
	}
	if err := s.unitView(ctx, r, &v); err != nil {
		return Refund{}, err
	}
	acct, err := s.refundBankAccount(r)
	if err != nil {
		return Refund{}, err
	}
	if acct != nil {
		m := acct.Masked()
		v.BankAccount = &m
	}
	var items []store.RefundItemRow
	if err := s.Conn(ctx).Where("refund_no = ?", r.RefundNo).Order("period").Find(&items).Error; err != nil {
		return Refund{}, kernel.Internal("refund items", err)
	}
	for _, it := range items {
		v.Items = append(v.Items, RefundItem{Period: it.Period, OrderNo: it.OrderNo, AmountFen: models.Fen(it.AmountFen)})
	}
	events, err := s.refundEvents(ctx, r.RefundNo)
	if err != nil {
		return Refund{}, err
	}
	for _, e := range events {
		step := stepOf(e)
		v.Timeline = append(v.Timeline, step)
		if len(step.Reasons) > 0 && (step.Status == models.RefundRefused || step.Status == models.RefundRejected) {
			v.Reasons = step.Reasons
		}
	}
	return v, nil
}

func (s *Refunds) refundEvents(ctx context.Context, refundNo string) ([]store.RefundEventRow, error) {
	var events []store.RefundEventRow
	if err := s.Conn(ctx).Where("refund_no = ?", refundNo).Order("seq").Find(&events).Error; err != nil {
		return nil, kernel.Internal("refund events", err)
	}
	return events, nil
}

func stepOf(e store.RefundEventRow) RefundStep {
	st := models.RefundStatus(e.Status)
	step := RefundStep{Status: st, StatusName: st.Label(), At: e.At, Department: e.Department,
		DepartmentName: models.DepartmentName(e.Department), Holder: e.Holder, HolderName: holderName(e.Holder), Note: e.Note}
	if e.Reasons != "" {
		_ = json.Unmarshal([]byte(e.Reasons), &step.Reasons)
	}
	return step
}

func holderName(h string) string {
	if h == "" {
		return "已办结"
	}
	return models.DepartmentName(h)
}

// AddEvent appends a step to an application's timeline inside tx. The
// sequence number comes from the application's row, whose update also
// serialises concurrent writers.
func (s *Refunds) AddEvent(tx *gorm.DB, refundNo string, ev store.RefundEventRow) error {
	// updated_at comes from the service clock: left out, gorm would stamp
	// it from the wall clock, and the applicant would see that time.
	if err := tx.Model(&store.RefundRow{}).Where("refund_no = ?", refundNo).
		Updates(map[string]any{"event_seq": gorm.Expr("event_seq + 1"), "updated_at": s.Now()}).Error; err != nil {
		return err
	}
	var r store.RefundRow
	if err := tx.Select("event_seq").Where("refund_no = ?", refundNo).Take(&r).Error; err != nil {
		return err
	}
	ev.RefundNo, ev.Seq, ev.At = refundNo, r.EventSeq, s.Now()
	ev.Note = kernel.Truncate(ev.Note, 500)
	return tx.Create(&ev).Error
}

// MoveRefund changes an application's status from → to by a conditional
// update and reports whether this call moved it. A final status releases
// the open key, so the person may apply again.
func (s *Refunds) MoveRefund(tx *gorm.DB, r store.RefundRow, from, to models.RefundStatus, extra map[string]any) (bool, error) {
	if !from.CanMoveTo(to) {
		return false, fmt.Errorf("refund %s: %s → %s is not a move of the state machine", r.RefundNo, from, to)
	}
	now := s.Now()
	upd := map[string]any{"status": string(to), "holder": models.RefundHolder(to, r.Department), "updated_at": now}
	if to.Final() {
		upd["open_key"] = nil
		upd["closed_at"] = now
	}
	for k, v := range extra {
		upd[k] = v
	}
	res := tx.Model(&store.RefundRow{}).Where("refund_no = ? AND status = ?", r.RefundNo, string(from)).Updates(upd)
	return res.RowsAffected == 1, res.Error
}

// RefundMessage tells the applicant about a step: an in-app message in tx,
// and a push to send after commit.
func (s *Refunds) RefundMessage(tx *gorm.DB, r store.RefundRow, to models.RefundStatus, reasons []string, note string) (kernel.PendingPush, error) {
	scheme := models.Scheme(r.Scheme).Name()
	amount := models.Fen(r.RefundFen).Yuan()
	dept := models.DepartmentName(r.Department)
	var title, body string
	switch to {
	case models.RefundSubmitted:
		title = "退费申请已提交"
		body = fmt.Sprintf("您的退费申请 %s（%s，%s 元）已提交，等待税务受理。", r.RefundNo, scheme, amount)
	case models.RefundForwarded:
		title = "退费申请已受理"
		body = fmt.Sprintf("您的退费申请 %s（%s，%s 元）已由税务受理，已转%s复核。", r.RefundNo, scheme, amount, dept)
	case models.RefundRefused:
		title = "退费申请不予受理"
		body = fmt.Sprintf("您的退费申请 %s 不予受理，原因（一次性告知）：%s。请补正后重新申请。", r.RefundNo, numbered(reasons))
	case models.RefundApproved:
		title = "退费申请复核通过"
		body = fmt.Sprintf("您的退费申请 %s 已由%s复核通过，税务将为您办理退费。", r.RefundNo, dept)
	case models.RefundRejected:
		title = "退费申请未通过复核"
		body = fmt.Sprintf("您的退费申请 %s 经%s复核不予退费，原因：%s。", r.RefundNo, dept, strings.Join(reasons, "；"))
	case models.RefundRefunded:
		title = "退费已办结"
		body = fmt.Sprintf("您的退费申请 %s 已办结，%s 元%s。", r.RefundNo, amount, note)
	case models.RefundWithdrawn:
		title = "退费申请已撤回"
		body = fmt.Sprintf("您的退费申请 %s（%s，%s 元）已撤回，所涉费款不再退还。", r.RefundNo, scheme, amount)
	default:
		title = "退费申请进度"
		body = fmt.Sprintf("您的退费申请 %s：%s。", r.RefundNo, to.Label())
	}
	thing := to.Label()
	if len(reasons) > 0 {
		thing = reasons[0]
	}
	push := models.Message{Kind: models.MessageRefundResult, Page: "pages/refund/detail?refund_no=" + r.RefundNo,
		Fields: map[string]string{"character_string1": r.RefundNo, "phrase2": TruncateRunes(to.Label(), 5),
			"amount3": amount + "元", "thing4": TruncateRunes(thing, 20), "time5": s.Now().In(models.Beijing).Format("2006-01-02 15:04")}}
	pp, err := s.WriteMessage(tx, r.ApplicantUserID, kernel.MessageKindRefund, title, body, r.RefundNo, push)
	if err != nil {
		return pp, err
	}
	// Everyone whose money it is hears of it too, at every step: the
	// payer, the person and a minor's proven guardians.
	parties, err := s.refundParties(tx, r)
	if err != nil {
		return pp, err
	}
	var others []string
	for _, id := range parties {
		if id != r.ApplicantUserID {
			others = append(others, id)
		}
	}
	if len(others) == 0 {
		return pp, nil
	}
	applicant, canWithdraw := "", false
	if to == models.RefundSubmitted {
		applicant = s.contrib.PayerMaskedTx(tx, r.ApplicantUserID)
		canWithdraw = reviewFirst(r.ApplicantRole)
	}
	for _, id := range others {
		if _, err := s.WriteMessage(tx, id, kernel.MessageKindRefund, title, partyMessageBody(body, to, applicant, canWithdraw), r.RefundNo, push); err != nil {
			return pp, err
		}
	}
	pp.Others = others
	return pp, nil
}

func numbered(reasons []string) string {
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%d. %s", i+1, r)
	}
	return strings.Join(parts, "；")
}

// TruncateRunes cuts s to at most n characters (subscribe-message fields
// count characters).
func TruncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
