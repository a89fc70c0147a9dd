package contrib

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Record statuses (API: paid / credited / booked / refunding / refunded).
const (
	RecordPaid      = "paid"
	RecordCredited  = "credited"
	RecordBooked    = "booked"
	RecordRefunding = "refunding"
	RecordRefunded  = "refunded"
)

// Settlement outcomes, recorded with each notification.
const (
	OutcomeSettled   = "settled"
	OutcomeDuplicate = "duplicate" // already settled (by query, worker or an earlier delivery)
	OutcomeAnomaly   = "anomaly"   // valid but does not match our order
	OutcomeIgnored   = "ignored"   // nothing to do (e.g. a closed-trade notice)
)

// NotificationResult says what became of a notification, for the HTTP
// layer's logs and metrics: only NotificationRetry is our failure.
type NotificationResult string

// Notification results.
const (
	// NotificationProcessed: settled, a duplicate, nothing to do, or a
	// validly signed foreign notification recorded as an anomaly; the
	// provider was told success.
	NotificationProcessed NotificationResult = "processed"
	// NotificationRejected: unsigned, tampered, stale or unparsable, so
	// settles nothing. Anyone on the internet can send one; it is counted
	// and logged at WARN, never paged on.
	NotificationRejected NotificationResult = "rejected"
	// NotificationRetry: genuine but not recorded (the database failed);
	// the provider was asked to deliver it again.
	NotificationRetry NotificationResult = "retry"
)

// HandleNotification is ProcessNotification without the result.
func (s *Contrib) HandleNotification(ctx context.Context, channel string, w http.ResponseWriter, r *http.Request) error {
	_, err := s.ProcessNotification(ctx, channel, w, r)
	return err
}

// ProcessNotification verifies and settles a channel notification and
// writes the channel's acknowledgement. It acknowledges only after the
// settlement committed; a database failure asks the provider to retry.
// It never depends on Redis. It returns ErrNotFound, having written
// nothing, when the channel is not configured.
func (s *Contrib) ProcessNotification(ctx context.Context, channel string, w http.ResponseWriter, r *http.Request) (NotificationResult, error) {
	ch, ok := s.Payments[channel]
	if !ok {
		return "", models.ErrNotFound
	}
	n, err := ch.ParseNotification(ctx, r)
	switch {
	case errors.Is(err, models.ErrNotificationMismatch):
		// Signed by the provider but not for us: nothing to settle, and a
		// retry will not change that, so acknowledge after noting it.
		// Acknowledged only once recorded (as a settlement would be): with
		// the database down it used to be acknowledged and lost.
		if err := s.AnomalyTx(s.Conn(ctx), "notify", channel, n.OrderNo, "foreign_notification", "通知的应用或商户号与本系统不符"); err != nil {
			s.Log.ErrorContext(ctx, "foreign notification not recorded; provider will retry", "channel", channel, "err", err)
			ch.Acknowledge(w, false)
			return NotificationRetry, nil
		}
		ch.Acknowledge(w, true)
		return NotificationProcessed, nil
	case err != nil:
		// A forged, tampered, stale or probe request: settle nothing. The
		// real provider never sends these, so the retry it might cause is
		// harmless.
		s.Log.WarnContext(ctx, "notification rejected", "channel", channel, "err", err)
		ch.Acknowledge(w, false)
		return NotificationRejected, nil
	}
	n.Channel = channel
	outcome, err := s.Settle(ctx, n, "notify")
	if err != nil {
		s.Log.ErrorContext(ctx, "notification not settled; provider will retry", "channel", channel, "order_no", n.OrderNo, "err", err)
		ch.Acknowledge(w, false)
		return NotificationRetry, nil
	}
	s.Log.InfoContext(ctx, "notification processed", "channel", channel, "order_no", n.OrderNo, "outcome", outcome)
	ch.Acknowledge(w, true)
	return NotificationProcessed, nil
}

// Settle applies a verified payment result to our order in one
// transaction: the notification id is inserted (a duplicate changes
// nothing), the order moves to paid by a conditional update, and only the
// request that moved it writes the declaration, claims and records.
// Refund notifications are handed to the refund workflow.
func (s *Contrib) Settle(ctx context.Context, n models.Notification, source string) (string, error) {
	return s.SettleWith(ctx, n, source, nil)
}

