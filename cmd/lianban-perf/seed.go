package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// client talks to the server as a phone would, keeping connections alive.
type client struct {
	base string
	http *http.Client
	// ipPrefix makes this run's X-Forwarded-For addresses its own, so a
	// shared Redis's rate-limit windows of an earlier run do not apply.
	ipPrefix [2]byte
	mu       sync.Mutex
	nextIP   int
	// nextID numbers the run's people, for ID numbers of their own.
	nextID int
}

func newClient(base string, conns int) *client {
	tr := &http.Transport{MaxIdleConns: 4 * conns, MaxIdleConnsPerHost: 4 * conns, IdleConnTimeout: time.Minute}
	c := &client{base: base, http: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
	_, _ = rand.Read(c.ipPrefix[:])
	return c
}

// newIP is a client address of its own for one person.
func (c *client) newIP() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextIP++
	return fmt.Sprintf("10.%d.%d.%d", c.ipPrefix[0], c.nextIP/256%256, c.nextIP%256)
}

// newIDNumber is an ID number no one else in this run has.
func (c *client) newIDNumber() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextID++
	return idNumber(c.nextID)
}

// person is one seeded user who bound a real name and enrolled in the
// flexible-worker pension, with the months still unpaid.
type person struct {
	Token     string
	IP        string
	PayableID string
	Periods   []string // unpaid months, oldest first
	Orders    []string // settled orders
}

// population is what the seeding made.
type population struct {
	People []*person
	Big    *person // the person given -big-rows records and payments
	// CertPeople are the people issueCertificate issues for, made only
	// when that case runs: the server's limit of 30 certificates per user
	// an hour would turn a fast run on the 25 people into 429s.
	CertPeople []*person
	// BigRecordsMid and BigPaymentsMid are page tokens from the middle of
	// Big's lists: the 10k cases fetch the first page and that one, so the
	// figure shows whether a page deep in the list costs what the first does.
	BigRecordsMid, BigPaymentsMid string
}

// call sends one JSON request and decodes a 2xx answer into out.
func (c *client) call(ctx context.Context, p *person, method, path string, body any, out any) error {
	var raw []byte
	h := map[string]string{}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		raw = b
		h["Content-Type"] = "application/json"
	}
	if p != nil {
		if p.Token != "" {
			h["Authorization"] = "Bearer " + p.Token
		}
		h["X-Forwarded-For"] = p.IP
	}
	return c.send(ctx, method, path, h, raw, out)
}

// send makes one request with these headers and body (none when nil) and
// decodes a 2xx answer into out (when not nil); any other status is an
// error carrying the answer.
func (c *client) send(ctx context.Context, method, path string, header map[string]string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %.300s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

var names = []string{"张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周婷", "吴斌", "徐丽", "孙浩", "马超", "朱琳", "胡军", "郭蕾"}

// idNumber is the n-th of this run's resident ID numbers: valid 18-digit
// numbers (GB 11643 check digit) of people born in Hohhot between 1975
// and 1994, so of working age and eligible for the flexible-worker
// pension. They are numbered, not drawn at random: a run makes thousands
// of people, and two random draws of the same number under different
// names are refused as IDENTITY_MISMATCH, as they should be. The sequence
// digits (600–999, above the sandbox's demo people's) go round first, so
// neighbours alternate between men and women (the 17th digit), and the
// birthdays are spread over the twenty years by a stride coprime to
// their count; no two n below 400 × 7,300 share a number.
func idNumber(n int) string {
	const days, seqs = 365 * 20, 400
	q, r := n/seqs, n%seqs
	// q ↦ day is one to one for each r: 1 + 400·7919 is coprime to 7,300.
	day := (q + n*7919) % days
	birth := time.Date(1975, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, day)
	s := "150102" + birth.Format("20060102") + fmt.Sprintf("%03d", 600+r)
	return s + string(checkDigit(s))
}

// checkDigit is the ISO 7064 MOD 11-2 check character of an ID number's
// first 17 digits.
func checkDigit(first17 string) byte {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(first17[i]-'0') * w
	}
	return "10X98765432"[sum%11]
}

