package anomalies

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// The anomaly queue: staff list the anomalies they own oldest first, read
// one with its order, the channel's current view and what the system
// already did, and close it with a resolution and a reason. Who owns which
// is models.AnomalyOwner; every read and every resolution is audited.

// Anomaly queue statuses.
const (
	AnomalyStatusOpen     = "open"
	AnomalyStatusResolved = "resolved"
)

// channelViewTimeout bounds the live query of the channel behind an
// anomaly: a slow channel must not hold the hall's page.
const channelViewTimeout = 5 * time.Second

// AnomalyItem is an anomaly as the hall's queue shows it.
type AnomalyItem struct {
	AnomalyID      string           `json:"anomaly_id"`
	Kind           string           `json:"kind"`
	KindName       string           `json:"kind_name"`
	Source         string           `json:"source"`
	Channel        string           `json:"channel"`
	OrderNo        string           `json:"order_no"`
	RefundNo       string           `json:"refund_no"`
	AmountFen      models.Fen       `json:"amount_fen"`
	Detail         string           `json:"detail"`
	OpenedAt       time.Time        `json:"opened_at"`
	Status         string           `json:"status"`
	OwnerRole      models.StaffRole `json:"owner_role"`
	SystemAction   string           `json:"system_action"`
	Resolution     string           `json:"resolution,omitempty"`
	ResolutionName string           `json:"resolution_name,omitempty"`
	ResolveReason  string           `json:"resolve_reason,omitempty"`
	ResolvedBy     string           `json:"resolved_by,omitempty"`
	ResolvedAt     *time.Time       `json:"resolved_at,omitempty"`
}

// AnomalyOrder is the order an anomaly concerns, as we hold it.
type AnomalyOrder struct {
	OrderNo       string     `json:"order_no"`
	Channel       string     `json:"channel"`
	Scheme        string     `json:"scheme"`
	Status        string     `json:"status"`
	AmountFen     models.Fen `json:"amount_fen"`
	RefundedFen   models.Fen `json:"refunded_fen"`
	TransactionID string     `json:"transaction_id"`
	CreatedAt     time.Time  `json:"created_at"`
	PaidAt        *time.Time `json:"paid_at,omitempty"`
	ClosedAt      *time.Time `json:"closed_at,omitempty"`
}

// AnomalyRefund is the refund application an anomaly concerns.
type AnomalyRefund struct {
	RefundNo    string     `json:"refund_no"`
	Status      string     `json:"status"`
	StatusName  string     `json:"status_name"`
	Scheme      string     `json:"scheme"`
	Department  string     `json:"department"`
	RefundFen   models.Fen `json:"refund_fen"`
	RefundedFen models.Fen `json:"refunded_fen"`
}

// ChannelRefundView is one refund as the channel reports it now.
type ChannelRefundView struct {
	OutRefundNo string     `json:"out_refund_no"`
	State       string     `json:"state"`
	AmountFen   models.Fen `json:"amount_fen"`
	SucceededAt *time.Time `json:"succeeded_at,omitempty"`
}

// ChannelView is the channel's own view of the order (and its refunds),
// queried when the anomaly is opened. A channel that cannot be asked is
// reported as unavailable, with why, rather than failing the page.
type ChannelView struct {
	Available     bool                `json:"available"`
	QueriedAt     time.Time           `json:"queried_at"`
	Message       string              `json:"message,omitempty"`
	TradeState    string              `json:"trade_state,omitempty"` // paying, paid, closed, unknown, not_found
	AmountFen     *models.Fen         `json:"amount_fen,omitempty"`
	TransactionID string              `json:"transaction_id,omitempty"`
	PaidAt        *time.Time          `json:"paid_at,omitempty"`
	Refunds       []ChannelRefundView `json:"refunds"`
}

// AnomalyDetail is one anomaly with what the hall needs to resolve it.
type AnomalyDetail struct {
	AnomalyItem
	Order       *AnomalyOrder  `json:"order,omitempty"`
	Refund      *AnomalyRefund `json:"refund,omitempty"`
	ChannelView ChannelView    `json:"channel_view"`
}

// AnomalyFilter narrows the queue: status open (default), resolved or
// all, and one kind.
type AnomalyFilter struct {
	Status string
	Kind   string
}

// ResolveAnomalyInput closes an anomaly.
type ResolveAnomalyInput struct {
	Resolution models.AnomalyResolution `json:"resolution"`
	Reason     string                   `json:"reason"`
}

