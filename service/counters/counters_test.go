package counters_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/counters"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

var (
	bank  = kernel.PartnerActor{PartnerID: "test-bank", Name: "测试银行", KeyID: "k1", Channels: []string{counters.ChannelBankCounter, counters.ChannelYunPOS}}
	other = kernel.PartnerActor{PartnerID: "other-bank", Name: "其他银行", KeyID: "k1", Channels: []string{counters.ChannelBankCounter}}
)

// counterOrder looks 张三明 up at bank's counter (after his enrolment)
// and opens an order for one month of his pension payable.
func counterOrder(t *testing.T, env *servicetest.Env, txn string) (counters.Order, contrib.Payable) {
	t.Helper()
	ctx := context.Background()
	me := servicetest.Person(t, "张三明")
	q, err := env.Svc.PartnerQueryPayables(ctx, bank, counters.QueryInput{Name: me.Name, IDNumber: me.IDNumber})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Items) == 0 || q.PersonNameMasked == me.Name || strings.Contains(q.IDNumberMasked, me.IDNumber[6:14]) {
		t.Fatalf("query %+v", q)
	}
	pb := q.Items[0]
	o, created, err := env.Svc.PartnerCreateOrder(ctx, bank, counters.CreateOrderInput{PayableID: pb.PayableID, OptionCode: pb.Options[0].Code,
		PeriodFrom: pb.UnpaidPeriods[0], PeriodTo: pb.UnpaidPeriods[0], PartnerTxnID: txn, TerminalID: "T-001", Channel: counters.ChannelBankCounter})
	if err != nil || !created || o.Status != contrib.OrderCreated || o.AmountFen <= 0 {
		t.Fatalf("create: %+v %v %v", o, created, err)
	}
	return o, pb
}

func confirm(env *servicetest.Env, a kernel.PartnerActor, o counters.Order, txn string, fen models.Fen) (counters.Order, error) {
	return env.Svc.PartnerConfirmOrder(context.Background(), a, o.OrderNo, counters.ConfirmInput{PartnerTxnID: txn, PaidFen: fen, PaidAt: env.Clock.Now()})
}