// newPerson logs a new user in through the sandbox, binds a real name,
// enrols them and reads what they owe: the README walk-through's first
// steps.
func (c *client) newPerson(ctx context.Context, r *mrand.Rand) (*person, error) {
	p := &person{IP: c.newIP()}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	var sess struct{ Token string }
	if err := c.call(ctx, p, "POST", "/api/v1/sessions/sandbox", map[string]string{"subject": "perf-" + hex.EncodeToString(b)}, &sess); err != nil {
		return nil, err
	}
	p.Token = sess.Token
	id := map[string]string{"name": names[r.IntN(len(names))], "id_number": c.newIDNumber(), "phone": fmt.Sprintf("138%08d", r.IntN(1e8))}
	if err := c.call(ctx, p, "POST", "/api/v1/me/identity", id, nil); err != nil {
		return nil, err
	}
	if err := c.call(ctx, p, "POST", "/api/v1/enrolments", map[string]string{"person": "self", "scheme": "flexible_pension", "region_code": "150100"}, nil); err != nil {
		return nil, err
	}
	var pay struct {
		Items []struct {
			PayableID     string   `json:"payable_id"`
			Scheme        string   `json:"scheme"`
			UnpaidPeriods []string `json:"unpaid_periods"`
		}
	}
	if err := c.call(ctx, p, "POST", "/api/v1/payables/query", map[string]string{"person": "self"}, &pay); err != nil {
		return nil, err
	}
	for _, it := range pay.Items {
		if it.Scheme == "flexible_pension" && len(it.UnpaidPeriods) > 0 {
			p.PayableID, p.Periods = it.PayableID, it.UnpaidPeriods
			return p, nil
		}
	}
	return nil, errors.New("a new person has no unpaid flexible_pension month to declare")
}

// stepTimes are how long the three money steps of one month took.
type stepTimes struct{ Declare, Pay, Settle time.Duration }

// payMonth declares the person's oldest unpaid month, opens a sandbox
// order for it and pays it at the sandbox cashier, which settles it: the
// walk-through's money steps, one month at a time. failed names the step
// that failed.
func (c *client) payMonth(ctx context.Context, p *person) (t stepTimes, failed string, err error) {
	if len(p.Periods) == 0 {
		return t, "createDeclaration", errors.New("no unpaid month left")
	}
	month := p.Periods[0]
	start := time.Now()
	var d struct {
		DeclarationID string `json:"declaration_id"`
	}
	err = c.call(ctx, p, "POST", "/api/v1/declarations", map[string]string{"payable_id": p.PayableID, "option_code": "grade_60", "period_from": month, "period_to": month}, &d)
	t.Declare = time.Since(start)
	if err != nil {
		return t, "createDeclaration", err
	}
	p.Periods = p.Periods[1:]
	start = time.Now()
	var o struct {
		OrderNo string `json:"order_no"`
	}
	err = c.call(ctx, p, "POST", "/api/v1/payments", map[string]string{"declaration_id": d.DeclarationID, "channel": "sandbox"}, &o)
	t.Pay = time.Since(start)
	if err != nil {
		return t, "createPayment", err
	}
	// The payer pays at the sandbox cashier, which hands back the signed
	// notification instead of delivering it; what is timed as settling is
	// that notification's delivery alone, as a provider's would arrive.
	var held struct {
		Notification struct {
			URL     string            `json:"url"`
			Headers map[string]string `json:"headers"`
			Body    string            `json:"body"`
		} `json:"notification"`
	}
	if err = c.call(ctx, nil, "POST", "/sandbox/pay/"+o.OrderNo, map[string]any{"result": "success", "deliver": false}, &held); err != nil {
		return t, "sandboxPay", err
	}
	n := held.Notification
	u, err := url.Parse(n.URL)
	if err != nil {
		return t, "sandboxPay", err
	}
	start = time.Now()
	err = c.send(ctx, "POST", u.Path, n.Headers, []byte(n.Body), nil)
	t.Settle = time.Since(start)
	if err != nil {
		return t, "notify", err
	}
	p.Orders = append(p.Orders, o.OrderNo)
	return t, "", nil
}

// seed makes n people with one paid month each, 8 at a time.
func seed(ctx context.Context, c *client, n int) (*population, error) {
	pop := &population{People: make([]*person, n)}
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), uint64(i)))
			p, err := c.newPerson(ctx, r)
			if err == nil {
				_, _, err = c.payMonth(ctx, p)
			}
			pop.People[i], errs[i] = p, err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return pop, nil
}

// trimErr keeps an error short enough for one report line.
func trimErr(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 160 {
		s = s[:160]
	}
	return s
}