// anomalyRefund finds the refund application an anomaly's refund number
// names: an application number, or the number of one of its payouts (the
// number the channel knows).
func (s *Queue) anomalyRefund(ctx context.Context, refundNo string) (*store.RefundRow, error) {
	if refundNo == "" {
		return nil, nil
	}
	var r store.RefundRow
	err := s.Conn(ctx).Where("refund_no = ?", refundNo).Take(&r).Error
	if err == nil {
		return &r, nil
	}
	if !kernel.IsNotFound(err) {
		return nil, kernel.Internal("anomaly refund", err)
	}
	var p store.RefundPayoutRow
	if err := s.Conn(ctx).Where("payout_no = ?", refundNo).Take(&p).Error; err != nil {
		if kernel.IsNotFound(err) {
			return nil, nil
		}
		return nil, kernel.Internal("anomaly payout", err)
	}
	if err := s.Conn(ctx).Where("refund_no = ?", p.RefundNo).Take(&r).Error; err != nil {
		if kernel.IsNotFound(err) {
			return nil, nil
		}
		return nil, kernel.Internal("anomaly refund", err)
	}
	return &r, nil
}

// reviewedDepts are the departments whose refunds' anomalies go to a
// reviewer; every other anomaly is the tax window's.
var reviewedDepts = []string{models.DeptSocialInsurance, models.DeptMedicalInsurance}

// ofRefundsOf matches anomalies naming a refund (or one of its payouts)
// of the given departments.
const ofRefundsOf = "(refund_no <> '' AND (refund_no IN (SELECT refund_no FROM refunds WHERE department IN ?) OR " +
	"refund_no IN (SELECT p.payout_no FROM refund_payouts p JOIN refunds r ON r.refund_no = p.refund_no WHERE r.department IN ?)))"

// ownedBy narrows q to the anomalies a role may see.
func ownedBy(q *gorm.DB, role models.StaffRole) *gorm.DB {
	switch role {
	case models.RoleAuditor:
		return q
	case models.RoleTaxWindow:
		return q.Where("NOT "+ofRefundsOf, reviewedDepts, reviewedDepts)
	}
	dept := []string{role.Department()}
	return q.Where(ofRefundsOf, dept, dept)
}

func anomalyItem(r store.AnomalyRow, owner models.StaffRole) AnomalyItem {
	it := AnomalyItem{AnomalyID: r.ID, Kind: r.Kind, KindName: models.AnomalyKindLabel(r.Kind), Source: r.Source, Channel: r.Channel,
		OrderNo: r.OrderNo, RefundNo: r.RefundNo, AmountFen: models.Fen(r.AmountFen), Detail: r.Detail, OpenedAt: r.CreatedAt,
		Status: AnomalyStatusOpen, OwnerRole: owner, SystemAction: r.SystemAction, ResolveReason: r.ResolveReason,
		ResolvedBy: r.ResolvedBy, ResolvedAt: r.ResolvedAt}
	if r.ResolvedAt != nil {
		it.Status = AnomalyStatusResolved
		it.Resolution = r.Resolution
		it.ResolutionName = models.AnomalyResolution(r.Resolution).Label()
	}
	if it.SystemAction == "" {
		// Rows written before the queue recorded it: a row the system
		// closed itself says what it did in its resolution.
		if r.ResolvedAt != nil && (r.ResolvedBy == "" || r.ResolvedBy == "system") {
			it.SystemAction = r.Resolution
		} else {
			it.SystemAction = "系统未自动处理，待人工核实"
		}
	}
	return it
}

// anomalyPageToken is the keyset of the queue's order (oldest first).
func anomalyPageToken(r store.AnomalyRow) string {
	return r.CreatedAt.UTC().Format(time.RFC3339Nano) + "~" + r.ID
}

func parseAnomalyPageToken(tok string) (time.Time, string, error) {
	at, id, ok := strings.Cut(tok, "~")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || id == "" {
		return time.Time{}, "", models.ErrInvalid.WithReason("page_token 无效")
	}
	return t.UTC(), id, nil
}