// SettleWith is Settle with before run in the settling transaction by the
// request that moved the order to paid, before it is booked (a counter's
// confirmation records its transaction and audit there, so they commit
// with the payment or not at all). before may run twice, the first run
// rolled back (an order that cannot be booked is settled again, below):
// it must write only through tx.
func (s *Contrib) SettleWith(ctx context.Context, n models.Notification, source string, before func(tx *gorm.DB) error) (string, error) {
	if n.Kind == models.NotifyRefund {
		return s.payouts.SettleRefundNotice(ctx, n)
	}
	now := s.Now()
	outcome := OutcomeSettled
	var settled store.OrderRow
	var refund *AutoRefund
	var decl *store.DeclarationRow // the booked order's, for its cached view
	forget := ""                   // the order's person, whose payables the settling may change
	// An order is booked straight into the settling transaction: the
	// common case, a statement cheaper (gorm's SAVEPOINT). An order that
	// turns out unbookable rolls the whole transaction back and is settled
	// again with its booking under a savepoint, which the automatic refund
	// then follows. Everything the closure sets is reset at its start, and
	// nothing in it acts outside the transaction.
	settle := func(underSavepoint bool) error {
		// At READ COMMITTED on MariaDB too: the unit-fund check reads what
		// a unit's settlement it waited for booked (kernel.LockPersons).
		return s.SettleTx(ctx, func(tx *gorm.DB) error {
			// A second run starts afresh: nothing of the first committed.
			outcome, refund, decl, settled, forget = OutcomeSettled, nil, nil, store.OrderRow{}, ""
			paidAt := n.At.UTC()
			if paidAt.IsZero() {
				paidAt = now
			}
			// The common case first: our order, on this channel, with this
			// amount, not yet paid, moved in one statement. Anything else is
			// read and classified below. On PostgreSQL a paid notification
			// is claimed, its order moved and its declaration marked paid in
			// one statement (claimAndPay), except when the booking runs
			// under a savepoint (the declaration must be written inside it)
			// or before must run first, or the result has no id (a query's).
			var o store.OrderRow
			var paidDecl *store.DeclarationRow
			moved, fresh := false, false
			var err error
			if s.DB.Dialect == store.Postgres && n.ID != "" && n.Paid && !underSavepoint && before == nil {
				fresh, o, moved, paidDecl, err = s.claimAndPay(tx, n, paidAt, now)
			} else {
				fresh, err = s.ClaimNotification(tx, n, now)
				if err == nil && fresh && n.Paid {
					o, moved, err = s.payMatchingOrder(tx, n, paidAt, now)
				}
			}
			if err != nil {
				return err
			}
			if !fresh {
				outcome = OutcomeDuplicate
				return nil
			}
			if !moved {
				err = tx.Where("order_no = ?", n.OrderNo).Take(&o).Error
				forget = o.PersonID
				if kernel.IsNotFound(err) || (err == nil && o.Channel != n.Channel) {
					outcome = OutcomeAnomaly
					// The notification row was inserted as settled; say what it
					// really was, or it reads as money booked.
					if err := s.MarkOutcome(tx, n, outcome); err != nil {
						return err
					}
					return s.AnomalyTx(tx, source, n.Channel, n.OrderNo, "unknown_order", "通知的订单号不存在")
				}
				if err != nil {
					return err
				}
				if !n.Paid {
					outcome = OutcomeIgnored
					return s.MarkOutcome(tx, n, outcome)
				}
				if n.Amount != models.Fen(o.AmountFen) {
					return s.amountMismatch(tx, n, o, source, now, &outcome)
				}
				moved, err = MarkOrderPaid(tx, o.OrderNo, paidAt, n.TransactionID, now)
				if err != nil {
					return err
				}
				if !moved {
					outcome = OutcomeDuplicate
					return s.MarkOutcome(tx, n, outcome)
				}
			}
			forget = o.PersonID
			if before != nil {
				if err := before(tx); err != nil {
					return err
				}
			}
			o.Status, o.PaidAt, o.TransactionID = OrderPaid, &paidAt, n.TransactionID
			settled = o
			book := func(btx *gorm.DB) error {
				d, err := s.bookPaidOrder(btx, o, paidAt, source, paidDecl)
				if err == nil {
					// Only a booked order's view may skip the automatic
					// refund look-up (cacheOrder's booked).
					decl = &d
				}
				return err
			}
			var ub UnbookableError
			if !underSavepoint {
				err := book(tx)
				if errors.As(err, &ub) {
					return errBookUnderSavepoint
				}
				return err
			}
			// Booked under a savepoint: an order that cannot be booked (its
			// months are paid by another order) leaves nothing half-written,
			// and is refunded whole instead.
			err = tx.Transaction(book)
			if errors.As(err, &ub) {
				refund, err = s.payouts.PlanAutoRefund(tx, o, ub.Why, source)
			}
			return err
		})
	}
	err := settle(false)
	if errors.Is(err, errBookUnderSavepoint) {
		s.Log.InfoContext(ctx, "order cannot be booked; settling it again to refund it", "order_no", n.OrderNo, "source", source)
		err = settle(true)
	}
	if err != nil {
		return "", kernel.Internal("settle", err)
	}
	var cacheView func(context.Context, redis.Pipeliner)
	if settled.OrderNo != "" {
		if refund != nil {
			decl = nil // the view names the automatic refund: read it all
		}
		cacheView = s.cacheOrder(ctx, settled, decl)
	}
	// The person's payables forgotten and the order's view cached in one
	// round trip.
	s.forgetPayablesWith(ctx, cacheView, forget)
	if settled.OrderNo != "" {
		s.Log.InfoContext(ctx, "order paid", "order_no", settled.OrderNo, "channel", settled.Channel,
			"amount_fen", settled.AmountFen, "source", source)
		if refund != nil {
			s.payouts.SendAutoRefund(ctx, *refund, source)
		} else {
			s.afterPaid(ctx, settled)
		}
	}
	return outcome, nil
}

