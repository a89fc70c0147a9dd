package service_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/partner"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/partners"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
	"gorm.io/gorm"
)

// countingChannel is a payment provider that counts every call about each
// order and refund, and notes any two calls about the same one at once.
// Orders stay unpaid (closing them succeeds); a refund the provider has not
// received is "not found" until it is sent, and succeeds when it is.
type countingChannel struct {
	mu       sync.Mutex
	calls    map[string]int // "query o1", "close o1", "refund p1", "query-refund p1"
	inFlight map[string]bool
	overlaps []string
	refunded map[string]bool
}

func newCountingChannel() *countingChannel {
	return &countingChannel{calls: map[string]int{}, inFlight: map[string]bool{}, refunded: map[string]bool{}}
}

// call counts a call about key and holds it open a moment, so two
// instances working the same object at once would overlap.
func (c *countingChannel) call(kind, key string) {
	c.mu.Lock()
	c.calls[kind+" "+key]++
	if c.inFlight[key] {
		c.overlaps = append(c.overlaps, kind+" "+key)
	}
	c.inFlight[key] = true
	c.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	c.mu.Lock()
	c.inFlight[key] = false
	c.mu.Unlock()
}

// take returns the counts since the last take and clears them.
func (c *countingChannel) take() (map[string]int, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls, overlaps := c.calls, c.overlaps
	c.calls, c.overlaps = map[string]int{}, nil
	return calls, overlaps
}

func (c *countingChannel) Name() string { return "counted" }
func (c *countingChannel) Prepay(context.Context, models.PrepayRequest) (models.PayParams, error) {
	return nil, models.ErrUnavailable
}
func (c *countingChannel) Query(_ context.Context, orderNo string) (models.Trade, error) {
	c.call("query", orderNo)
	return models.Trade{OrderNo: orderNo, State: models.TradePaying}, nil
}
func (c *countingChannel) Close(_ context.Context, orderNo string) error {
	c.call("close", orderNo)
	return nil
}
func (c *countingChannel) Refund(_ context.Context, req models.RefundRequest) (models.RefundResult, error) {
	c.call("refund", req.OutRefundNo)
	c.mu.Lock()
	c.refunded[req.OutRefundNo] = true
	c.mu.Unlock()
	return models.RefundResult{OutRefundNo: req.OutRefundNo, State: models.RefundSuccess, Amount: req.Refund}, nil
}
func (c *countingChannel) QueryRefund(_ context.Context, _, outRefundNo string) (models.RefundResult, error) {
	c.call("query-refund", outRefundNo)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.refunded[outRefundNo] {
		return models.RefundResult{}, models.ErrNotFound
	}
	return models.RefundResult{OutRefundNo: outRefundNo, State: models.RefundSuccess}, nil
}
func (c *countingChannel) ParseNotification(context.Context, *http.Request) (models.Notification, error) {
	return models.Notification{}, models.ErrNotificationInvalid
}
func (c *countingChannel) Acknowledge(w http.ResponseWriter, ok bool) { w.WriteHeader(http.StatusOK) }

