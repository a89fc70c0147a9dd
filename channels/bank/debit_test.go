package bank_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/bank"
	"github.com/lianban/lianban/channels/bank/bankfake"
	"github.com/lianban/lianban/models"
)

const (
	unitName = "呼和浩特市青城建筑工程有限公司"
	unitUSCC = "91150100MA0N7Q2X49"
	unitAcct = "0602001109300123456"
)

var debitClock = time.Date(2026, 1, 15, 2, 0, 0, 0, time.UTC)

// unitBank is a fake bank holding the unit's account with balance, and a
// client of it, both on one manual clock.
func unitBank(t *testing.T, balance models.Fen) (*bankfake.Server, *bank.Client, *models.ManualClock) {
	t.Helper()
	clock := models.NewManualClock(debitClock)
	f := bankfake.NewForTest(t, clock)
	f.SetAccount(bankfake.Account{No: unitAcct, Name: unitName, USCC: unitUSCC, Balance: balance})
	return f, f.Client(), clock
}

func agreementReq(no string) models.AgreementRequest {
	return models.AgreementRequest{AgreementNo: no, PayerUSCC: unitUSCC, AccountName: unitName, AccountNo: unitAcct, BankCode: "102"}
}

// verified registers agreement A1 and fails the test unless the bank
// verifies it.
func verified(t *testing.T, c *bank.Client) {
	t.Helper()
	res, err := c.VerifyAgreement(context.Background(), agreementReq("A1"))
	if err != nil || res.State != models.AgreementVerified || res.AgreementNo != "A1" {
		t.Fatalf("VerifyAgreement: %+v %v", res, err)
	}
}

func debitReq(no string, amount models.Fen) models.DebitRequest {
	return models.DebitRequest{DebitNo: no, AgreementNo: "A1", Amount: amount, Memo: "2026年01月社会保险费"}
}

func TestTheBankVerifiesAnAgreementOnlyForTheUnitHoldingTheAccount(t *testing.T) {
	f, c, _ := unitBank(t, 0)
	ctx := context.Background()
	verified(t, c)

	other := agreementReq("A2")
	other.AccountName = "呼和浩特市青城商贸有限公司"
	res, err := c.VerifyAgreement(ctx, other)
	if err != nil || res.State != models.AgreementRefused || res.Reason != "账户户名与单位名称不一致" {
		t.Errorf("another unit's name: %+v %v", res, err)
	}
	other = agreementReq("A3")
	other.PayerUSCC = "91150100MA0N7Q2X5L"
	if res, err := c.VerifyAgreement(ctx, other); err != nil || res.State != models.AgreementRefused {
		t.Errorf("another unit's code: %+v %v", res, err)
	}
	// A refused agreement cannot be debited: refused before anything moved.
	res2, err := c.Debit(ctx, models.DebitRequest{DebitNo: "D0", AgreementNo: "A2", Amount: 100})
	if !errors.Is(err, models.ErrInvalid) || res2.State != models.DebitFailed || res2.FailCode != "AGREEMENT_NOT_VERIFIED" {
		t.Errorf("debit on a refused agreement: %+v %v", res2, err)
	}
	if f.DebitedTotal() != 0 {
		t.Errorf("debited %d", f.DebitedTotal())
	}

	for name, fault := range map[string]bankfake.Fault{
		"dropped":       {Drop: true},
		"bad signature": {BadSignature: true},
		"proxy page":    {Status: 502, Body: "<html>Bad Gateway</html>"},
	} {
		f.FailNext("agreement", fault)
		if res, err := c.VerifyAgreement(ctx, agreementReq("A4")); !errors.Is(err, models.ErrUnavailable) || res.State != "" {
			t.Errorf("%s: no verdict must be no verdict, got %+v %v", name, res, err)
		}
	}
}

func TestADebitTakesTheMoneyOnceHoweverOftenItIsSent(t *testing.T) {
	f, c, _ := unitBank(t, 1_000_000)
	verified(t, c)
	for i := range 3 {
		res, err := c.Debit(context.Background(), debitReq("D1", 345678))
		if err != nil || res.State != models.DebitSuccess || res.Amount != 345678 || !res.At.Equal(debitClock) {
			t.Fatalf("attempt %d: %+v %v", i, res, err)
		}
	}
	if bal, _ := f.Balance(unitAcct); bal != 1_000_000-345678 || f.DebitedTotal() != 345678 {
		t.Fatalf("balance %d, debited %d", bal, f.DebitedTotal())
	}
	// The same number with another amount is never a second debit.
	res, err := c.Debit(context.Background(), debitReq("D1", 345679))
	if !errors.Is(err, models.ErrInternal) || res.State != models.DebitPending {
		t.Fatalf("same number, other amount: %+v %v", res, err)
	}
	other := debitReq("D1", 345678)
	other.AgreementNo = "A2"
	if res, err := c.Debit(context.Background(), other); !errors.Is(err, models.ErrInternal) || res.State != models.DebitPending {
		t.Fatalf("same number, other agreement: %+v %v", res, err)
	}
	if f.DebitedTotal() != 345678 {
		t.Fatalf("debited %d", f.DebitedTotal())
	}
}

