package bank

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
)

// Transfer states on the wire.
const (
	StateSuccess    = "SUCCESS"
	StateProcessing = "PROCESSING"
	StateFailed     = "FAILED"
)

// Header names of the protocol.
const (
	HeaderMerchant  = "X-Bank-Merchant"
	HeaderTimestamp = "X-Bank-Timestamp"
	HeaderNonce     = "X-Bank-Nonce"
	HeaderSignature = "X-Bank-Signature"
)

// TransferBody is a transfer request on the wire.
type TransferBody struct {
	TransferNo  string `json:"transfer_no"`
	AmountFen   int64  `json:"amount_fen"`
	BankName    string `json:"bank_name"`
	AccountName string `json:"account_name"`
	AccountNo   string `json:"account_no"`
	Memo        string `json:"memo"`
}

// TransferAnswer is the bank's view of a transfer on the wire.
type TransferAnswer struct {
	TransferNo string `json:"transfer_no"`
	State      string `json:"state"`
	AmountFen  int64  `json:"amount_fen"`
	FinishedAt string `json:"finished_at,omitempty"`
	FailCode   string `json:"fail_code,omitempty"`
	FailReason string `json:"fail_reason,omitempty"`
}

// ErrorAnswer is an error on the wire.
type ErrorAnswer struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// RequestString is what a request's signature covers.
func RequestString(merchant, method, path, ts, nonce string, body []byte) []byte {
	var b bytes.Buffer
	for _, s := range []string{merchant, method, path, ts, nonce} {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	b.Write(body)
	return b.Bytes()
}

// ResponseString is what an answer's signature covers.
func ResponseString(ts string, status int, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString(ts)
	b.WriteByte('\n')
	b.WriteString(strconv.Itoa(status))
	b.WriteByte('\n')
	b.Write(body)
	return b.Bytes()
}

// Sign returns the hex HMAC-SHA256 of msg under key.
func Sign(key, msg []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks a hex signature in constant time.
func Verify(key, msg []byte, sig string) bool {
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	want, _ := hex.DecodeString(Sign(key, msg))
	return hmac.Equal(got, want)
}

// Config configures a Client.
type Config struct {
	BaseURL    string // e.g. https://bank.example/api
	MerchantID string
	Key        []byte        // the shared signing key, at least 32 bytes
	Timeout    time.Duration // per request; 10 s when zero
}

// Client is the partner bank's transfer interface. It is safe for
// concurrent use.
type Client struct {
	cfg   Config
	hc    *http.Client
	clock models.Clock
}

var _ models.BankTransfer = (*Client)(nil)

// New returns a Client. hc nil means a default client; clock nil the wall
// clock.
func New(cfg Config, hc *http.Client, clock models.Clock) (*Client, error) {
	if _, err := url.ParseRequestURI(cfg.BaseURL); err != nil || cfg.BaseURL == "" {
		return nil, fmt.Errorf("bank: base URL %q is not a URL", cfg.BaseURL)
	}
	if cfg.MerchantID == "" {
		return nil, errors.New("bank: merchant id is required")
	}
	if len(cfg.Key) < 32 {
		return nil, errors.New("bank: signing key must be at least 32 bytes")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if hc == nil {
		hc = &http.Client{}
	}
	if clock == nil {
		clock = models.SystemClock{}
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	return &Client{cfg: cfg, hc: hc, clock: clock}, nil
}

// String keeps the key out of logs.
func (c *Client) String() string { return "bank.Client(" + c.cfg.BaseURL + ", key redacted)" }

// Transfer asks the bank to pay req.Amount to an account. It is safe to
// call again with the same TransferNo and details: the bank pays once.
func (c *Client) Transfer(ctx context.Context, req models.BankTransferRequest) (models.BankTransferResult, error) {
	pending := models.BankTransferResult{TransferNo: req.TransferNo, State: models.RefundPending}
	if req.TransferNo == "" || req.Amount <= 0 || req.AccountNo == "" || req.AccountName == "" {
		return models.BankTransferResult{TransferNo: req.TransferNo, State: models.RefundFailed},
			fmt.Errorf("bank transfer %q: number, amount and account are required: %w", req.TransferNo, models.ErrInvalid)
	}
	body, _ := json.Marshal(TransferBody{TransferNo: req.TransferNo, AmountFen: int64(req.Amount), BankName: req.BankName,
		AccountName: req.AccountName, AccountNo: req.AccountNo, Memo: req.Memo})
	status, ans, eb, err := c.do(ctx, http.MethodPost, "/v1/transfers", body)
	if err != nil {
		return pending, err
	}
	switch {
	case status == http.StatusOK:
		return c.result(req.TransferNo, ans)
	case status == http.StatusBadRequest:
		// Refused before anything was done: nothing moved.
		return models.BankTransferResult{TransferNo: req.TransferNo, State: models.RefundFailed},
			fmt.Errorf("bank transfer %s refused: %s %s: %w", req.TransferNo, eb.Code, eb.Message, models.ErrInvalid)
	case status == http.StatusConflict:
		// The number was used with other details: an earlier transfer may
		// have been paid, so an operator looks; never a new number.
		return pending, fmt.Errorf("bank transfer %s: %s %s: %w", req.TransferNo, eb.Code, eb.Message, models.ErrInternal)
	case status >= 500 || status == http.StatusTooManyRequests:
		return pending, fmt.Errorf("bank transfer %s: HTTP %d %s: %w", req.TransferNo, status, eb.Code, models.ErrUnavailable)
	}
	return pending, fmt.Errorf("bank transfer %s: HTTP %d %s %s: %w", req.TransferNo, status, eb.Code, eb.Message, models.ErrInternal)
}

// AccountVerifyBody asks the bank whether an account is held in a name
// (账户户名核验).
type AccountVerifyBody struct {
	AccountName string `json:"account_name"`
	AccountNo   string `json:"account_no"`
}

// AccountVerifyAnswer is the bank's verdict.
type AccountVerifyAnswer struct {
	AccountNo string `json:"account_no"`
	Match     bool   `json:"match"`
}

var _ models.BankAccountVerifier = (*Client)(nil)

// VerifyAccountName implements models.BankAccountVerifier: a refund goes
// only to an account the bank says is held in the name it was checked
// against. No answer is ErrUnavailable, never a yes.
func (c *Client) VerifyAccountName(ctx context.Context, accountName, accountNo string) error {
	if accountName == "" || accountNo == "" {
		return fmt.Errorf("bank verify: name and account are required: %w", models.ErrInvalid)
	}
	body, _ := json.Marshal(AccountVerifyBody{AccountName: accountName, AccountNo: accountNo})
	status, raw, err := c.doRaw(ctx, http.MethodPost, "/v1/accounts/verify", body)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		var eb ErrorAnswer
		_ = json.Unmarshal(raw, &eb)
		if status == http.StatusNotFound {
			return fmt.Errorf("bank verify: %s: %w", eb.Code, models.ErrBankAccountName)
		}
		return fmt.Errorf("bank verify: HTTP %d %s: %w", status, eb.Code, models.ErrUnavailable)
	}
	var a AccountVerifyAnswer
	if err := json.Unmarshal(raw, &a); err != nil || a.AccountNo != accountNo {
		return fmt.Errorf("bank verify: unreadable answer: %w", models.ErrUnavailable)
	}
	if !a.Match {
		return fmt.Errorf("bank verify: the account is not held in that name: %w", models.ErrBankAccountName)
	}
	return nil
}

// QueryTransfer asks the bank where a transfer is. A number the bank never
// received is models.ErrNotFound.
func (c *Client) QueryTransfer(ctx context.Context, transferNo string) (models.BankTransferResult, error) {
	pending := models.BankTransferResult{TransferNo: transferNo, State: models.RefundPending}
	if transferNo == "" {
		return pending, fmt.Errorf("bank query: transfer number is required: %w", models.ErrInvalid)
	}
	status, ans, eb, err := c.do(ctx, http.MethodGet, "/v1/transfers/"+url.PathEscape(transferNo), nil)
	if err != nil {
		return pending, err
	}
	switch {
	case status == http.StatusOK:
		return c.result(transferNo, ans)
	case status == http.StatusNotFound:
		return pending, fmt.Errorf("bank query %s: %s: %w", transferNo, eb.Code, models.ErrNotFound)
	case status >= 500 || status == http.StatusTooManyRequests:
		return pending, fmt.Errorf("bank query %s: HTTP %d: %w", transferNo, status, models.ErrUnavailable)
	}
	return pending, fmt.Errorf("bank query %s: HTTP %d %s %s: %w", transferNo, status, eb.Code, eb.Message, models.ErrInternal)
}

func (c *Client) result(transferNo string, a TransferAnswer) (models.BankTransferResult, error) {
	pending := models.BankTransferResult{TransferNo: transferNo, State: models.RefundPending}
	if a.TransferNo != transferNo {
		return pending, fmt.Errorf("bank: answer for transfer %q, asked %q: %w", a.TransferNo, transferNo, models.ErrUnavailable)
	}
	switch a.State {
	case StateSuccess:
		at, _ := time.Parse(time.RFC3339, a.FinishedAt)
		if at.IsZero() {
			at = c.clock.Now()
		}
		return models.BankTransferResult{TransferNo: transferNo, State: models.RefundSuccess, At: at.UTC()}, nil
	case StateFailed:
		return models.BankTransferResult{TransferNo: transferNo, State: models.RefundFailed},
			fmt.Errorf("bank transfer %s failed: %s %s: %w", transferNo, a.FailCode, a.FailReason, models.ErrBankAccountInvalid)
	}
	return pending, nil // PROCESSING, or a state we do not know yet
}

// do sends one signed request and verifies the signed answer. A transport
// error, a timeout, or an answer that is not signed by the bank is
// models.ErrUnavailable: the result is unknown.
func (c *Client) do(ctx context.Context, method, path string, body []byte) (int, TransferAnswer, ErrorAnswer, error) {
	var ans TransferAnswer
	var eb ErrorAnswer
	status, raw, err := c.doRaw(ctx, method, path, body)
	if err != nil {
		return 0, ans, eb, err
	}
	if status == http.StatusOK {
		if err := json.Unmarshal(raw, &ans); err != nil {
			return 0, ans, eb, fmt.Errorf("bank %s %s: unreadable answer: %w", method, path, models.ErrUnavailable)
		}
	} else {
		_ = json.Unmarshal(raw, &eb)
	}
	return status, ans, eb, nil
}

// doRaw sends one signed request and returns the verified answer's status
// and body.
func (c *Client) doRaw(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("bank: %w: %w", models.ErrInternal, err)
	}
	ts := strconv.FormatInt(c.clock.Now().Unix(), 10)
	nb := make([]byte, 12)
	_, _ = rand.Read(nb)
	nonce := hex.EncodeToString(nb)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderMerchant, c.cfg.MerchantID)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set(HeaderSignature, Sign(c.cfg.Key, RequestString(c.cfg.MerchantID, method, req.URL.EscapedPath(), ts, nonce, body)))
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("bank %s %s: %w: %v", method, path, models.ErrUnavailable, redact(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, nil, fmt.Errorf("bank %s %s: reading the answer: %w", method, path, models.ErrUnavailable)
	}
	if !Verify(c.cfg.Key, ResponseString(resp.Header.Get(HeaderTimestamp), resp.StatusCode, raw), resp.Header.Get(HeaderSignature)) {
		return 0, nil, fmt.Errorf("bank %s %s: HTTP %d answer not signed by the bank: %w", method, path, resp.StatusCode, models.ErrUnavailable)
	}
	return resp.StatusCode, raw, nil
}

// redact drops the URL from transport errors (it names the transfer).
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
