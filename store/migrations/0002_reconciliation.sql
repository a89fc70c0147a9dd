-- T+1 reconciliation runs (one per channel and bill date) and the
-- payment-period reminders already sent (one per payable, kind and day).

CREATE TABLE reconciliations (
  channel VARCHAR(20) NOT NULL,
  bill_date VARCHAR(10) NOT NULL,
  status VARCHAR(16) NOT NULL,
  bill_lines INTEGER NOT NULL DEFAULT 0,
  matched INTEGER NOT NULL DEFAULT 0,
  mismatches INTEGER NOT NULL DEFAULT 0,
  detail VARCHAR(500) NOT NULL DEFAULT '',
  started_at {{TIME}} NOT NULL,
  finished_at {{TIME}},
  PRIMARY KEY (channel, bill_date)
) {{TABLE}};

CREATE TABLE reminders (
  payable_id VARCHAR(64) NOT NULL,
  kind VARCHAR(32) NOT NULL,
  user_id VARCHAR(40) NOT NULL,
  sent_on VARCHAR(10) NOT NULL,
  created_at {{TIME}} NOT NULL,
  PRIMARY KEY (payable_id, kind, user_id)
) {{TABLE}};
