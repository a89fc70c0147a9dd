package counters

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// ReconHeader is the first line of a partner's reconciliation file.
const ReconHeader = "partner_txn_id,order_no,amount_fen,status,paid_at"

// maxReconLines bounds one day's file.
const maxReconLines = 200000

// Mismatch kinds of a reconciliation, each kept as an anomaly.
const (
	MismatchMissing = "missing" // ours, not in their file → missing_in_bill
	MismatchExtra   = "extra"   // theirs, not ours → unknown_order, or paid_not_settled for an order of ours never confirmed
	MismatchAmount  = "amount"  // both, other amounts → amount_mismatch
	MismatchStatus  = "status"  // paid on one side, reversed on the other
)

// Reconciliation is a partner's day compared with ours.
type Reconciliation struct {
	Day        string      `json:"day"`
	ReceivedAt time.Time   `json:"received_at"`
	LineCount  int         `json:"line_count"`
	FileSHA256 string      `json:"file_sha256"`
	Mismatches []ReconItem `json:"mismatches"`
}

// ReconItem is one mismatch.
type ReconItem struct {
	Kind         string     `json:"kind"`
	PartnerTxnID string     `json:"partner_txn_id,omitempty"`
	OrderNo      string     `json:"order_no"`
	TheirFen     models.Fen `json:"their_fen"`
	OurFen       models.Fen `json:"our_fen"`
	TheirStatus  string     `json:"their_status,omitempty"`
	OurStatus    string     `json:"our_status,omitempty"`
}

type reconLine struct {
	txn, orderNo, status string
	fen                  int64
}

// dayRange is a Beijing business day as UTC bounds.
func (s *Counters) dayRange(day string) (time.Time, time.Time, error) {
	d, err := time.ParseInLocation("2006-01-02", day, models.Beijing)
	if err != nil {
		return time.Time{}, time.Time{}, models.ErrInvalid.WithReason("日期格式应为 YYYY-MM-DD")
	}
	if d.After(s.Now()) {
		return time.Time{}, time.Time{}, models.ErrInvalid.WithReason("不能对账未来的日期")
	}
	return d.UTC(), d.AddDate(0, 0, 1).UTC(), nil
}

func parseRecon(body []byte) ([]reconLine, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = 5
	r.TrimLeadingSpace = true
	head, err := r.Read()
	if err != nil || strings.Join(head, ",") != ReconHeader {
		return nil, models.ErrInvalid.WithReason("对账文件首行应为 " + ReconHeader)
	}
	var out []reconLine
	seen := map[string]bool{}
	for n := 2; ; n++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		bad := func(why string) error {
			return models.ErrInvalid.WithReason(fmt.Sprintf("对账文件第 %d 行%s", n, why))
		}
		if err != nil {
			return nil, bad("格式有误")
		}
		if len(out) >= maxReconLines {
			return nil, bad("超出单日行数上限")
		}
		fen, err := strconv.ParseInt(rec[2], 10, 64)
		switch {
		case !validTxn(rec[0]):
			return nil, bad("的 partner_txn_id 有误")
		case !validTxn(rec[1]) || len(rec[1]) > 40:
			return nil, bad("的 order_no 有误")
		case err != nil || fen <= 0:
			return nil, bad("的 amount_fen 应为正整数（分）")
		case rec[3] != contrib.OrderPaid && rec[3] != contrib.OrderReversed:
			return nil, bad("的 status 应为 paid 或 reversed")
		case seen[rec[1]]:
			return nil, bad("的订单号重复")
		}
		if _, err := time.Parse(time.RFC3339, rec[4]); err != nil {
			return nil, bad("的 paid_at 应为 RFC 3339 时间")
		}
		seen[rec[1]] = true
		out = append(out, reconLine{txn: rec[0], orderNo: rec[1], fen: fen, status: rec[3]})
	}
}

// counterStatus is an order's status as a reconciliation file says it.
func counterStatus(o store.OrderRow) string {
	if o.Status == contrib.OrderReversed {
		return contrib.OrderReversed
	}
	return contrib.OrderPaid
}