func TestCounterPaysOnceAndRetriesGetTheSameAnswer(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewEnv(t, db)
		j := servicetest.StartJourney(t, env)
		ctx := context.Background()
		o, pb := counterOrder(t, env, "ORD-1")

		// The same request again: the same order; the id on another
		// request: refused.
		again, created, err := env.Svc.PartnerCreateOrder(ctx, bank, counters.CreateOrderInput{PayableID: pb.PayableID, OptionCode: pb.Options[0].Code,
			PeriodFrom: pb.UnpaidPeriods[0], PeriodTo: pb.UnpaidPeriods[0], PartnerTxnID: "ORD-1", TerminalID: "T-001", Channel: counters.ChannelBankCounter})
		if err != nil || created || again.OrderNo != o.OrderNo {
			t.Fatalf("retry: %+v %v %v", again, created, err)
		}
		_, _, err = env.Svc.PartnerCreateOrder(ctx, bank, counters.CreateOrderInput{PayableID: pb.PayableID, OptionCode: pb.Options[0].Code,
			PeriodFrom: pb.UnpaidPeriods[1], PeriodTo: pb.UnpaidPeriods[1], PartnerTxnID: "ORD-1", TerminalID: "T-001", Channel: counters.ChannelBankCounter})
		if !errors.Is(err, models.ErrPartnerTxnReused) {
			t.Fatalf("reused txn: %v", err)
		}
		// A channel the partner may not use.
		_, _, err = env.Svc.PartnerCreateOrder(ctx, bank, counters.CreateOrderInput{PayableID: pb.PayableID, OptionCode: pb.Options[0].Code,
			PeriodFrom: pb.UnpaidPeriods[1], PeriodTo: pb.UnpaidPeriods[1], PartnerTxnID: "ORD-2", TerminalID: "T-001", Channel: counters.ChannelHallPOS})
		if !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("hall_pos for a bank: %v", err)
		}

		// Another partner does not see it; the wrong amount settles
		// nothing and is an anomaly.
		if _, err := confirm(env, other, o, "C-1", o.AmountFen); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("other partner: %v", err)
		}
		if _, err := confirm(env, bank, o, "C-0", o.AmountFen-1); !errors.Is(err, models.ErrPaidAmountMismatch) {
			t.Fatalf("wrong amount: %v", err)
		}
		if n := servicetest.Count(t, db, "anomalies", "order_no = ? AND kind = ?", o.OrderNo, "amount_mismatch"); n != 1 {
			t.Fatalf("%d amount anomalies", n)
		}
		if n := servicetest.Count(t, db, "records", "order_no = ?", o.OrderNo); n != 0 {
			t.Fatalf("wrong amount booked %d records", n)
		}

		// 50 confirmations at once, half under one id, half each under
		// its own: one settles, the same id always gets the same answer.
		var answers [50]counters.Order
		errs := servicetest.Parallel(50, func(i int) error {
			txn := "C-1"
			if i%2 == 1 {
				txn = fmt.Sprintf("C-X%d", i)
			}
			var err error
			answers[i], err = confirm(env, bank, o, txn, o.AmountFen)
			return err
		})
		won := ""
		for i, err := range errs {
			if err == nil {
				if answers[i].Status != contrib.OrderPaid {
					t.Fatalf("answer %d: %+v", i, answers[i])
				}
				if won != "" && won != answers[i].ConfirmTxnID {
					t.Fatalf("two transactions settled: %s and %s", won, answers[i].ConfirmTxnID)
				}
				won = answers[i].ConfirmTxnID
			} else if !errors.Is(err, models.ErrOrderNotPayable) {
				t.Fatalf("confirm %d: %v", i, err)
			}
		}
		if won == "" {
			t.Fatal("nobody settled")
		}
		if n := servicetest.Count(t, db, "records", "order_no = ?", o.OrderNo); n != 1 {
			t.Fatalf("%d records, want 1", n)
		}
		if n := servicetest.Count(t, db, "counter_txns", "op = ? AND order_no = ?", "confirm", o.OrderNo); n != 1 {
			t.Fatalf("%d confirm txns", n)
		}
		// The partner timed out and asks again.
		v, err := confirm(env, bank, o, won, o.AmountFen)
		if err != nil || v.Status != contrib.OrderPaid || v.ConfirmTxnID != won {
			t.Fatalf("retry: %+v %v", v, err)
		}
		// The person's records say where the money was taken.
		recs := servicetest.Records(t, env, j.Sess)
		if len(recs) != 1 || recs[0].Counter == nil || recs[0].Counter.Channel != counters.ChannelBankCounter ||
			recs[0].Counter.PartnerName != bank.Name || recs[0].Counter.TerminalID != "T-001" {
			t.Fatalf("records %+v", recs)
		}
		// It goes on to 入库 and 记账 like any payment.
		env.Clock.Advance(10 * time.Second)
		env.Svc.WorkOnce(ctx)
		env.Svc.WorkOnce(ctx)
		if n := servicetest.Count(t, db, "records", "order_no = ? AND status = ?", o.OrderNo, contrib.RecordBooked); n != 1 {
			t.Fatalf("not booked")
		}
	})
}

