-- Rate-limit counters kept in the database while Redis is down, for the
-- limits that stop guessing (logins, names against ID numbers): one row per
-- bucket and fixed window, so an outage of the cache does not open the door
-- to unlimited guesses. The worker deletes windows long past.
CREATE TABLE rate_limits (
  bucket VARCHAR(191) NOT NULL,
  window_start {{TIME}} NOT NULL,
  hits INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, window_start)
) {{TABLE}};
CREATE INDEX ix_rate_limits_window ON rate_limits (window_start);
