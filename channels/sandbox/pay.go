package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/lianban/lianban/models"
)

// Pay is the sandbox payment provider. Its wire protocol is small but real:
// notifications are JSON signed with HMAC-SHA256 over "timestamp\nbody"
// (header Lianban-Sandbox-Timestamp and Lianban-Sandbox-Signature), and a
// notification older than five minutes is refused like WeChat's.
type Pay struct {
	key       []byte
	cashier   string // base URL of the cashier page, e.g. http://host/sandbox/pay/
	notifyURL string
	clock     models.Clock
	hc        *http.Client

	mu     sync.Mutex
	orders map[string]*trade
}

type trade struct {
	orderNo string
	amount  models.Fen
	state   models.TradeState
	txn     string
	paidAt  time.Time
	refunds map[string]models.Fen
}

// NewPay returns a sandbox provider with a fresh signing key.
func NewPay(cashierBase, notifyURL string, clock models.Clock, hc *http.Client) *Pay {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Pay{key: key, cashier: cashierBase, notifyURL: notifyURL, clock: clock, hc: hc, orders: map[string]*trade{}}
}

var _ models.PaymentChannel = (*Pay)(nil)

// Name implements models.PaymentChannel.
func (p *Pay) Name() string { return models.ChannelSandbox }

// Prepay opens the order and returns the cashier URL.
func (p *Pay) Prepay(ctx context.Context, req models.PrepayRequest) (models.PayParams, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.orders[req.OrderNo]; ok && t.amount != req.Amount {
		return nil, models.ErrInvalid.WithReason("订单号重复但金额不同")
	}
	if _, ok := p.orders[req.OrderNo]; !ok {
		p.orders[req.OrderNo] = &trade{orderNo: req.OrderNo, amount: req.Amount, state: models.TradePaying, refunds: map[string]models.Fen{}}
	}
	return models.PayParams{"cashier_url": p.cashier + req.OrderNo}, nil
}

// Query implements models.PaymentChannel.
func (p *Pay) Query(ctx context.Context, orderNo string) (models.Trade, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.orders[orderNo]
	if !ok {
		return models.Trade{OrderNo: orderNo, State: models.TradePaying}, nil
	}
	return models.Trade{OrderNo: orderNo, State: t.state, Amount: t.amount, TransactionID: t.txn, PaidAt: t.paidAt}, nil
}

// Close implements models.PaymentChannel.
func (p *Pay) Close(ctx context.Context, orderNo string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.orders[orderNo]
	if !ok {
		return nil
	}
	if t.state == models.TradePaid {
		return models.ErrOrderPaidAtChannel
	}
	t.state = models.TradeClosed
	return nil
}

// Refund pays back at most once per OutRefundNo.
func (p *Pay) Refund(ctx context.Context, req models.RefundRequest) (models.RefundResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.orders[req.OrderNo]
	if !ok || t.state != models.TradePaid {
		return models.RefundResult{}, models.ErrInvalid.WithReason("订单未支付，不能退款")
	}
	if _, done := t.refunds[req.OutRefundNo]; !done {
		var sum models.Fen
		for _, a := range t.refunds {
			sum += a
		}
		if sum+req.Refund > t.amount {
			return models.RefundResult{}, models.ErrInvalid.WithReason("退款金额超过订单金额")
		}
		t.refunds[req.OutRefundNo] = req.Refund
	}
	return models.RefundResult{OutRefundNo: req.OutRefundNo, State: models.RefundSuccess, Amount: t.refunds[req.OutRefundNo], SucceededAt: p.clock.Now()}, nil
}

// QueryRefund implements models.PaymentChannel.
func (p *Pay) QueryRefund(ctx context.Context, orderNo, outRefundNo string) (models.RefundResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.orders[orderNo]; ok {
		if a, ok := t.refunds[outRefundNo]; ok {
			return models.RefundResult{OutRefundNo: outRefundNo, State: models.RefundSuccess, Amount: a}, nil
		}
	}
	return models.RefundResult{OutRefundNo: outRefundNo, State: models.RefundFailed}, nil
}

// DownloadBill lists the day's successful payments (Beijing date).
func (p *Pay) DownloadBill(ctx context.Context, day time.Time) ([]models.BillLine, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := day.In(models.Beijing).Format("2006-01-02")
	var out []models.BillLine
	for _, t := range p.orders {
		if t.state == models.TradePaid && t.paidAt.In(models.Beijing).Format("2006-01-02") == d {
			out = append(out, models.BillLine{OrderNo: t.orderNo, TransactionID: t.txn, Amount: t.amount, State: models.TradePaid, At: t.paidAt})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OrderNo < out[j].OrderNo })
	return out, nil
}

