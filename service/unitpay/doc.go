// Package unitpay is how a unit pays a confirmed declaration (business 7 of
// the seed): by 三方协议 debit of an account the bank verified, by a
// 银行端缴税凭证 paid at a partner bank's counter, or at the hall's POS; and
// how the payment settles into each employee's records.
//
// A unit payment is a row of orders (unit_id, unit_declaration_id, method,
// channel = method), so MarkOrderPaid, crediting (入库), booking (记账) and
// the anomaly queue treat it like any order. It is settled here, not by
// contrib.Settle: its declaration is a unit declaration, and its records
// are one per declaration line, each for the employee (person_id) with the
// unit as payer (payer_unit_id, unit_line_id).
//
// Exactly once: the order moves to paid by one conditional update
// (contrib.MarkOrderPaid) and only the caller that moved it writes the
// records, in the same transaction, whether a bank notice, a query, the
// sandbox voucher route or the POS confirmation got there first.
package unitpay
