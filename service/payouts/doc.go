// Package payouts holds the money of refunds going back: executing an
// approved refund as payouts through the original channel or by bank,
// following them to a result, abnormal payouts the channel holds, refund
// notifications, and the automatic refund of a paid order that cannot be
// booked (contrib.AutoRefunder).
package payouts
