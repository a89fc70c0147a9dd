// Package contrib serves the payer's journey (enrolment, payables,
// declarations, payments, records) and the payment channels'
// notifications.
package contrib
