// Package bench holds lianban's benchmarks (`make bench`). Absolute
// timings depend on the machine, so the report is a set of ratios measured
// in one run against the same machine's limits: the server's own bare
// /healthz, a raw Redis GET, and a raw single-row INSERT commit. A timing
// is never asserted in a test.
package bench
