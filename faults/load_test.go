//go:build faults || soak

package faults

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// tally counts what one scenario's load saw: every HTTP request the
// journey sent, answered 2xx (served) or not (failed: an error status,
// a cut connection, a timeout), and the failures by step and status.
type tally struct {
	served, failed atomic.Int64
	paid           atomic.Int64 // payments the payer made at the cashier
	refunded       atomic.Int64 // refunds the hall executed
	mu             sync.Mutex
	why            map[string]int
	took           []time.Duration // every request's time, answered or not
}

func (t *tally) observe(d time.Duration) {
	t.mu.Lock()
	t.took = append(t.took, d)
	t.mu.Unlock()
}

// latency is the median, 99th percentile and slowest request.
func (t *tally) latency() (p50, p99, max time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.took) == 0 {
		return 0, 0, 0
	}
	s := append([]time.Duration(nil), t.took...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2], s[len(s)*99/100], s[len(s)-1]
}

func newTally() *tally { return &tally{why: map[string]int{}} }

func (t *tally) fail(step, reason string) {
	if os.Getenv("FAULTS_DEBUG") != "" {
		fmt.Printf("%s fail %s %s\n", time.Now().Format("15:04:05.000"), step, reason)
	}
	t.failed.Add(1)
	t.mu.Lock()
	t.why[step+" "+reason]++
	t.mu.Unlock()
}

// reasons is the failures, most frequent first, for the report.
func (t *tally) reasons(max int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	type kv struct {
		k string
		n int
	}
	var all []kv
	for k, n := range t.why {
		all = append(all, kv{k, n})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n || all[i].n == all[j].n && all[i].k < all[j].k })
	var parts []string
	for i, e := range all {
		if i == max {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", e.k, e.n))
	}
	return strings.Join(parts, ", ")
}

// driver plays many payers against the balancer: each logs in with
// WeChat, binds a real name, enrols in the flexible-worker pension and
// then pays month after month (declare, open a WeChat Pay order, pay at
// the cashier). A failed step is retried as a client would, with the same
// Idempotency-Key.
type driver struct {
	c    *cluster
	hc   *http.Client
	tl   atomic.Pointer[tally]
	ip   [2]byte
	next atomic.Int64

	mu     sync.Mutex
	orders map[string]bool // every order number opened; true once paid at the cashier

	// refundEvery is one refund (of a whole month) per so many payments;
	// 0 makes none.
	refundEvery int
	refunds     chan refundJob
	urgent      chan refundJob
	hall        hall
}

func newDriver(c *cluster) *driver {
	d := &driver{c: c, orders: map[string]bool{}, refunds: make(chan refundJob, 64), urgent: make(chan refundJob, 4), hall: hall{lastStep: map[string]int64{}},
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	_, _ = rand.Read(d.ip[:])
	d.tl.Store(newTally())
	return d
}

// payer is one person on one phone.
type payer struct {
	staff           string // a hall account's username; "" for a payer
	code, ip, token string
	payableID       string
	periods         []string
}

// run drives workers payers until ctx ends, each pausing pace between
// months, and returns when every worker has stopped.
func (d *driver) run(ctx context.Context, workers int, pace time.Duration) {
	var wg sync.WaitGroup
	if d.refundEvery > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); d.refunder(ctx) }()
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), uint64(w)))
			// Payers do not move in step: each starts and pauses at
			// random, so a fault finds them at every step of the journey.
			sleep(ctx, time.Duration(r.Int64N(int64(time.Second))))
			for ctx.Err() == nil {
				p, ok := d.newPayer(ctx, r)
				if !ok {
					continue
				}
				for months := 0; months < 6 && len(p.periods) > 0 && ctx.Err() == nil; months++ {
					d.payMonth(ctx, p)
					sleep(ctx, pace/2+time.Duration(r.Int64N(int64(pace))))
				}
			}
		}()
	}
	wg.Wait()
}

