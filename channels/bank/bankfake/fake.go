// Package bankfake is an in-process partner bank speaking package bank's
// signed protocol, for lianban's tests and its sandbox mode. It keeps
// transfers, 三方协议 agreements, unit accounts and debits in memory, pays
// each transfer_no and debits each debit_no at most once, and can be told
// to misbehave on the next call: drop the connection after the money moved
// (the caller sees a timeout), answer PROCESSING (for a number of queries
// or a while), refuse an account, answer with a 5xx page or a bad
// signature, notify a debit's final state twice.
package bankfake

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/bank"
	"github.com/lianban/lianban/models"
)

// Fault replaces the bank's behaviour for the next call of an operation
// ("transfer" or "query"). Faults queue in order.
type Fault struct {
	// Drop acts on the request (the money moves) and then closes the
	// connection without answering: the caller cannot tell what happened.
	Drop bool
	// DropBefore closes the connection without acting: nothing moved.
	DropBefore bool
	// Processing acts but leaves the transfer PROCESSING; it completes at
	// the next query or retry.
	Processing bool
	// Refuse fails the transfer with this code (e.g. ACCOUNT_NOT_FOUND):
	// nothing moves. On a query it fails a transfer still PROCESSING.
	Refuse string
	// Status and Body, when Status is set, answer unsigned without acting,
	// like a proxy's error page.
	Status int
	Body   string
	// BadSignature acts and signs the answer with a wrong key.
	BadSignature bool
	// Delay holds the answer back after acting, to provoke a timeout.
	Delay time.Duration
	// AfterQueries, with Processing on a debit, keeps it PROCESSING for
	// this many queries (or retries) before it succeeds; 0 means 1.
	AfterQueries int
	// ProcessingFor, with Processing on a debit, keeps it PROCESSING until
	// the fake's clock has moved this far past the debit, whatever the
	// number of queries.
	ProcessingFor time.Duration
	// DuplicateNotice sends the debit's final-state notice twice.
	DuplicateNotice bool
}

// Transfer is what the fake holds about one transfer.
type Transfer struct {
	TransferNo  string
	Amount      models.Fen
	BankName    string
	AccountName string
	AccountNo   string
	Memo        string
	State       string
	FailCode    string
	Paid        bool // money left the bank (once, at most)
	FinishedAt  time.Time
}

// Options configures a fake. The zero value is usable.
type Options struct {
	MerchantID string // "LIANBAN-SANDBOX" when empty
	Key        []byte // generated when nil
	Clock      models.Clock
}

// Server is a fake bank. Its methods are safe for concurrent use.
type Server struct {
	merchant string
	key      []byte
	clock    models.Clock

	mu        sync.Mutex
	ts        *httptest.Server
	transfers map[string]*Transfer
	faults    map[string][]Fault
	calls     map[string]int
	holders   map[string]string // account number → holder's name

	accounts   map[string]*Account   // 三方协议 accounts, by number
	agreements map[string]*Agreement // verified or refused, by agreement_no
	debits     map[string]*Debit
	notifyURL  string
	notices    sync.WaitGroup // notices in flight
	sent       int            // notices delivered with a 2xx answer
}

// New returns a fake bank; call Start (or mount Handler).
func New(opts Options) *Server {
	s := &Server{merchant: opts.MerchantID, key: opts.Key, clock: opts.Clock,
		transfers: map[string]*Transfer{}, faults: map[string][]Fault{}, calls: map[string]int{}, holders: map[string]string{},
		accounts: map[string]*Account{}, agreements: map[string]*Agreement{}, debits: map[string]*Debit{}}
	if s.merchant == "" {
		s.merchant = "LIANBAN-SANDBOX"
	}
	if s.key == nil {
		s.key = make([]byte, 32)
		_, _ = rand.Read(s.key)
	}
	if s.clock == nil {
		s.clock = models.SystemClock{}
	}
	return s
}

// NewForTest starts a fake that stops when the test ends.
func NewForTest(t testing.TB, clock models.Clock) *Server {
	s := New(Options{Clock: clock})
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// Start serves the fake on a loopback port.
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ts == nil {
		s.ts = httptest.NewServer(s.Handler())
	}
}

// URL is the fake's base URL.
func (s *Server) URL() string {
	s.Start()
	return s.ts.URL
}

// Close waits for notices in flight and stops serving.
func (s *Server) Close() {
	s.notices.Wait()
	s.mu.Lock()
	ts := s.ts
	s.mu.Unlock()
	if ts != nil {
		ts.Close()
	}
}