// TestInstancesWorkEachDueStepOnce runs three instances' workers at once
// on one database and one Redis over a batch of unpaid orders and refund
// payouts. Each order is asked about once per due query and closed once
// past its expiry, each payout asked about and sent once, no two calls
// about one object overlap, and work claimed by an instance that died (its
// lease taken, never finished) waits for the lease to end and is then
// done, once.
func TestInstancesWorkEachDueStepOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ch := newCountingChannel()
		env := servicetest.New(t, db, servicetest.Config{Mutate: func(d *service.Deps, _ *service.Options) {
			d.Payments[ch.Name()] = ch
			d.InstanceID = "instance-a"
		}})
		instances := []*service.Service{env.Svc}
		for _, name := range []string{"instance-b", "instance-c"} {
			d := env.Deps
			d.InstanceID = name
			instances = append(instances, service.New(d, env.Opt))
		}
		me := servicetest.Person(t, "张三明")
		sess := env.LoginVerified(t, "multi", me.Name, me.IDNumber)
		var user store.UserRow
		if err := db.Gorm.Where("id = ?", sess.UserID).Take(&user).Error; err != nil || user.PersonID == nil {
			t.Fatalf("the payer: %+v, %v", user, err)
		}
		start := env.Clock.Now().UTC()
		const n = 12
		var orders, payouts []string
		for i := range n {
			o := store.OrderRow{OrderNo: fmt.Sprintf("MI%03d", i), PersonID: *user.PersonID, PayerUserID: user.ID, Channel: ch.Name(),
				Scheme: string(models.SchemeFlexiblePension), AmountFen: 1000, Status: "paying", ExpiresAt: start.Add(30 * time.Minute),
				CreatedAt: start, NextQueryAt: ptr(start.Add(time.Minute)), UpdatedAt: start}
			paid := o
			paid.OrderNo, paid.Status, paid.PaidAt, paid.NextQueryAt = fmt.Sprintf("MP%03d", i), "paid", ptr(start), nil
			r := store.RefundRow{RefundNo: fmt.Sprintf("RFMI%03d", i), ApplicantUserID: user.ID, PersonID: *user.PersonID,
				Scheme: o.Scheme, Department: models.DeptTax, Reason: string(models.ReasonOverpaid), RefundFen: 1000,
				Route: string(models.RouteOriginal), Attachments: "[]", Status: string(models.RefundRefunding), Holder: models.DeptTax,
				PayoutSeq: 1, CreatedAt: start, UpdatedAt: start}
			p := store.RefundPayoutRow{PayoutNo: r.RefundNo + "-1C1", RefundNo: r.RefundNo, Kind: "channel", Channel: ch.Name(),
				OrderNo: paid.OrderNo, OrderTotalFen: 1000, AmountFen: 1000, Allocation: paid.OrderNo + ":1000", Status: "pending",
				NextQueryAt: ptr(start.Add(time.Minute)), CreatedBy: "staff-1", CreatedAt: start, UpdatedAt: start}
			for _, row := range []any{&o, &paid, &r, &p} {
				if err := db.Gorm.Create(row).Error; err != nil {
					t.Fatal(err)
				}
			}
			orders, payouts = append(orders, o.OrderNo), append(payouts, p.PayoutNo)
		}
		// An instance claimed the last order and payout and died.
		env.Clock.Set(start.Add(2 * time.Minute))
		deadUntil := env.Clock.Now().UTC().Add(env.Opt.WorkLease)
		for _, l := range []store.WorkLeaseRow{
			{Step: kernel.WorkOrderQuery, ObjectKey: orders[n-1], Holder: "instance-dead", LeaseUntil: deadUntil},
			{Step: kernel.WorkRefundPayout, ObjectKey: payouts[n-1], Holder: "instance-dead", LeaseUntil: deadUntil},
		} {
			if err := db.Gorm.Create(&l).Error; err != nil {
				t.Fatal(err)
			}
		}
		workTogether := func() {
			var wg sync.WaitGroup
			for _, s := range instances {
				wg.Go(func() { s.WorkOnce(ctx) })
			}
			wg.Wait()
		}
		expect := func(phase string, want func(kind, key string) int) {
			t.Helper()
			calls, overlaps := ch.take()
			if len(overlaps) > 0 {
				t.Errorf("%s: calls about one object overlapped: %v", phase, overlaps)
			}
			for _, kind := range []string{"query", "close"} {
				for _, o := range orders {
					if got, w := calls[kind+" "+o], want(kind, o); got != w {
						t.Errorf("%s: %s %s: %d calls, want %d", phase, kind, o, got, w)
					}
				}
			}
			for _, kind := range []string{"query-refund", "refund"} {
				for _, p := range payouts {
					if got, w := calls[kind+" "+p], want(kind, p); got != w {
						t.Errorf("%s: %s %s: %d calls, want %d", phase, kind, p, got, w)
					}
				}
			}
		}
		dead := func(key string) bool { return key == orders[n-1] || key == payouts[n-1] }

		// Every order and payout is due; the dead instance's two wait.
		workTogether()
		expect("first pass", func(kind, key string) int {
			if dead(key) || kind == "close" {
				return 0
			}
			return 1
		})
		workTogether() // nothing is due again yet
		expect("second pass", func(string, string) int { return 0 })

		// The dead instance's lease ended: its order and payout are taken
		// over; the other orders' second query is due too.
		env.Clock.Set(deadUntil.Add(time.Second))
		workTogether()
		expect("after the lease ended", func(kind, key string) int {
			switch {
			case kind == "close":
				return 0
			case kind == "query" || dead(key):
				return 1
			}
			return 0
		})

		// Past their expiry every order is asked once more and closed once.
		env.Clock.Set(start.Add(31 * time.Minute))
		workTogether()
		expect("past the expiry", func(kind, key string) int {
			if kind == "query" || kind == "close" {
				return 1
			}
			return 0
		})

		if c := servicetest.Count(t, db, "orders", "order_no LIKE ? AND status = ?", "MI%", "closed"); c != n {
			t.Errorf("%d of %d orders closed", c, n)
		}
		if c := servicetest.Count(t, db, "refund_payouts", "payout_no LIKE ? AND status = ?", "RFMI%", "success"); c != n {
			t.Errorf("%d of %d payouts succeeded", c, n)
		}
		if c := servicetest.Count(t, db, "refunds", "refund_no LIKE ? AND status = ? AND refunded_fen = 1000", "RFMI%", "refunded"); c != n {
			t.Errorf("%d of %d refunds paid once and refunded", c, n)
		}
		if c := servicetest.Count(t, db, "work_leases", "holder <> ?", "instance-dead"); c != 0 {
			t.Errorf("%d work leases left behind by live instances", c)
		}
	})
}

