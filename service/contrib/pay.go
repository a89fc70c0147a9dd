package contrib

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/store"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"
)

// Order statuses (DESIGN.md §3).
const (
	OrderCreated           = "created"
	OrderPaying            = "paying"
	OrderPaid              = "paid"
	OrderClosed            = "closed"
	OrderFailed            = "failed"
	OrderPartiallyRefunded = "partially_refunded"
	OrderRefunded          = "refunded"
	// OrderHeld: the channel reports the order paid with another amount
	// than ours. Nothing is booked, the declaration goes back to the payer,
	// the order is no longer followed (it used to stay paying for good),
	// and the money the channel took is staff's to refund (an anomaly).
	OrderHeld = "held"
)

// PayInput starts paying a declaration through a channel.
type PayInput struct {
	DeclarationID string `json:"declaration_id"`
	Channel       string `json:"channel"`
	H5            bool   `json:"h5"`
}

// Payment is the view of an order.
type Payment struct {
	OrderNo          string           `json:"order_no"`
	DeclarationID    string           `json:"declaration_id"`
	Channel          string           `json:"channel"`
	Scheme           models.Scheme    `json:"scheme"`
	PersonNameMasked string           `json:"person_name_masked"`
	PeriodFrom       string           `json:"period_from"`
	PeriodTo         string           `json:"period_to"`
	AmountFen        models.Fen       `json:"amount_fen"`
	RefundedFen      models.Fen       `json:"refunded_fen"`
	Status           string           `json:"status"`
	CreatedAt        time.Time        `json:"created_at"`
	ExpiresAt        time.Time        `json:"expires_at"`
	PaidAt           *time.Time       `json:"paid_at,omitempty"`
	PayParams        models.PayParams `json:"pay_params,omitempty"`
	// AutoRefundNo and Notice are set on an order paid that could not be
	// booked (its months were paid by another order): the system refunds
	// it through its channel under this refund number, and Notice says so.
	AutoRefundNo string `json:"auto_refund_no,omitempty"`
	Notice       string `json:"notice,omitempty"`
}

// CreatePayment opens an order for a declaration, or returns the open one
// (created=false): a retry never makes a second order, so a payer cannot
// pay twice for the same months through us.
func (s *Contrib) CreatePayment(ctx context.Context, sess people.Session, in PayInput) (Payment, bool, error) {
	ch, ok := s.Payments[in.Channel]
	if !ok {
		return Payment{}, false, models.ErrChannelUnsupported
	}
	// Read on the read pool: the conditional update below decides which
	// request opens the order, whatever this read saw.
	d, e, err := s.declarationToPay(ctx, in.DeclarationID)
	if err != nil {
		return Payment{}, false, err
	}
	u, err := s.User(ctx, sess.UserID)
	if err == nil {
		err = s.people.MayPayForUser(ctx, u, d.PersonID)
	}
	if err != nil {
		if errors.Is(err, models.ErrIdentityRequired) {
			return Payment{}, false, err
		}
		return Payment{}, false, models.ErrNotFound
	}
	if err := s.seesDeclaration(ctx, sess.UserID, d); err != nil {
		return Payment{}, false, err
	}
	now := s.Now()
	switch {
	case d.Status == DeclPaid:
		return Payment{}, false, models.ErrAlreadyPaid
	case d.Status == DeclExpired, d.Status == DeclOpen && d.ExpiresAt.Before(now):
		_, _ = s.expireDeclaration(ctx, d.ID)
		return Payment{}, false, models.ErrDeclarationExpired
	}
	if d.Status == DeclOpen {
		person, err := s.stillPayable(ctx, u, d, e)
		if err != nil {
			return Payment{}, false, err
		}
		if err := s.RateLimit(ctx, "order:"+sess.UserID, s.Opt.OrderRateLimit, time.Minute, kernel.LetThrough); err != nil {
			return Payment{}, false, err
		}
		if person == nil {
			// A yearly scheme's: the order's view names the person.
			p, err := s.Person(ctx, d.PersonID)
			if err != nil {
				return Payment{}, false, err
			}
			person = &p
		}
		personMasked := models.MaskName(person.Name)
		expires := now.Add(s.Opt.OrderTTL)
		order := store.OrderRow{OrderNo: kernel.NewNumber("LB", now, 10), DeclarationID: d.ID, PersonID: d.PersonID,
			PayerUserID: sess.UserID, Channel: in.Channel, Scheme: d.Scheme, AmountFen: d.AmountFen, Status: OrderCreated,
			ExpiresAt: expires, CreatedAt: now, UpdatedAt: now, PayerMasked: s.openerMasked(ctx, u, person), PersonMasked: &personMasked}
		next := now.Add(s.Opt.FirstQueryAfter)
		order.NextQueryAt = &next
		won, err := s.openOrder(ctx, d.ID, &order, now)
		if err != nil {
			return Payment{}, false, kernel.Internal("create order", err)
		}
		if won {
			s.ForgetPayables(ctx, d.PersonID)
			p, err := s.prepay(ctx, ch, sess, order, d, person, in.H5)
			return p, true, err
		}
		// Lost the race: another request opened the order; answer with it.
		if err := s.Conn(ctx).Where("id = ?", d.ID).Take(&d).Error; err != nil {
			return Payment{}, false, kernel.Internal("declaration", err)
		}
		if d.Status != DeclPaying {
			return Payment{}, false, models.ErrDeclarationPaying
		}
	}
	if d.Status != DeclPaying || d.OrderNo == "" {
		return Payment{}, false, models.ErrDeclarationPaying
	}
	var order store.OrderRow
	if err := s.Conn(ctx).Where("order_no = ?", d.OrderNo).Take(&order).Error; err != nil {
		return Payment{}, false, kernel.Internal("order", err)
	}
	if order.PayerUserID != sess.UserID {
		// Another payer's open order, its number and pay_params are
		// theirs; nor may this caller close it by switching channel.
		return Payment{}, false, models.ErrDeclarationPayingByOther
	}
	if order.Channel != in.Channel && (order.Status == OrderCreated || order.Status == OrderPaying) {
		return s.switchChannel(ctx, sess, in, order)
	}
	if order.Status == OrderCreated && order.PayParams == "" {
		// The first prepay did not get through; try again with the same
		// out_trade_no, which the channel treats as the same order.
		p, err := s.prepay(ctx, ch, sess, order, d, nil, in.H5)
		return p, false, err
	}
	p, err := s.paymentView(ctx, order)
	return p, false, err
}

