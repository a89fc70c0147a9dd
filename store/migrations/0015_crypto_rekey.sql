-- The 国密 option and key rotation (LIANBAN_CRYPTO, LIANBAN_PII_KEYS).

-- crypto_suites: every suite personal data has been sealed and indexed
-- under besides the default AES one (so far only sm4), noted by the first
-- instance that ran with it. An instance on another suite still opens
-- those values and looks people up under their indexes, so going back from
-- LIANBAN_CRYPTO=sm loses nobody before rekey has rewritten them.
CREATE TABLE crypto_suites (
  name VARCHAR(16) PRIMARY KEY,
  first_used_at {{TIME}} NOT NULL
) {{TABLE}};

-- rekey_progress: `lianban rekey`'s place in each table it rewrites.
-- target is the key and suite it rewrites to (e.g. sm4.k2): a new target
-- starts the table over. cursor_id is the last primary key whose batch
-- was committed, written in the same transaction as the batch, so an
-- interrupted pass resumes after it and never redoes or skips a row.
CREATE TABLE rekey_progress (
  table_name VARCHAR(64) PRIMARY KEY,
  target VARCHAR(32) NOT NULL,
  cursor_id VARCHAR(64) NOT NULL,
  done BOOLEAN NOT NULL,
  rows_rekeyed BIGINT NOT NULL,
  updated_at {{TIME}} NOT NULL
) {{TABLE}};