// errBookUnderSavepoint rolls back a settlement whose order could not be
// booked, to settle it again with the booking under a savepoint.
var errBookUnderSavepoint = errors.New("order unbookable: settle again under a savepoint")

// amountMismatch handles a paid notification whose amount is not the
// order's: nothing is booked.
func (s *Contrib) amountMismatch(tx *gorm.DB, n models.Notification, o store.OrderRow, source string, now time.Time, outcome *string) error {
	*outcome = OutcomeAnomaly
	if err := s.MarkOutcome(tx, n, *outcome); err != nil {
		return err
	}
	note := kernel.AnomalyNote{Source: source, Channel: n.Channel, OrderNo: n.OrderNo, Kind: "amount_mismatch", AmountFen: int64(n.Amount),
		Detail: fmt.Sprintf("渠道报告已收款 %d 分，与订单金额 %d 分不符，未入账", n.Amount, o.AmountFen)}
	if source == "notify" {
		// Only what we asked the channel ourselves moves the order:
		// the worker's next query confirms it.
		return s.OpenAnomaly(tx, note)
	}
	// The channel's own answer: the order will never be paid with
	// our amount. It used to stay paying for good.
	res := tx.Model(&store.OrderRow{}).Where("order_no = ? AND status IN ?", o.OrderNo, unpaidStatuses()).
		Updates(map[string]any{"status": OrderHeld, "transaction_id": n.TransactionID, "closed_at": now, "updated_at": now})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 1 {
		if err := reopenDeclaration(tx, o, now); err != nil {
			return err
		}
		note.SystemAction = "订单已停止跟踪，申报已退回缴费人可重新缴纳；渠道所收款项请人工原路退回"
		// An anomaly a notification opened already says so too.
		if err := tx.Model(&store.AnomalyRow{}).Where("order_no = ? AND kind = ? AND resolved_at IS NULL", o.OrderNo, note.Kind).
			Updates(map[string]any{"system_action": note.SystemAction, "amount_fen": note.AmountFen}).Error; err != nil {
			return err
		}
	}
	return s.OpenAnomaly(tx, note)
}

// payMatchingOrder moves the notified order to paid in one conditional
// update when it is ours as the notification says (this channel, this
// amount) and not yet paid, and returns it: by RETURNING where the store
// has it (MariaDB reads it back). It reports false, having changed
// nothing, for anything else (unknown, foreign, another amount, already
// paid), which the caller reads and classifies as before. The condition
// is MarkOrderPaid's plus the checks the caller would have made on the
// row, so exactly one settlement still moves an order.
func (s *Contrib) payMatchingOrder(tx *gorm.DB, n models.Notification, paidAt, now time.Time) (store.OrderRow, bool, error) {
	var o store.OrderRow
	q := tx.Model(&o)
	if s.DB.Dialect != store.MySQL {
		q = q.Clauses(clause.Returning{})
	}
	res := q.Where("order_no = ? AND channel = ? AND amount_fen = ? AND status IN ?", n.OrderNo, n.Channel, int64(n.Amount),
		unpaidStatuses()).
		Updates(map[string]any{"status": OrderPaid, "paid_at": paidAt, "transaction_id": n.TransactionID, "updated_at": now})
	if res.Error != nil || res.RowsAffected != 1 {
		return store.OrderRow{}, false, res.Error
	}
	if s.DB.Dialect == store.MySQL {
		if err := tx.Where("order_no = ?", n.OrderNo).Take(&o).Error; err != nil {
			return store.OrderRow{}, false, err
		}
	}
	return o, true, nil
}

