// Package sandbox holds lianban's in-process stand-ins for the systems a
// demo or a black-box test cannot reach: a payment provider with a
// cashier and signed notifications, login for channels whose keys are not
// configured (tax APP, 蒙速办), the person registry behind identity checks,
// the unit registry behind binding a unit (units.go),
// the treasury (TIPS) and the agencies' books.
//
// They are used only in sandbox mode. The payment provider delivers its
// notifications over HTTP to the server's own notify route, so a sandbox
// payment runs through the same verification and settlement pipeline as a
// real one.
package sandbox
