package bankfake

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/lianban/lianban/channels/bank"
	"github.com/lianban/lianban/models"
)

// Account is a unit's account at the fake bank, for 三方协议 debits.
type Account struct {
	No      string
	Name    string // the holder's name
	USCC    string // the holder unit's code; "" accepts any
	Balance models.Fen
}

// Agreement is what the fake holds about a 三方协议 it was asked to verify.
type Agreement struct {
	AgreementNo string
	PayerUSCC   string
	AccountName string
	AccountNo   string
	BankCode    string
	Verified    bool
	Reason      string
}

// Debit is what the fake holds about one debit.
type Debit struct {
	DebitNo     string
	AgreementNo string
	AccountNo   string
	Amount      models.Fen
	Memo        string
	State       string
	FailCode    string
	FailReason  string
	Taken       bool // the money left the unit's account (once, at most)
	AcceptedAt  time.Time
	FinishedAt  time.Time
	queriesLeft int       // PROCESSING: queries until it succeeds
	holdUntil   time.Time // PROCESSING: not before this instant
	duplicate   bool      // notify the final state twice
	notified    bool      // the final state's notice was sent
}

// SetAccount makes the fake bank hold a unit's account. Agreement
// verification then checks the account's name (and USCC when set), and a
// debit beyond the balance fails with INSUFFICIENT_FUNDS. An account the
// fake was never told of is verified for any unit and has no limit (the
// sandbox bank knows nobody until told, as for account-name checks).
func (s *Server) SetAccount(a Account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := a
	s.accounts[a.No] = &cp
}

// Balance is an account's balance; false when the fake does not know it.
func (s *Server) Balance(accountNo string) (models.Fen, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[accountNo]
	if !ok {
		return 0, false
	}
	return a.Balance, true
}

// SetNotifyURL makes the fake POST each debit's final state there.
func (s *Server) SetNotifyURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notifyURL = u
}

// GetDebit returns the debit for a number.
func (s *Server) GetDebit(debitNo string) (Debit, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.debits[debitNo]
	if !ok {
		return Debit{}, false
	}
	return *d, true
}

// DebitedTotal is the money taken from units' accounts, over every debit.
func (s *Server) DebitedTotal() models.Fen {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum models.Fen
	for _, d := range s.debits {
		if d.Taken {
			sum += d.Amount
		}
	}
	return sum
}

// WaitNotices waits for the notices in flight and returns how many the
// receiver accepted with a 2xx answer so far.
func (s *Server) WaitNotices() int {
	s.notices.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent
}

// Renotify sends a finished debit's notice again, as a bank does when it
// did not see our acknowledgement.
func (s *Server) Renotify(debitNo string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.debits[debitNo]; ok && d.State != bank.StateProcessing {
		s.sendNotice(d)
	}
}

func (s *Server) agreement(w http.ResponseWriter, r *http.Request) {
	body := readBody(r)
	if !s.verify(w, r, body) {
		return
	}
	f, faulty := s.nextFault("agreement")
	if faulty && s.early(w, f) {
		return
	}
	var in bank.AgreementBody
	if err := json.Unmarshal(body, &in); err != nil || in.AgreementNo == "" || in.PayerUSCC == "" ||
		in.AccountName == "" || in.AccountNo == "" || in.BankCode == "" {
		s.answer(w, http.StatusBadRequest, bank.ErrorAnswer{Code: "INVALID_REQUEST", Message: "请求参数错误"}, false)
		return
	}
	s.mu.Lock()
	a := &Agreement{AgreementNo: in.AgreementNo, PayerUSCC: in.PayerUSCC, AccountName: in.AccountName,
		AccountNo: in.AccountNo, BankCode: in.BankCode, Verified: true}
	acct, known := s.accounts[in.AccountNo]
	switch {
	case faulty && f.Refuse != "":
		a.Verified, a.Reason = false, f.Refuse
	case known && acct.Name != in.AccountName:
		a.Verified, a.Reason = false, "账户户名与单位名称不一致"
	case known && acct.USCC != "" && acct.USCC != in.PayerUSCC:
		a.Verified, a.Reason = false, "账户开户单位的统一社会信用代码不符"
	}
	// Verifying the same number again replaces the verdict: a unit that
	// fixed its details asks again.
	s.agreements[in.AgreementNo] = a
	ans := bank.AgreementAnswer{AgreementNo: a.AgreementNo, State: bank.AgreementVerified}
	if !a.Verified {
		ans.State, ans.Reason = bank.AgreementRefused, a.Reason
	}
	s.mu.Unlock()
	if faulty && f.Drop {
		drop(w)
		return
	}
	s.answer(w, http.StatusOK, ans, faulty && f.BadSignature)
}

