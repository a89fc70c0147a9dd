package models

import (
	"context"
	"net/http"
	"time"
)

// AgreementState is the bank's verdict on a 三方协议 (the tripartite
// agreement between a unit, its bank and the tax bureau that lets the
// bureau debit the unit's account).
type AgreementState string

// Agreement states.
const (
	AgreementVerified AgreementState = "verified"
	AgreementRefused  AgreementState = "refused"
)

// AgreementRequest asks the bank to verify an agreement: that the account
// exists and is held in the unit's name. AgreementNo is ours, fixed when
// the unit registers it.
type AgreementRequest struct {
	AgreementNo string
	PayerUSCC   string // the unit's 统一社会信用代码
	AccountName string // the unit's name, as the account must be held
	AccountNo   string
	BankCode    string
}

// AgreementResult is the bank's answer. Reason explains a refusal in
// Chinese, as the bank gives it.
type AgreementResult struct {
	AgreementNo string
	State       AgreementState
	Reason      string
}

// DebitState is where a debit through an agreement is. DebitPending covers
// both "the bank is processing" and "we do not know" (a timeout, a lost or
// unsigned answer): an unknown outcome is never failed, because the money
// may have moved; it is settled by QueryDebit or the bank's notice.
type DebitState string

// Debit states.
const (
	DebitPending DebitState = "pending"
	DebitSuccess DebitState = "success"
	DebitFailed  DebitState = "failed"
)

// DebitRequest debits Amount from the account of a verified agreement.
// DebitNo is fixed when the payment is planned and reused on every retry,
// so the bank debits it at most once.
type DebitRequest struct {
	DebitNo     string
	AgreementNo string
	Amount      Fen
	Memo        string
}

// DebitResult is the bank's view of a debit. At is when it finished
// (success or failure); FailCode and FailReason say why it failed (e.g.
// INSUFFICIENT_FUNDS, 账户余额不足).
type DebitResult struct {
	DebitNo    string
	State      DebitState
	Amount     Fen
	At         time.Time
	FailCode   string
	FailReason string
}

// DebitNotice is a verified notification of a debit's final state. ID is
// unique per notice event (the dedup key); the bank may send the same
// notice more than once, so settling on it must be idempotent, exactly as
// settling on a query is.
type DebitNotice struct {
	ID string
	DebitResult
}

// TripartiteBank is the partner bank's 三方协议 interface: verifying an
// agreement, then debiting through it.
//
// VerifyAgreement returns a REFUSED verdict as a result with a nil error;
// an error means no verdict (ErrUnavailable: ask again), never a refusal.
//
// Debit is idempotent by DebitNo: the same number and amount answers the
// debit's current state. A definitive answer (success or failed) has a nil
// error; a pending result with ErrUnavailable means the outcome is unknown.
// ErrInvalid means the bank refused the request before acting (nothing
// moved); ErrInternal means the number was already used with another
// amount or agreement (an operator looks; never a new number).
//
// QueryDebit returns ErrNotFound for a number the bank never received,
// after which debiting again with that number is safe.
//
// ParseDebitNotice verifies a notification's signature, merchant and
// timestamp and decodes it; it returns ErrNotificationInvalid for anything
// it cannot trust.
type TripartiteBank interface {
	VerifyAgreement(ctx context.Context, req AgreementRequest) (AgreementResult, error)
	Debit(ctx context.Context, req DebitRequest) (DebitResult, error)
	QueryDebit(ctx context.Context, debitNo string) (DebitResult, error)
	ParseDebitNotice(r *http.Request) (DebitNotice, error)
}
