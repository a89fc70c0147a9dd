-- The records list (listRecords) answers from one indexed query on one
-- table: each record carries its payer's masked name as it was when the
-- money was booked, so listing decrypts nothing, and its counter. Only the masked form is stored
-- (models.MaskName of the payer's name, or of the paying unit's name);
-- the plain name stays sealed in persons. NULL marks a row written before
-- this column existed: names are sealed, so SQL cannot mask them here; the
-- worker's "fill record payer names" step (service/contrib
-- FillRecordPayers) fills those rows from Go, and until it has the list
-- works them out per request as it used to. '' is a payer without a name
-- to show (money taken at a counter for nobody's account).
ALTER TABLE records ADD COLUMN payer_masked VARCHAR(64) NULL;

-- The counter that took the money (0012's columns of the order), copied
-- when the month is booked so the list needs no join: with the pure-Go
-- SQLite every statement is parsed again per query, and the join doubled
-- the list's parse. Existing rows are filled from their orders here.
ALTER TABLE records ADD COLUMN counter_channel VARCHAR(16) NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN counter_partner_name VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN counter_terminal_id VARCHAR(64) NOT NULL DEFAULT '';
UPDATE records SET
  counter_channel = (SELECT o.counter_channel FROM orders o WHERE o.order_no = records.order_no),
  counter_partner_name = (SELECT o.partner_name FROM orders o WHERE o.order_no = records.order_no),
  counter_terminal_id = (SELECT o.terminal_id FROM orders o WHERE o.order_no = records.order_no)
WHERE order_no IN (SELECT order_no FROM orders WHERE counter_channel <> '');

-- listPayments pages a payer's orders newest first by order_no (keyset,
-- order_no < token); the index of 0001 is on (payer_user_id, created_at),
-- so each page sorted all of the payer's orders. The records list pages by
-- (scheme, period, adjustment_no) within a person, which the unique index
-- ux_records_person_scheme_period (0009) already serves.
CREATE INDEX ix_orders_payer_order ON orders (payer_user_id, order_no);
