// Package bank is lianban's side of the partner bank's interface: how a
// refund that cannot go back through the channel it was paid with (an
// order older than a year, a closed wallet, an applicant who asks for a
// bank account) is paid to a bank account (退库到账户), and how a unit pays
// by 三方协议 (a debit of its account under an agreement the bank has
// verified). Client implements models.BankTransfer,
// models.BankAccountVerifier and models.TripartiteBank.
//
// # Protocol
//
// The interface is small and signed both ways, like the sandbox payment
// provider's:
//
//	POST {base}/v1/transfers            {"transfer_no","amount_fen","bank_name","account_name","account_no","memo"}
//	GET  {base}/v1/transfers/{transfer_no}
//	POST {base}/v1/accounts/verify      {"account_name","account_no"} → {"account_no","match"}
//	POST {base}/v1/agreements           {"agreement_no","payer_uscc","account_name","account_no","bank_code"}
//	                                    → {"agreement_no","state","reason"}
//	POST {base}/v1/debits               {"debit_no","agreement_no","amount_fen","memo"}
//	GET  {base}/v1/debits/{debit_no}
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
// # 三方协议: agreements and debits
//
// A unit registers an agreement (our agreement_no) naming its account; the
// bank answers state VERIFIED, or REFUSED with a Chinese reason, after
// checking that the account exists and is held in the unit's name (and
// under its USCC). Verifying a number again replaces the verdict. A
// refusal is a verdict, not an error; no answer, or an unsigned one, is no
// verdict (ErrUnavailable), never a yes.
//
// A debit answer is {"debit_no","state","amount_fen","finished_at",
// "fail_code","fail_reason"} with state SUCCESS, PROCESSING or FAILED
// (fail_code INSUFFICIENT_FUNDS, 账户余额不足, when the balance is short;
// the bank may also fail a debit it was processing, and gives the money
// back). The bank debits a debit_no at most once: the same number with the
// same amount and agreement answers the debit's current state; with
// another amount or agreement it is 409 DEBIT_NO_CONFLICT. A debit on an agreement the bank does not hold
// as verified is 400 AGREEMENT_NOT_VERIFIED, before anything moved. As for
// transfers, a timeout, a dropped connection, a 5xx, an unreadable or
// unsigned answer is pending (models.DebitPending with ErrUnavailable),
// never failed; QueryDebit settles it, and ErrNotFound there means the
// bank never received the number, so sending it again is safe.
//
// The bank may also POST a debit's final state (SUCCESS or FAILED, never
// PROCESSING) to a notify URL we gave it out of band, as
// {"notice_id", …the debit answer's fields}, so the service can settle on
// the notice OR on a query, whichever comes first. The notice carries
// X-Bank-Merchant (ours), X-Bank-Timestamp, X-Bank-Nonce and
// X-Bank-Signature, the hex HMAC-SHA256 under the shared key of the
// request string above with method POST and the fixed path "debit-notice"
// (NoticePath; the URL is ours and a proxy may rewrite its path):
//
//	merchant \n POST \n debit-notice \n timestamp \n nonce \n body
//
// Client.ParseDebitNotice refuses a wrong merchant or signature and a
// timestamp more than five minutes off (ErrNotificationInvalid). We answer
// 2xx to stop the bank resending; the bank may still send a notice twice
// (each with a new notice_id), so settling on notices is idempotent by
// debit_no, exactly as settling on a query.
//
// Package bankfake is an in-process bank speaking this protocol, for tests
// and the sandbox, with faults to inject (a dropped connection after the
// money moved, a late answer, PROCESSING answers for N queries or a while,
// refusals, insufficient funds, bad signatures, duplicate notices).
package bank