// ListAnomalies lists the anomalies the caller owns (the auditor: all),
// oldest first. Reading the queue is audited.
func (s *Queue) ListAnomalies(ctx context.Context, a kernel.StaffActor, f AnomalyFilter, page kernel.Page) ([]AnomalyItem, string, error) {
	if err := s.hall.Require(ctx, a, models.PermAnomalyRead, "anomaly.list", "anomaly", ""); err != nil {
		return nil, "", err
	}
	if f.Status == "" {
		f.Status = AnomalyStatusOpen
	}
	q := ownedBy(s.Conn(ctx), a.Role)
	switch f.Status {
	case AnomalyStatusOpen:
		q = q.Where("resolved_at IS NULL")
	case AnomalyStatusResolved:
		q = q.Where("resolved_at IS NOT NULL")
	case "all":
	default:
		return nil, "", models.ErrInvalid.WithReason("status 应为 open、resolved 或 all")
	}
	if f.Kind != "" {
		if !models.ValidAnomalyKind(f.Kind) {
			return nil, "", models.ErrInvalid.WithReason("kind 不是有效的异常类型")
		}
		q = q.Where("kind = ?", f.Kind)
	}
	if page.After != "" {
		at, id, err := parseAnomalyPageToken(page.After)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("created_at > ? OR (created_at = ? AND id > ?)", at, at, id)
	}
	var rows []store.AnomalyRow
	if err := q.Order("created_at, id").Limit(page.Size + 1).Find(&rows).Error; err != nil {
		return nil, "", kernel.Internal("list anomalies", err)
	}
	next := ""
	if len(rows) > page.Size {
		rows = rows[:page.Size]
		next = anomalyPageToken(rows[len(rows)-1])
	}
	if err := s.AuditNow(ctx, a, kernel.AuditNote{Action: "anomaly.list", TargetKind: "anomaly", Outcome: kernel.AuditOK,
		Detail: fmt.Sprintf("status=%s kind=%s, %d 条", f.Status, f.Kind, len(rows))}); err != nil {
		return nil, "", err
	}
	out := make([]AnomalyItem, 0, len(rows))
	for _, r := range rows {
		owner := models.RoleTaxWindow
		if r.RefundNo != "" {
			ref, err := s.anomalyRefund(ctx, r.RefundNo)
			if err != nil {
				return nil, "", err
			}
			if ref != nil {
				owner = models.AnomalyOwner(ref.Department)
			}
		}
		out = append(out, anomalyItem(r, owner))
	}
	return out, next, nil
}

// loadAnomaly reads an anomaly and its refund, and says who owns it.
func (s *Queue) loadAnomaly(ctx context.Context, id string) (store.AnomalyRow, *store.RefundRow, models.StaffRole, error) {
	var r store.AnomalyRow
	if err := s.Conn(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		if kernel.IsNotFound(err) {
			return r, nil, "", models.ErrNotFound
		}
		return r, nil, "", kernel.Internal("anomaly", err)
	}
	ref, err := s.anomalyRefund(ctx, r.RefundNo)
	if err != nil {
		return r, nil, "", err
	}
	owner := models.RoleTaxWindow
	if ref != nil {
		owner = models.AnomalyOwner(ref.Department)
	}
	return r, ref, owner, nil
}

// GetAnomaly shows one anomaly to its owner or the auditor: the order as
// we hold it, the refund it concerns, what the system already did, and
// the channel's view queried now. The read is audited first.
func (s *Queue) GetAnomaly(ctx context.Context, a kernel.StaffActor, id string) (AnomalyDetail, error) {
	if err := s.hall.Require(ctx, a, models.PermAnomalyRead, "anomaly.read", "anomaly", id); err != nil {
		return AnomalyDetail{}, err
	}
	r, ref, owner, err := s.loadAnomaly(ctx, id)
	if err != nil {
		return AnomalyDetail{}, err
	}
	if !a.Role.SeesAnomaly(owner) {
		return AnomalyDetail{}, s.hall.Deny(ctx, a, "anomaly.read", "anomaly", id)
	}
	if err := s.AuditNow(ctx, a, kernel.AuditNote{Action: "anomaly.read", TargetKind: "anomaly", TargetID: id, Outcome: kernel.AuditOK}); err != nil {
		return AnomalyDetail{}, err
	}
	v := AnomalyDetail{AnomalyItem: anomalyItem(r, owner)}
	var o store.OrderRow
	if r.OrderNo != "" {
		err := s.Conn(ctx).Where("order_no = ?", r.OrderNo).Take(&o).Error
		switch {
		case err == nil:
			v.Order = &AnomalyOrder{OrderNo: o.OrderNo, Channel: o.Channel, Scheme: o.Scheme, Status: o.Status,
				AmountFen: models.Fen(o.AmountFen), RefundedFen: models.Fen(o.RefundedFen), TransactionID: o.TransactionID,
				CreatedAt: o.CreatedAt, PaidAt: o.PaidAt, ClosedAt: o.ClosedAt}
		case !kernel.IsNotFound(err):
			return AnomalyDetail{}, kernel.Internal("anomaly order", err)
		}
	}
	if ref != nil {
		st := models.RefundStatus(ref.Status)
		v.Refund = &AnomalyRefund{RefundNo: ref.RefundNo, Status: ref.Status, StatusName: st.Label(), Scheme: ref.Scheme,
			Department: ref.Department, RefundFen: models.Fen(ref.RefundFen), RefundedFen: models.Fen(ref.RefundedFen)}
	}
	v.ChannelView = s.channelView(ctx, r, ref)
	return v, nil
}