func (s *Server) debit(w http.ResponseWriter, r *http.Request) {
	body := readBody(r)
	if !s.verify(w, r, body) {
		return
	}
	f, faulty := s.nextFault("debit")
	if faulty && s.early(w, f) {
		return
	}
	var in bank.DebitBody
	if err := json.Unmarshal(body, &in); err != nil || in.DebitNo == "" || in.AgreementNo == "" || in.AmountFen <= 0 {
		s.answer(w, http.StatusBadRequest, bank.ErrorAnswer{Code: "INVALID_REQUEST", Message: "请求参数错误"}, false)
		return
	}
	s.mu.Lock()
	d, exists := s.debits[in.DebitNo]
	if exists && (d.Amount != models.Fen(in.AmountFen) || d.AgreementNo != in.AgreementNo) {
		s.mu.Unlock()
		s.answer(w, http.StatusConflict, bank.ErrorAnswer{Code: "DEBIT_NO_CONFLICT", Message: "扣款流水号已用于其他扣款"}, false)
		return
	}
	if !exists {
		ag, ok := s.agreements[in.AgreementNo]
		if !ok || !ag.Verified {
			s.mu.Unlock()
			s.answer(w, http.StatusBadRequest, bank.ErrorAnswer{Code: "AGREEMENT_NOT_VERIFIED", Message: "三方协议不存在或未验证通过"}, false)
			return
		}
		now := s.clock.Now()
		d = &Debit{DebitNo: in.DebitNo, AgreementNo: in.AgreementNo, AccountNo: ag.AccountNo, Amount: models.Fen(in.AmountFen),
			Memo: in.Memo, AcceptedAt: now, duplicate: faulty && f.DuplicateNotice}
		s.debits[in.DebitNo] = d
		acct := s.accounts[ag.AccountNo]
		switch {
		case faulty && f.Refuse != "":
			d.State, d.FailCode, d.FailReason, d.FinishedAt = bank.StateFailed, f.Refuse, "扣款被拒绝", now
		case acct != nil && acct.Balance < d.Amount:
			d.State, d.FailCode, d.FailReason, d.FinishedAt = bank.StateFailed, "INSUFFICIENT_FUNDS", "账户余额不足", now
		default:
			// The money leaves the account when the bank accepts the
			// debit, even while it still reports PROCESSING.
			d.Taken = true
			if acct != nil {
				acct.Balance -= d.Amount
			}
			if faulty && f.Processing {
				d.State, d.queriesLeft, d.holdUntil = bank.StateProcessing, max(f.AfterQueries, 1), now.Add(f.ProcessingFor)
				if f.ProcessingFor > 0 && f.AfterQueries == 0 {
					d.queriesLeft = 0
				}
			} else {
				d.State, d.FinishedAt = bank.StateSuccess, now
			}
		}
	} else {
		s.advance(d, Fault{}, false)
	}
	s.notifyIfFinal(d)
	ans := debitAnswerOf(d)
	s.mu.Unlock()
	s.lateDebit(w, f, faulty, ans)
}

func (s *Server) queryDebit(w http.ResponseWriter, r *http.Request) {
	if !s.verify(w, r, readBody(r)) {
		return
	}
	f, faulty := s.nextFault("debit_query")
	if faulty && s.early(w, f) {
		return
	}
	s.mu.Lock()
	d, ok := s.debits[r.PathValue("no")]
	if !ok {
		s.mu.Unlock()
		s.answer(w, http.StatusNotFound, bank.ErrorAnswer{Code: "NOT_FOUND", Message: "扣款不存在"}, false)
		return
	}
	s.advance(d, f, faulty)
	s.notifyIfFinal(d)
	ans := debitAnswerOf(d)
	s.mu.Unlock()
	s.lateDebit(w, f, faulty, ans)
}

// advance moves a PROCESSING debit on at a query or a retry: a Refuse
// fault fails it and gives the money back; a Processing fault holds it;
// otherwise it succeeds once its queries and its hold time are used up.
// The caller holds s.mu.
func (s *Server) advance(d *Debit, f Fault, faulty bool) {
	if d.State != bank.StateProcessing {
		return
	}
	now := s.clock.Now()
	switch {
	case faulty && f.Refuse != "":
		d.State, d.FailCode, d.FailReason, d.FinishedAt = bank.StateFailed, f.Refuse, "扣款失败", now
		if d.Taken {
			d.Taken = false
			if acct := s.accounts[d.AccountNo]; acct != nil {
				acct.Balance += d.Amount
			}
		}
	case faulty && f.Processing:
	default:
		if d.queriesLeft > 0 {
			d.queriesLeft--
		}
		if d.queriesLeft == 0 && !now.Before(d.holdUntil) {
			d.State, d.FinishedAt = bank.StateSuccess, now
		}
	}
}

// notifyIfFinal sends the final state's notice once (twice with
// DuplicateNotice). The caller holds s.mu.
func (s *Server) notifyIfFinal(d *Debit) {
	if d.State == bank.StateProcessing || d.notified {
		return
	}
	d.notified = true
	s.sendNotice(d)
	if d.duplicate {
		s.sendNotice(d)
	}
}

// sendNotice posts d's state to the notify URL in the background, each
// time with a fresh notice id, nonce and timestamp. The caller holds s.mu.
func (s *Server) sendNotice(d *Debit) {
	if s.notifyURL == "" {
		return
	}
	nb := make([]byte, 8)
	_, _ = rand.Read(nb)
	body, _ := json.Marshal(bank.DebitNoticeBody{NoticeID: "N" + hex.EncodeToString(nb), DebitAnswer: debitAnswerOf(d)})
	_, _ = rand.Read(nb)
	h := bank.SignNotice(s.key, s.merchant, s.clock.Now(), hex.EncodeToString(nb), body)
	target := s.notifyURL
	s.notices.Add(1)
	go func() {
		defer s.notices.Done()
		req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header = h
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return
		}
		_ = resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			s.mu.Lock()
			s.sent++
			s.mu.Unlock()
		}
	}()
}

func (s *Server) lateDebit(w http.ResponseWriter, f Fault, faulty bool, ans bank.DebitAnswer) {
	if faulty && f.Delay > 0 {
		time.Sleep(f.Delay)
	}
	if faulty && f.Drop {
		drop(w)
		return
	}
	s.answer(w, http.StatusOK, ans, faulty && f.BadSignature)
}

func debitAnswerOf(d *Debit) bank.DebitAnswer {
	a := bank.DebitAnswer{DebitNo: d.DebitNo, State: d.State, AmountFen: int64(d.Amount), FailCode: d.FailCode, FailReason: d.FailReason}
	if !d.FinishedAt.IsZero() {
		a.FinishedAt = d.FinishedAt.UTC().Format(time.RFC3339)
	}
	return a
}
