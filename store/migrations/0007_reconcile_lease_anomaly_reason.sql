-- A reconciliation run holds a lease: the run that owns it (run_id) renews
-- it while it works, and a run whose lease ended (its worker died, or its
-- finish was lost) is taken over. A failed run's lease_until is when it is
-- tried again. Staff closing an anomaly give a reason, kept beside the
-- resolution.
ALTER TABLE reconciliations ADD COLUMN run_id VARCHAR(40) NOT NULL DEFAULT '';
ALTER TABLE reconciliations ADD COLUMN lease_until {{TIME}};
ALTER TABLE anomalies ADD COLUMN resolve_reason VARCHAR(500) NOT NULL DEFAULT '';
-- The queue (open ones, oldest first) and the open-count metric read this.
CREATE INDEX ix_anomalies_queue ON anomalies (resolved_at, created_at);
