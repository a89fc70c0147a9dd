package refunds

// Payout kinds and statuses.
const (
	PayoutChannel = "channel"
	PayoutBank    = "bank"

	PayoutPending = "pending" // sent, or to be sent; the result is not known
	PayoutSuccess = "success"
	PayoutFailed  = "failed" // refused for good: nothing moved; a new payout replaces it
	// PayoutAbnormal: the channel took the refund but could not pay the
	// person (WeChat ABNORMAL: a cancelled or frozen card) and holds the
	// money. It is not failed: no other route may be tried until the money
	// is released, by the channel (a person at its merchant platform, seen
	// by query as success) or by the tax window returning it to us.
	PayoutAbnormal = "abnormal"
	// PayoutReturning: the tax window asked the channel to send an abnormal
	// refund back to our merchant account and the answer is not known yet.
	// Its money is still held: nothing else is paid for it, and a success
	// the channel reports for it is the money coming back to us.
	PayoutReturning = "returning"
	// PayoutReturned: the channel sent the money of an abnormal refund back
	// to our merchant account; the person got nothing by it, so the window
	// pays that part by bank transfer (execute again).
	PayoutReturned = "returned"
)
