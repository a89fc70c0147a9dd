package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// slowPrepay holds the sandbox channel's prepay until released: the
// channel is slow and the payer's phone gives up meanwhile.
type slowPrepay struct {
	models.PaymentChannel
	entered, release chan struct{}
}

func (p *slowPrepay) Prepay(ctx context.Context, req models.PrepayRequest) (models.PayParams, error) {
	close(p.entered)
	<-p.release
	return p.PaymentChannel.Prepay(ctx, req)
}

// TestAClientThatHangsUpStillGetsItsAnswerOnRetry kills an idempotent
// request between its steps from the client's side: the payer's app hangs
// up while the channel's prepay is under way. The order is still made and
// its answer stored under the key, so the app's retry with the same key
// gets that answer (the same order) instead of "in progress" for good.
func TestAClientThatHangsUpStillGetsItsAnswerOnRetry(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	slow := &slowPrepay{entered: make(chan struct{}), release: make(chan struct{})}
	env := servicetest.New(t, db, servicetest.Config{PublicURL: srv.URL, Mutate: func(d *service.Deps, _ *service.Options) {
		slow.PaymentChannel = d.Payments[models.ChannelSandbox]
		d.Payments[models.ChannelSandbox] = slow
	}})
	h = handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true})
	cl := apitest.Load(t).ServerClient(t, srv.URL, srv.Client())

	me := servicetest.Person(t, "张三明")
	tok := loginAs(t, cl, "hangup", me.Name, me.IDNumber)
	cl.Do("POST", "/api/v1/enrolments", tok, map[string]string{"scheme": "flexible_pension", "region_code": "150100"})
	var pb struct {
		Items []struct {
			PayableID string `json:"payable_id"`
		}
	}
	cl.DoJSON("POST", "/api/v1/payables/query", tok, map[string]string{"person": "self"}, &pb)
	var d struct {
		DeclarationID string `json:"declaration_id"`
	}
	if st := cl.DoJSON("POST", "/api/v1/declarations", tok, map[string]string{"payable_id": pb.Items[0].PayableID, "option_code": "grade_60"}, &d); st != 201 {
		t.Fatalf("declaration %d", st)
	}
	body, _ := json.Marshal(map[string]string{"declaration_id": d.DeclarationID, "channel": "sandbox"})

	// The app sends the payment and hangs up while the prepay runs.
	hangup, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(hangup, "POST", srv.URL+"/api/v1/payments", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "pay-hangup-1")
	gone := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		gone <- err
	}()
	<-slow.entered
	cancel()
	if err := <-gone; err == nil {
		t.Fatal("the request was answered before the client hung up")
	}
	close(slow.release)

	// The server finishes the request and stores its answer.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var row store.IdempotencyRow
		err := db.Gorm.Where("operation = ? AND idem_key = ?", "createPayment", "pay-hangup-1").Take(&row).Error
		if err == nil && row.StatusCode != 0 {
			if row.StatusCode != 201 {
				t.Fatalf("stored answer %d %s", row.StatusCode, row.Body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the key is still in progress after the client hung up: %+v %v", row, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The retry gets the stored answer: the same order, made once.
	r := cl.Send("POST", "/api/v1/payments", tok, map[string]string{"declaration_id": d.DeclarationID, "channel": "sandbox"}, "Idempotency-Key", "pay-hangup-1")
	var p struct {
		OrderNo string `json:"order_no"`
	}
	r.Decode(t, &p)
	if r.Status != 201 || r.Header.Get("Idempotent-Replayed") != "true" || p.OrderNo == "" {
		t.Fatalf("the retry: %d %s", r.Status, r.Body)
	}
	var n int64
	if err := db.Gorm.Model(&store.OrderRow{}).Where("declaration_id = ?", d.DeclarationID).Count(&n).Error; err != nil || n != 1 {
		t.Fatalf("%d orders for the declaration (%v)", n, err)
	}
}

// TestARefusalForMoneyNotYetCreditedIsNotReplayedUnderItsKey: an
// application refused as REFUND_NOT_CREDITED was stored under its
// Idempotency-Key like any 422, so the app's retry with the same key got
// the refusal again even once the treasury had credited the money (and
// filing now asks the treasury first). It is a moment's answer, not the
// application's: the retry is filed.
func TestARefusalForMoneyNotYetCreditedIsNotReplayedUnderItsKey(t *testing.T) {
	r := newCertRig(t, storetest.Targets()[0].Open(t))
	me := servicetest.Person(t, "张三明")
	tok := r.login(t, "notyet", me.Name, me.IDNumber)
	orderNo := r.pay(t, tok)
	refund := map[string]any{"person": "self", "scheme": "flexible_pension", "order_no": orderNo, "refund_fen": 100,
		"reason": "overpaid", "reason_detail": "多缴"}
	// The sandbox treasury credits 2 s after payment: not yet.
	if res := r.cl.Send("POST", "/api/v1/refunds", tok, refund, "Idempotency-Key", "refund-notyet-1"); res.Status != 422 || res.ErrorCode() != "REFUND_NOT_CREDITED" {
		t.Fatalf("before 入库: %d %s", res.Status, res.Body)
	}
	// Credited since; no worker pass has learnt of it. The same key files.
	r.env.Clock.Advance(15 * time.Second)
	res := r.cl.Send("POST", "/api/v1/refunds", tok, refund, "Idempotency-Key", "refund-notyet-1")
	if res.Status != 201 || res.Header.Get("Idempotent-Replayed") == "true" {
		t.Fatalf("the retry once credited: %d %s", res.Status, res.Body)
	}
}
