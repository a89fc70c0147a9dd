package contrib_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

func TestJourneyFromEnrolmentToBookedRecords(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, db *store.DB, r *store.Redis) {
		ctx := context.Background()
		env := servicetest.NewEnvOn(t, db, r)
		j := servicetest.StartJourney(t, env)
		pb := j.Self
		// Enrolled in November 2026: November and December are self-service.
		if pb.PeriodFrom != "202611" || pb.PeriodTo != "202612" || pb.Status != contrib.PayableOpen {
			t.Fatalf("payable %+v", pb)
		}
		var low models.PayOption
		for _, o := range pb.Options {
			if o.Code == "grade_60" {
				low = o
			}
		}
		// 2026 is provisional at 2025's figures: lower base 4,907 元 × 20%.
		if low.BaseFen != 490700 || low.AmountFen != 98140 {
			t.Fatalf("grade_60 option %+v", low)
		}

		mother := servicetest.Person(t, "李秀英")
		m, err := env.Svc.AddFamilyMember(ctx, j.Sess.UserID, people.FamilyInput{Name: mother.Name, IDNumber: mother.IDNumber, Relation: "parent"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Svc.CreateEnrolment(ctx, j.Sess.UserID, contrib.EnrolInput{Person: people.PersonRef{MemberID: m.MemberID},
			Scheme: models.SchemeResidentMedical, RegionCode: "150100"}); err != nil {
			t.Fatal(err)
		}
		mp, err := env.Svc.QueryPayables(ctx, j.Sess.UserID, people.PersonRef{MemberID: m.MemberID})
		if err != nil {
			t.Fatal(err)
		}
		if len(mp) != 1 || mp[0].Year != 2027 || mp[0].AmountFen == nil || *mp[0].AmountFen != 40000 {
			t.Fatalf("mother's payable %+v", mp)
		}

		d, err := env.Svc.CreateDeclaration(ctx, j.Sess.UserID, contrib.DeclareInput{PayableID: pb.PayableID, OptionCode: "grade_60"})
		if err != nil {
			t.Fatal(err)
		}
		if d.AmountFen != 2*98140 || d.Months != 2 {
			t.Fatalf("declaration %+v", d)
		}
		p, created, err := env.Svc.CreatePayment(ctx, j.Sess, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: "sandbox"})
		if err != nil || !created || p.Status != contrib.OrderPaying || p.PayParams["cashier_url"] == "" {
			t.Fatalf("payment %+v created=%v err=%v", p, created, err)
		}
		if err := env.Svc.SandboxPay(ctx, p.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		recs := servicetest.Records(t, env, j.Sess)
		if len(recs) != 2 || recs[0].Status != "paid" || recs[0].Period != "202611" || recs[0].PayerMasked != "张*明" {
			t.Fatalf("records after payment %+v", recs)
		}
		env.Clock.Advance(3 * time.Second)
		env.Svc.WorkOnce(ctx)
		if recs = servicetest.Records(t, env, j.Sess); recs[0].Status != "credited" || recs[0].CreditedAt == nil {
			t.Fatalf("records after 入库 %+v", recs)
		}
		env.Clock.Advance(2 * time.Second)
		env.Svc.WorkOnce(ctx)
		if recs = servicetest.Records(t, env, j.Sess); recs[1].Status != "booked" || recs[1].BookedAt == nil {
			t.Fatalf("records after 记账 %+v", recs)
		}
		again, _ := env.Svc.QueryPayables(ctx, j.Sess.UserID, people.PersonRef{Self: true})
		if again[0].Status != "booked" {
			t.Fatalf("payable after booking %+v", again[0])
		}
		_, err = env.Svc.CreateDeclaration(ctx, j.Sess.UserID, contrib.DeclareInput{PayableID: pb.PayableID, OptionCode: "grade_60"})
		if !errors.Is(err, models.ErrAlreadyPaid) {
			t.Fatalf("declaring paid months again: %v", err)
		}
	})
}

func TestTwentySimultaneousDeclarationsMakeOne(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewEnv(t, db)
		j := servicetest.StartJourney(t, env)
		var mu sync.Mutex
		ids := map[string]bool{}
		errs := servicetest.Parallel(20, func(int) error {
			d, err := env.Svc.CreateDeclaration(context.Background(), j.Sess.UserID, contrib.DeclareInput{PayableID: j.Self.PayableID, OptionCode: "grade_100"})
			if err == nil {
				mu.Lock()
				ids[d.DeclarationID] = true
				mu.Unlock()
			}
			return err
		})
		for _, err := range errs {
			if err != nil && !errors.Is(err, models.ErrAlreadyDeclared) {
				t.Fatalf("unexpected error: %v", err)
			}
		}
		if len(ids) != 1 {
			t.Fatalf("%d declarations succeeded", len(ids))
		}
		if n := servicetest.Count(t, db, "declarations", "person_id IS NOT NULL"); n != 1 {
			t.Fatalf("%d declarations stored", n)
		}
	})
}

