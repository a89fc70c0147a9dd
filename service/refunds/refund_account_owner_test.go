package refunds_test

import (
	"context"
	"errors"
	"testing"

	"github.com/lianban/lianban/channels/bank/bankfake"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// One bank account takes a whole application, so a payer's account may
// take it only when that payer paid all of it: otherwise one payer's
// account would receive what another payer paid.
func TestABankRefundOfTwoPayersMoneyGoesOnlyToThePersonsAccount(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnvWith(t, db, func(d *service.Deps, _ *service.Options) {
			d.Bank = bankfake.NewForTest(t, nil).Client()
		})
		j := servicetest.StartJourney(t, env)
		zhang, zhao, li := servicetest.Person(t, "张三明"), servicetest.Person(t, "赵海峰"), servicetest.Person(t, "李秀英")
		byName := people.PersonRef{Name: zhang.Name, IDNumber: zhang.IDNumber}
		friend := env.LoginVerified(t, "zhao", zhao.Name, zhao.IDNumber)
		aunt := env.LoginVerified(t, "li", li.Name, li.IDNumber)
		nov := payMonth(t, env, friend, byName, "202611")
		dec := payMonth(t, env, aunt, byName, "202612")
		both := refunds.RefundInput{Person: servicetest.Self, Scheme: models.SchemeFlexiblePension, Periods: []string{"202611", "202612"},
			RefundFen: nov.AmountFen + dec.AmountFen, Reason: models.ReasonOverpaid}
		for _, name := range []string{zhao.Name, li.Name} {
			both.BankAccount = &models.BankAccount{BankName: "中国银行", AccountName: name, AccountNo: "6216610200007777777"}
			if _, err := env.Svc.CreateRefund(ctx, j.Sess.UserID, both); !errors.Is(err, models.ErrBankAccountInvalid) {
				t.Fatalf("two payers' money to %s's account: %v", name, err)
			}
		}
		// November alone is the friend's money: his account may take it.
		novOnly := refunds.RefundInput{Person: servicetest.Self, Scheme: models.SchemeFlexiblePension, Periods: []string{"202611"},
			RefundFen: nov.AmountFen, Reason: models.ReasonOverpaid,
			BankAccount: &models.BankAccount{BankName: "中国银行", AccountName: zhao.Name, AccountNo: "6216610200007777777"}}
		r, err := env.Svc.CreateRefund(ctx, j.Sess.UserID, novOnly)
		if err != nil {
			t.Fatalf("the friend's own money to his account: %v", err)
		}
		if _, err := env.Svc.WithdrawRefund(ctx, j.Sess.UserID, r.RefundNo); err != nil {
			t.Fatal(err)
		}
		// Both months to the person's own account.
		both.BankAccount = &models.BankAccount{BankName: "中国银行", AccountName: zhang.Name, AccountNo: "6216610200008888888"}
		if _, err := env.Svc.CreateRefund(ctx, j.Sess.UserID, both); err != nil {
			t.Fatalf("two payers' money to the person's account: %v", err)
		}
	})
}

// A payer who may not see the person's records sees an application on
// their money, not the person's account of why or the papers filed with it.
func TestAPayerDoesNotSeeThePersonsPapersInAnApplication(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		j := servicetest.StartJourney(t, env)
		zhang, zhao := servicetest.Person(t, "张三明"), servicetest.Person(t, "赵海峰")
		friend := env.LoginVerified(t, "zhao", zhao.Name, zhao.IDNumber)
		nov := payMonth(t, env, friend, people.PersonRef{Name: zhang.Name, IDNumber: zhang.IDNumber}, "202611")
		r := servicetest.Apply(t, env, j.Sess, refunds.RefundInput{Scheme: models.SchemeFlexiblePension, Periods: []string{"202611"},
			RefundFen: nov.AmountFen, ReasonDetail: "本人已在单位参保，住址呼和浩特市新城区",
			Attachments: []models.Attachment{{Kind: models.AttachIdentity, Name: "身份证.jpg", Ref: "att-identity-1"}}})
		if r.ReasonDetail == "" || len(r.Attachments) != 1 {
			t.Fatalf("the person's own view: %+v", r)
		}
		v, err := env.Svc.GetRefund(ctx, friend.UserID, r.RefundNo)
		if err != nil || v.ReasonDetail != "" || len(v.Attachments) != 0 || v.Attachments == nil {
			t.Fatalf("the payer's view: %+v %v", v, err)
		}
		list, _, err := env.Svc.ListRefunds(ctx, friend.UserID, kernel.Page{Size: 10})
		if err != nil || len(list) != 1 || list[0].ReasonDetail != "" || len(list[0].Attachments) != 0 {
			t.Fatalf("the payer's list: %+v %v", list, err)
		}
	})
}
