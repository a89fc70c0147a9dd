// Package anomalies holds the staff's queue of anomalies: money facts
// that did not fit a workflow, who owns each, the channel's view of the
// order or refund, and resolving them.
package anomalies