// openOrder moves the open declaration and its claims to paying and
// inserts its order, all or nothing, and reports whether this call moved
// it: of requests racing for one declaration exactly one does, and the
// others insert nothing.
func (s *Contrib) openOrder(ctx context.Context, declID string, order *store.OrderRow, now time.Time) (bool, error) {
	if s.DB.Dialect == store.Postgres {
		if sql, args, ok := s.openOrderStatement(ctx, declID, order, now); ok {
			res := s.Conn(ctx).Exec(sql, args...)
			return res.RowsAffected == 1, res.Error
		}
	}
	won := false
	err := s.Tx(ctx, func(tx *gorm.DB) (err error) {
		won, err = openOrderIn(tx, declID, order, now)
		return err
	})
	return won, err
}

// openOrderIn is openOrder's three writes in the transaction tx, which a
// counter's order shares (OpenCounterOrder): false, having written
// nothing, when the declaration is no longer open.
func openOrderIn(tx *gorm.DB, declID string, order *store.OrderRow, now time.Time) (bool, error) {
	res := tx.Model(&store.DeclarationRow{}).Where("id = ? AND status = ?", declID, DeclOpen).
		Updates(map[string]any{"status": DeclPaying, "order_no": order.OrderNo, "updated_at": now})
	if res.Error != nil || res.RowsAffected != 1 {
		return false, res.Error
	}
	if err := tx.Model(&store.ClaimRow{}).Where("declaration_id = ?", declID).Update("state", ClaimPaying).Error; err != nil {
		return true, err
	}
	return true, tx.Create(order).Error
}

// openOrderStatement is openOrder on PostgreSQL: the three writes in one
// statement (data-modifying CTEs), so one round trip where the
// transaction takes five (BEGIN, three statements, COMMIT), the largest
// part of opening an order there (issue 13). The declaration's
// conditional update decides, as in the transaction: its RETURNING feeds
// the claims' update and the order's INSERT … SELECT, so when another
// request has moved the declaration neither writes anything. The INSERT is
// the one gorm builds for the row (a dry run), its VALUES turned into the
// SELECT: the columns stay the row's, whatever it gains. ok is false,
// logged, when that INSERT is not of the shape expected (a column with a
// database default adds RETURNING, say); the transaction then opens the
// order, and TestMoneyStepsCost's count of pay's statements fails.
func (s *Contrib) openOrderStatement(ctx context.Context, declID string, order *store.OrderRow, now time.Time) (string, []any, bool) {
	ins := s.Conn(ctx).Session(&gorm.Session{DryRun: true}).Create(order)
	text := ins.Statement.SQL.String()
	into, values, ok := strings.Cut(text, ") VALUES (")
	n := len(ins.Statement.Vars)
	if ins.Error != nil || !ok || !strings.HasPrefix(into, "INSERT INTO ") || !strings.HasSuffix(values, ")") || strings.Count(values, "$") != n {
		s.Log.ErrorContext(ctx, "order INSERT not of the shape expected; opening orders in a transaction", "sql", text, "err", ins.Error)
		return "", nil, false
	}
	sql := "WITH d AS (UPDATE declarations SET status = ?, order_no = ?, updated_at = ? WHERE id = ? AND status = ? RETURNING id), " +
		"c AS (UPDATE period_claims SET state = ? WHERE declaration_id IN (SELECT id FROM d)) " +
		into + ") SELECT " + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + " FROM d"
	return sql, append([]any{DeclPaying, order.OrderNo, now, declID, DeclOpen, ClaimPaying}, ins.Statement.Vars...), true
}

