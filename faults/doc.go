// Package faults holds lianban's fault and soak suites (issue 15): they
// build the real server, run instances of it on PostgreSQL and a Redis of
// their own, with the WeChat Pay fake as an outside channel, drive the
// money journey (declare, pay, the payer pays at the cashier, the channel
// notifies, the money is credited and booked) from several goroutines,
// and inject faults through TCP fault proxies: the database unreachable,
// Redis killed, the channel slow and timing out, an instance killed. After
// each fault they check the bank invariant against the database itself.
//
// The suites are tests behind build tags, so `go test ./...` does not run
// them: `make faults` (tag faults, CI) and `make soak` (tag soak, by hand).
// Both need LIANBAN_TEST_POSTGRES and redis-server on the PATH, and fail
// rather than skip without them. FAULTS_DEBUG=1 prints every failed
// request with its answer; SOAK_DURATION, SOAK_RATE and SOAK_EVERY shape
// the soak.
//
// The channel is the WeChat Pay fake run by the test, outside the
// instances, configured as a real channel (keys, base URL, notify URL at
// the load balancer): the sandbox's own payment provider lives inside one
// process, which two instances could not share and no proxy could slow.
package faults