// claimAndPay is, on PostgreSQL, ClaimNotification, payMatchingOrder
// and bookPaidOrder's payDeclaration in one statement (data-modifying
// CTEs): two round trips fewer in a settlement's common case, which with
// claimsAndRecords is BEGIN, this, the claims with the records, COMMIT
// (issue 13). Each part acts only on what the one before it returned, so
// it changes what they would have changed, no more:
//   - n inserts the notification's id, or nothing when it is a
//     duplicate (fresh is false, and nothing else is written);
//   - o moves the order to paid as payMatchingOrder does, only if n
//     inserted (moved is false, the order empty, when it did not match:
//     the caller reads and classifies it as before);
//   - d marks the order's declaration paid as payDeclaration's update
//     does, with the person's lock for a scheme sharing a fund with a
//     unit's (an InitPlan, taken before the row is looked for, found or
//     not); paid is nil when it matched nothing, and bookPaidOrder then
//     decides the declaration as before.
func (s *Contrib) claimAndPay(tx *gorm.DB, n models.Notification, paidAt, now time.Time) (fresh bool, o store.OrderRow, moved bool, paid *store.DeclarationRow, err error) {
	text := s.claimAndPaySQL.Load()
	if text == nil {
		// Two first settlements may both build it: the same text.
		t, err := claimAndPayStatement(tx)
		if err != nil {
			return false, o, false, nil, err
		}
		text = &t
		s.claimAndPaySQL.Store(text)
	}
	guarded := make([]string, 0, len(unitFund))
	for scheme := range unitFund {
		guarded = append(guarded, scheme)
	}
	// The notification's row as ClaimNotification inserts it, its
	// columns in claimAndPayStatement's order.
	args := []any{n.Channel, n.ID, string(n.Kind), n.OrderNo, OutcomeSettled, now,
		OrderPaid, paidAt, n.TransactionID, now, n.OrderNo, n.Channel, int64(n.Amount), unpaidStatuses(),
		DeclPaid, now, guarded, n.OrderNo, DeclExpired}
	var got []settlingRow
	if err := tx.Raw(*text, args...).Scan(&got).Error; err != nil {
		return false, o, false, nil, err
	}
	if len(got) == 0 {
		return false, o, false, nil, nil // a duplicate: nothing written
	}
	if got[0].Order.OrderNo == "" {
		return true, o, false, nil, nil
	}
	if got[0].Decl.ID != "" {
		paid = &got[0].Decl
	}
	return true, got[0].Order, true, paid, nil
}

// claimAndPayStatement builds claimAndPay's statement, with ? for its
// arguments. The notification's columns are named here, in the order
// claimAndPay passes them, and checked against the INSERT gorm builds for
// the row (ClaimNotification, the other stores' way, writes it whole).
func claimAndPayStatement(db *gorm.DB) (string, error) {
	// The columns gorm writes for the row must be the ones named here; a
	// row that gains one fails every settlement on PostgreSQL, in every
	// test, until it is named here too.
	const columns = `INSERT INTO "notifications" ("channel","notify_id","kind","order_no","outcome","received_at") VALUES `
	if got := db.Session(&gorm.Session{DryRun: true}).Create(&store.NotificationRow{}).Statement.SQL.String(); !strings.HasPrefix(got, columns) {
		return "", fmt.Errorf("notification INSERT is %q; claimAndPay names other columns", got)
	}
	ocols, err := prefixedColumns(db, &store.OrderRow{}, "o")
	if err != nil {
		return "", err
	}
	dcols, err := prefixedColumns(db, &store.DeclarationRow{}, "d")
	if err != nil {
		return "", err
	}
	return "WITH n AS (INSERT INTO notifications (channel, notify_id, kind, order_no, outcome, received_at) VALUES (?, ?, ?, ?, ?, ?) " +
		"ON CONFLICT DO NOTHING RETURNING 1), " +
		"o AS (UPDATE orders SET status = ?, paid_at = ?, transaction_id = ?, updated_at = ? " +
		"WHERE order_no = ? AND channel = ? AND amount_fen = ? AND status IN ? AND EXISTS (SELECT 1 FROM n) RETURNING *), " +
		"d AS (UPDATE declarations SET status = ?, updated_at = ? " +
		"WHERE ((SELECT scheme FROM o) NOT IN ? OR EXISTS (SELECT 1 FROM persons WHERE id = (SELECT person_id FROM o) FOR UPDATE)) " +
		"AND id = (SELECT declaration_id FROM o) AND order_no = ? AND status <> ? RETURNING *) " +
		"SELECT " + ocols + ", " + dcols + " FROM n LEFT JOIN o ON true LEFT JOIN d ON true", nil
}

// settlingRow is claimAndPay's answer: the order it moved and the
// declaration it marked paid, each empty when it did not.
type settlingRow struct {
	Order store.OrderRow       `gorm:"embedded;embeddedPrefix:o_"`
	Decl  store.DeclarationRow `gorm:"embedded;embeddedPrefix:d_"`
}

