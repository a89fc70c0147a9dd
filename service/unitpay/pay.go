package unitpay

import (
	"context"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// PaymentInput pays a unit declaration by one of the three methods;
// AgreementID names the verified 三方协议 for tripartite.
type PaymentInput struct {
	DeclarationID string `json:"declaration_id"`
	Method        string `json:"method"`
	AgreementID   string `json:"agreement_id,omitempty"`
}

// Payment is a unit's order as the unit sees it. Status uses the words of
// orders (paying, paid, failed, closed…).
type Payment struct {
	OrderNo       string     `json:"order_no"`
	UnitID        string     `json:"unit_id"`
	DeclarationID string     `json:"declaration_id"`
	Period        string     `json:"period"`
	Method        string     `json:"method"`
	AmountFen     models.Fen `json:"amount_fen"`
	Status        string     `json:"status"`
	CreatedAt     time.Time  `json:"created_at"`
	PaidAt        *time.Time `json:"paid_at"`
	ClosedAt      *time.Time `json:"closed_at,omitempty"`
	// tripartite
	AgreementID string `json:"agreement_id,omitempty"`
	DebitNo     string `json:"debit_no,omitempty"`
	DebitStatus string `json:"debit_status,omitempty"`
	FailReason  string `json:"fail_reason,omitempty"`
	// bank_voucher
	VoucherNo        string     `json:"voucher_no,omitempty"`
	PDFURL           string     `json:"pdf_url,omitempty"`
	VoucherExpiresAt *time.Time `json:"voucher_expires_at,omitempty"`
	// RecordsPaid, RecordsCredited and RecordsBooked count the employees'
	// months of the order at each stage (入库, 记账).
	RecordsPaid     int `json:"records_paid"`
	RecordsCredited int `json:"records_credited"`
	RecordsBooked   int `json:"records_booked"`
}

// CreateUnitPayment opens the one order of a declaration. Only one order
// per declaration is open at a time: the declaration moves open → paying
// by a conditional update in the transaction that inserts the order, so
// of concurrent calls one opens it. A call while an order of the same
// method is open answers that order (created false); another method is
// DECLARATION_NOT_PAYABLE until the open order ends.
func (s *UnitPay) CreateUnitPayment(ctx context.Context, userID, unitID string, in PaymentInput) (Payment, bool, error) {
	if _, err := s.units.ActsFor(ctx, userID, unitID); err != nil {
		return Payment{}, false, err
	}
	if err := s.RateLimit(ctx, "order:"+userID, s.Opt.OrderRateLimit, time.Minute, kernel.LetThrough); err != nil {
		return Payment{}, false, err
	}
	switch in.Method {
	case MethodTripartite, MethodBankVoucher, MethodPOS:
	default:
		return Payment{}, false, models.ErrInvalid.WithReason(`method 应为 "tripartite"、"bank_voucher" 或 "pos"`)
	}
	d, err := s.declaration(ctx, unitID, in.DeclarationID)
	if err != nil {
		return Payment{}, false, err
	}
	var agr store.TripartiteAgreementRow
	if in.Method == MethodTripartite {
		err := s.Conn(ctx).Where("id = ? AND unit_id = ?", in.AgreementID, unitID).Take(&agr).Error
		if kernel.IsNotFound(err) || (err == nil && (agr.Status != AgreementVerified || agr.RevokedAt != nil)) {
			return Payment{}, false, models.ErrAgreementNotVerified
		}
		if err != nil {
			return Payment{}, false, kernel.Internal("load agreement", err)
		}
	}
	if d.Status == DeclPaid {
		return Payment{}, false, models.ErrDeclarationPaying.WithReason("该申报已缴费")
	}
	if d.AmountFen <= 0 {
		return Payment{}, false, models.ErrDeclarationPaying.WithReason("该申报无应缴金额")
	}
	now := s.Now()
	// payer_user_id stays '': a unit's order is reached through the unit
	// (ActsFor), never through the individual routes that find orders by
	// their payer (payments, refunds, certificates).
	var o store.OrderRow
	var debit *store.TripartiteDebitRow
	var voucher *store.BankVoucherRow
	opened := false
	// The order's, debit's and voucher's numbers are the transaction's
	// only unique keys: two units paying in the same second can draw the
	// same random digits (a voucher's six, one in a million per pair;
	// deadline days bring hundreds of units a second), and that used to
	// answer 500. Each attempt draws all three afresh.
	err = kernel.DrawAgain(func() error {
		o = store.OrderRow{OrderNo: s.Number("U", now, 8), Channel: in.Method, AmountFen: d.AmountFen,
			Status: contrib.OrderPaying, CreatedAt: now, UpdatedAt: now, UnitID: unitID, UnitDeclarationID: d.ID, Method: in.Method}
		// Unit orders are never followed by the channel worker
		// (next_query_at stays NULL); a voucher's order is payable until
		// the voucher expires, the others until settled or failed.
		o.ExpiresAt = now.AddDate(1, 0, 0)
		debit, voucher = nil, nil
		switch in.Method {
		case MethodTripartite:
			next := now.Add(debitBackoff(0))
			debit = &store.TripartiteDebitRow{DebitNo: s.Number("TD", now, 8), OrderNo: o.OrderNo, AgreementID: agr.ID, UnitID: unitID,
				AmountFen: d.AmountFen, Status: DebitPending, NextQueryAt: &next, CreatedAt: now, UpdatedAt: now}
		case MethodBankVoucher:
			voucher = &store.BankVoucherRow{VoucherNo: s.Number("BV", now, 6), OrderNo: o.OrderNo, UnitID: unitID,
				UnitDeclarationID: d.ID, AmountFen: d.AmountFen, CreatedAt: now, ExpiresAt: voucherExpiry(now)}
			o.ExpiresAt = voucher.ExpiresAt
		case MethodPOS:
			// Waiting at the hall: as long as a voucher, then closed.
			o.ExpiresAt = voucherExpiry(now)
		}
		opened = false
		return s.Tx(ctx, func(tx *gorm.DB) error {
			res := tx.Model(&store.UnitDeclarationRow{}).Where("id = ? AND status = ? AND order_no = ?", d.ID, DeclOpen, "").
				Updates(map[string]any{"status": DeclPaying, "order_no": o.OrderNo, "updated_at": now})
			if res.Error != nil || res.RowsAffected != 1 {
				return res.Error
			}
			if err := tx.Create(&o).Error; err != nil {
				return err
			}
			if debit != nil {
				if err := tx.Create(debit).Error; err != nil {
					return err
				}
			}
			if voucher != nil {
				if err := tx.Create(voucher).Error; err != nil {
					return err
				}
			}
			opened = true
			return nil
		})
	})
	if err != nil {
		return Payment{}, false, kernel.Internal("open unit order", err)
	}
	if !opened {
		return s.openOrder(ctx, unitID, d.ID, in.Method)
	}
	s.Log.InfoContext(ctx, "unit order opened", "order_no", o.OrderNo, "unit_id", unitID, "method", in.Method, "amount_fen", o.AmountFen, "user_id", userID)
	if debit != nil {
		// The debit is sent after the order is committed, so a crash
		// between leaves a pending debit the worker sends (same number).
		s.sendDebit(ctx, *debit, agr.AgreementNo)
	}
	p, err := s.payment(ctx, unitID, o.OrderNo)
	return p, true, err
}

// openOrder answers the order a concurrent or repeated call opened.
func (s *UnitPay) openOrder(ctx context.Context, unitID, declID, method string) (Payment, bool, error) {
	d, err := s.declaration(ctx, unitID, declID)
	if err != nil {
		return Payment{}, false, err
	}
	if d.Status != DeclPaying || d.OrderNo == "" {
		if d.Status == DeclPaid {
			return Payment{}, false, models.ErrDeclarationPaying.WithReason("该申报已缴费")
		}
		return Payment{}, false, models.ErrDeclarationPaying
	}
	p, err := s.payment(ctx, unitID, d.OrderNo)
	if err != nil {
		return Payment{}, false, err
	}
	if p.Method != method {
		return Payment{}, false, models.ErrDeclarationPaying.WithReason("该申报已有进行中的缴费（" + p.Method + "），请等待其完成或失效后再更换缴费方式")
	}
	return p, false, nil
}

// GetUnitPayment returns one of the unit's orders.
func (s *UnitPay) GetUnitPayment(ctx context.Context, userID, unitID, orderNo string) (Payment, error) {
	if _, err := s.units.ActsFor(ctx, userID, unitID); err != nil {
		return Payment{}, err
	}
	return s.payment(ctx, unitID, orderNo)
}

// ListUnitPayments lists a unit's orders, newest first, a page at a time:
// a keyset on the order number (U + Beijing time + digits, so newest
// first by time), next being the last number of a full page. It used to
// show the newest 100 and page through those only, so a unit's older
// orders could not be reached.
func (s *UnitPay) ListUnitPayments(ctx context.Context, userID, unitID string, page kernel.Page) ([]Payment, string, error) {
	if _, err := s.units.ActsFor(ctx, userID, unitID); err != nil {
		return nil, "", err
	}
	q := s.Read(ctx).Model(&store.OrderRow{}).Where("unit_id = ?", unitID)
	if page.After != "" {
		if !strings.HasPrefix(page.After, "U") {
			// Not an order number this list hands out (an offset token of
			// the list's earlier pages would silently restart it).
			return nil, "", models.ErrInvalid.WithReason("page_token 无效")
		}
		q = q.Where("order_no < ?", page.After)
	}
	var rows []store.OrderRow
	if err := q.Order("order_no DESC").Limit(page.Size + 1).Find(&rows).Error; err != nil {
		return nil, "", kernel.Internal("list unit orders", err)
	}
	next := ""
	if len(rows) > page.Size {
		rows = rows[:page.Size]
		next = rows[len(rows)-1].OrderNo
	}
	out := make([]Payment, 0, len(rows))
	for _, o := range rows {
		p, err := s.paymentOf(ctx, o)
		if err != nil {
			return nil, "", err
		}
		out = append(out, p)
	}
	return out, next, nil
}

func (s *UnitPay) payment(ctx context.Context, unitID, orderNo string) (Payment, error) {
	var o store.OrderRow
	err := s.Conn(ctx).Where("order_no = ? AND unit_id = ? AND unit_id <> ''", orderNo, unitID).Take(&o).Error
	if kernel.IsNotFound(err) {
		return Payment{}, models.ErrNotFound
	}
	if err != nil {
		return Payment{}, kernel.Internal("load unit order", err)
	}
	return s.paymentOf(ctx, o)
}

// paymentOf is the unit's view of its order o (read by the caller).
func (s *UnitPay) paymentOf(ctx context.Context, o store.OrderRow) (Payment, error) {
	p := Payment{OrderNo: o.OrderNo, UnitID: o.UnitID, DeclarationID: o.UnitDeclarationID, Method: o.Method, AmountFen: models.Fen(o.AmountFen),
		Status: o.Status, CreatedAt: o.CreatedAt, PaidAt: o.PaidAt, ClosedAt: o.ClosedAt}
	var d store.UnitDeclarationRow
	if err := s.Conn(ctx).Select("period").Where("id = ?", o.UnitDeclarationID).Take(&d).Error; err == nil {
		p.Period = d.Period
	}
	switch o.Method {
	case MethodTripartite:
		var db store.TripartiteDebitRow
		if err := s.Conn(ctx).Where("order_no = ?", o.OrderNo).Take(&db).Error; err == nil {
			p.AgreementID, p.DebitNo, p.DebitStatus = db.AgreementID, db.DebitNo, db.Status
			if db.Status == DebitFailed {
				p.FailReason = db.LastError
			}
		}
	case MethodBankVoucher:
		var v store.BankVoucherRow
		if err := s.Conn(ctx).Where("order_no = ?", o.OrderNo).Take(&v).Error; err == nil {
			exp := v.ExpiresAt
			p.VoucherNo, p.VoucherExpiresAt = v.VoucherNo, &exp
			p.PDFURL = "/api/v1/units/" + o.UnitID + "/payments/" + o.OrderNo + "/voucher.pdf"
		}
	}
	type count struct {
		Status string
		N      int
	}
	var counts []count
	if err := s.Conn(ctx).Model(&store.RecordRow{}).Select("status, COUNT(*) AS n").Where("order_no = ?", o.OrderNo).
		Group("status").Scan(&counts).Error; err != nil {
		return Payment{}, kernel.Internal("count records", err)
	}
	for _, c := range counts {
		switch c.Status {
		case contrib.RecordPaid:
			p.RecordsPaid += c.N
		case contrib.RecordCredited:
			p.RecordsCredited += c.N
		case contrib.RecordBooked:
			p.RecordsBooked += c.N
		}
	}
	return p, nil
}

// failOrder ends an unpaid order (failed or closed) and gives its
// declaration back to the unit. It reports whether this call ended it.
func (s *UnitPay) failOrder(tx *gorm.DB, o store.OrderRow, status string, now time.Time) (bool, error) {
	res := tx.Model(&store.OrderRow{}).Where("order_no = ? AND status IN ?", o.OrderNo, []string{contrib.OrderCreated, contrib.OrderPaying}).
		Updates(map[string]any{"status": status, "closed_at": now, "updated_at": now})
	if res.Error != nil || res.RowsAffected != 1 {
		return false, res.Error
	}
	err := tx.Model(&store.UnitDeclarationRow{}).Where("id = ? AND status = ? AND order_no = ?", o.UnitDeclarationID, DeclPaying, o.OrderNo).
		Updates(map[string]any{"status": DeclOpen, "order_no": "", "updated_at": now}).Error
	return err == nil, err
}
