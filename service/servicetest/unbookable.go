package servicetest

import (
	"net/http"

	"github.com/lianban/lianban/service/contrib"
)

// OpenH5 is the payer opening an Alipay H5 cashier URL: only then does the
// trade exist at Alipay.
func (r *Rig) OpenH5(p contrib.Payment) {
	r.T.Helper()
	resp, err := http.Get(p.PayParams["url"])
	if err != nil || resp.StatusCode != http.StatusOK {
		r.T.Fatalf("opening the H5 cashier: %v %v", resp, err)
	}
	resp.Body.Close()
}

// Money checks the money invariants on the rig's database.
func (r *Rig) Money() {
	r.T.Helper()
	CheckMoney(r.T, r.DB, MoneyFakes{Wechat: r.Wechat, Alipay: r.Alipay})
}