func TestCounterReversesTheSameDayBeforeCredit(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewEnv(t, db)
		servicetest.StartJourney(t, env)
		ctx := context.Background()
		o, pb := counterOrder(t, env, "ORD-R1")
		if _, err := confirm(env, bank, o, "C-R1", o.AmountFen); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Svc.PartnerReverseOrder(ctx, other, o.OrderNo, counters.ReverseInput{PartnerTxnID: "R-1"}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("other partner reverses: %v", err)
		}
		v, err := env.Svc.PartnerReverseOrder(ctx, bank, o.OrderNo, counters.ReverseInput{PartnerTxnID: "R-1"})
		if err != nil || v.Status != contrib.OrderReversed {
			t.Fatalf("reverse: %+v %v", v, err)
		}
		if v, err := env.Svc.PartnerReverseOrder(ctx, bank, o.OrderNo, counters.ReverseInput{PartnerTxnID: "R-1"}); err != nil || v.Status != contrib.OrderReversed {
			t.Fatalf("reverse again: %+v %v", v, err)
		}
		if n := servicetest.Count(t, db, "records", "order_no = ?", o.OrderNo); n != 0 {
			t.Fatalf("%d records left", n)
		}
		// The month is payable again: the counter opens and settles it anew.
		o2, _, err := env.Svc.PartnerCreateOrder(ctx, bank, counters.CreateOrderInput{PayableID: pb.PayableID, OptionCode: pb.Options[0].Code,
			PeriodFrom: pb.UnpaidPeriods[0], PeriodTo: pb.UnpaidPeriods[0], PartnerTxnID: "ORD-R2", TerminalID: "T-001", Channel: counters.ChannelBankCounter})
		if err != nil {
			t.Fatalf("month not payable again: %v", err)
		}
		if _, err := confirm(env, bank, o2, "C-R2", o2.AmountFen); err != nil {
			t.Fatal(err)
		}
		// After 入库: refused.
		env.Clock.Advance(3 * time.Second)
		if err := env.Svc.AdvanceCredits(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Svc.PartnerReverseOrder(ctx, bank, o2.OrderNo, counters.ReverseInput{PartnerTxnID: "R-2"}); !errors.Is(err, models.ErrReversalNotAllowed) {
			t.Fatalf("reverse after credit: %v", err)
		}
	})
}

func TestReversalRacesTheCreditWorker(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewEnv(t, db)
		servicetest.StartJourney(t, env)
		ctx := context.Background()
		for round := 0; round < 4; round++ {
			o, _ := counterOrder(t, env, fmt.Sprintf("ORD-RACE%d", round))
			if _, err := confirm(env, bank, o, fmt.Sprintf("C-RACE%d", round), o.AmountFen); err != nil {
				t.Fatal(err)
			}
			env.Clock.Advance(3 * time.Second) // the treasury has credited it
			var revErr error
			servicetest.Parallel(2, func(i int) error {
				if i == 0 {
					_, revErr = env.Svc.PartnerReverseOrder(ctx, bank, o.OrderNo, counters.ReverseInput{PartnerTxnID: fmt.Sprintf("R-RACE%d", round)})
					return nil
				}
				return env.Svc.AdvanceCredits(ctx)
			})
			var ord store.OrderRow
			if err := db.Gorm.Where("order_no = ?", o.OrderNo).Take(&ord).Error; err != nil {
				t.Fatal(err)
			}
			recs := servicetest.Count(t, db, "records", "order_no = ?", o.OrderNo)
			credited := servicetest.Count(t, db, "records", "order_no = ? AND status = ?", o.OrderNo, contrib.RecordCredited)
			switch {
			case revErr == nil && ord.Status == contrib.OrderReversed && recs == 0:
			case errors.Is(revErr, models.ErrReversalNotAllowed) && ord.Status == contrib.OrderPaid && recs == 1 && credited == 1:
			default:
				t.Fatalf("round %d: reverse %v, order %s, %d records (%d credited)", round, revErr, ord.Status, recs, credited)
			}
			if ord.Status == contrib.OrderReversed {
				// Declare the month again next round: nothing holds it.
				continue
			}
			return // the month is paid for good now
		}
	})
}