// PutPartnerReconciliation compares a partner's file of a Beijing day with the
// counter orders it confirmed that day. A line of ours missing from the
// file, a line of theirs we do not have and a different amount or status
// are each recorded once as a mismatch and an anomaly; the same file
// again changes nothing.
func (s *Counters) PutPartnerReconciliation(ctx context.Context, a kernel.PartnerActor, day string, body []byte) (Reconciliation, error) {
	from, to, err := s.dayRange(day)
	if err != nil {
		return Reconciliation{}, err
	}
	lines, err := parseRecon(body)
	if err != nil {
		s.auditPartner(ctx, a, "partner.reconciliation", "day", day, kernel.AuditFailed, errCode(err))
		return Reconciliation{}, err
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	var file store.CounterReconFileRow
	err = s.Conn(ctx).Where("partner_id = ? AND day = ?", a.PartnerID, day).Take(&file).Error
	if err == nil && file.FileSHA256 == hash {
		return s.GetPartnerReconciliation(ctx, a, day)
	}
	if err != nil && !kernel.IsNotFound(err) {
		return Reconciliation{}, kernel.Internal("load reconciliation", err)
	}
	var ours []store.OrderRow
	if err := s.Conn(ctx).Where("partner_id = ? AND paid_at >= ? AND paid_at < ?", a.PartnerID, from, to).Find(&ours).Error; err != nil {
		return Reconciliation{}, kernel.Internal("load counter orders", err)
	}
	byNo := make(map[string]store.OrderRow, len(ours))
	for _, o := range ours {
		byNo[o.OrderNo] = o
	}
	now := s.Now()
	var items []store.CounterReconItemRow
	item := func(kind, ref, txn, orderNo string, their, our int64, ts, os string) {
		items = append(items, store.CounterReconItemRow{PartnerID: a.PartnerID, Day: day, Kind: kind, Ref: ref, PartnerTxnID: txn,
			OrderNo: orderNo, TheirFen: their, OurFen: our, TheirStatus: ts, OurStatus: os, CreatedAt: now})
	}
	theirs := map[string]bool{}
	for _, l := range lines {
		theirs[l.orderNo] = true
		o, ok := byNo[l.orderNo]
		if !ok {
			var other store.OrderRow
			err := s.Conn(ctx).Where("order_no = ? AND partner_id = ?", l.orderNo, a.PartnerID).Take(&other).Error
			if err != nil && !kernel.IsNotFound(err) {
				return Reconciliation{}, kernel.Internal("load order", err)
			}
			os := ""
			if err == nil {
				os = other.Status
			}
			item(MismatchExtra, l.orderNo, l.txn, l.orderNo, l.fen, 0, l.status, os)
			continue
		}
		if l.fen != o.AmountFen {
			item(MismatchAmount, l.orderNo, l.txn, l.orderNo, l.fen, o.AmountFen, l.status, counterStatus(o))
		}
		if l.status != counterStatus(o) {
			item(MismatchStatus, l.orderNo, l.txn, l.orderNo, l.fen, o.AmountFen, l.status, counterStatus(o))
		}
	}
	for _, o := range ours {
		if !theirs[o.OrderNo] && counterStatus(o) == contrib.OrderPaid {
			item(MismatchMissing, o.OrderNo, o.PartnerConfirmTxn, o.OrderNo, 0, o.AmountFen, "", contrib.OrderPaid)
		}
	}
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		var before []store.CounterReconItemRow
		if err := tx.Where("partner_id = ? AND day = ?", a.PartnerID, day).Find(&before).Error; err != nil {
			return err
		}
		had := map[string]bool{}
		for _, b := range before {
			had[b.Kind+"|"+b.Ref] = true
		}
		if err := tx.Where("partner_id = ? AND day = ?", a.PartnerID, day).Delete(&store.CounterReconItemRow{}).Error; err != nil {
			return err
		}
		for _, it := range items {
			if err := tx.Create(&it).Error; err != nil {
				return err
			}
			if had[it.Kind+"|"+it.Ref] {
				continue
			}
			if err := s.OpenAnomaly(tx, reconAnomaly(a, day, it)); err != nil {
				return err
			}
		}
		row := store.CounterReconFileRow{PartnerID: a.PartnerID, Day: day, FileSHA256: hash, LineCount: len(lines), ReceivedAt: now}
		res := tx.Model(&store.CounterReconFileRow{}).Where("partner_id = ? AND day = ?", a.PartnerID, day).
			Updates(map[string]any{"file_sha256": hash, "line_count": len(lines), "received_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return tx.Create(&row).Error
		}
		return nil
	})
	if err != nil {
		return Reconciliation{}, kernel.Internal("record reconciliation", err)
	}
	s.auditPartner(ctx, a, "partner.reconciliation", "day", day, kernel.AuditOK, fmt.Sprintf("%d 行，%d 处不符", len(lines), len(items)))
	return s.GetPartnerReconciliation(ctx, a, day)
}