// prefixedColumns lists every column gorm reads of model's table, from
// its (cached) schema, each from the CTE or alias named prefix and
// renamed prefix_column, for a struct embedding the row with that prefix.
func prefixedColumns(db *gorm.DB, model any, prefix string) (string, error) {
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(model); err != nil {
		return "", err
	}
	var sel strings.Builder
	for _, f := range stmt.Schema.Fields {
		if f.DBName == "" || !f.Readable || f.IgnoreMigration {
			continue // not a column gorm reads from the table
		}
		if sel.Len() > 0 {
			sel.WriteString(", ")
		}
		sel.WriteString(stmt.Quote(prefix+"."+f.DBName) + " AS " + stmt.Quote(prefix+"_"+f.DBName))
	}
	return sel.String(), nil
}

// dollarToQuestion turns PostgreSQL's numbered placeholders ($1, $2, …),
// as gorm's dry run writes them, back into ?, for a statement gorm numbers
// again. Only placeholders are touched: a dry run's text has no literals.
func dollarToQuestion(sql string) string {
	var b strings.Builder
	for i := 0; i < len(sql); i++ {
		if sql[i] == '$' && i+1 < len(sql) && sql[i+1] >= '0' && sql[i+1] <= '9' {
			b.WriteByte('?')
			for i+1 < len(sql) && sql[i+1] >= '0' && sql[i+1] <= '9' {
				i++
			}
			continue
		}
		b.WriteByte(sql[i])
	}
	return b.String()
}

// ClaimNotification records a verified notification's id inside the
// settling transaction and reports whether it is new: a duplicate delivery
// finds the row and settles nothing. A notification without an id (a query
// result) is always new.
func (s *Contrib) ClaimNotification(tx *gorm.DB, n models.Notification, now time.Time) (bool, error) {
	if n.ID == "" {
		return true, nil
	}
	row := store.NotificationRow{Channel: n.Channel, NotifyID: n.ID, Kind: string(n.Kind), OrderNo: n.OrderNo,
		Outcome: OutcomeSettled, ReceivedAt: now}
	return kernel.InsertIfAbsent(tx, &row)
}

// MarkOutcome corrects the outcome a claimed notification was recorded
// with (ClaimNotification records it as settled).
func (s *Contrib) MarkOutcome(tx *gorm.DB, n models.Notification, outcome string) error {
	if n.ID == "" {
		return nil
	}
	return tx.Model(&store.NotificationRow{}).Where("channel = ? AND notify_id = ?", n.Channel, n.ID).Update("outcome", outcome).Error
}

// unpaidStatuses are the statuses of an order not yet paid that the
// channel's answer still moves: to paid, the same in every statement
// that does it (MarkOrderPaid, payMatchingOrder, claimAndPay), so exactly
// one of them moves it; or to held (amountMismatch). Closed is included:
// see MarkOrderPaid.
func unpaidStatuses() []string { return []string{OrderCreated, OrderPaying, OrderClosed} }

// MarkOrderPaid moves an order to paid by one conditional update and
// reports whether this call moved it. Only the caller that moved it books
// it, in the same transaction: that is what settles an order exactly once,
// whether the notification, a query or the worker gets there first.
// Closed is included: a payer who paid between our last query and the
// close must still be credited. Any kind of order (a person's, a unit's)
// is paid this way.
func MarkOrderPaid(tx *gorm.DB, orderNo string, paidAt time.Time, transactionID string, now time.Time) (bool, error) {
	res := tx.Model(&store.OrderRow{}).Where("order_no = ? AND status IN ?", orderNo, unpaidStatuses()).
		Updates(map[string]any{"status": OrderPaid, "paid_at": paidAt, "transaction_id": transactionID, "updated_at": now})
	return res.RowsAffected == 1, res.Error
}