// openerMasked is the masked name of the user opening an order, for its
// records (RecordPayerTx), worked out now because the request holds the
// verified person (kernel.WithVerified), or the person paid for when they
// pay for themselves; nil when it cannot be, and then settling works it
// out.
func (s *Contrib) openerMasked(ctx context.Context, u store.UserRow, paidFor *kernel.Person) *string {
	if u.PersonID == nil {
		return nil
	}
	var v string
	if paidFor != nil && paidFor.ID == *u.PersonID {
		v = models.MaskName(paidFor.Name)
	} else {
		p, err := s.Person(ctx, *u.PersonID)
		if err != nil {
			return nil
		}
		v = models.MaskName(p.Name)
	}
	return &v
}

// declarationAndEnrolment is a declaration read with its enrolment.
type declarationAndEnrolment struct {
	store.DeclarationRow
	Enrolment store.EnrolmentRow `gorm:"embedded;embeddedPrefix:e_"`
}

// declarationToPay reads the declaration a payer asks to pay with its
// enrolment, which stillPayable needs, in one query: on PostgreSQL each
// query is a round trip, a tenth of opening an order (issue 13). The
// enrolment is empty when the declaration names none.
func (s *Contrib) declarationToPay(ctx context.Context, id string) (store.DeclarationRow, store.EnrolmentRow, error) {
	// Every column of the enrolment's row, from gorm's (cached) schema of
	// it, so a column it gains is read too; the text is built at the
	// first payment (the columns are the process's).
	db := s.Read(ctx)
	text := s.declarationToPaySQL.Load()
	if text == nil {
		ecols, err := prefixedColumns(db, &store.EnrolmentRow{}, "e")
		if err != nil {
			return store.DeclarationRow{}, store.EnrolmentRow{}, kernel.Internal("enrolment schema", err)
		}
		t := "SELECT d.*, " + ecols + " FROM declarations d LEFT JOIN enrolments e ON e.id = d.enrolment_id WHERE d.id = ?"
		text = &t
		s.declarationToPaySQL.Store(text)
	}
	var r declarationAndEnrolment
	res := db.Raw(*text, id).Scan(&r)
	switch {
	case res.Error != nil:
		return store.DeclarationRow{}, store.EnrolmentRow{}, kernel.Internal("declaration", res.Error)
	case res.RowsAffected == 0:
		return store.DeclarationRow{}, store.EnrolmentRow{}, models.ErrNotFound
	}
	return r.DeclarationRow, r.Enrolment, nil
}

// stillPayable checks the person's age again before money is taken: the
// months of a declaration must still be payable now (a declaration made
// before the agency's record ended an extension, or one older than the
// rules, must not be paid for months after retirement). Only the policy's
// terms decide that, not who pays nor which months are claimed, so the
// payable's claims and records are read only to word a refusal. It
// returns the person it loaded (nil when the scheme is yearly), for the
// order's view.
func (s *Contrib) stillPayable(ctx context.Context, u store.UserRow, d store.DeclarationRow, e store.EnrolmentRow) (*kernel.Person, error) {
	if !models.Scheme(d.Scheme).Monthly() {
		return nil, nil
	}
	if e.ID == "" || e.ID != d.EnrolmentID {
		return nil, kernel.Internal("enrolment", gorm.ErrRecordNotFound)
	}
	p, err := s.Person(ctx, d.PersonID)
	if err != nil {
		return nil, err
	}
	t, err := s.terms(ctx, e, d.Year, p)
	if err != nil {
		return nil, err
	}
	if len(t.Months) == 0 || d.PeriodTo > t.Months[len(t.Months)-1] {
		// Refused: the reason is the payable's as this payer may see it
		// (a pay-only link is not told the person's contribution years).
		pb, err := s.payableFor(ctx, u, e, d.Year, p)
		if err != nil {
			return nil, err
		}
		reason := pb.endReason
		if reason == "" {
			reason = "所申报月份已不可缴纳，请重新申报"
		}
		return nil, models.ErrNotEligible.WithReason(reason)
	}
	return &p, nil
}

