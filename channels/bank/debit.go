package bank

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/lianban/lianban/models"
)

// Agreement verdicts on the wire.
const (
	AgreementVerified = "VERIFIED"
	AgreementRefused  = "REFUSED"
)

// NoticePath is the fixed path a debit notice's signature covers in place
// of the notify URL's path: the URL is ours and a proxy may rewrite it, so
// the bank signs a constant.
const NoticePath = "debit-notice"

// AgreementBody asks the bank to verify a 三方协议.
type AgreementBody struct {
	AgreementNo string `json:"agreement_no"`
	PayerUSCC   string `json:"payer_uscc"`
	AccountName string `json:"account_name"`
	AccountNo   string `json:"account_no"`
	BankCode    string `json:"bank_code"`
}

// AgreementAnswer is the bank's verdict on an agreement.
type AgreementAnswer struct {
	AgreementNo string `json:"agreement_no"`
	State       string `json:"state"`
	Reason      string `json:"reason,omitempty"`
}

// DebitBody is a debit request on the wire.
type DebitBody struct {
	DebitNo     string `json:"debit_no"`
	AgreementNo string `json:"agreement_no"`
	AmountFen   int64  `json:"amount_fen"`
	Memo        string `json:"memo"`
}

// DebitAnswer is the bank's view of a debit on the wire.
type DebitAnswer struct {
	DebitNo    string `json:"debit_no"`
	State      string `json:"state"`
	AmountFen  int64  `json:"amount_fen"`
	FinishedAt string `json:"finished_at,omitempty"`
	FailCode   string `json:"fail_code,omitempty"`
	FailReason string `json:"fail_reason,omitempty"`
}

// DebitNoticeBody is a debit notice on the wire: a DebitAnswer with the
// notice's own id.
type DebitNoticeBody struct {
	NoticeID string `json:"notice_id"`
	DebitAnswer
}

var _ models.TripartiteBank = (*Client)(nil)

// VerifyAgreement implements models.TripartiteBank: the bank checks that
// the account exists and is held in the unit's name. No answer, or an
// unsigned one, is ErrUnavailable, never a verdict.
func (c *Client) VerifyAgreement(ctx context.Context, req models.AgreementRequest) (models.AgreementResult, error) {
	if req.AgreementNo == "" || req.PayerUSCC == "" || req.AccountName == "" || req.AccountNo == "" || req.BankCode == "" {
		return models.AgreementResult{}, fmt.Errorf("bank agreement %q: number, unit, account and bank are required: %w", req.AgreementNo, models.ErrInvalid)
	}
	body, _ := json.Marshal(AgreementBody{AgreementNo: req.AgreementNo, PayerUSCC: req.PayerUSCC,
		AccountName: req.AccountName, AccountNo: req.AccountNo, BankCode: req.BankCode})
	status, raw, err := c.doRaw(ctx, http.MethodPost, "/v1/agreements", body)
	if err != nil {
		return models.AgreementResult{}, err
	}
	if status != http.StatusOK {
		var eb ErrorAnswer
		_ = json.Unmarshal(raw, &eb)
		if status == http.StatusBadRequest {
			return models.AgreementResult{}, fmt.Errorf("bank agreement %s refused: %s %s: %w", req.AgreementNo, eb.Code, eb.Message, models.ErrInvalid)
		}
		return models.AgreementResult{}, fmt.Errorf("bank agreement %s: HTTP %d %s: %w", req.AgreementNo, status, eb.Code, models.ErrUnavailable)
	}
	var a AgreementAnswer
	if err := json.Unmarshal(raw, &a); err != nil || a.AgreementNo != req.AgreementNo {
		return models.AgreementResult{}, fmt.Errorf("bank agreement %s: unreadable answer: %w", req.AgreementNo, models.ErrUnavailable)
	}
	switch a.State {
	case AgreementVerified:
		return models.AgreementResult{AgreementNo: a.AgreementNo, State: models.AgreementVerified}, nil
	case AgreementRefused:
		return models.AgreementResult{AgreementNo: a.AgreementNo, State: models.AgreementRefused, Reason: a.Reason}, nil
	}
	return models.AgreementResult{}, fmt.Errorf("bank agreement %s: unknown state %q: %w", req.AgreementNo, a.State, models.ErrUnavailable)
}