// bookPaidOrder writes what a paid order means: the declaration is paid,
// its months are paid, and one record per month appears at once. It
// returns the declaration. The common case takes one statement per table
// (the months in one statement each); whatever does not fit it goes the
// month-by-month way, which says which month is in the way.
//
// paid is the declaration when the caller has marked it paid already
// (claimAndPay, with the person's lock), nil otherwise.
func (s *Contrib) bookPaidOrder(tx *gorm.DB, o store.OrderRow, paidAt time.Time, source string, paid *store.DeclarationRow) (store.DeclarationRow, error) {
	// A month the person's unit paid into the same fund is not paid
	// twice (service/unitpay checks the reverse when a unit pays). The
	// person's row is locked first (kernel.LockPersons), as the unit's
	// settlement does, so that of two settlements of the month at once the
	// second sees what the first booked: on PostgreSQL inside the
	// declaration's update (claimAndPay's, or payDeclaration's), a
	// statement fewer.
	guard := unitFund[o.Scheme]
	var d store.DeclarationRow
	if paid != nil {
		d = *paid
	} else {
		var err error
		if d, err = s.payDeclaration(tx, o, guard != ""); err != nil {
			return d, err
		}
	}
	months := []string{d.PeriodFrom}
	if models.Scheme(d.Scheme).Monthly() {
		months = MonthRange(d.PeriodFrom, d.PeriodTo)
	}
	// The check rides on the claims' update, a statement fewer (issue
	// 13), except on MariaDB, where it stays the read of its own it was
	// (at REPEATABLE READ InnoDB locked the records an UPDATE's subquery
	// reads; settling now runs at READ COMMITTED, where folding it has not
	// been tried), after the lock, a statement of its own there too.
	if guard != "" && s.DB.Dialect == store.MySQL {
		if err := kernel.LockPersons(tx, s.DB.Dialect, []string{d.PersonID}); err != nil {
			return d, err
		}
		if err := unitPaidAny(tx, d, guard, months); err != nil {
			return d, err
		}
		guard = ""
	}
	stamp, err := s.RecordStampTx(tx, o, source)
	if err != nil {
		return d, err
	}
	recs := make([]store.RecordRow, len(months))
	for i, m := range months {
		amount := d.MonthlyFen
		if i == 0 {
			amount += d.ExtraFen
		}
		periodTo := ""
		if !models.Scheme(d.Scheme).Monthly() {
			amount, periodTo = d.AmountFen, d.PeriodTo
		}
		recs[i] = store.RecordRow{ID: kernel.NewID("r"), PersonID: d.PersonID, Scheme: d.Scheme, Period: m, PeriodTo: periodTo,
			RegionCode: d.RegionCode, BaseFen: d.BaseFen, AmountFen: amount, Status: RecordPaid, OrderNo: o.OrderNo,
			PayerUserID: o.PayerUserID, PaidAt: paidAt}
		stamp.Apply(&recs[i])
	}
	// The months' claims taken, then one insert for every month; a month
	// that already has a record is skipped by the store and makes the
	// order unbookable (the caller rolls back what was written: its whole
	// transaction, or on the second run the savepoint it opened).
	var inserted int64
	if s.DB.Dialect == store.Postgres {
		if inserted, err = s.claimsAndRecords(tx, d, months, guard, recs); err != nil {
			return d, err
		}
	} else if inserted, err = claimsThenRecords(tx, d, months, guard, recs); err != nil {
		return d, err
	}
	if inserted != int64(len(recs)) {
		var taken []string
		if err := tx.Model(&store.RecordRow{}).Where("person_id = ? AND scheme = ? AND period IN ? AND adjustment_no = 0 AND order_no <> ?",
			d.PersonID, d.Scheme, months, o.OrderNo).Order("period").Limit(1).Pluck("period", &taken).Error; err != nil {
			return d, err
		}
		m := months[0]
		if len(taken) > 0 {
			m = taken[0]
		}
		return d, UnbookableError{"所属期 " + m + " 已有缴费记录"}
	}
	return d, nil
}