func TestCounterReconciliation(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewEnv(t, db)
		servicetest.StartJourney(t, env)
		ctx := context.Background()
		o, pb := counterOrder(t, env, "ORD-B1")
		if _, err := confirm(env, bank, o, "C-B1", o.AmountFen); err != nil {
			t.Fatal(err)
		}
		o2, _, err := env.Svc.PartnerCreateOrder(ctx, bank, counters.CreateOrderInput{PayableID: pb.PayableID, OptionCode: pb.Options[0].Code,
			PeriodFrom: pb.UnpaidPeriods[1], PeriodTo: pb.UnpaidPeriods[1], PartnerTxnID: "ORD-B2", TerminalID: "T-001", Channel: counters.ChannelBankCounter})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := confirm(env, bank, o2, "C-B2", o2.AmountFen); err != nil {
			t.Fatal(err)
		}
		day := env.Clock.Now().In(models.Beijing).Format("2006-01-02")
		at := env.Clock.Now().Format(time.RFC3339)
		// o is there with another amount, o2 is missing, and a line we
		// never saw.
		file := counters.ReconHeader + "\n" +
			fmt.Sprintf("C-B1,%s,%d,paid,%s\n", o.OrderNo, o.AmountFen+100, at) +
			fmt.Sprintf("C-ZZ,LB0000000000000000099,500,paid,%s\n", at)
		r, err := env.Svc.PutPartnerReconciliation(ctx, bank, day, []byte(file))
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]string{}
		for _, m := range r.Mismatches {
			kinds[m.Kind] = m.OrderNo
		}
		if len(r.Mismatches) != 3 || kinds[counters.MismatchAmount] != o.OrderNo || kinds[counters.MismatchMissing] != o2.OrderNo ||
			kinds[counters.MismatchExtra] != "LB0000000000000000099" {
			t.Fatalf("mismatches %+v", r.Mismatches)
		}
		anomalies := servicetest.Count(t, db, "anomalies", "source = ?", "partner_recon")
		if anomalies != 3 {
			t.Fatalf("%d anomalies", anomalies)
		}
		// The same file again: nothing new.
		if _, err := env.Svc.PutPartnerReconciliation(ctx, bank, day, []byte(file)); err != nil {
			t.Fatal(err)
		}
		if n := servicetest.Count(t, db, "anomalies", "source = ?", "partner_recon"); n != anomalies {
			t.Fatalf("re-PUT added anomalies: %d", n)
		}
		g, err := env.Svc.GetPartnerReconciliation(ctx, bank, day)
		if err != nil || len(g.Mismatches) != 3 || g.LineCount != 2 {
			t.Fatalf("get %+v %v", g, err)
		}
		if _, err := env.Svc.GetPartnerReconciliation(ctx, other, day); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("other partner's day: %v", err)
		}
		if _, err := env.Svc.PutPartnerReconciliation(ctx, bank, day, []byte("a,b\n")); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("bad header: %v", err)
		}
	})
}

func TestConcurrentRetriesOfAnOrderGetOneOrder(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewEnv(t, db)
		servicetest.StartJourney(t, env)
		ctx := context.Background()
		me := servicetest.Person(t, "张三明")
		q, err := env.Svc.PartnerQueryPayables(ctx, bank, counters.QueryInput{Name: me.Name, IDNumber: me.IDNumber})
		if err != nil {
			t.Fatal(err)
		}
		pb := q.Items[0]
		in := counters.CreateOrderInput{PayableID: pb.PayableID, OptionCode: pb.Options[0].Code, PeriodFrom: pb.UnpaidPeriods[0],
			PeriodTo: pb.UnpaidPeriods[0], PartnerTxnID: "ORD-C1", TerminalID: "T-001", Channel: counters.ChannelBankCounter}
		var nos [10]string
		errs := servicetest.Parallel(10, func(i int) error {
			o, _, err := env.Svc.PartnerCreateOrder(ctx, bank, in)
			nos[i] = o.OrderNo
			return err
		})
		for i, err := range errs {
			if err != nil || nos[i] != nos[0] {
				t.Fatalf("request %d: %s %v (first %s)", i, nos[i], err, nos[0])
			}
		}
		if n := servicetest.Count(t, db, "orders", "partner_order_txn = ?", "ORD-C1"); n != 1 {
			t.Fatalf("%d orders", n)
		}
	})
}
