//go:build faults || soak

package faults

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// bank is the bank invariant, computed from the channel's books (the
// WeChat Pay fake: what payers really paid, minus what it paid back) and
// from the database directly (orders, and records: the ledger of months
// paid, credited to the treasury and booked by the agency).
type bank struct {
	People     int
	AtChannel  int64 // fen paid at the channel minus refunded there
	InOrders   int64 // fen our orders say were paid, minus refunded
	Ledger     int64 // fen of the records not refunded
	Booked     int64 // of which booked by the agency
	Pending    int64 // of which not yet credited and booked (paid or credited)
	Lost       int64 // fen paid at the channel that our books lack
	Doubled    int64 // fen our books hold beyond what was paid
	Settled    int   // orders paid at the channel and paid in our orders
	Unsettled  []string
	Mismatches []string
	// Anomalies is what the server itself flagged (paid twice, foreign
	// or wrong-amount notifications, reconciliation differences), by kind.
	Anomalies string
	// Refunds is the refund applications by status: one the hall had not
	// finished when the load stopped holds its months as refunding.
	Refunds string
}

func (b bank) balanced() bool {
	return b.Lost == 0 && b.Doubled == 0 && len(b.Unsettled) == 0 && len(b.Mismatches) == 0 &&
		b.AtChannel == b.InOrders && b.InOrders == b.Ledger
}

func (b bank) String() string {
	an, rf := b.Anomalies, b.Refunds
	if an == "" {
		an = "none"
	}
	if rf == "" {
		rf = "none"
	}
	return fmt.Sprintf("%d people: paid−refunded at the channel %s = orders %s = ledger %s (booked %s, being refunded %s); lost %d fen, doubled %d fen; refund applications: %s; anomalies flagged: %s",
		b.People, yuan(b.AtChannel), yuan(b.InOrders), yuan(b.Ledger), yuan(b.Booked), yuan(b.Ledger-b.Booked-b.Pending), b.Lost, b.Doubled, rf, an)
}

func yuan(fen int64) string { return fmt.Sprintf("%d.%02d 元", fen/100, fen%100) }

// checkBank computes the invariant per person and in total.
func (d *driver) checkBank(ctx context.Context) (b bank, err error) {
	type orderRow struct {
		OrderNo, PersonID, Status string
		AmountFen, RefundedFen    int64
	}
	var orders []orderRow
	if err := d.c.db.Gorm.WithContext(ctx).Raw(`SELECT order_no, person_id, status, amount_fen, refunded_fen FROM orders WHERE channel = 'wechat'`).Scan(&orders).Error; err != nil {
		return b, err
	}
	type recordRow struct {
		PersonID, OrderNo, Status string
		AmountFen                 int64
	}
	var records []recordRow
	if err := d.c.db.Gorm.WithContext(ctx).Raw(`SELECT person_id, order_no, status, amount_fen FROM records`).Scan(&records).Error; err != nil {
		return b, err
	}
	channel, inOrders, ledger := map[string]int64{}, map[string]int64{}, map[string]int64{}
	people := map[string]bool{}
	byNo := map[string]orderRow{}
	for _, o := range orders {
		byNo[o.OrderNo] = o
		people[o.PersonID] = true
		switch o.Status {
		case "paid", "partially_refunded", "refunded":
			inOrders[o.PersonID] += o.AmountFen - o.RefundedFen
		}
	}
	paid, _ := d.paidOrders()
	for _, no := range paid {
		w, ok := d.c.wx.Order(no)
		if !ok || w.TransactionID == "" {
			b.Mismatches = append(b.Mismatches, no+": the payer paid but the channel has no payment")
			continue
		}
		o, ok := byNo[no]
		if !ok {
			b.Lost += int64(w.Amount - w.Refunded)
			b.Mismatches = append(b.Mismatches, no+": paid at the channel, unknown to our orders")
			continue
		}
		channel[o.PersonID] += int64(w.Amount - w.Refunded)
		if int64(w.Amount) != o.AmountFen {
			b.Mismatches = append(b.Mismatches, fmt.Sprintf("%s: channel %d fen, order %d fen", no, w.Amount, o.AmountFen))
		}
		switch o.Status {
		case "paid", "partially_refunded", "refunded":
			b.Settled++
		default:
			b.Unsettled = append(b.Unsettled, no+" "+o.Status)
		}
	}
	for _, o := range orders {
		if w, ok := d.c.wx.Order(o.OrderNo); (!ok || w.TransactionID == "") && (o.Status == "paid" || o.Status == "partially_refunded" || o.Status == "refunded") {
			b.Mismatches = append(b.Mismatches, o.OrderNo+": paid in our orders, never paid at the channel")
		}
	}
	for _, r := range records {
		people[r.PersonID] = true
		if r.Status == "refunded" {
			continue
		}
		ledger[r.PersonID] += r.AmountFen
		switch r.Status {
		case "booked":
			b.Booked += r.AmountFen
		case "paid", "credited":
			b.Pending += r.AmountFen
		}
	}
	for p := range people {
		b.AtChannel += channel[p]
		b.InOrders += inOrders[p]
		b.Ledger += ledger[p]
		if diff := channel[p] - ledger[p]; diff > 0 {
			b.Lost += diff
		} else {
			b.Doubled -= diff
		}
		if channel[p] != inOrders[p] {
			b.Mismatches = append(b.Mismatches, fmt.Sprintf("person %s: channel %d fen, orders %d fen", p, channel[p], inOrders[p]))
		}
	}
	b.People = len(people)
	if b.Anomalies, err = d.countBy(ctx, "anomalies", "kind"); err != nil {
		return b, err
	}
	if b.Refunds, err = d.countBy(ctx, "refunds", "status"); err != nil {
		return b, err
	}
	return b, nil
}