// channelView asks the channel about the anomaly's order and refunds now.
func (s *Queue) channelView(ctx context.Context, r store.AnomalyRow, ref *store.RefundRow) ChannelView {
	v := ChannelView{QueriedAt: s.Now(), Refunds: []ChannelRefundView{}}
	ch, ok := s.Payments[r.Channel]
	if !ok {
		v.Message = "该渠道（" + r.Channel + "）不支持实时查询，请在渠道商户平台核实"
		return v
	}
	if r.OrderNo == "" {
		v.Message = "异常未关联订单号，无法向渠道查询"
		return v
	}
	ctx, cancel := context.WithTimeout(ctx, channelViewTimeout)
	defer cancel()
	t, err := ch.Query(ctx, r.OrderNo)
	switch {
	case errors.Is(err, models.ErrNotFound):
		v.Available, v.TradeState, v.Message = true, "not_found", "渠道无此订单"
	case err != nil:
		s.Log.WarnContext(ctx, "channel view unavailable", "channel", r.Channel, "err", err)
		v.Message = "渠道暂时无法查询，请稍后刷新或在渠道商户平台核实"
		return v
	default:
		amt := t.Amount
		v.Available, v.TradeState, v.AmountFen, v.TransactionID = true, string(t.State), &amt, t.TransactionID
		if !t.PaidAt.IsZero() {
			at := t.PaidAt.UTC()
			v.PaidAt = &at
		}
	}
	// The refunds of this order the channel was asked for: the anomaly's
	// own refund number, or the channel payouts of its application.
	var outNos []string
	if ref != nil {
		var payouts []store.RefundPayoutRow
		if err := s.Conn(ctx).Where("refund_no = ? AND kind = ? AND order_no = ?", ref.RefundNo, refunds.PayoutChannel, r.OrderNo).
			Order("created_at, payout_no").Limit(10).Find(&payouts).Error; err == nil {
			for _, p := range payouts {
				outNos = append(outNos, p.PayoutNo)
			}
		}
	} else if r.RefundNo != "" {
		outNos = append(outNos, r.RefundNo)
	}
	for _, no := range outNos {
		res, err := ch.QueryRefund(ctx, r.OrderNo, no)
		if errors.Is(err, models.ErrNotFound) {
			v.Refunds = append(v.Refunds, ChannelRefundView{OutRefundNo: no, State: "not_found"})
			continue
		}
		if err != nil {
			v.Available = false
			v.Message = "渠道暂时无法查询退款，请稍后刷新或在渠道商户平台核实"
			continue
		}
		rv := ChannelRefundView{OutRefundNo: no, State: string(res.State), AmountFen: res.Amount}
		if !res.SucceededAt.IsZero() {
			at := res.SucceededAt.UTC()
			rv.SucceededAt = &at
		}
		v.Refunds = append(v.Refunds, rv)
	}
	return v
}