type notice struct {
	ID            string `json:"id"`
	OrderNo       string `json:"order_no"`
	TransactionID string `json:"transaction_id"`
	AmountFen     int64  `json:"amount_fen"`
	Success       bool   `json:"success"`
	PaidAt        string `json:"paid_at"`
}

// Pay simulates the payer at the cashier: the order is paid (or the
// payment fails) and a signed notification is delivered to the notify
// URL, retried a few times like a real provider until it is acknowledged.
func (p *Pay) Pay(ctx context.Context, orderNo string, success bool) error {
	header, body, err := p.pay(orderNo, success)
	if err != nil || !success {
		return err // a failed attempt at the cashier leaves the order paying
	}
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		if last = p.deliver(ctx, header, body); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
	return last
}

// PayHeld pays the order at the cashier as Pay does but delivers nothing:
// it returns the signed notification, still on its way, for the caller to
// deliver to NotifyURL when it likes (a late notification, or a load tool
// timing the notification's settlement on its own).
func (p *Pay) PayHeld(orderNo string) (http.Header, []byte, error) {
	return p.pay(orderNo, true)
}

// NotifyURL is where this channel's notifications go.
func (p *Pay) NotifyURL() string { return p.notifyURL }

// pay moves the fake trade as the payer's action at the cashier does and
// returns the notification a provider would send for it.
func (p *Pay) pay(orderNo string, success bool) (http.Header, []byte, error) {
	p.mu.Lock()
	t, ok := p.orders[orderNo]
	if !ok {
		p.mu.Unlock()
		return nil, nil, fmt.Errorf("sandbox: order %s was never opened", orderNo)
	}
	if success && t.state == models.TradePaying {
		t.state = models.TradePaid
		t.paidAt = p.clock.Now().UTC()
		t.txn = "SBX" + strconv.FormatInt(t.paidAt.UnixNano(), 36)
	}
	n := notice{ID: "SBXN-" + orderNo + "-" + string(t.state), OrderNo: orderNo, TransactionID: t.txn,
		AmountFen: int64(t.amount), Success: t.state == models.TradePaid}
	if !t.paidAt.IsZero() {
		n.PaidAt = t.paidAt.Format(time.RFC3339)
	}
	p.mu.Unlock()
	header, body := p.Notification(n)
	return header, body, nil
}

func (p *Pay) deliver(ctx context.Context, header http.Header, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.notifyURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = header
	resp, err := p.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notify answered %d", resp.StatusCode)
	}
	return nil
}

// Notification signs a notification body; tests use it to replay and
// tamper with deliveries.
func (p *Pay) Notification(n any) (http.Header, []byte) {
	body, _ := json.Marshal(n)
	ts := strconv.FormatInt(p.clock.Now().Unix(), 10)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Lianban-Sandbox-Timestamp", ts)
	h.Set("Lianban-Sandbox-Signature", p.sign(ts, body))
	return h, body
}

func (p *Pay) sign(ts string, body []byte) string {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(ts + "\n"))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// ParseNotification verifies the signature and the timestamp on the raw
// body, then decodes it.
func (p *Pay) ParseNotification(ctx context.Context, r *http.Request) (models.Notification, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return models.Notification{}, models.ErrNotificationInvalid
	}
	ts := r.Header.Get("Lianban-Sandbox-Timestamp")
	sig, err := hex.DecodeString(r.Header.Get("Lianban-Sandbox-Signature"))
	if err != nil || !hmac.Equal(sig, mustHex(p.sign(ts, body))) {
		return models.Notification{}, models.ErrNotificationInvalid
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return models.Notification{}, models.ErrNotificationInvalid
	}
	if d := p.clock.Now().Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return models.Notification{}, models.ErrNotificationInvalid
	}
	var n notice
	if err := json.Unmarshal(body, &n); err != nil || n.ID == "" || n.OrderNo == "" {
		return models.Notification{}, models.ErrNotificationInvalid
	}
	at, _ := time.Parse(time.RFC3339, n.PaidAt)
	return models.Notification{Channel: models.ChannelSandbox, ID: n.ID, Kind: models.NotifyPayment, OrderNo: n.OrderNo,
		TransactionID: n.TransactionID, Amount: models.Fen(n.AmountFen), Paid: n.Success, At: at}, nil
}

func mustHex(s string) []byte {
	b, _ := hex.DecodeString(s)
	return b
}

// Acknowledge answers like WeChat Pay v3: 200 to stop, 500 to retry.
func (p *Pay) Acknowledge(w http.ResponseWriter, ok bool) {
	w.Header().Set("Content-Type", "application/json")
	if ok {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"code":"SUCCESS"}`))
		return
	}
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write([]byte(`{"code":"FAIL","message":"失败"}`))
}