func TestInsufficientFundsFailsTheDebitAndTakesNothing(t *testing.T) {
	f, c, _ := unitBank(t, 10_000)
	verified(t, c)
	for i := range 2 {
		res, err := c.Debit(context.Background(), debitReq("D2", 10_001))
		if err != nil || res.State != models.DebitFailed || res.FailCode != "INSUFFICIENT_FUNDS" || res.FailReason != "账户余额不足" {
			t.Fatalf("attempt %d: %+v %v", i, res, err)
		}
	}
	q, err := c.QueryDebit(context.Background(), "D2")
	if err != nil || q.State != models.DebitFailed {
		t.Fatalf("query: %+v %v", q, err)
	}
	if bal, _ := f.Balance(unitAcct); bal != 10_000 || f.DebitedTotal() != 0 {
		t.Fatalf("balance %d, debited %d", bal, f.DebitedTotal())
	}
}

// TestALostAnswerIsPendingNeverFailed: the bank took the money and the
// answer never came back (a dropped connection, a timeout, a tampered
// answer). The client must say pending; the query finds the success.
func TestALostAnswerIsPendingNeverFailed(t *testing.T) {
	for name, fault := range map[string]bankfake.Fault{
		"dropped connection": {Drop: true},
		"timeout":            {Delay: 300 * time.Millisecond},
		"bad signature":      {BadSignature: true},
	} {
		t.Run(name, func(t *testing.T) {
			f, _, clock := unitBank(t, 1_000_000)
			c, err := bank.New(f.Config(100*time.Millisecond), nil, clock)
			if err != nil {
				t.Fatal(err)
			}
			verified(t, c)
			f.FailNext("debit", fault)
			res, err := c.Debit(context.Background(), debitReq("D3", 50_000))
			if !errors.Is(err, models.ErrUnavailable) || res.State != models.DebitPending {
				t.Fatalf("lost answer: %+v %v", res, err)
			}
			if d, _ := f.GetDebit("D3"); !d.Taken {
				t.Fatal("the fake did not take the money: the test proves nothing")
			}
			q, err := c.QueryDebit(context.Background(), "D3")
			if err != nil || q.State != models.DebitSuccess || q.Amount != 50_000 {
				t.Fatalf("query: %+v %v", q, err)
			}
			// Sending it again is safe too.
			if res, err := c.Debit(context.Background(), debitReq("D3", 50_000)); err != nil || res.State != models.DebitSuccess {
				t.Fatalf("retry: %+v %v", res, err)
			}
			if f.DebitedTotal() != 50_000 {
				t.Fatalf("debited %d", f.DebitedTotal())
			}
		})
	}
}

func TestAFailedRequestBeforeTheBankActedLeavesNothingToQuery(t *testing.T) {
	f, c, _ := unitBank(t, 1_000_000)
	verified(t, c)
	f.FailNext("debit", bankfake.Fault{DropBefore: true})
	if res, err := c.Debit(context.Background(), debitReq("D4", 100)); !errors.Is(err, models.ErrUnavailable) || res.State != models.DebitPending {
		t.Fatalf("dropped before: %+v %v", res, err)
	}
	if _, err := c.QueryDebit(context.Background(), "D4"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("query of a debit never received: %v", err)
	}
	f.FailNext("debit", bankfake.Fault{Status: 503, Body: "busy"})
	if res, err := c.Debit(context.Background(), debitReq("D4", 100)); !errors.Is(err, models.ErrUnavailable) || res.State != models.DebitPending {
		t.Fatalf("unsigned 503: %+v %v", res, err)
	}
	if f.DebitedTotal() != 0 {
		t.Fatalf("debited %d", f.DebitedTotal())
	}
}