func (d *driver) newPayer(ctx context.Context, r *mrand.Rand) (*payer, bool) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	n := d.next.Add(1)
	p := &payer{code: "fault-" + hex.EncodeToString(b), ip: fmt.Sprintf("10.%d.%d.%d", d.ip[0], n/256%256, n%256)}
	if !d.login(ctx, p) {
		return nil, false
	}
	id := map[string]string{"name": names[r.IntN(len(names))], "id_number": idNumber(r), "phone": fmt.Sprintf("139%08d", r.IntN(1e8))}
	if !d.step(ctx, p, "bindIdentity", "POST", "/api/v1/me/identity", id, "", nil, true) {
		return nil, false
	}
	enrol := map[string]string{"person": "self", "scheme": "flexible_pension", "region_code": "150100"}
	if !d.step(ctx, p, "enrol", "POST", "/api/v1/enrolments", enrol, "", nil, true) {
		return nil, false
	}
	var pay struct {
		Items []struct {
			PayableID     string   `json:"payable_id"`
			Scheme        string   `json:"scheme"`
			UnpaidPeriods []string `json:"unpaid_periods"`
		}
	}
	if !d.step(ctx, p, "queryPayables", "POST", "/api/v1/payables/query", map[string]string{"person": "self"}, "", &pay, false) {
		return nil, false
	}
	for _, it := range pay.Items {
		if it.Scheme == "flexible_pension" && len(it.UnpaidPeriods) > 0 {
			p.payableID, p.periods = it.PayableID, it.UnpaidPeriods
			return p, true
		}
	}
	return nil, false
}

func (d *driver) login(ctx context.Context, p *payer) bool {
	var s struct{ Token string }
	if !d.step(ctx, p, "login", "POST", "/api/v1/sessions/wechat", map[string]string{"code": p.code}, "", &s, false) {
		return false
	}
	p.token = s.Token
	return true
}

// payMonth pays the payer's oldest unpaid month.
func (d *driver) payMonth(ctx context.Context, p *payer) {
	no, ok := d.openOrder(ctx, p)
	if !ok {
		return
	}
	if !d.payAtCashier(no) {
		return
	}
	// The mini-program polls once on return from the cashier: notification
	// and query race, as they do for real.
	sleep(ctx, 200*time.Millisecond)
	d.step(ctx, p, "getPayment", "GET", "/api/v1/payments/"+no, nil, "", nil, false)
	if d.refundEvery > 0 && d.tl.Load().paid.Load()%int64(d.refundEvery) == 0 {
		if o, ok := d.c.wx.Order(no); ok {
			select {
			case d.refunds <- refundJob{p: p, orderNo: no, amount: int64(o.Amount), paidAt: o.PaidAt}:
			default: // the hall is busy; this month stays paid
			}
		}
	}
}

// openOrder declares the payer's oldest unpaid month and opens a WeChat
// Pay order for it.
func (d *driver) openOrder(ctx context.Context, p *payer) (string, bool) {
	month := p.periods[0]
	p.periods = p.periods[1:]
	var decl struct {
		DeclarationID string `json:"declaration_id"`
	}
	body := map[string]string{"payable_id": p.payableID, "option_code": "grade_60", "period_from": month, "period_to": month}
	if !d.step(ctx, p, "createDeclaration", "POST", "/api/v1/declarations", body, newKey(), &decl, false) {
		return "", false
	}
	var o struct {
		OrderNo string `json:"order_no"`
	}
	if !d.step(ctx, p, "createPayment", "POST", "/api/v1/payments", map[string]string{"declaration_id": decl.DeclarationID, "channel": "wechat"}, newKey(), &o, false) {
		return "", false
	}
	d.mu.Lock()
	d.orders[o.OrderNo] = false
	d.mu.Unlock()
	return o.OrderNo, true
}

// payAtCashier is the payer paying at WeChat's cashier; from here the
// money is the channel's to report and ours to settle, whatever fails next.
func (d *driver) payAtCashier(no string) bool {
	if err := d.c.wx.Pay(no, true); err != nil {
		d.tl.Load().fail("cashier", trim(err.Error()))
		return false
	}
	d.tl.Load().paid.Add(1)
	d.mu.Lock()
	d.orders[no] = true
	d.mu.Unlock()
	return true
}

