//go:build faults || soak

package faults

import (
	"context"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/pquerna/otp/totp"
)

// The sandbox hall's accounts (cmd/lianban/staff.go): one password, one
// TOTP secret.
const (
	staffPassword = "sandbox-password"
	staffTOTP     = "JBSWY3DPEHPK3PXP"
)

// refundJob is a payer asking back all of one paid month.
type refundJob struct {
	p       *payer
	orderNo string
	amount  int64
	paidAt  time.Time
	// hold, when set, keeps the execution (the one step that calls the
	// channel) until it is closed, so a scenario can time it into its fault.
	hold <-chan struct{}
}

// hall is the tax window (tax1) and the 社保 reviewer (si1), who take a
// refund application through its steps: accept, review, execute.
type hall struct {
	mu       sync.Mutex
	tax, si  *payer
	lastStep map[string]int64 // the TOTP step each account last logged in with
}

// refunder takes the queued refunds through the hall while ctx runs.
func (d *driver) refunder(ctx context.Context) {
	for {
		select {
		case j := <-d.urgent: // a scenario's own refund goes first
			d.refund(ctx, j)
			continue
		default:
		}
		select {
		case <-ctx.Done():
			return
		case j := <-d.urgent:
			d.refund(ctx, j)
		case j := <-d.refunds:
			d.refund(ctx, j)
		}
	}
}

// refundDuringFault pays a month for a new payer and queues its refund
// ahead of the others, to be executed when hold closes.
func (d *driver) refundDuringFault(ctx context.Context, hold <-chan struct{}) {
	r := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for ctx.Err() == nil {
		p, ok := d.newPayer(ctx, r)
		if !ok {
			continue
		}
		no, ok := d.openOrder(ctx, p)
		if !ok || !d.payAtCashier(no) {
			continue
		}
		o, _ := d.c.wx.Order(no)
		d.urgent <- refundJob{p: p, orderNo: no, amount: int64(o.Amount), paidAt: o.PaidAt, hold: hold}
		return
	}
}

func (d *driver) refund(ctx context.Context, j refundJob) {
	var r struct {
		RefundNo string `json:"refund_no"`
	}
	// No bank account: the money goes back through WeChat Pay, whose
	// books the invariant reads (a bank transfer would go to the
	// instance's in-process fake bank, which nothing outside can see).
	body := map[string]any{"person": "self", "scheme": "flexible_pension", "order_no": j.orderNo, "refund_fen": j.amount,
		"reason": "overpaid", "reason_detail": "多缴"}
	// Only money credited to the treasury can be asked back; the worker
	// credits it a moment after the payment settles (its interval, 1 s,
	// plus the sandbox treasury's delay). Asking earlier is refused with
	// 422 REFUND_NOT_CREDITED, which a payer would not see: the app offers
	// refunds on credited months only.
	sleep(ctx, time.Until(j.paidAt.Add(2500*time.Millisecond)))
	created := false
	for try := 0; try < 20 && ctx.Err() == nil && !created; try++ {
		if try > 0 {
			sleep(ctx, time.Second)
		}
		created = d.step(ctx, j.p, "createRefund", "POST", "/api/v1/refunds", body, newKey(), &r, false)
	}
	if !created {
		return
	}
	tax, si := d.staff(ctx, "tax1"), d.staff(ctx, "si1")
	if tax == nil || si == nil {
		return
	}
	base := "/api/v1/staff/refunds/" + r.RefundNo
	if !d.step(ctx, tax, "acceptRefund", "POST", base+"/accept", map[string]any{}, "", nil, true) ||
		!d.step(ctx, si, "reviewRefund", "POST", base+"/review", map[string]any{"approve": true}, "", nil, true) {
		return
	}
	if j.hold != nil {
		select {
		case <-j.hold:
		case <-ctx.Done():
			return
		}
	}
	if !d.step(ctx, tax, "executeRefund", "POST", base+"/execute", map[string]any{}, "", nil, true) {
		return
	}
	d.tl.Load().refunded.Add(1)
}

// staff is the logged-in session of a hall account, logging in when there
// is none (the first time, or after Redis lost the sessions).
func (d *driver) staff(ctx context.Context, username string) *payer {
	d.hall.mu.Lock()
	defer d.hall.mu.Unlock()
	p := d.hall.tax
	if username == "si1" {
		p = d.hall.si
	}
	if p != nil && p.token != "" {
		return p
	}
	p = &payer{staff: username, ip: "10.255.0.1"}
	if !d.staffLogin(ctx, p) {
		return nil
	}
	if username == "si1" {
		d.hall.si = p
	} else {
		d.hall.tax = p
	}
	return p
}

// staffLogin logs a hall account in. A TOTP code works once, and failed
// logins lock the account, so every attempt that may have reached the
// server uses up its 30-second step: the next waits for a new code.
func (d *driver) staffLogin(ctx context.Context, p *payer) bool {
	for ctx.Err() == nil {
		now := time.Now()
		step := now.Unix() / 30
		if step <= d.hall.lastStep[p.staff] {
			sleep(ctx, time.Until(time.Unix((d.hall.lastStep[p.staff]+1)*30, 0)))
			continue
		}
		code, err := totp.GenerateCode(staffTOTP, now)
		if err != nil {
			return false
		}
		d.hall.lastStep[p.staff] = step
		var s struct{ Token string }
		p.token = ""
		status, b, err := d.send(p, "POST", "/api/v1/staff/sessions", map[string]string{"username": p.staff, "password": staffPassword, "totp": code}, "")
		tl := d.tl.Load()
		if err == nil && (status == http.StatusCreated || status == http.StatusOK) {
			tl.served.Add(1)
			if jsonInto(b, &s) == nil && s.Token != "" {
				p.token = s.Token
				return true
			}
		}
		tl.fail("staffLogin", statusText(status, err))
	}
	return false
}