// payDeclaration marks the order's declaration paid and returns it. The
// common case is one conditional update (returning the row where the
// store can): the declaration still names this order and has not
// expired. Otherwise it is read under lock and decided as below.
//
// lockPerson asks, on PostgreSQL, for the lock kernel.LockPersons takes,
// in the same statement: an uncorrelated EXISTS is an InitPlan that
// PostgreSQL runs before it looks for the row, found or not, so the
// person is locked whatever the update finds, and the statements after
// it (the unit-fund check) read what was committed while it waited.
func (s *Contrib) payDeclaration(tx *gorm.DB, o store.OrderRow, lockPerson bool) (store.DeclarationRow, error) {
	var d store.DeclarationRow
	q := tx.Model(&d)
	if s.DB.Dialect != store.MySQL {
		q = q.Clauses(clause.Returning{})
	}
	if lockPerson && s.DB.Dialect == store.Postgres {
		q = q.Where("EXISTS (SELECT 1 FROM persons WHERE id = ? FOR UPDATE)", o.PersonID)
	}
	res := q.Where("id = ? AND order_no = ? AND status <> ?", o.DeclarationID, o.OrderNo, DeclExpired).
		Updates(map[string]any{"status": DeclPaid, "updated_at": s.Now()})
	if res.Error != nil {
		return d, res.Error
	}
	if res.RowsAffected == 1 {
		if s.DB.Dialect == store.MySQL {
			// Our own update is visible to our own read, whatever the
			// snapshot.
			d = store.DeclarationRow{}
			if err := tx.Where("id = ?", o.DeclarationID).Take(&d).Error; err != nil {
				return d, err
			}
		}
		return d, nil
	}
	// A locking read: MariaDB's plain read answers from the transaction's
	// snapshot, taken before the order moved to paid, and may miss the
	// closer having given the declaration back meanwhile (order_no '');
	// it was then marked paid without its order.
	d = store.DeclarationRow{}
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", o.DeclarationID).Take(&d).Error; err != nil {
		return d, err
	}
	// The declaration may have moved on (expired, or reopened with another
	// order after this one was closed). Paid money is never dropped: if the
	// months are now someone else's, the order is unbookable and refunded.
	if d.OrderNo != o.OrderNo || d.Status == DeclExpired {
		res := tx.Model(&store.DeclarationRow{}).Where("id = ? AND status IN ?", d.ID, []string{DeclOpen, DeclExpired}).
			Updates(map[string]any{"status": DeclPaid, "order_no": o.OrderNo, "updated_at": s.Now()})
		if res.Error != nil {
			return d, res.Error
		}
		if res.RowsAffected != 1 {
			return d, UnbookableError{"该笔申报已由其他订单缴纳"}
		}
	} else {
		if err := tx.Model(&store.DeclarationRow{}).Where("id = ?", d.ID).
			Updates(map[string]any{"status": DeclPaid, "updated_at": s.Now()}).Error; err != nil {
			return d, err
		}
	}
	d.Status, d.OrderNo = DeclPaid, o.OrderNo
	return d, nil
}

// takePaidClaims marks the declaration's months paid by it. It takes a
// month over even if an expired declaration's claim was released
// meanwhile: the money is here. All months in one update when each still
// has its claim; otherwise month by month, inserting released ones. With
// unitScheme the update takes no month when a unit has paid any of them
// into the same fund in that scheme (its NOT EXISTS reads no column of
// the claim, so it holds for every month or none); fewer months taken
// than asked are then checked for that first, to refuse with the unit's
// month (UnbookableError), since the month-by-month way does not check.
func takePaidClaims(tx *gorm.DB, d store.DeclarationRow, months []string, unitScheme string) error {
	res := takeClaims(tx, d, months, unitScheme)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == int64(len(months)) {
		return nil
	}
	return takeClaimsLeft(tx, d, months, unitScheme)
}

// takeClaims is takePaidClaims' update of all months at once, run on db
// (a dry run for claimsAndRecords).
func takeClaims(db *gorm.DB, d store.DeclarationRow, months []string, unitScheme string) *gorm.DB {
	q := db.Model(&store.ClaimRow{}).Where("person_id = ? AND scheme = ? AND period IN ? AND (declaration_id = ? OR state <> ?)",
		d.PersonID, d.Scheme, months, d.ID, ClaimPaid)
	if unitScheme != "" {
		q = q.Where("NOT EXISTS (SELECT 1 FROM records r WHERE r.person_id = ? AND r.scheme = ? AND r.period IN ? AND r.status <> ?)",
			d.PersonID, unitScheme, months, RecordRefunded)
	}
	return q.Updates(map[string]any{"declaration_id": d.ID, "state": ClaimPaid})
}

// takeClaimsLeft is takePaidClaims after its update took fewer months
// than asked: the unit's month named, or the rest taken month by month.
func takeClaimsLeft(tx *gorm.DB, d store.DeclarationRow, months []string, unitScheme string) error {
	if unitScheme != "" {
		// Nothing was taken if the unit paid a month: say which.
		if err := unitPaidAny(tx, d, unitScheme, months); err != nil {
			return err
		}
	}
	var have []store.ClaimRow
	if err := tx.Where("person_id = ? AND scheme = ? AND period IN ?", d.PersonID, d.Scheme, months).Find(&have).Error; err != nil {
		return err
	}
	for _, m := range months {
		done := false
		for _, c := range have {
			// Taken by the update above (MariaDB counts a row it left
			// unchanged as not affected, so the count alone cannot say).
			done = done || (c.Period == m && c.DeclarationID == d.ID && c.State == ClaimPaid)
		}
		if done {
			continue
		}
		res := tx.Model(&store.ClaimRow{}).Where("person_id = ? AND scheme = ? AND period = ? AND (declaration_id = ? OR state <> ?)",
			d.PersonID, d.Scheme, m, d.ID, ClaimPaid).Updates(map[string]any{"declaration_id": d.ID, "state": ClaimPaid})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			claim := store.ClaimRow{PersonID: d.PersonID, Scheme: d.Scheme, Period: m, DeclarationID: d.ID, State: ClaimPaid}
			inserted, err := kernel.InsertIfAbsent(tx, &claim)
			if err != nil {
				return err
			}
			if !inserted {
				return UnbookableError{"所属期 " + m + " 已由其他订单缴纳"}
			}
		}
	}
	return nil
}