// switchChannel lets a payer change their mind about how to pay. The open
// order is closed at its channel first (a payer who paid meanwhile is
// settled instead), and only then is a new order opened: two open orders
// for one declaration could both be paid. Channels refuse to close an
// order in its first minutes, so an early switch is asked to wait.
func (s *Contrib) switchChannel(ctx context.Context, sess people.Session, in PayInput, order store.OrderRow) (Payment, bool, error) {
	if age := s.Now().Sub(order.CreatedAt); age < s.Opt.MinCloseAge && order.Status == OrderPaying {
		wait := (s.Opt.MinCloseAge - age).Round(time.Minute)
		return Payment{}, false, models.ErrDeclarationPaying.WithReason(fmt.Sprintf("已有未完成的订单，请完成支付，或约%d分钟后再更换缴费方式", int(wait.Minutes())+1))
	}
	if err := s.closeOrder(ctx, order); err != nil {
		return Payment{}, false, err
	}
	var d store.DeclarationRow
	if err := s.Conn(ctx).Where("id = ?", order.DeclarationID).Take(&d).Error; err != nil {
		return Payment{}, false, kernel.Internal("declaration", err)
	}
	if d.Status != DeclOpen {
		// The close found the order paid: show the payer that order.
		if err := s.Conn(ctx).Where("order_no = ?", order.OrderNo).Take(&order).Error; err != nil {
			return Payment{}, false, kernel.Internal("order", err)
		}
		if order.Status == OrderPaid {
			return Payment{}, false, models.ErrAlreadyPaid
		}
		return Payment{}, false, models.ErrDeclarationPaying
	}
	return s.CreatePayment(ctx, sess, in)
}

// prepay asks the channel for the order's payment parameters and opens
// the order. person is the order's person when the caller has it loaded.
func (s *Contrib) prepay(ctx context.Context, ch models.PaymentChannel, sess people.Session, order store.OrderRow, d store.DeclarationRow, person *kernel.Person, h5 bool) (Payment, error) {
	params, err := ch.Prepay(ctx, models.PrepayRequest{OrderNo: order.OrderNo, Amount: models.Fen(order.AmountFen),
		Description: models.Scheme(order.Scheme).Name() + " " + d.PeriodFrom + "-" + d.PeriodTo,
		Payer:       models.ChannelIdentity{Channel: sess.Channel, Subject: sess.Subject}, ExpiresAt: order.ExpiresAt, H5: h5})
	if errors.Is(err, models.ErrOrderPaidAtChannel) {
		// The channel already has this order paid (our first prepay's answer
		// was lost and the payer paid): settle it, never fail it.
		if _, qerr := s.queryAndSettle(ctx, order); qerr != nil {
			s.Log.WarnContext(ctx, "order paid at channel but not yet settled", "order_no", order.OrderNo, "err", qerr)
		}
		if err := s.Conn(ctx).Where("order_no = ?", order.OrderNo).Take(&order).Error; err != nil {
			return Payment{}, kernel.Internal("order", err)
		}
		return s.paymentView(ctx, order)
	}
	if err != nil {
		if e, ok := models.AsError(err); ok && e.Kind != models.KindUnavailable && e.Kind != models.KindInternal {
			// The channel refused the order outright: it does not exist
			// there, so give the declaration back for another try.
			s.Log.WarnContext(ctx, "prepay refused; order failed", "order_no", order.OrderNo, "channel", order.Channel, "err", err)
			if ferr := s.failOrder(ctx, order); ferr != nil {
				return Payment{}, ferr
			}
			return Payment{}, err
		}
		s.Log.WarnContext(ctx, "prepay unanswered; order stays open for retry", "order_no", order.OrderNo, "channel", order.Channel, "err", err)
		return Payment{}, models.ErrUnavailable
	}
	b, _ := json.Marshal(params)
	now := s.Now()
	res := s.markPaying(ctx, order.OrderNo, string(b), params["url"] != "", now)
	if res.Error != nil {
		return Payment{}, kernel.Internal("order paying", res.Error)
	}
	if res.RowsAffected == 1 {
		// The update moved it: the row is what we hold plus these
		// columns, so it is not read back.
		order.Status, order.PayParams, order.UpdatedAt = OrderPaying, string(b), now
	} else if err := s.Conn(ctx).Where("order_no = ?", order.OrderNo).Take(&order).Error; err != nil {
		// Something moved it first (a settlement): show what it is now.
		return Payment{}, kernel.Internal("order", err)
	}
	s.Log.InfoContext(ctx, "order opened", "order_no", order.OrderNo, "channel", order.Channel, "amount_fen", order.AmountFen)
	return s.paymentViewWith(ctx, order, &d, person, false)
}

