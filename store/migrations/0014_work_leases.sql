-- Background work that calls an outside party (a channel's order query or
-- close, a refund payout, a bank debit, the treasury's and the agency's
-- settlement questions) is claimed first, so that however many instances
-- run the workers each object is worked by one of them at a time: one row
-- per (step, object), held by one instance until lease_until. An instance
-- that dies leaves its lease to expire and another takes the object over;
-- one that stops hands its rows back by deleting them (holder). A finished
-- piece of work deletes its row, so the table holds only work in flight.
CREATE TABLE work_leases (
  step VARCHAR(40) NOT NULL,
  object_key VARCHAR(100) NOT NULL,
  holder VARCHAR(100) NOT NULL,
  lease_until {{TIME}} NOT NULL,
  PRIMARY KEY (step, object_key)
) {{TABLE}};
CREATE INDEX ix_work_leases_holder ON work_leases (holder);
