// Package kernel is what every workflow area shares: the dependencies and
// options (Deps, Options), the clock, database handles and transactions,
// ids and numbers, pages, idempotency keys, rate limits and the
// identity-check budget, in-app messages and pushes, the audit log writer,
// anomaly recording, and the decrypted Person with the user and person
// lookups. It knows no business area; every area embeds a *Kernel.
package kernel