// markPaying stores the channel's answer on the order the payer is about
// to pay: created to paying, with its payment parameters.
//
// On PostgreSQL this commit does not wait for its WAL to reach the disk
// (synchronous_commit off for this statement's own transaction, set by
// set_config in its FROM; Conn is never a transaction): a flush is most
// of a commit there, and pay had two (issue 13). A server crash or an
// unplanned failover within a moment of it can lose this update alone,
// after the payer was answered with the parameters. The order then reads
// created with none, at the channel under its number, and everything
// that reads it still does right: a settlement moves a created order
// (and a closed one), the worker queries it from its first query time,
// and a new createPayment asks the channel again with the same
// out_trade_no. What the loss can change is a channel switch: a created
// order is closed at once, without paying's wait, which for a trade that
// exists at the channel only means the channel may refuse the close.
// A link the payer opens later (Alipay H5, payURL) is different: its
// trade does not exist at the channel until opened, so a close finds
// nothing there and only the stored link keeps the closer from reopening
// the months while the link can still be paid (closeOrder); that
// update waits for its flush as before. The order itself (the first
// commit) and every settlement stay durable, and a durable commit after
// this one flushes it too (the WAL is written in order).
func (s *Contrib) markPaying(ctx context.Context, orderNo, params string, payURL bool, now time.Time) *gorm.DB {
	update := func(db *gorm.DB) *gorm.DB {
		return db.Model(&store.OrderRow{}).Where("order_no = ? AND status = ?", orderNo, OrderCreated).
			Updates(map[string]any{"status": OrderPaying, "pay_params": params, "updated_at": now})
	}
	switch {
	case payURL:
		return update(s.Conn(ctx))
	case s.DB.Dialect == store.Postgres:
		return s.Conn(ctx).Exec("UPDATE orders SET status = ?, pay_params = ?, updated_at = ? "+
			"FROM "+kernel.LazyFlush+" WHERE order_no = ? AND status = ?",
			OrderPaying, params, now, orderNo, OrderCreated)
	case s.DB.Dialect == store.SQLite && !s.DB.InMemory:
		return s.UnflushedSQLite(ctx, update)
	}
	return update(s.Conn(ctx))
}

// failOrder marks an order the channel refused as failed and reopens its
// declaration.
func (s *Contrib) failOrder(ctx context.Context, o store.OrderRow) error {
	now := s.Now()
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&store.OrderRow{}).Where("order_no = ? AND status = ?", o.OrderNo, OrderCreated).
			Updates(map[string]any{"status": OrderFailed, "closed_at": now, "updated_at": now})
		if res.Error != nil || res.RowsAffected != 1 {
			return res.Error
		}
		return reopenDeclaration(tx, o, now)
	})
	if err == nil {
		s.ForgetPayables(ctx, o.PersonID)
	}
	return kernel.Internal("fail order", err)
}

func (s *Contrib) paymentView(ctx context.Context, o store.OrderRow) (Payment, error) {
	return s.paymentViewWith(ctx, o, nil, nil, false)
}

// paymentViewWith is paymentView with what the caller already holds: the
// order's declaration (d) and person (p), and, for an order it has just
// settled and booked itself, that there is no automatic refund to name
// (booked: only an order that could not be booked is refunded so). A nil
// declaration is read; a nil person is read only for an order opened
// before it carried the person's masked name (migrations/0018).
func (s *Contrib) paymentViewWith(ctx context.Context, o store.OrderRow, d *store.DeclarationRow, p *kernel.Person, booked bool) (Payment, error) {
	if d == nil || d.ID != o.DeclarationID {
		d = new(store.DeclarationRow)
		if err := s.Read(ctx).Where("id = ?", o.DeclarationID).Take(d).Error; err != nil {
			return Payment{}, kernel.Internal("declaration", err)
		}
	}
	var personMasked string
	switch {
	case p != nil && p.ID == o.PersonID:
		personMasked = models.MaskName(p.Name)
	case o.PersonMasked != nil:
		// Kept on the order when it was opened (migrations/0018).
		personMasked = *o.PersonMasked
	default:
		person, err := s.Person(ctx, o.PersonID)
		if err != nil {
			return Payment{}, err
		}
		personMasked = models.MaskName(person.Name)
	}
	v := Payment{OrderNo: o.OrderNo, DeclarationID: o.DeclarationID, Channel: o.Channel, Scheme: models.Scheme(o.Scheme),
		PersonNameMasked: personMasked, PeriodFrom: d.PeriodFrom, PeriodTo: d.PeriodTo,
		AmountFen: models.Fen(o.AmountFen), RefundedFen: models.Fen(o.RefundedFen), Status: o.Status,
		CreatedAt: o.CreatedAt, ExpiresAt: o.ExpiresAt, PaidAt: o.PaidAt}
	if o.Status == OrderPaying && o.PayParams != "" {
		_ = json.Unmarshal([]byte(o.PayParams), &v.PayParams)
	}
	if o.PaidAt != nil && !booked {
		var r store.RefundRow
		err := s.Read(ctx).Select("refund_no", "status").Where("refund_no = ?", AutoRefundNo(o.OrderNo)).Take(&r).Error
		switch {
		case err == nil:
			v.AutoRefundNo, v.Notice = autoRefundNotice(r)
		case !kernel.IsNotFound(err):
			return Payment{}, kernel.Internal("automatic refund", err)
		}
	}
	return v, nil
}