// TestReleaseAllWorkHandsBackOnlyThisInstancesClaims: what a stopping
// instance hands back another claims at once, while a live claim of
// another instance is never taken before its lease ends.
func TestReleaseAllWorkHandsBackOnlyThisInstancesClaims(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.New(t, db, servicetest.Config{Mutate: func(d *service.Deps, _ *service.Options) { d.InstanceID = "instance-a" }})
		d := env.Deps
		d.InstanceID = "instance-b"
		b := service.New(d, env.Opt)
		claim := func(s *service.Service, key string) bool {
			t.Helper()
			ok, err := s.ClaimWork(ctx, kernel.WorkRefundPayout, key)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !claim(env.Svc, "p1") || !claim(env.Svc, "p2") || !claim(b, "p3") {
			t.Fatal("fresh claims refused")
		}
		if claim(b, "p1") || claim(env.Svc, "p1") {
			t.Fatal("a live claim was taken, or claimed twice by its holder")
		}
		n, err := env.Svc.ReleaseAllWork(ctx)
		if err != nil || n != 2 {
			t.Fatalf("released %d, %v; want 2", n, err)
		}
		if !claim(b, "p1") || !claim(b, "p2") {
			t.Fatal("work handed back was not free for another instance")
		}
		if claim(env.Svc, "p3") {
			t.Fatal("another instance's live claim was taken")
		}
		env.Clock.Advance(env.Opt.WorkLease + time.Second)
		if !claim(env.Svc, "p3") {
			t.Fatal("a claim whose lease ended was not taken over")
		}
	})
}

// TestWorkHandsBackOnlyItsOwnClaim: work that outlives its lease, whose
// object this same instance claims afresh meanwhile (a request settling
// an order sends its automatic refund under such a claim), hands back its
// own claim and not the later one, which stays until its own work ends.
func TestWorkHandsBackOnlyItsOwnClaim(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.New(t, db, servicetest.Config{})
		// A clock off the microsecond, as a real one is: the stores keep
		// microseconds, and a claim must still be found by its lease_until.
		env.Clock.Advance(1234 * time.Nanosecond)
		held := func(key string) int64 {
			return servicetest.Count(t, db, "work_leases", "step = ? AND object_key = ?", kernel.WorkRefundPayout, key)
		}
		ran, err := env.Svc.WithWork(ctx, kernel.WorkRefundPayout, "p1", func() error {
			env.Clock.Advance(env.Opt.WorkLease + time.Second)
			ok, err := env.Svc.ClaimWork(ctx, kernel.WorkRefundPayout, "p1")
			if err != nil || !ok {
				t.Fatalf("the ended claim was not taken over: %v %v", ok, err)
			}
			return nil
		})
		if err != nil || !ran {
			t.Fatalf("work did not run: %v %v", ran, err)
		}
		if n := held("p1"); n != 1 {
			t.Fatal("the later claim was handed back with the work that outlived its lease")
		}
		if ok, _ := env.Svc.ClaimWork(ctx, kernel.WorkRefundPayout, "p1"); ok {
			t.Fatal("the later claim could be claimed again while live")
		}
		if _, err := env.Svc.WithWork(ctx, kernel.WorkRefundPayout, "p2", func() error { return nil }); err != nil || held("p2") != 0 {
			t.Fatalf("work did not hand its own claim back: %v, %d held", err, held("p2"))
		}
		// A dead instance's ended claim, taken over by work, is handed back
		// when that work ends.
		if err := db.Gorm.Create(&store.WorkLeaseRow{Step: kernel.WorkRefundPayout, ObjectKey: "p3", Holder: "instance-dead",
			LeaseUntil: env.Clock.Now().Add(-time.Second)}).Error; err != nil {
			t.Fatal(err)
		}
		ran, err = env.Svc.WithWork(ctx, kernel.WorkRefundPayout, "p3", func() error { return nil })
		if err != nil || !ran || held("p3") != 0 {
			t.Fatalf("the ended claim taken over: ran %v, %v, %d held after", ran, err, held("p3"))
		}
	})
}