// Config is a bank.Config for this fake.
func (s *Server) Config(timeout time.Duration) bank.Config {
	return bank.Config{BaseURL: s.URL(), MerchantID: s.merchant, Key: s.key, Timeout: timeout}
}

// Client returns a client of this fake with a short timeout.
func (s *Server) Client() *bank.Client {
	c, err := bank.New(s.Config(5*time.Second), nil, s.clock)
	if err != nil {
		panic(err) // the fake's own configuration is always valid
	}
	return c
}

// FailNext queues a fault for the next call of op: "transfer", "query",
// "verify", "agreement", "debit" or "debit_query".
func (s *Server) FailNext(op string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[op] = append(s.faults[op], f)
}

// Calls counts the correctly signed requests of op.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Get returns the transfer for a number.
func (s *Server) Get(transferNo string) (Transfer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.transfers[transferNo]
	if !ok {
		return Transfer{}, false
	}
	return *t, true
}

// PaidTotal is the money that left the bank, over every transfer.
func (s *Server) PaidTotal() models.Fen {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum models.Fen
	for _, t := range s.transfers {
		if t.Paid {
			sum += t.Amount
		}
	}
	return sum
}

// PaidCount is the number of transfers paid.
func (s *Server) PaidCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.transfers {
		if t.Paid {
			n++
		}
	}
	return n
}

// Handler is the bank's HTTP interface.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/transfers", s.transfer)
	mux.HandleFunc("GET /v1/transfers/{no}", s.query)
	mux.HandleFunc("POST /v1/accounts/verify", s.verifyAccount)
	mux.HandleFunc("POST /v1/agreements", s.agreement)
	mux.HandleFunc("POST /v1/debits", s.debit)
	mux.HandleFunc("GET /v1/debits/{no}", s.queryDebit)
	return mux
}

// SetAccountHolder makes the fake bank know an account and its holder's
// name; account-name verification of it then matches that name only. An
// account it does not know matches any name (the sandbox bank knows
// nobody until told).
func (s *Server) SetAccountHolder(accountNo, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holders[accountNo] = name
}

func (s *Server) verifyAccount(w http.ResponseWriter, r *http.Request) {
	body := readBody(r)
	if !s.verify(w, r, body) {
		return
	}
	f, faulty := s.nextFault("verify")
	if faulty && s.early(w, f) {
		return
	}
	var in bank.AccountVerifyBody
	if err := json.Unmarshal(body, &in); err != nil || in.AccountNo == "" || in.AccountName == "" {
		s.answer(w, http.StatusBadRequest, bank.ErrorAnswer{Code: "INVALID_REQUEST", Message: "请求参数错误"}, false)
		return
	}
	s.mu.Lock()
	holder, known := s.holders[in.AccountNo]
	s.mu.Unlock()
	s.answer(w, http.StatusOK, bank.AccountVerifyAnswer{AccountNo: in.AccountNo, Match: !known || holder == in.AccountName},
		faulty && f.BadSignature)
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request, body []byte) bool {
	ts := r.Header.Get(bank.HeaderTimestamp)
	msg := bank.RequestString(r.Header.Get(bank.HeaderMerchant), r.Method, r.URL.EscapedPath(), ts, r.Header.Get(bank.HeaderNonce), body)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if r.Header.Get(bank.HeaderMerchant) != s.merchant || err != nil || !bank.Verify(s.key, msg, r.Header.Get(bank.HeaderSignature)) {
		s.answer(w, http.StatusUnauthorized, bank.ErrorAnswer{Code: "SIGNATURE_INVALID", Message: "签名错误"}, false)
		return false
	}
	if d := s.clock.Now().Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		s.answer(w, http.StatusUnauthorized, bank.ErrorAnswer{Code: "TIMESTAMP_EXPIRED", Message: "时间戳超出范围"}, false)
		return false
	}
	return true
}

func (s *Server) nextFault(op string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	q := s.faults[op]
	if len(q) == 0 {
		return Fault{}, false
	}
	s.faults[op] = q[1:]
	return q[0], true
}