// Debit implements models.TripartiteBank. It is safe to call again with
// the same DebitNo and amount: the bank debits once.
func (c *Client) Debit(ctx context.Context, req models.DebitRequest) (models.DebitResult, error) {
	pending := models.DebitResult{DebitNo: req.DebitNo, State: models.DebitPending, Amount: req.Amount}
	if req.DebitNo == "" || req.AgreementNo == "" || req.Amount <= 0 {
		return models.DebitResult{DebitNo: req.DebitNo, State: models.DebitFailed, Amount: req.Amount},
			fmt.Errorf("bank debit %q: number, agreement and amount are required: %w", req.DebitNo, models.ErrInvalid)
	}
	body, _ := json.Marshal(DebitBody{DebitNo: req.DebitNo, AgreementNo: req.AgreementNo, AmountFen: int64(req.Amount), Memo: req.Memo})
	status, raw, err := c.doRaw(ctx, http.MethodPost, "/v1/debits", body)
	if err != nil {
		return pending, err
	}
	var eb ErrorAnswer
	if status != http.StatusOK {
		_ = json.Unmarshal(raw, &eb)
	}
	switch {
	case status == http.StatusOK:
		return c.debitResult(req.DebitNo, raw)
	case status == http.StatusBadRequest:
		// Refused before anything was done (an unknown or unverified
		// agreement, a malformed request): nothing moved.
		return models.DebitResult{DebitNo: req.DebitNo, State: models.DebitFailed, Amount: req.Amount, FailCode: eb.Code, FailReason: eb.Message},
			fmt.Errorf("bank debit %s refused: %s %s: %w", req.DebitNo, eb.Code, eb.Message, models.ErrInvalid)
	case status == http.StatusConflict:
		// The number was used for another debit: an earlier one may
		// have taken money, so an operator looks; never a new number.
		return pending, fmt.Errorf("bank debit %s: %s %s: %w", req.DebitNo, eb.Code, eb.Message, models.ErrInternal)
	case status >= 500 || status == http.StatusTooManyRequests:
		return pending, fmt.Errorf("bank debit %s: HTTP %d %s: %w", req.DebitNo, status, eb.Code, models.ErrUnavailable)
	}
	return pending, fmt.Errorf("bank debit %s: HTTP %d %s %s: %w", req.DebitNo, status, eb.Code, eb.Message, models.ErrInternal)
}

// QueryDebit implements models.TripartiteBank. A number the bank never
// received is models.ErrNotFound.
func (c *Client) QueryDebit(ctx context.Context, debitNo string) (models.DebitResult, error) {
	pending := models.DebitResult{DebitNo: debitNo, State: models.DebitPending}
	if debitNo == "" {
		return pending, fmt.Errorf("bank debit query: number is required: %w", models.ErrInvalid)
	}
	status, raw, err := c.doRaw(ctx, http.MethodGet, "/v1/debits/"+url.PathEscape(debitNo), nil)
	if err != nil {
		return pending, err
	}
	var eb ErrorAnswer
	if status != http.StatusOK {
		_ = json.Unmarshal(raw, &eb)
	}
	switch {
	case status == http.StatusOK:
		return c.debitResult(debitNo, raw)
	case status == http.StatusNotFound:
		return pending, fmt.Errorf("bank debit query %s: %s: %w", debitNo, eb.Code, models.ErrNotFound)
	case status >= 500 || status == http.StatusTooManyRequests:
		return pending, fmt.Errorf("bank debit query %s: HTTP %d: %w", debitNo, status, models.ErrUnavailable)
	}
	return pending, fmt.Errorf("bank debit query %s: HTTP %d %s %s: %w", debitNo, status, eb.Code, eb.Message, models.ErrInternal)
}