// TestAClaimWhoseReleaseFailedIsHandedBackAtTheNextPass: work whose claim
// could not be handed back (the database out of reach as it ended) is not
// kept from its object until the lease ends; the worker's next pass hands
// the claim back. A retry that comes after the lease ended and the object
// was taken over (by an instance whose clock runs ahead) frees nothing of
// the new holder's.
func TestAClaimWhoseReleaseFailedIsHandedBackAtTheNextPass(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.New(t, db, servicetest.Config{})
		var unreachable atomic.Bool
		// A release is a gorm Delete, or on PostgreSQL a statement of its
		// own (deleteClaim, unflushed).
		fail := func(tx *gorm.DB) {
			if unreachable.Load() && (tx.Statement.Table == "work_leases" || strings.Contains(tx.Statement.SQL.String(), "work_leases")) {
				_ = tx.AddError(errors.New("database unreachable"))
			}
		}
		if err := db.Gorm.Callback().Delete().Before("gorm:delete").Register("test:lease_release_fails", fail); err != nil {
			t.Fatal(err)
		}
		if err := db.Gorm.Callback().Raw().Before("gorm:raw").Register("test:lease_release_fails_raw", fail); err != nil {
			t.Fatal(err)
		}
		held := func(key string) []store.WorkLeaseRow {
			var rows []store.WorkLeaseRow
			if err := db.Gorm.Where("step = ? AND object_key = ?", kernel.WorkRefundPayout, key).Find(&rows).Error; err != nil {
				t.Fatal(err)
			}
			return rows
		}
		work := func(key string) {
			unreachable.Store(true)
			defer unreachable.Store(false)
			if ran, err := env.Svc.WithWork(ctx, kernel.WorkRefundPayout, key, func() error { return nil }); err != nil || !ran {
				t.Fatalf("work on %s did not run: %v %v", key, ran, err)
			}
			if len(held(key)) != 1 {
				t.Fatalf("the claim on %s was released while the database was out of reach", key)
			}
		}

		work("p1")
		if ok, _ := env.Svc.ClaimWork(ctx, kernel.WorkRefundPayout, "p1"); ok {
			t.Fatal("a live claim was claimed again")
		}
		env.Svc.WorkOnce(ctx)
		if n := len(held("p1")); n != 0 {
			t.Fatal("the worker's next pass did not hand the claim back")
		}

		// Instance b's clock runs a lease ahead: it takes the claim over
		// while this instance, retrying, still sees its own as live and
		// asks the store to delete it.
		work("p2")
		d := env.Deps
		d.InstanceID = "instance-b"
		d.Clock = models.NewManualClock(env.Clock.Now().Add(env.Opt.WorkLease + time.Second))
		b := service.New(d, env.Opt)
		if ok, err := b.ClaimWork(ctx, kernel.WorkRefundPayout, "p2"); err != nil || !ok {
			t.Fatalf("the ended claim was not taken over: %v %v", ok, err)
		}
		if err := env.Svc.RetryWorkReleases(ctx); err != nil {
			t.Fatal(err)
		}
		if rows := held("p2"); len(rows) != 1 || rows[0].Holder != "instance-b" {
			t.Fatalf("after a late retry: %+v", rows)
		}
	})
}