// openOrders opens n orders, each the first month of a new payer, for a
// scenario to pay at the cashier at the moment of its fault, so that
// their notifications arrive in it.
func (d *driver) openOrders(ctx context.Context, n int) []string {
	r := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 99))
	var out []string
	for len(out) < n && ctx.Err() == nil {
		p, ok := d.newPayer(ctx, r)
		if !ok {
			continue
		}
		if no, ok := d.openOrder(ctx, p); ok {
			out = append(out, no)
		}
	}
	return out
}

// step sends one request, retrying while the answer is a server error, a
// cut connection or 429, for as long as the load runs; after a 401 (the
// session was in the Redis that died) the payer logs in again first.
// okConflict counts a 409 as done (a retry of a step whose first attempt
// went through). It reports whether the step succeeded.
func (d *driver) step(ctx context.Context, p *payer, name, method, path string, body any, key string, out any, okConflict bool) bool {
	// A person takes a moment between screens, so a fault finds payers
	// at every step rather than only at the ones that follow a pause.
	sleep(ctx, time.Duration(mrand.Int64N(int64(80*time.Millisecond))))
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if ctx.Err() != nil {
				return false
			}
			sleep(ctx, time.Duration(min(attempt, 10))*100*time.Millisecond)
		}
		start := time.Now()
		status, b, err := d.send(p, method, path, body, key)
		tl := d.tl.Load()
		tl.observe(time.Since(start))
		switch {
		case err != nil:
			tl.fail(name, "conn")
			continue
		case status/100 == 2:
			tl.served.Add(1)
			if out != nil {
				_ = json.Unmarshal(b, out)
			}
			return true
		case status == http.StatusConflict && okConflict:
			tl.served.Add(1)
			return true
		case status == http.StatusConflict && bytes.Contains(b, []byte("REQUEST_IN_PROGRESS")):
			// The attempt before this one claimed the key and could not
			// release it (its database went away, or its instance died):
			// the key stays claimed for IdempotencyAbandonAfter (2 min).
			// The payer gives this month up for now; no money moved.
			tl.fail(name, "409 REQUEST_IN_PROGRESS")
			return false
		}
		tl.fail(name, fmt.Sprint(status))
		if os.Getenv("FAULTS_DEBUG") != "" {
			fmt.Printf("  %s %s → %d %.300s\n", method, path, status, b)
		}
		switch {
		case status == http.StatusUnauthorized && p.staff != "":
			if !d.staffLogin(ctx, p) {
				return false
			}
		case status == http.StatusUnauthorized && path != "/api/v1/sessions/wechat":
			if !d.login(ctx, p) {
				return false
			}
		case status == http.StatusTooManyRequests || status >= 500:
		default:
			return false // the request itself is refused: retrying changes nothing
		}
	}
}

func (d *driver) send(p *payer, method, path string, body any, key string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, d.c.lb.URL()+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	req.Header.Set("X-Forwarded-For", p.ip)
	resp, err := d.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// paidOrders is the orders the payer paid at the cashier, and all opened.
func (d *driver) paidOrders() (paid []string, opened int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for no, ok := range d.orders {
		if ok {
			paid = append(paid, no)
		}
	}
	return paid, len(d.orders)
}

func jsonInto(b []byte, v any) error { return json.Unmarshal(b, v) }

func statusText(status int, err error) string {
	if err != nil {
		return "conn"
	}
	return fmt.Sprint(status)
}

func newKey() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func trim(s string) string {
	if len(s) > 60 {
		return s[:60]
	}
	return s
}

var names = []string{"张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周婷", "吴斌", "徐丽", "孙浩"}

// idNumber is a valid resident ID number (GB 11643 check digit) of someone
// born in Hohhot between 1975 and 1994, so eligible for the pension.
func idNumber(r *mrand.Rand) string {
	birth := time.Date(1975, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(365*20))
	s := "150102" + birth.Format("20060102") + fmt.Sprintf("%03d", r.IntN(1000))
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(s[i]-'0') * w
	}
	return s + string("10X98765432"[sum%11])
}