// claimsAndRecords is, on PostgreSQL, takePaidClaims' update and the
// records' insert in one statement (data-modifying CTEs: a round trip
// fewer, issue 13), and returns how many records it inserted. The two
// touch different tables and neither reads what the other writes (the
// unit-fund check reads the unit scheme's records, never these), so
// together they change what they would apart. When the update took fewer
// months than asked the rest is done as takePaidClaims does, after the
// insert: what it refuses as unbookable rolls the insert back with
// everything else. Should gorm build either in another shape, it logs at
// ERROR and books in two statements, as the other stores do.
func (s *Contrib) claimsAndRecords(tx *gorm.DB, d store.DeclarationRow, months []string, unitScheme string, recs []store.RecordRow) (int64, error) {
	dry := tx.Session(&gorm.Session{DryRun: true})
	upd := takeClaims(dry, d, months, unitScheme)
	ins := dry.Clauses(clause.OnConflict{DoNothing: true}).Create(&recs)
	u, i := upd.Statement.SQL.String(), ins.Statement.SQL.String()
	if upd.Error != nil || ins.Error != nil || !strings.HasPrefix(u, "UPDATE ") || !strings.HasPrefix(i, "INSERT INTO ") ||
		!strings.HasSuffix(i, "ON CONFLICT DO NOTHING") {
		// As openOrderStatement does: say so, and book as the other
		// stores do (TestMoneyStepsCost's count of settle's statements
		// fails on it).
		s.Log.ErrorContext(tx.Statement.Context, "claims UPDATE or records INSERT not of the shape expected; booking in two statements",
			"update", u, "insert", i, "update_err", upd.Error, "insert_err", ins.Error)
		return claimsThenRecords(tx, d, months, unitScheme, recs)
	}
	var got struct{ Claims, Records int64 }
	if err := tx.Raw("WITH c AS ("+dollarToQuestion(u)+" RETURNING 1), r AS ("+dollarToQuestion(i)+" RETURNING 1) "+
		"SELECT (SELECT count(*) FROM c) AS claims, (SELECT count(*) FROM r) AS records",
		append(upd.Statement.Vars, ins.Statement.Vars...)...).Scan(&got).Error; err != nil {
		return 0, err
	}
	if got.Claims != int64(len(months)) {
		if err := takeClaimsLeft(tx, d, months, unitScheme); err != nil {
			return got.Records, err
		}
	}
	return got.Records, nil
}

// claimsThenRecords takes the months' claims (takePaidClaims) and inserts
// the records, a month that has one already skipped, in two statements,
// and returns how many records it inserted.
func claimsThenRecords(tx *gorm.DB, d store.DeclarationRow, months []string, unitScheme string, recs []store.RecordRow) (int64, error) {
	if err := takePaidClaims(tx, d, months, unitScheme); err != nil {
		return 0, err
	}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&recs)
	return res.RowsAffected, res.Error
}

// unitPaidAny refuses, as unbookable, months of d a unit has paid into the
// same fund (its scheme unitScheme), naming the first.
func unitPaidAny(tx *gorm.DB, d store.DeclarationRow, unitScheme string, months []string) error {
	var taken []string
	if err := tx.Model(&store.RecordRow{}).Where("person_id = ? AND scheme = ? AND period IN ? AND status <> ?",
		d.PersonID, unitScheme, months, RecordRefunded).Order("period").Limit(1).Pluck("period", &taken).Error; err != nil {
		return err
	}
	if len(taken) > 0 {
		return UnbookableError{"所属期 " + taken[0] + " 已由单位缴纳"}
	}
	return nil
}

// unitFund names the unit scheme paying into the same fund as a flexible
// worker's scheme: 企业职工养老 and 职工医保 are one fund each, whoever pays.
var unitFund = map[string]string{
	string(models.SchemeFlexiblePension): string(models.SchemeEnterprisePension),
	string(models.SchemeFlexibleMedical): string(models.SchemeEnterpriseMedical),
}

// MonthRange lists the periods (YYYYMM) from from to to inclusive; nil
// when either is malformed.
func MonthRange(from, to string) []string {
	f, err1 := time.Parse("200601", from)
	t, err2 := time.Parse("200601", to)
	if err1 != nil || err2 != nil {
		return nil
	}
	var out []string
	for m := f; !m.After(t); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format("200601"))
	}
	return out
}
