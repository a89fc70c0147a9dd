// Package service holds lianban's business workflows: login and sessions,
// identity binding, family and grants, enrolment, payables, declarations,
// payments and their settlement, records and the background workers that
// follow money to the treasury and the agencies' books.
//
// Workflows own their transactions. They speak models types to handlers and
// channels, and store rows to the database; every status change is a
// conditional update that acts only when one row changed.
package service
