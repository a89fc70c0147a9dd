// Package contrib holds contributions and their settlement: enrolment,
// payables and their fee rules, declarations, payments and orders,
// channel notifications and Settle, records and their progress to the
// treasury (credited) and the agencies (booked), the follow-up and closing
// of orders, and reminders. Reconciliation against the channels' bills is
// package reconcile, above this one.
//
// The money steps an order goes through are here and exported for other
// kinds of orders: MarkOrderPaid (settles exactly once), ClaimNotification
// and MarkOutcome, AdvanceCredits and AdvanceBookings (records of any
// order move paid → credited → booked), and UnbookableError, which has
// settlement refund an order whole through the AutoRefunder above it.
package contrib
