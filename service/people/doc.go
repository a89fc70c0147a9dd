// Package people holds the workflows of users and the people they act for:
// channel login and sessions, identity binding, family members, records
// grants and guardians, and the access checks every other area asks: who
// may pay for a person (ResolveForPaying, MayPayFor) and who may read
// their records (AccessTo, ResolveForRecords).
package people
