// Package refunds serves refund applications: the applicant's routes and
// the hall's steps on them (accept, refuse, review, execute, abnormal
// payouts).
package refunds