func TestALateAnswerIsPendingUntilTheBankFinishes(t *testing.T) {
	ctx := context.Background()
	t.Run("after queries", func(t *testing.T) {
		f, c, _ := unitBank(t, 1_000_000)
		verified(t, c)
		f.FailNext("debit", bankfake.Fault{Processing: true, AfterQueries: 3})
		if res, err := c.Debit(ctx, debitReq("D5", 700)); err != nil || res.State != models.DebitPending {
			t.Fatalf("debit: %+v %v", res, err)
		}
		for i := 1; i <= 3; i++ {
			q, err := c.QueryDebit(ctx, "D5")
			want := models.DebitPending
			if i == 3 {
				want = models.DebitSuccess
			}
			if err != nil || q.State != want {
				t.Fatalf("query %d: %+v %v, want %s", i, q, err, want)
			}
		}
		if f.DebitedTotal() != 700 {
			t.Fatalf("debited %d", f.DebitedTotal())
		}
	})
	t.Run("after a while", func(t *testing.T) {
		f, c, clock := unitBank(t, 1_000_000)
		verified(t, c)
		f.FailNext("debit", bankfake.Fault{Processing: true, ProcessingFor: 2 * time.Minute})
		if res, err := c.Debit(ctx, debitReq("D6", 700)); err != nil || res.State != models.DebitPending {
			t.Fatalf("debit: %+v %v", res, err)
		}
		for range 3 {
			if q, err := c.QueryDebit(ctx, "D6"); err != nil || q.State != models.DebitPending {
				t.Fatalf("query before the time: %+v %v", q, err)
			}
		}
		clock.Advance(2 * time.Minute)
		if q, err := c.QueryDebit(ctx, "D6"); err != nil || q.State != models.DebitSuccess || !q.At.Equal(debitClock.Add(2*time.Minute)) {
			t.Fatalf("query after: %+v %v", q, err)
		}
	})
	t.Run("then refused", func(t *testing.T) {
		f, c, _ := unitBank(t, 1_000_000)
		verified(t, c)
		f.FailNext("debit", bankfake.Fault{Processing: true})
		if res, err := c.Debit(ctx, debitReq("D7", 700)); err != nil || res.State != models.DebitPending {
			t.Fatalf("debit: %+v %v", res, err)
		}
		f.FailNext("debit_query", bankfake.Fault{Refuse: "ACCOUNT_FROZEN"})
		if q, err := c.QueryDebit(ctx, "D7"); err != nil || q.State != models.DebitFailed || q.FailCode != "ACCOUNT_FROZEN" {
			t.Fatalf("query: %+v %v", q, err)
		}
		if bal, _ := f.Balance(unitAcct); bal != 1_000_000 || f.DebitedTotal() != 0 {
			t.Fatalf("the money did not come back: balance %d, debited %d", bal, f.DebitedTotal())
		}
	})
}

// tamperingProxy forwards to the fake and rewrites its answers' bodies,
// keeping the bank's signature headers.
func tamperingProxy(t *testing.T, target string, rewrite func([]byte) []byte) string {
	t.Helper()
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequest(r.Method, target+r.URL.Path, bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(rewrite(raw))
	}))
	t.Cleanup(p.Close)
	return p.URL
}

func TestATamperedAnswerIsNeverBelieved(t *testing.T) {
	f, _, clock := unitBank(t, 10_000)
	direct := f.Client()
	verified(t, direct)
	cfg := f.Config(5 * time.Second)
	cfg.BaseURL = tamperingProxy(t, f.URL(), func(b []byte) []byte {
		// Turn a refusal into a success, or a refused agreement into a
		// verified one.
		b = bytes.ReplaceAll(b, []byte(`"FAILED"`), []byte(`"SUCCESS"`))
		return bytes.ReplaceAll(b, []byte(`"REFUSED"`), []byte(`"VERIFIED"`))
	})
	c, err := bank.New(cfg, nil, clock)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Debit(context.Background(), debitReq("D8", 20_000)) // beyond the balance: FAILED
	if !errors.Is(err, models.ErrUnavailable) || res.State != models.DebitPending {
		t.Fatalf("tampered debit answer: %+v %v", res, err)
	}
	if q, err := c.QueryDebit(context.Background(), "D8"); !errors.Is(err, models.ErrUnavailable) || q.State != models.DebitPending {
		t.Fatalf("tampered query answer: %+v %v", q, err)
	}
	wrong := agreementReq("A9")
	wrong.AccountName = "别的单位"
	if a, err := c.VerifyAgreement(context.Background(), wrong); !errors.Is(err, models.ErrUnavailable) || a.State == models.AgreementVerified {
		t.Fatalf("tampered verdict: %+v %v", a, err)
	}
	// Untampered, the bank's answer is the refusal.
	if q, err := direct.QueryDebit(context.Background(), "D8"); err != nil || q.State != models.DebitFailed {
		t.Fatalf("direct query: %+v %v", q, err)
	}
}

// noticeSink receives the fake's notices through the client's parser.
type noticeSink struct {
	mu      sync.Mutex
	notices []models.DebitNotice
	refused []error
}