// ResolveAnomaly closes an anomaly its owner has dealt with, with a
// resolution and a reason. The close is conditional (only an open one),
// and it and its audit entry commit together. The reason stays on the
// anomaly; the audit entry names the resolution (reasons are free text
// and may name people, which the audit log never holds in clear).
func (s *Queue) ResolveAnomaly(ctx context.Context, a kernel.StaffActor, id string, in ResolveAnomalyInput) (AnomalyItem, error) {
	if err := s.hall.Require(ctx, a, models.PermAnomalyResolve, "anomaly.resolve", "anomaly", id); err != nil {
		return AnomalyItem{}, err
	}
	r, _, owner, err := s.loadAnomaly(ctx, id)
	if err != nil {
		return AnomalyItem{}, err
	}
	if !a.Role.ResolvesAnomaly(owner) {
		return AnomalyItem{}, s.hall.Deny(ctx, a, "anomaly.resolve", "anomaly", id)
	}
	reason, err := models.CheckAnomalyResolution(in.Resolution, in.Reason)
	if err != nil {
		return AnomalyItem{}, err
	}
	now := s.Now()
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&store.AnomalyRow{}).Where("id = ? AND resolved_at IS NULL", id).
			Updates(map[string]any{"resolution": string(in.Resolution), "resolve_reason": reason, "resolved_by": a.StaffID, "resolved_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return models.ErrAnomalyResolved
		}
		return s.AuditTx(tx, a, kernel.AuditNote{Action: "anomaly.resolve", TargetKind: "anomaly", TargetID: id, Outcome: kernel.AuditOK,
			Detail: fmt.Sprintf("%s %s/%s: %s", r.Kind, r.OrderNo, r.RefundNo, in.Resolution)})
	})
	if errors.Is(err, models.ErrAnomalyResolved) {
		if aerr := s.AuditNow(ctx, a, kernel.AuditNote{Action: "anomaly.resolve", TargetKind: "anomaly", TargetID: id, Outcome: kernel.AuditFailed,
			Detail: "已处理"}); aerr != nil {
			return AnomalyItem{}, aerr
		}
		return AnomalyItem{}, err
	}
	if err != nil {
		return AnomalyItem{}, kernel.Internal("resolve anomaly", err)
	}
	if err := s.Conn(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return AnomalyItem{}, kernel.Internal("anomaly", err)
	}
	return anomalyItem(r, owner), nil
}

// OpenAnomalies is the open anomalies of one kind, for the metrics.
type OpenAnomalies struct {
	Kind   string
	Count  int64
	Oldest time.Duration // age of the oldest open one
}

// OpenAnomalyStats counts the open anomalies by kind from the database
// (the record, shared by every instance), with the age of the oldest of
// each. Every kind of models.AnomalyKinds is reported, at zero when none
// is open, so an alert sees the count fall back rather than vanish.
func (s *Queue) OpenAnomalyStats(ctx context.Context) ([]OpenAnomalies, error) {
	var counts []struct {
		Kind string
		N    int64
	}
	if err := s.Conn(ctx).Model(&store.AnomalyRow{}).Select("kind, COUNT(*) AS n").Where("resolved_at IS NULL").
		Group("kind").Scan(&counts).Error; err != nil {
		return nil, kernel.Internal("count anomalies", err)
	}
	now := s.Now()
	seen := map[string]bool{}
	out := make([]OpenAnomalies, 0, len(counts)+len(models.AnomalyKinds))
	for _, c := range counts {
		// The oldest open one of the kind, by the (resolved_at,
		// created_at) index; MIN() of a time does not scan alike on
		// every dialect.
		var oldest store.AnomalyRow
		if err := s.Conn(ctx).Where("resolved_at IS NULL AND kind = ?", c.Kind).Order("created_at").Take(&oldest).Error; err != nil && !kernel.IsNotFound(err) {
			return nil, kernel.Internal("oldest anomaly", err)
		}
		age := time.Duration(0)
		if !oldest.CreatedAt.IsZero() && now.After(oldest.CreatedAt) {
			age = now.Sub(oldest.CreatedAt)
		}
		seen[c.Kind] = true
		out = append(out, OpenAnomalies{Kind: c.Kind, Count: c.N, Oldest: age})
	}
	for _, k := range models.AnomalyKinds {
		if !seen[k] {
			out = append(out, OpenAnomalies{Kind: k})
		}
	}
	return out, nil
}

// Anomaly is a recorded mismatch, for operators and tests.
type Anomaly struct {
	Kind, OrderNo, Channel, Detail, Resolution string
	Resolved                                   bool
}

// Anomalies lists recorded anomalies of an order ("" for all), oldest first.
func (s *Queue) Anomalies(ctx context.Context, orderNo string) ([]Anomaly, error) {
	q := s.Conn(ctx).Order("created_at, id")
	if orderNo != "" {
		q = q.Where("order_no = ?", orderNo)
	}
	var rows []store.AnomalyRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, kernel.Internal("anomalies", err)
	}
	out := make([]Anomaly, 0, len(rows))
	for _, r := range rows {
		out = append(out, Anomaly{Kind: r.Kind, OrderNo: r.OrderNo, Channel: r.Channel, Detail: r.Detail,
			Resolution: r.Resolution, Resolved: r.ResolvedAt != nil})
	}
	return out, nil
}