// TestWorkLeasesSkipTheDiskFlushWhereThatIsSafe: the worker claims and
// releases every order it asks about, so these commits skip the disk
// flush where losing one costs nothing: a release on PostgreSQL (the
// claim then waits out its lease), claims and releases on an SQLite file
// (lost only with the machine, and with it every holder). A claim on
// PostgreSQL is flushed: lost while its holder went on working, it would
// let a second instance work the same object. MariaDB flushes both. The
// SQLite writer is synced again afterwards, and the claims still hold.
func TestWorkLeasesSkipTheDiskFlushWhereThatIsSafe(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.New(t, db, servicetest.Config{})
		meter := servicetest.MeterCost(t, env)
		relaxed := func(c servicetest.Cost, verb string) bool {
			for i, q := range c.SQL {
				if strings.Contains(q, verb) && strings.Contains(q, "work_leases") &&
					(strings.Contains(q, "set_config('synchronous_commit', 'off', true)") || i > 0 && strings.Contains(c.SQL[i-1], "PRAGMA synchronous = NORMAL")) {
					return true
				}
			}
			return false
		}
		var claim, release servicetest.Cost
		work := meter.Measure(func() {
			ran, err := env.Svc.WithWork(ctx, kernel.WorkCredit, "o1", func() error {
				if ok, _ := env.Svc.ClaimWork(ctx, kernel.WorkCredit, "o1"); ok {
					t.Error("a live claim was claimed again")
				}
				return nil
			})
			if err != nil || !ran {
				t.Fatalf("work did not run: %v %v", ran, err)
			}
		})
		// The claim is the first write, the release the last.
		for i, q := range work.SQL {
			if strings.Contains(q, "INSERT") && claim.SQL == nil {
				claim.SQL = work.SQL[max(0, i-1) : i+1]
			}
			if strings.Contains(q, "DELETE") {
				release.SQL = work.SQL[max(0, i-1) : i+1]
			}
		}
		wantClaim, wantRelease := db.Dialect == store.SQLite, db.Dialect == store.SQLite || db.Dialect == store.Postgres
		if got := relaxed(claim, "INSERT"); got != wantClaim {
			t.Errorf("the claim unflushed: %v, want %v\n%s", got, wantClaim, strings.Join(work.SQL, "\n"))
		}
		if got := relaxed(release, "DELETE"); got != wantRelease {
			t.Errorf("the release unflushed: %v, want %v\n%s", got, wantRelease, strings.Join(work.SQL, "\n"))
		}
		if n := servicetest.Count(t, db, "work_leases", "object_key = ?", "o1"); n != 0 {
			t.Fatalf("%d claims left after the work", n)
		}
		if db.Dialect == store.SQLite {
			var level int
			if err := db.Gorm.Raw("PRAGMA synchronous").Scan(&level).Error; err != nil || level != 2 {
				t.Fatalf("the writer's synchronous after the lease writes: %d %v, want 2 (FULL)", level, err)
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }

// TestNoncesAndRateLimitsHoldAcrossInstances: a partner's nonce used at
// one instance is refused at another, and one rate limit counts the
// requests every instance took.
func TestNoncesAndRateLimitsHoldAcrossInstances(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.New(t, db, servicetest.Config{})
		d := env.Deps
		d.InstanceID = "instance-b"
		b := service.New(d, env.Opt)
		if err := env.Svc.SeedPartner(ctx, partners.PartnerInput{PartnerID: "multi-bank", Name: "多实例银行", Channels: []string{"bank_counter"}},
			"multi-bank-key-1", "multi-bank-secret"); err != nil {
			t.Fatal(err)
		}
		now := env.Svc.Now().Unix()
		nonce := partner.NewNonce()
		path, body := "/partner/v1/payables/query", []byte(`{}`)
		sig := partner.Sign([]byte("multi-bank-secret"), "POST", path, now, nonce, body)
		auth := func(s *service.Service) error {
			_, err := s.AuthenticatePartner(ctx, "multi-bank", strconv.FormatInt(now, 10), nonce, sig, "POST", path, body, kernel.RequestMeta{})
			return err
		}
		if err := auth(env.Svc); err != nil {
			t.Fatalf("first use of the nonce: %v", err)
		}
		if err := auth(b); err == nil {
			t.Fatal("a nonce used at one instance passed at another")
		}

		key := "login:multi:" + nonce
		for i, s := range []*service.Service{env.Svc, b, env.Svc} {
			if err := s.RateLimit(ctx, key, 3, time.Minute, kernel.CountInDB); err != nil {
				t.Fatalf("request %d within the limit: %v", i+1, err)
			}
		}
		if err := b.RateLimit(ctx, key, 3, time.Minute, kernel.CountInDB); err == nil {
			t.Fatal("the fourth request, at another instance, passed a limit of three")
		}
	})
}