func (c *Client) debitResult(debitNo string, raw []byte) (models.DebitResult, error) {
	pending := models.DebitResult{DebitNo: debitNo, State: models.DebitPending}
	var a DebitAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return pending, fmt.Errorf("bank debit %s: unreadable answer: %w", debitNo, models.ErrUnavailable)
	}
	if a.DebitNo != debitNo {
		return pending, fmt.Errorf("bank: answer for debit %q, asked %q: %w", a.DebitNo, debitNo, models.ErrUnavailable)
	}
	return c.debitOf(a), nil
}

// debitOf maps a signed answer to a result; a state we do not know is
// pending, never failed.
func (c *Client) debitOf(a DebitAnswer) models.DebitResult {
	r := models.DebitResult{DebitNo: a.DebitNo, State: models.DebitPending, Amount: models.Fen(a.AmountFen)}
	at, _ := time.Parse(time.RFC3339, a.FinishedAt)
	switch a.State {
	case StateSuccess:
		if at.IsZero() {
			at = c.clock.Now()
		}
		r.State, r.At = models.DebitSuccess, at.UTC()
	case StateFailed:
		if at.IsZero() {
			at = c.clock.Now()
		}
		r.State, r.At, r.FailCode, r.FailReason = models.DebitFailed, at.UTC(), a.FailCode, a.FailReason
	}
	return r
}

// ParseDebitNotice implements models.TripartiteBank. A notice is trusted
// only when its merchant is ours, its timestamp is within five minutes of
// our clock and its signature is the HMAC of
// RequestString(merchant, "POST", NoticePath, timestamp, nonce, body). A
// replayed notice inside the window is harmless: it reports the same final
// state, and settling is idempotent.
func (c *Client) ParseDebitNotice(r *http.Request) (models.DebitNotice, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return models.DebitNotice{}, fmt.Errorf("bank notice: reading: %w", models.ErrNotificationInvalid)
	}
	merchant, ts := r.Header.Get(HeaderMerchant), r.Header.Get(HeaderTimestamp)
	if r.Method != http.MethodPost || merchant != c.cfg.MerchantID ||
		!Verify(c.cfg.Key, RequestString(merchant, http.MethodPost, NoticePath, ts, r.Header.Get(HeaderNonce), body), r.Header.Get(HeaderSignature)) {
		return models.DebitNotice{}, fmt.Errorf("bank notice: not signed by the bank: %w", models.ErrNotificationInvalid)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if d := c.clock.Now().Sub(time.Unix(sec, 0)); err != nil || d > 5*time.Minute || d < -5*time.Minute {
		return models.DebitNotice{}, fmt.Errorf("bank notice: timestamp %q out of range: %w", ts, models.ErrNotificationInvalid)
	}
	var n DebitNoticeBody
	if err := json.Unmarshal(body, &n); err != nil || n.NoticeID == "" || n.DebitNo == "" {
		return models.DebitNotice{}, fmt.Errorf("bank notice: unreadable: %w", models.ErrNotificationInvalid)
	}
	res := c.debitOf(n.DebitAnswer)
	if res.State == models.DebitPending {
		// The bank notifies final states only; anything else is not a
		// notice we act on.
		return models.DebitNotice{}, fmt.Errorf("bank notice %s: state %q is not final: %w", n.NoticeID, n.State, models.ErrNotificationInvalid)
	}
	return models.DebitNotice{ID: n.NoticeID, DebitResult: res}, nil
}

// SignNotice returns the headers a bank sends with a debit notice body;
// the fake bank uses it, and it documents the scheme in code.
func SignNotice(key []byte, merchant string, ts time.Time, nonce string, body []byte) http.Header {
	h := http.Header{}
	sec := strconv.FormatInt(ts.Unix(), 10)
	h.Set("Content-Type", "application/json")
	h.Set(HeaderMerchant, merchant)
	h.Set(HeaderTimestamp, sec)
	h.Set(HeaderNonce, nonce)
	h.Set(HeaderSignature, Sign(key, RequestString(merchant, http.MethodPost, NoticePath, sec, nonce, body)))
	return h
}
