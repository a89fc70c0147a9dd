// Package models is lianban's domain: the types of the social insurance fee
// business (people, enrolments, payables, declarations, orders, records,
// certificates, refunds), the rules and state transitions that govern them,
// money as integer fen, the stable error codes clients switch on, and the
// interfaces the domain needs from the outside world (payment and login
// channels, identity verification, the treasury and the agencies, a clock).
//
// It imports neither Gin nor gorm nor go-redis: persistence lives in store/,
// HTTP in handlers/, and each external system in a package under channels/.
package models