func TestTwentySimultaneousPaymentsOpenOneOrder(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewEnv(t, db)
		j := servicetest.StartJourney(t, env)
		d, err := env.Svc.CreateDeclaration(context.Background(), j.Sess.UserID, contrib.DeclareInput{PayableID: j.Self.PayableID, OptionCode: "grade_100"})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		orders := map[string]bool{}
		errs := servicetest.Parallel(20, func(int) error {
			p, _, err := env.Svc.CreatePayment(context.Background(), j.Sess, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: "sandbox"})
			if err == nil {
				mu.Lock()
				orders[p.OrderNo] = true
				mu.Unlock()
			}
			return err
		})
		for _, err := range errs {
			if err != nil {
				t.Fatalf("createPayment failed: %v", err)
			}
		}
		if len(orders) != 1 {
			t.Fatalf("%d distinct orders returned", len(orders))
		}
		if n := servicetest.Count(t, db, "orders", "declaration_id = ?", d.DeclarationID); n != 1 {
			t.Fatalf("%d orders stored", n)
		}
		// The declaration names that order and every month is held for it
		// (one statement on PostgreSQL, a transaction elsewhere).
		var orderNo string
		for o := range orders {
			orderNo = o
		}
		if n := servicetest.Count(t, db, "declarations", "id = ? AND status = ? AND order_no = ?", d.DeclarationID, contrib.DeclPaying, orderNo); n != 1 {
			t.Fatal("the declaration does not name the order")
		}
		if n := servicetest.Count(t, db, "period_claims", "declaration_id = ? AND state = ?", d.DeclarationID, contrib.ClaimPaying); n != int64(d.Months) {
			t.Fatalf("%d of %d months held for the order", n, d.Months)
		}
	})
}

func TestTwentyDuplicateNotificationsSettleOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		j := servicetest.StartJourney(t, env)
		d, _ := env.Svc.CreateDeclaration(ctx, j.Sess.UserID, contrib.DeclareInput{PayableID: j.Self.PayableID, OptionCode: "grade_100"})
		p, _, err := env.Svc.CreatePayment(ctx, j.Sess, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: "sandbox"})
		if err != nil {
			t.Fatal(err)
		}
		header, body := env.Sandbox.Notification(map[string]any{"id": "N-1", "order_no": p.OrderNo, "transaction_id": "T1",
			"amount_fen": int64(p.AmountFen), "success": true, "paid_at": env.Clock.Now().Format(time.RFC3339)})
		codes := make([]int, 20)
		servicetest.Parallel(20, func(i int) error {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/notify/sandbox", bytesReader(body))
			r.Header = header.Clone()
			w := httptest.NewRecorder()
			_ = env.Svc.HandleNotification(ctx, models.ChannelSandbox, w, r)
			codes[i] = w.Code
			return nil
		})
		for _, c := range codes {
			if c != http.StatusOK {
				t.Fatalf("a duplicate was not acknowledged: %v", codes)
			}
		}
		if n := servicetest.Count(t, db, "records", "order_no = ?", p.OrderNo); n != 2 {
			t.Fatalf("%d records for a two-month order", n)
		}
		if n := servicetest.Count(t, db, "notifications", "order_no = ?", p.OrderNo); n != 1 {
			t.Fatalf("%d notifications stored", n)
		}
		if n := servicetest.Count(t, db, "orders", "order_no = ? AND status = ?", p.OrderNo, "paid"); n != 1 {
			t.Fatal("order not paid")
		}
	})
}

func TestNotificationRacingThePayersQuerySettlesOnce(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, db *store.DB, r *store.Redis) {
		ctx := context.Background()
		env := servicetest.NewEnvOn(t, db, r)
		j := servicetest.StartJourney(t, env)
		d, _ := env.Svc.CreateDeclaration(ctx, j.Sess.UserID, contrib.DeclareInput{PayableID: j.Self.PayableID, OptionCode: "grade_100"})
		p, _, _ := env.Svc.CreatePayment(ctx, j.Sess, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: "sandbox"})
		// The payer pays; the notification and ten polls race.
		servicetest.Parallel(11, func(i int) error {
			if i == 0 {
				return env.Svc.SandboxPay(ctx, p.OrderNo, true)
			}
			_ = env.Redis.Client.Del(ctx, "lb:order:{"+p.OrderNo+"}:q") // let every poll reach the channel
			_, err := env.Svc.GetPayment(ctx, j.Sess.UserID, p.OrderNo)
			return err
		})
		got, err := env.Svc.GetPayment(ctx, j.Sess.UserID, p.OrderNo)
		if err != nil || got.Status != "paid" {
			t.Fatalf("order %+v err %v", got, err)
		}
		if n := servicetest.Count(t, db, "records", "order_no = ?", p.OrderNo); n != 2 {
			t.Fatalf("%d records", n)
		}
	})
}

