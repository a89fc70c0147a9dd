// Package counters is the money side of the partner API (/partner/v1) and
// the hall as a channel: banks at their counters, 云POS terminals at
// township service points, 裕农通 points and the hall's POS look up what a
// person owes (name + ID number, verified and budgeted per partner) or
// what a unit's 银行端凭证 is for, open an order, confirm it with their own
// transaction id, reverse it (冲正) the same business day before 入库, and
// send a daily reconciliation file.
//
// A counter payment is an ordinary order (orders.counter_channel and the
// partner columns set) settled by the ordinary settlement
// (contrib.SettleWith, unitpay.SettleAtCounter), so records, crediting,
// booking and refunds treat it like any other. Every operation is
// idempotent on the partner's transaction id (counter_txns): a retry gets
// the same answer, the same id with another request is refused. Partners
// see masked names, amounts and periods only.
package counters