// autoRefundNotice tells the payer about the automatic refund r of an
// order whose months another order had paid.
func autoRefundNotice(r store.RefundRow) (string, string) {
	if r.Status == string(models.RefundRefunded) {
		return r.RefundNo, "本笔款项因所缴费款已由其他订单缴纳，已原路退回（退款单号 " + r.RefundNo + "）"
	}
	return r.RefundNo, "本笔款项因所缴费款已由其他订单缴纳，正在原路退回（退款单号 " + r.RefundNo + "）"
}

// orderCacheTTL bounds how long a polled order's view may be served from
// Redis; the database stays the record and every status change rewrites
// or drops the entry.
const orderCacheTTL = 10 * time.Minute

func orderCacheKey(orderNo string) string { return "lb:order:{" + orderNo + "}" }

// PaymentPrefetch is what getPayment reads from the cache, to be read with
// the session (people.AuthenticatePrefetching).
func PaymentPrefetch(orderNo string) []string { return []string{orderCacheKey(orderNo)} }

// cacheOrder stores a settled order's view for cheap polling: the
// mini-program polls getPayment every second or two after the cashier
// closes. The entry is the payer's user id, a NUL, then the view's JSON
// exactly as the handler would encode it, so a hit is served without
// decoding and encoding it again (the decode was a sixth of getPayment's
// CPU under make perf). Failure is only logged: Redis is a cache. booked
// is the declaration the settlement that moved the order booked it on,
// nil when it did not (the view then reads all it shows).
//
// cacheOrder returns the write for the caller's pipeline (Settle sends it
// with the payables' invalidation: one round trip), nil when the view
// could not be made.
func (s *Contrib) cacheOrder(ctx context.Context, o store.OrderRow, booked *store.DeclarationRow) func(context.Context, redis.Pipeliner) {
	v, err := s.paymentViewWith(ctx, o, booked, nil, booked != nil)
	if err != nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	entry := make([]byte, 0, len(o.PayerUserID)+1+len(b))
	entry = append(append(append(entry, o.PayerUserID...), 0), b...)
	return func(ctx context.Context, pipe redis.Pipeliner) { putOrderEntry(ctx, pipe, o.OrderNo, entry) }
}

// orderGone is what UncacheOrder leaves in an order's cache entry: not a
// view (it has no NUL), so it is never served, and it keeps a late
// cacheOrder out.
const orderGone = "gone"

// putOrderEntry stores entry only if the key is empty. The settlement
// that computed it read the order before its commit; a refund or reversal
// that commits after that and uncaches before this write leaves
// orderGone, and the stale "paid" view is not stored over it (a plain SET
// here, after UncacheOrder's DEL, would have served "paid" for up to
// orderCacheTTL). Settlement moves an order once, so the first write is
// the only one.
func putOrderEntry(ctx context.Context, pipe redis.Pipeliner, orderNo string, entry []byte) {
	pipe.SetNX(ctx, orderCacheKey(orderNo), entry, orderCacheTTL)
}

// UncacheOrder drops a cached view after a status change (a refund, a
// reversal), and the payables of the order's people, which the change
// moves too.
func (s *Contrib) UncacheOrder(ctx context.Context, orderNo string) {
	s.dropOrderEntry(ctx, orderNo)
	s.forgetOrderPayables(ctx, orderNo)
}

// dropOrderEntry replaces the order's entry with orderGone for as long as
// an entry could live, so a settlement's late putOrderEntry stores nothing.
func (s *Contrib) dropOrderEntry(ctx context.Context, orderNo string) {
	if err := s.Redis.Client.Set(ctx, orderCacheKey(orderNo), orderGone, orderCacheTTL).Err(); err != nil {
		s.Log.WarnContext(ctx, "order cache unavailable", "err", err)
	}
}

