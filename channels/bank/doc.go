// Package bank is lianban's side of the partner bank's transfer interface:
// how a refund that cannot go back through the channel it was paid with
// (an order older than a year, a closed wallet, an applicant who asks for a
// bank account) is paid to a bank account (退库到账户). Client implements
// models.BankTransfer.
//
// # Protocol
//
// The interface is small and signed both ways, like the sandbox payment
// provider's:
//
//	POST {base}/v1/transfers            {"transfer_no","amount_fen","bank_name","account_name","account_no","memo"}
//	GET  {base}/v1/transfers/{transfer_no}
//	POST {base}/v1/accounts/verify      {"account_name","account_no"} → {"account_no","match"}
//
// The last is the bank's account-name verification (账户户名核验): a refund
// is paid only to an account the bank says is held in the name of the
// person or the payer (Client implements models.BankAccountVerifier); no
// answer, or an unsigned one, is never a yes.
//
// Every request carries X-Bank-Merchant, X-Bank-Timestamp (Unix seconds),
// X-Bank-Nonce and X-Bank-Signature, the hex HMAC-SHA256 under the shared
// key of
//
//	merchant \n method \n path \n timestamp \n nonce \n body
//
// and the bank refuses a timestamp more than five minutes off. Every answer
// carries X-Bank-Timestamp and X-Bank-Signature over
//
//	timestamp \n status \n body
//
// so a proxy's error page or a tampered answer is never read as a result.
// A transfer answer is {"transfer_no","state","amount_fen","finished_at",
// "fail_code","fail_reason"} with state SUCCESS, PROCESSING or FAILED; an
// error is {"code","message"}.
//
// # Exactly once
//
// The bank pays a transfer_no at most once: the same number with the same
// amount and account answers the transfer's current state; the same number
// with other details is 409 TRANSFER_NO_CONFLICT. So the workflow fixes the
// number when it plans the payout and sends it again after a timeout. A
// timeout, a 5xx, an unreadable or unsigned answer is pending (unknown),
// never failed: only FAILED, or a request the bank refused before acting on
// it (400), is failed. QueryTransfer answers models.ErrNotFound for a number
// the bank never received, after which sending the transfer again is safe.
//
// Package bankfake is an in-process bank speaking this protocol, for tests
// and the sandbox, with faults to inject (a dropped connection after the
// money moved, PROCESSING answers, refusals, bad signatures).
package bank