// The order carries its payer's and its person's masked names from the
// moment it is opened (migrations/0018), and an order opened before those
// columns still names them on its records and in its view: they are
// worked out when needed.
func TestOrdersOpenedBeforeAndAfter0018NameTheirPayerAndPerson(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewEnv(t, db)
		j := servicetest.StartJourney(t, env)
		ctx := servicetest.RequestContext(context.Background(), j.Sess)
		d, p := j.OpenOrder(t, ctx)
		var o store.OrderRow
		if err := db.Gorm.Where("order_no = ?", p.OrderNo).Take(&o).Error; err != nil {
			t.Fatal(err)
		}
		if o.PayerMasked == nil || *o.PayerMasked != "张*明" || o.PersonMasked == nil || *o.PersonMasked != "张*明" {
			t.Fatalf("the order was opened with payer %v and person %v, want 张*明", o.PayerMasked, o.PersonMasked)
		}
		// As an order written before the columns holds it.
		if err := db.Gorm.Model(&store.OrderRow{}).Where("order_no = ?", p.OrderNo).
			Updates(map[string]any{"payer_masked": nil, "person_masked": nil}).Error; err != nil {
			t.Fatal(err)
		}
		if err := env.Svc.SandboxPay(ctx, p.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		recs := servicetest.Records(t, env, j.Sess)
		if len(recs) != d.Months || recs[0].PayerMasked != "张*明" || recs[0].PayerKind != "" {
			t.Fatalf("records of an order without its payer's name %+v", recs)
		}
		// The settlement cached the view it worked out; then the database's.
		for _, fresh := range []bool{false, true} {
			if fresh {
				env.Svc.UncacheOrder(ctx, p.OrderNo)
			}
			v, err := env.Svc.GetPayment(ctx, j.Sess.UserID, p.OrderNo)
			if err != nil || v.Status != contrib.OrderPaid || v.PersonNameMasked != "张*明" {
				t.Fatalf("view of an order without its person's name (fresh %v): %+v %v", fresh, v, err)
			}
		}

		// Paying for someone else (a yearly scheme): the payer and the
		// person are two names, each in its place.
		mother := servicetest.Person(t, "李秀英")
		m, err := env.Svc.AddFamilyMember(ctx, j.Sess.UserID, people.FamilyInput{Name: mother.Name, IDNumber: mother.IDNumber, Relation: "parent"})
		if err != nil {
			t.Fatal(err)
		}
		ref := people.PersonRef{MemberID: m.MemberID}
		if _, err := env.Svc.CreateEnrolment(ctx, j.Sess.UserID, contrib.EnrolInput{Person: ref, Scheme: models.SchemeResidentMedical, RegionCode: "150100"}); err != nil {
			t.Fatal(err)
		}
		mp, err := env.Svc.QueryPayables(ctx, j.Sess.UserID, ref)
		if err != nil || len(mp) != 1 {
			t.Fatalf("mother's payables %+v %v", mp, err)
		}
		md, err := env.Svc.CreateDeclaration(ctx, j.Sess.UserID, contrib.DeclareInput{PayableID: mp[0].PayableID, OptionCode: mp[0].Options[0].Code})
		if err != nil {
			t.Fatal(err)
		}
		mpay, _, err := env.Svc.CreatePayment(ctx, j.Sess, contrib.PayInput{DeclarationID: md.DeclarationID, Channel: "sandbox"})
		if err != nil || mpay.PersonNameMasked != "李*英" {
			t.Fatalf("paying for the mother: %+v %v", mpay, err)
		}
		o = store.OrderRow{}
		if err := db.Gorm.Where("order_no = ?", mpay.OrderNo).Take(&o).Error; err != nil {
			t.Fatal(err)
		}
		if o.PayerMasked == nil || *o.PayerMasked != "张*明" || o.PersonMasked == nil || *o.PersonMasked != "李*英" {
			t.Fatalf("the mother's order was opened with payer %v and person %v", o.PayerMasked, o.PersonMasked)
		}
		if err := env.Svc.SandboxPay(ctx, mpay.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		if v, err := env.Svc.GetPayment(ctx, j.Sess.UserID, mpay.OrderNo); err != nil || v.Status != contrib.OrderPaid || v.PersonNameMasked != "李*英" {
			t.Fatalf("the mother's settled order %+v %v", v, err)
		}
		// The list names both: the first order from its person (its name
		// was taken off above), the mother's from the order itself (a
		// name set here, that no person has, shows which was read).
		if err := db.Gorm.Model(&store.OrderRow{}).Where("order_no = ?", mpay.OrderNo).Update("person_masked", "李*").Error; err != nil {
			t.Fatal(err)
		}
		list, _, err := env.Svc.ListPayments(ctx, j.Sess.UserID, kernel.Page{Size: 10})
		named := map[string]string{}
		for _, v := range list {
			named[v.OrderNo] = v.PersonNameMasked
		}
		if err != nil || len(list) != 2 || named[mpay.OrderNo] != "李*" || named[p.OrderNo] != "张*明" {
			t.Fatalf("payments list %+v %v", list, err)
		}
		var mrec store.RecordRow
		if err := db.Gorm.Where("order_no = ?", mpay.OrderNo).Take(&mrec).Error; err != nil || mrec.PayerMasked == nil || *mrec.PayerMasked != "张*明" {
			t.Fatalf("the mother's record %+v %v", mrec, err)
		}
	})
}