func (s *Server) transfer(w http.ResponseWriter, r *http.Request) {
	body := readBody(r)
	if !s.verify(w, r, body) {
		return
	}
	f, faulty := s.nextFault("transfer")
	if faulty && s.early(w, f) {
		return
	}
	var in bank.TransferBody
	if err := json.Unmarshal(body, &in); err != nil || in.TransferNo == "" || in.AmountFen <= 0 || in.AccountNo == "" || in.AccountName == "" {
		s.answer(w, http.StatusBadRequest, bank.ErrorAnswer{Code: "INVALID_REQUEST", Message: "请求参数错误"}, false)
		return
	}
	s.mu.Lock()
	t, exists := s.transfers[in.TransferNo]
	if exists && (t.Amount != models.Fen(in.AmountFen) || t.AccountNo != in.AccountNo || t.AccountName != in.AccountName) {
		s.mu.Unlock()
		s.answer(w, http.StatusConflict, bank.ErrorAnswer{Code: "TRANSFER_NO_CONFLICT", Message: "转账流水号已用于其他转账"}, false)
		return
	}
	if !exists {
		t = &Transfer{TransferNo: in.TransferNo, Amount: models.Fen(in.AmountFen), BankName: in.BankName,
			AccountName: in.AccountName, AccountNo: in.AccountNo, Memo: in.Memo}
		s.transfers[in.TransferNo] = t
		switch {
		case faulty && f.Refuse != "":
			t.State, t.FailCode, t.FinishedAt = bank.StateFailed, f.Refuse, s.clock.Now()
		case faulty && f.Processing:
			t.State, t.Paid = bank.StateProcessing, true
		default:
			t.State, t.Paid, t.FinishedAt = bank.StateSuccess, true, s.clock.Now()
		}
	} else if t.State == bank.StateProcessing {
		s.complete(t)
	}
	ans := answerOf(t)
	s.mu.Unlock()
	s.late(w, f, faulty, ans)
}

func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	if !s.verify(w, r, readBody(r)) {
		return
	}
	f, faulty := s.nextFault("query")
	if faulty && s.early(w, f) {
		return
	}
	s.mu.Lock()
	t, ok := s.transfers[r.PathValue("no")]
	if !ok {
		s.mu.Unlock()
		s.answer(w, http.StatusNotFound, bank.ErrorAnswer{Code: "NOT_FOUND", Message: "转账不存在"}, false)
		return
	}
	switch {
	case t.State == bank.StateProcessing && faulty && f.Refuse != "":
		// The bank gave up on a transfer it was processing (the account
		// was closed meanwhile): the money comes back, nothing is paid.
		t.State, t.FailCode, t.Paid, t.FinishedAt = bank.StateFailed, f.Refuse, false, s.clock.Now()
	case t.State == bank.StateProcessing && !(faulty && f.Processing):
		s.complete(t)
	}
	ans := answerOf(t)
	s.mu.Unlock()
	s.late(w, f, faulty, ans)
}

func (s *Server) complete(t *Transfer) {
	t.State, t.FinishedAt = bank.StateSuccess, s.clock.Now()
}

// early applies the faults that act before the request is handled; it
// reports whether the answer is written.
func (s *Server) early(w http.ResponseWriter, f Fault) bool {
	switch {
	case f.DropBefore:
		drop(w)
		return true
	case f.Status != 0:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(f.Body))
		return true
	}
	return false
}

// late applies the faults that act after the transfer was handled.
func (s *Server) late(w http.ResponseWriter, f Fault, faulty bool, ans bank.TransferAnswer) {
	if faulty && f.Delay > 0 {
		time.Sleep(f.Delay)
	}
	if faulty && f.Drop {
		drop(w)
		return
	}
	s.answer(w, http.StatusOK, ans, faulty && f.BadSignature)
}

func answerOf(t *Transfer) bank.TransferAnswer {
	a := bank.TransferAnswer{TransferNo: t.TransferNo, State: t.State, AmountFen: int64(t.Amount), FailCode: t.FailCode}
	if !t.FinishedAt.IsZero() {
		a.FinishedAt = t.FinishedAt.UTC().Format(time.RFC3339)
	}
	if t.FailCode != "" {
		a.FailReason = "收款账户状态异常"
	}
	return a
}

func (s *Server) answer(w http.ResponseWriter, status int, v any, badSig bool) {
	body, _ := json.Marshal(v)
	ts := strconv.FormatInt(s.clock.Now().Unix(), 10)
	key := s.key
	if badSig {
		key = []byte(strings.Repeat("x", 32))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(bank.HeaderTimestamp, ts)
	w.Header().Set(bank.HeaderSignature, bank.Sign(key, bank.ResponseString(ts, status, body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("bankfake: the server cannot drop connections")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func readBody(r *http.Request) []byte {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	return b
}
