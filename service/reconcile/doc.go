// Package reconcile checks each channel's daily bill (T+1) against our
// orders: a payment the bill shows that we missed is settled through
// contrib.Settle, and what cannot be matched is an anomaly for staff. Runs
// hold a lease so that several instances, and a run that died, share the
// days safely.
package reconcile
