// Package refunds holds refund applications: filing (by the payer or the
// insured person, with the account rules), who owns and may read or
// withdraw one, and the hall's steps (accept, refuse, review). The money
// going back is in package payouts.
package refunds