// CachedPaymentJSON returns the cached settled view of an order the
// caller made, as the JSON GetPayment's view encodes to; ok is false when
// there is none (or it is another user's order: the owner check stays),
// and GetPayment answers.
func (s *Contrib) CachedPaymentJSON(ctx context.Context, userID, orderNo string) ([]byte, bool) {
	var b []byte
	if vals, ok := kernel.PrefetchedValues(ctx, orderCacheKey(orderNo)); ok {
		if vals[0] == nil {
			return nil, false
		}
		b = []byte(*vals[0])
	} else {
		var err error
		if b, err = s.Redis.Client.Get(ctx, orderCacheKey(orderNo)).Bytes(); err != nil {
			return nil, false
		}
	}
	payer, view, ok := bytes.Cut(b, []byte{0})
	if !ok || string(payer) != userID || len(view) == 0 {
		return nil, false
	}
	return view, true
}

// cachedPayment returns a cached settled view of an order the caller made.
func (s *Contrib) cachedPayment(ctx context.Context, userID, orderNo string) (Payment, bool) {
	b, ok := s.CachedPaymentJSON(ctx, userID, orderNo)
	if !ok {
		return Payment{}, false
	}
	var v Payment
	if json.Unmarshal(b, &v) != nil {
		return Payment{}, false
	}
	return v, true
}

// GetPayment returns an order the caller made. A settled order is served
// from the cache; while it is still paying the channel is asked, so a
// payer returning from the cashier sees the result even if the
// notification is late.
func (s *Contrib) GetPayment(ctx context.Context, userID, orderNo string) (Payment, error) {
	if v, ok := s.cachedPayment(ctx, userID, orderNo); ok {
		return v, nil
	}
	var o store.OrderRow
	if err := s.Read(ctx).Where("order_no = ? AND payer_user_id = ?", orderNo, userID).Take(&o).Error; err != nil {
		if kernel.IsNotFound(err) {
			return Payment{}, models.ErrNotFound
		}
		return Payment{}, kernel.Internal("order", err)
	}
	if o.Status == OrderPaying || o.Status == OrderCreated {
		if s.throttleQuery(ctx, o.OrderNo) {
			if _, err := s.queryAndSettle(ctx, o); err != nil {
				s.Log.WarnContext(ctx, "order query failed; still paying", "order_no", o.OrderNo, "err", err)
			}
			if err := s.Conn(ctx).Where("order_no = ?", orderNo).Take(&o).Error; err != nil {
				return Payment{}, kernel.Internal("order", err)
			}
		}
	}
	return s.paymentView(ctx, o)
}

// throttleQuery lets one channel query per order through every few
// seconds however often the mini-program polls. Without Redis it queries.
func (s *Contrib) throttleQuery(ctx context.Context, orderNo string) bool {
	ok, err := s.Redis.Client.SetNX(ctx, orderCacheKey(orderNo)+":q", "1", 3*time.Second).Result()
	return err != nil || ok
}

// queryAndSettle asks the channel about a paying order and settles it if
// paid. Unknown answers leave it paying.
func (s *Contrib) queryAndSettle(ctx context.Context, o store.OrderRow) (models.TradeState, error) {
	ch, ok := s.Payments[o.Channel]
	if !ok {
		return models.TradeUnknown, models.ErrChannelUnsupported
	}
	t, err := ch.Query(ctx, o.OrderNo)
	if err != nil {
		return models.TradeUnknown, err
	}
	if t.State == models.TradePaid {
		_, err := s.Settle(ctx, models.Notification{Channel: o.Channel, Kind: models.NotifyPayment, OrderNo: o.OrderNo,
			TransactionID: t.TransactionID, Amount: t.Amount, Paid: true, At: t.PaidAt}, "query")
		return t.State, err
	}
	return t.State, nil
}

// ListPayments lists the orders the caller made, for anyone, newest first.
// A page is one keyset query on (payer_user_id, order_no) and one query
// each for the page's declarations and automatic refunds (not two per
// order), all on the read pool. The persons' masked names come with the
// orders (migrations/0018); only orders opened before that have their
// person read, one query per page, each name opened once.
func (s *Contrib) ListPayments(ctx context.Context, userID string, page kernel.Page) ([]Payment, string, error) {
	return s.listPayments(ctx, userID, "", page)
}

