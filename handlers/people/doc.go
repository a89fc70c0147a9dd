// Package people serves logins, the signed-in user's session and identity,
// family, records grants, guardians and in-app messages.
package people