func (s *noticeSink) handler(c *bank.Client) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := c.ParseDebitNotice(r)
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			s.refused = append(s.refused, err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.notices = append(s.notices, n)
		_, _ = w.Write([]byte(`{"code":"SUCCESS"}`))
	})
}

func TestTheBankNotifiesTheFinalStateAndMaySayItTwice(t *testing.T) {
	f, c, _ := unitBank(t, 1_000_000)
	sink := &noticeSink{}
	srv := httptest.NewServer(sink.handler(c))
	t.Cleanup(srv.Close)
	f.SetNotifyURL(srv.URL + "/notify/bank")
	verified(t, c)

	f.FailNext("debit", bankfake.Fault{Processing: true, DuplicateNotice: true})
	if res, err := c.Debit(context.Background(), debitReq("D9", 4_200)); err != nil || res.State != models.DebitPending {
		t.Fatalf("debit: %+v %v", res, err)
	}
	if n := f.WaitNotices(); n != 0 {
		t.Fatalf("%d notices for a debit still processing", n)
	}
	if q, err := c.QueryDebit(context.Background(), "D9"); err != nil || q.State != models.DebitSuccess {
		t.Fatalf("query: %+v %v", q, err)
	}
	if n := f.WaitNotices(); n != 2 {
		t.Fatalf("%d notices accepted, want the duplicate pair", n)
	}
	// Querying again sends nothing new.
	_, _ = c.QueryDebit(context.Background(), "D9")
	if n := f.WaitNotices(); n != 2 {
		t.Fatalf("%d notices after another query", n)
	}
	if _, err := c.Debit(context.Background(), debitReq("D10", 2_000_000)); err != nil { // insufficient funds
		t.Fatal(err)
	}
	f.WaitNotices()

	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.refused) != 0 || len(sink.notices) != 3 {
		t.Fatalf("notices %+v, refused %v", sink.notices, sink.refused)
	}
	a, b := sink.notices[0], sink.notices[1]
	if a.DebitNo != "D9" || a.State != models.DebitSuccess || a.Amount != 4_200 || a.DebitResult != b.DebitResult || a.ID == b.ID {
		t.Errorf("duplicate pair %+v %+v", a, b)
	}
	if n := sink.notices[2]; n.DebitNo != "D10" || n.State != models.DebitFailed || n.FailCode != "INSUFFICIENT_FUNDS" {
		t.Errorf("failure notice %+v", n)
	}
}

func TestADebitNoticeIsTrustedOnlyWhenSignedByTheBankNow(t *testing.T) {
	f, c, clock := unitBank(t, 0)
	cfg := f.Config(time.Second)
	body := []byte(`{"notice_id":"N1","debit_no":"D1","state":"SUCCESS","amount_fen":100,"finished_at":"2026-01-15T02:00:00Z"}`)
	notice := func(body []byte, h http.Header) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/notify/bank", bytes.NewReader(body))
		r.Header = h
		return r
	}
	good := bank.SignNotice(cfg.Key, cfg.MerchantID, clock.Now(), "n1", body)
	n, err := c.ParseDebitNotice(notice(body, good))
	if err != nil || n.ID != "N1" || n.DebitNo != "D1" || n.State != models.DebitSuccess || n.Amount != 100 {
		t.Fatalf("good notice: %+v %v", n, err)
	}

	cases := map[string]*http.Request{
		"tampered body":  notice(bytes.Replace(body, []byte(`100`), []byte(`900`), 1), good),
		"wrong key":      notice(body, bank.SignNotice([]byte(strings.Repeat("k", 32)), cfg.MerchantID, clock.Now(), "n1", body)),
		"other merchant": notice(body, bank.SignNotice(cfg.Key, "OTHER", clock.Now(), "n1", body)),
		"stale":          notice(body, bank.SignNotice(cfg.Key, cfg.MerchantID, clock.Now().Add(-6*time.Minute), "n1", body)),
		"unsigned":       notice(body, http.Header{}),
	}
	processing := []byte(`{"notice_id":"N2","debit_no":"D1","state":"PROCESSING","amount_fen":100}`)
	cases["not final"] = notice(processing, bank.SignNotice(cfg.Key, cfg.MerchantID, clock.Now(), "n2", processing))
	nonce := good.Clone()
	nonce.Set(bank.HeaderNonce, "n2")
	cases["other nonce"] = notice(body, nonce)
	ts := good.Clone()
	ts.Set(bank.HeaderTimestamp, strconv.FormatInt(clock.Now().Unix()+1, 10))
	cases["other timestamp"] = notice(body, ts)
	for name, r := range cases {
		if n, err := c.ParseDebitNotice(r); !errors.Is(err, models.ErrNotificationInvalid) {
			t.Errorf("%s: %+v %v, want ErrNotificationInvalid", name, n, err)
		}
	}
}
