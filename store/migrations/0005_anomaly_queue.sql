-- Anomalies become a queue with an owner: what the money was, which refund
-- it concerns, what the system already did about it, and who closed it.
ALTER TABLE anomalies ADD COLUMN refund_no VARCHAR(40) NOT NULL DEFAULT '';
ALTER TABLE anomalies ADD COLUMN amount_fen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE anomalies ADD COLUMN system_action VARCHAR(500) NOT NULL DEFAULT '';
ALTER TABLE anomalies ADD COLUMN resolved_by VARCHAR(40) NOT NULL DEFAULT '';
CREATE INDEX ix_anomalies_open ON anomalies (kind, created_at);
