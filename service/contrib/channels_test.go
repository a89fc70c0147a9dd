package contrib_test

import (
	"context"
	"testing"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

func TestPayingThroughWechatEndToEnd(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewChannelEnv(t, db, nil)
		sess, p := servicetest.ChannelJourney(t, env, models.ChannelWechat, "wx-code-1", false)
		for _, k := range []string{"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"} {
			if p.PayParams[k] == "" {
				t.Fatalf("pay_params lacks %s: %v", k, p.PayParams)
			}
		}
		if err := env.Wechat.Pay(p.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		servicetest.WaitPaid(t, db, p.OrderNo)
		recs := servicetest.Records(t, env, sess)
		if len(recs) != 1 || recs[0].Status != "paid" || recs[0].AmountFen != p.AmountFen {
			t.Fatalf("records %+v", recs)
		}
	})
}

func TestPayingThroughAlipayEndToEnd(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewChannelEnv(t, db, nil)
		sess, p := servicetest.ChannelJourney(t, env, models.ChannelAlipay, "ali-code-1", false)
		if p.PayParams["trade_no"] == "" {
			t.Fatalf("pay_params %v", p.PayParams)
		}
		if err := env.Alipay.Pay(p.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		servicetest.WaitPaid(t, db, p.OrderNo)
		if recs := servicetest.Records(t, env, sess); len(recs) != 1 || recs[0].Status != "paid" {
			t.Fatalf("records %+v", recs)
		}
	})
}

// TestAWechatUserBindsTheirPhoneFromAGetPhoneNumberCode: the phone is read
// from WeChat server-side and shown only masked.
func TestAWechatUserBindsTheirPhoneFromAGetPhoneNumberCode(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	env := servicetest.NewChannelEnv(t, db, nil)
	ctx := context.Background()
	env.Wechat.AddPhone("phone-code-1", "13912345678")
	res, err := env.Svc.Login(ctx, models.ChannelWechat, "wx-phone")
	if err != nil {
		t.Fatal(err)
	}
	me := servicetest.Person(t, "张三明")
	u, err := env.Svc.VerifyIdentity(ctx, res.User.UserID, people.IdentityInput{Name: me.Name, IDNumber: me.IDNumber, PhoneCode: "phone-code-1"})
	if err != nil {
		t.Fatal(err)
	}
	if u.PhoneMasked != "139****5678" {
		t.Fatalf("phone %q", u.PhoneMasked)
	}
}