// countBy is "value ×n, …" of one column of a table.
func (d *driver) countBy(ctx context.Context, table, column string) (string, error) {
	var rows []struct {
		V string
		N int
	}
	if err := d.c.db.Gorm.WithContext(ctx).Raw(`SELECT ` + column + ` AS v, COUNT(*) AS n FROM ` + table + ` GROUP BY ` + column + ` ORDER BY ` + column).Scan(&rows).Error; err != nil {
		return "", err
	}
	var parts []string
	for _, r := range rows {
		parts = append(parts, fmt.Sprintf("%s ×%d", r.V, r.N))
	}
	return strings.Join(parts, ", "), nil
}

// settle waits until the books balance and every paid month is booked
// (notifications retried, the query worker and the treasury and agency
// steps done), or fails the test with what is still off.
func (d *driver) settle(t testing.TB, limit time.Duration) (bank, time.Duration) {
	t.Helper()
	start := time.Now()
	ctx := context.Background()
	var b bank
	var err error
	for {
		b, err = d.checkBank(ctx)
		if err == nil && b.balanced() && b.Pending == 0 {
			return b, time.Since(start)
		}
		if time.Since(start) > limit {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("bank invariant: reading the database: %v", err)
	}
	t.Errorf("bank invariant does not hold %s after the fault: %s; unsettled %d %s; mismatches %s; %s",
		limit, b, len(b.Unsettled), first(b.Unsettled, 5), first(b.Mismatches, 5), d.stuck(ctx))
	return b, time.Since(start)
}

// stuck describes what may hold the books back, for a failure message:
// the orders whose months are not yet booked, with when they are next
// asked about, and the claims on background work.
func (d *driver) stuck(ctx context.Context) string {
	var orders []struct {
		OrderNo, Status string
		SettleNextAt    *time.Time
	}
	err := d.c.db.Gorm.WithContext(ctx).Raw(`SELECT DISTINCT o.order_no, r.status, o.settle_next_at FROM records r JOIN orders o ON o.order_no = r.order_no
		WHERE r.status IN ('paid', 'credited') ORDER BY o.order_no LIMIT 10`).Scan(&orders).Error
	if err != nil {
		return "stuck orders: " + err.Error()
	}
	var leases []struct {
		Step, ObjectKey, Holder string
		LeaseUntil              time.Time
	}
	if err := d.c.db.Gorm.WithContext(ctx).Raw(`SELECT step, object_key, holder, lease_until FROM work_leases ORDER BY lease_until LIMIT 10`).Scan(&leases).Error; err != nil {
		return "work claims: " + err.Error()
	}
	var b strings.Builder
	b.WriteString("months not booked:")
	for _, o := range orders {
		fmt.Fprintf(&b, " %s %s (next asked %v);", o.OrderNo, o.Status, o.SettleNextAt)
	}
	b.WriteString(" work claims:")
	for _, l := range leases {
		fmt.Fprintf(&b, " %s/%s by %s until %s;", l.Step, l.ObjectKey, l.Holder, l.LeaseUntil.Format(time.RFC3339))
	}
	return b.String()
}

func first(s []string, n int) string {
	if len(s) > n {
		return strings.Join(s[:n], "; ") + "; …"
	}
	return strings.Join(s, "; ")
}