// ListPaymentsFor is ListPayments of the orders made for one person: the
// caller's self or one of their family members (ref), as the refund form
// lists what a payer may ask back for a parent. Only the caller's own
// orders are listed, whoever else paid for the person; a member who is
// not the caller's is NOT_FOUND.
func (s *Contrib) ListPaymentsFor(ctx context.Context, userID string, ref people.PersonRef, page kernel.Page) ([]Payment, string, error) {
	if !ref.Self && ref.MemberID == "" {
		return nil, "", models.ErrInvalid.WithReason("person 应为 self 或家庭成员编号")
	}
	p, err := s.people.ResolveForPaying(ctx, userID, ref)
	if err != nil {
		return nil, "", err
	}
	return s.listPayments(ctx, userID, p.ID, page)
}

func (s *Contrib) listPayments(ctx context.Context, userID, personID string, page kernel.Page) ([]Payment, string, error) {
	q := s.Read(ctx).Where("payer_user_id = ?", userID)
	if personID != "" {
		q = q.Where("person_id = ?", personID)
	}
	if page.After != "" {
		q = q.Where("order_no < ?", page.After)
	}
	var rows []store.OrderRow
	if err := q.Order("order_no DESC").Limit(page.Size + 1).Find(&rows).Error; err != nil {
		return nil, "", kernel.Internal("list orders", err)
	}
	next := ""
	if len(rows) > page.Size {
		rows = rows[:page.Size]
		next = rows[len(rows)-1].OrderNo
	}
	out, err := s.paymentViews(ctx, rows)
	return out, next, err
}

// paymentViews is paymentView for a page of orders (without pay_params),
// reading what the views need in one query per kind.
func (s *Contrib) paymentViews(ctx context.Context, rows []store.OrderRow) ([]Payment, error) {
	out := make([]Payment, 0, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	declIDs, personIDs, refundNos := []string{}, []string{}, []string{}
	for _, o := range rows {
		declIDs = append(declIDs, o.DeclarationID)
		if o.PersonMasked == nil {
			// Opened before orders kept the name (migrations/0018).
			personIDs = append(personIDs, o.PersonID)
		}
		if o.PaidAt != nil {
			refundNos = append(refundNos, AutoRefundNo(o.OrderNo))
		}
	}
	var decls []store.DeclarationRow
	if err := s.Read(ctx).Select("id", "period_from", "period_to").Where("id IN ?", declIDs).Find(&decls).Error; err != nil {
		return nil, kernel.Internal("declarations", err)
	}
	declOf := make(map[string]store.DeclarationRow, len(decls))
	for _, d := range decls {
		declOf[d.ID] = d
	}
	var persons []store.PersonRow
	if len(personIDs) > 0 {
		if err := s.Read(ctx).Select("id", "name_sealed").Where("id IN ?", personIDs).Find(&persons).Error; err != nil {
			return nil, kernel.Internal("load person", err)
		}
	}
	nameOf := make(map[string]string, len(persons))
	for _, p := range persons {
		name, err := s.PII.Open(p.NameSealed)
		if err != nil {
			return nil, kernel.Internal("open name", err)
		}
		nameOf[p.ID] = models.MaskName(name)
	}
	refundOf := map[string]store.RefundRow{}
	if len(refundNos) > 0 {
		var refunds []store.RefundRow
		if err := s.Read(ctx).Select("refund_no", "status").Where("refund_no IN ?", refundNos).Find(&refunds).Error; err != nil {
			return nil, kernel.Internal("automatic refund", err)
		}
		for _, r := range refunds {
			refundOf[r.RefundNo] = r
		}
	}
	for _, o := range rows {
		d, ok := declOf[o.DeclarationID]
		if !ok {
			return nil, kernel.Internal("declaration", gorm.ErrRecordNotFound)
		}
		name, ok := nameOf[o.PersonID]
		if o.PersonMasked != nil {
			name, ok = *o.PersonMasked, true
		}
		if !ok {
			return nil, models.ErrNotFound
		}
		v := Payment{OrderNo: o.OrderNo, DeclarationID: o.DeclarationID, Channel: o.Channel, Scheme: models.Scheme(o.Scheme),
			PersonNameMasked: name, PeriodFrom: d.PeriodFrom, PeriodTo: d.PeriodTo,
			AmountFen: models.Fen(o.AmountFen), RefundedFen: models.Fen(o.RefundedFen), Status: o.Status,
			CreatedAt: o.CreatedAt, ExpiresAt: o.ExpiresAt, PaidAt: o.PaidAt}
		if o.PaidAt != nil {
			if r, ok := refundOf[AutoRefundNo(o.OrderNo)]; ok {
				v.AutoRefundNo, v.Notice = autoRefundNotice(r)
			}
		}
		out = append(out, v)
	}
	return out, nil
}