// reconAnomaly is the anomaly a mismatch opens.
func reconAnomaly(a kernel.PartnerActor, day string, it store.CounterReconItemRow) kernel.AnomalyNote {
	n := kernel.AnomalyNote{Source: "partner_recon", Channel: kernel.Truncate("partner:"+a.PartnerID, 20), OrderNo: kernel.Truncate(it.OrderNo, 40)}
	switch it.Kind {
	case MismatchMissing:
		n.Kind, n.AmountFen = "missing_in_bill", it.OurFen
		n.Detail = fmt.Sprintf("%s 合作方 %s 对账文件无此笔已确认收款（%d 分）", day, a.PartnerID, it.OurFen)
	case MismatchExtra:
		n.Kind, n.AmountFen = "unknown_order", it.TheirFen
		if it.OurStatus != "" {
			n.Kind = "paid_not_settled"
		}
		n.Detail = fmt.Sprintf("%s 合作方 %s 对账文件有收款 %d 分（流水 %s），本系统当日无此确认", day, a.PartnerID, it.TheirFen, it.PartnerTxnID)
	case MismatchAmount:
		n.Kind, n.AmountFen = "amount_mismatch", it.TheirFen
		n.Detail = fmt.Sprintf("%s 合作方 %s 对账金额 %d 分，与订单金额 %d 分不符", day, a.PartnerID, it.TheirFen, it.OurFen)
	default:
		n.Kind, n.AmountFen = "paid_not_settled", it.TheirFen
		if it.TheirStatus == contrib.OrderReversed {
			n.Kind = "missing_in_bill"
		}
		n.Detail = fmt.Sprintf("%s 合作方 %s 对账状态 %s，本系统为 %s", day, a.PartnerID, it.TheirStatus, it.OurStatus)
	}
	return n
}

// GetPartnerReconciliation is the partner's last file of a day and what did not
// match.
func (s *Counters) GetPartnerReconciliation(ctx context.Context, a kernel.PartnerActor, day string) (Reconciliation, error) {
	if _, _, err := s.dayRange(day); err != nil {
		return Reconciliation{}, err
	}
	var file store.CounterReconFileRow
	err := s.Conn(ctx).Where("partner_id = ? AND day = ?", a.PartnerID, day).Take(&file).Error
	if kernel.IsNotFound(err) {
		return Reconciliation{}, models.ErrNotFound
	}
	if err != nil {
		return Reconciliation{}, kernel.Internal("load reconciliation", err)
	}
	var rows []store.CounterReconItemRow
	if err := s.Conn(ctx).Where("partner_id = ? AND day = ?", a.PartnerID, day).Find(&rows).Error; err != nil {
		return Reconciliation{}, kernel.Internal("load reconciliation items", err)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Kind != rows[j].Kind {
			return rows[i].Kind < rows[j].Kind
		}
		return rows[i].Ref < rows[j].Ref
	})
	out := Reconciliation{Day: day, ReceivedAt: file.ReceivedAt, LineCount: file.LineCount, FileSHA256: file.FileSHA256, Mismatches: []ReconItem{}}
	for _, r := range rows {
		out.Mismatches = append(out.Mismatches, ReconItem{Kind: r.Kind, PartnerTxnID: r.PartnerTxnID, OrderNo: r.OrderNo, TheirFen: models.Fen(r.TheirFen),
			OurFen: models.Fen(r.OurFen), TheirStatus: r.TheirStatus, OurStatus: r.OurStatus})
	}
	return out, nil
}
