-- Counters: the partner API (/partner/v1) through which banks at their
-- counters (bank_counter), 云POS terminals at township points (yun_pos),
-- 裕农通 points (yunongtong) and the hall's POS (hall_pos) take money.
--
-- A counter payment is not a second money path: it is a row of orders like
-- any other (a person's, or a unit's 银行端凭证 order), settled by the same
-- settlement, credited and booked by the same worker. These columns say
-- which partner, counter channel and terminal took it and under which of
-- the partner's transaction ids; every one defaults to '' so an order of
-- the app keeps meaning what it did.
ALTER TABLE orders ADD COLUMN partner_id VARCHAR(40) NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN partner_name VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN counter_channel VARCHAR(16) NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN terminal_id VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN partner_order_txn VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN partner_confirm_txn VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN reversed_at {{TIME}};
-- The day's reconciliation reads a partner's orders paid in a day.
CREATE INDEX ix_orders_partner_paid ON orders (partner_id, paid_at);

-- counter_txns: one row per partner transaction id and operation (order,
-- confirm, reverse), so a partner that timed out and retries gets the same
-- answer, and the same id with another request is a conflict. A separate
-- table rather than a partial unique index on orders: MariaDB has none.
-- The operation is part of the key because a bank may well use one serial
-- for opening and confirming the same payment. request_sha256 is the hash
-- of the request's meaningful fields.
CREATE TABLE counter_txns (
  partner_id VARCHAR(40) NOT NULL,
  op VARCHAR(16) NOT NULL,
  partner_txn_id VARCHAR(64) NOT NULL,
  order_no VARCHAR(40) NOT NULL,
  request_sha256 VARCHAR(64) NOT NULL,
  created_at {{TIME}} NOT NULL,
  PRIMARY KEY (partner_id, op, partner_txn_id)
) {{TABLE}};
CREATE INDEX ix_counter_txns_order ON counter_txns (order_no);

-- hall_consents: the payer's consent to a payment the hall's staff opened
-- on a person's behalf (payer named, relation to the person, how consent
-- was given). The payer's name is sealed like every name.
CREATE TABLE hall_consents (
  order_no VARCHAR(40) PRIMARY KEY,
  person_id VARCHAR(40) NOT NULL,
  staff_id VARCHAR(40) NOT NULL,
  payer_name_sealed VARCHAR(512) NOT NULL,
  relation VARCHAR(16) NOT NULL,
  method VARCHAR(16) NOT NULL,
  created_at {{TIME}} NOT NULL
) {{TABLE}};

-- counter_recon_files: a partner's reconciliation file of one Beijing
-- business day, as last received (its hash makes a re-PUT idempotent).
CREATE TABLE counter_recon_files (
  partner_id VARCHAR(40) NOT NULL,
  day VARCHAR(10) NOT NULL,
  file_sha256 VARCHAR(64) NOT NULL,
  line_count INTEGER NOT NULL,
  received_at {{TIME}} NOT NULL,
  PRIMARY KEY (partner_id, day)
) {{TABLE}};

-- counter_recon_items: each mismatch found between a partner's file and
-- our counter orders of that day: missing (ours, not theirs), extra
-- (theirs, not ours) or amount (both, another amount). ref is the order
-- number, or the partner's transaction id for a line we do not know; the
-- key keeps one row per mismatch however often the file is sent.
CREATE TABLE counter_recon_items (
  partner_id VARCHAR(40) NOT NULL,
  day VARCHAR(10) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  ref VARCHAR(64) NOT NULL,
  partner_txn_id VARCHAR(64) NOT NULL,
  order_no VARCHAR(40) NOT NULL,
  their_fen BIGINT NOT NULL,
  our_fen BIGINT NOT NULL,
  their_status VARCHAR(16) NOT NULL,
  our_status VARCHAR(16) NOT NULL,
  created_at {{TIME}} NOT NULL,
  PRIMARY KEY (partner_id, day, kind, ref)
) {{TABLE}};
