-- Refunds across tax, 社保 and 医保, the hall staff who handle them, the
-- applicant's in-app messages, and the append-only audit log.
-- Money is BIGINT fen; personal data (bank account names and numbers, TOTP
-- secrets) is stored sealed; times are UTC.

-- staff_accounts: hall staff. Passwords are argon2id hashes; the TOTP secret
-- is sealed with the PII key. cred_version changes on every reset so live
-- sessions of the old credentials end; totp_last_step refuses a code used
-- twice. failed_count/failed_since count failures in the lockout window.
CREATE TABLE staff_accounts (
  id VARCHAR(40) PRIMARY KEY,
  username VARCHAR(64) NOT NULL,
  role VARCHAR(20) NOT NULL,
  status VARCHAR(16) NOT NULL,
  password_hash VARCHAR(255) NOT NULL,
  totp_sealed VARCHAR(255) NOT NULL,
  totp_last_step BIGINT NOT NULL DEFAULT 0,
  cred_version INTEGER NOT NULL DEFAULT 1,
  failed_count INTEGER NOT NULL DEFAULT 0,
  failed_since {{TIME}},
  locked_until {{TIME}},
  last_login_at {{TIME}},
  created_by VARCHAR(64) NOT NULL,
  created_at {{TIME}} NOT NULL,
  updated_at {{TIME}} NOT NULL,
  disabled_at {{TIME}}
) {{TABLE}};
CREATE UNIQUE INDEX ux_staff_accounts_username ON staff_accounts (username);

-- refunds: one application (退费申请) for one person and one scheme (社保 and
-- 医保 are filed separately). open_key is "person|scheme" while the
-- application is open and NULL once it is final, so the unique index allows
-- one open application per person and scheme on every dialect (NULLs never
-- collide). payout_seq numbers each plan of payouts; event_seq numbers the
-- timeline.
CREATE TABLE refunds (
  refund_no VARCHAR(40) PRIMARY KEY,
  applicant_user_id VARCHAR(40) NOT NULL,
  person_id VARCHAR(40) NOT NULL,
  scheme VARCHAR(32) NOT NULL,
  department VARCHAR(24) NOT NULL,
  reason VARCHAR(24) NOT NULL,
  reason_detail VARCHAR(500) NOT NULL DEFAULT '',
  refund_fen BIGINT NOT NULL,
  refunded_fen BIGINT NOT NULL DEFAULT 0,
  route VARCHAR(16) NOT NULL,
  bank_name VARCHAR(100) NOT NULL DEFAULT '',
  account_name_sealed VARCHAR(255) NOT NULL DEFAULT '',
  account_no_sealed VARCHAR(255) NOT NULL DEFAULT '',
  attachments {{TEXT}},
  status VARCHAR(16) NOT NULL,
  holder VARCHAR(24) NOT NULL DEFAULT '',
  open_key VARCHAR(80),
  payout_seq INTEGER NOT NULL DEFAULT 0,
  event_seq INTEGER NOT NULL DEFAULT 0,
  created_at {{TIME}} NOT NULL,
  updated_at {{TIME}} NOT NULL,
  closed_at {{TIME}}
) {{TABLE}};
CREATE UNIQUE INDEX ux_refunds_open_key ON refunds (open_key);
CREATE INDEX ix_refunds_applicant ON refunds (applicant_user_id, refund_no);
CREATE INDEX ix_refunds_person ON refunds (person_id, scheme);
CREATE INDEX ix_refunds_department_status ON refunds (department, status);

-- refund_items: the records (months, or a year) an application asks back,
-- and how much of each.
CREATE TABLE refund_items (
  refund_no VARCHAR(40) NOT NULL,
  record_id VARCHAR(40) NOT NULL,
  order_no VARCHAR(40) NOT NULL,
  period VARCHAR(6) NOT NULL,
  amount_fen BIGINT NOT NULL,
  PRIMARY KEY (refund_no, record_id)
) {{TABLE}};
CREATE INDEX ix_refund_items_record ON refund_items (record_id);
CREATE INDEX ix_refund_items_order ON refund_items (order_no);

-- refund_events: the timeline. Each step says who (applicant, staff id or
-- the system), when, why, and which department holds the application after
-- it. Append-only, like the audit log.
CREATE TABLE refund_events (
  refund_no VARCHAR(40) NOT NULL,
  seq INTEGER NOT NULL,
  status VARCHAR(16) NOT NULL,
  actor_kind VARCHAR(16) NOT NULL,
  actor_id VARCHAR(40) NOT NULL,
  actor_name VARCHAR(64) NOT NULL DEFAULT '',
  actor_role VARCHAR(20) NOT NULL DEFAULT '',
  department VARCHAR(24) NOT NULL DEFAULT '',
  holder VARCHAR(24) NOT NULL DEFAULT '',
  reasons {{TEXT}},
  note VARCHAR(500) NOT NULL DEFAULT '',
  at {{TIME}} NOT NULL,
  PRIMARY KEY (refund_no, seq)
) {{TABLE}};

-- refund_payouts: money going back. payout_no is the out_refund_no a
-- channel sees or the TransferNo the bank sees: fixed when the payout is
-- planned and reused on every retry, so each is paid at most once. A payout
-- that failed for good is never retried; a new one (new number) replaces it.
-- allocation says which orders it pays back ("order_no:fen,…").
CREATE TABLE refund_payouts (
  payout_no VARCHAR(64) PRIMARY KEY,
  refund_no VARCHAR(40) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  channel VARCHAR(20) NOT NULL DEFAULT '',
  order_no VARCHAR(40) NOT NULL DEFAULT '',
  order_total_fen BIGINT NOT NULL DEFAULT 0,
  amount_fen BIGINT NOT NULL,
  allocation {{TEXT}},
  bank_name VARCHAR(100) NOT NULL DEFAULT '',
  account_name_sealed VARCHAR(255) NOT NULL DEFAULT '',
  account_no_sealed VARCHAR(255) NOT NULL DEFAULT '',
  status VARCHAR(16) NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error VARCHAR(300) NOT NULL DEFAULT '',
  next_query_at {{TIME}},
  created_by VARCHAR(40) NOT NULL,
  created_at {{TIME}} NOT NULL,
  updated_at {{TIME}} NOT NULL,
  succeeded_at {{TIME}},
  failed_at {{TIME}}
) {{TABLE}};
CREATE INDEX ix_refund_payouts_refund ON refund_payouts (refund_no);
CREATE INDEX ix_refund_payouts_follow ON refund_payouts (status, next_query_at);

-- messages: the in-app message list (GET /me/messages). Written in the same
-- transaction as the decision it reports, so none is lost; pushes through a
-- channel are best-effort on top.
CREATE TABLE messages (
  id VARCHAR(48) PRIMARY KEY,
  user_id VARCHAR(40) NOT NULL,
  kind VARCHAR(32) NOT NULL,
  title VARCHAR(100) NOT NULL,
  body VARCHAR(1000) NOT NULL,
  refund_no VARCHAR(40) NOT NULL DEFAULT '',
  created_at {{TIME}} NOT NULL,
  read_at {{TIME}}
) {{TABLE}};
CREATE INDEX ix_messages_user ON messages (user_id, id);

-- audit_log: every staff action and every staff read of personal data, with
-- who, when, what, on what, the outcome and from where. ids sort by time.
-- Append-only: triggers refuse UPDATE and DELETE (and TRUNCATE on
-- PostgreSQL) on every dialect.
CREATE TABLE audit_log (
  id VARCHAR(48) PRIMARY KEY,
  at {{TIME}} NOT NULL,
  staff_id VARCHAR(40) NOT NULL,
  username VARCHAR(64) NOT NULL,
  role VARCHAR(20) NOT NULL,
  action VARCHAR(40) NOT NULL,
  target_kind VARCHAR(24) NOT NULL,
  target_id VARCHAR(64) NOT NULL,
  outcome VARCHAR(16) NOT NULL,
  detail VARCHAR(500) NOT NULL,
  client_ip VARCHAR(64) NOT NULL,
  peer_ip VARCHAR(64) NOT NULL,
  request_id VARCHAR(64) NOT NULL
) {{TABLE}};
CREATE INDEX ix_audit_log_at ON audit_log (at);
CREATE INDEX ix_audit_log_staff ON audit_log (staff_id, id);
CREATE INDEX ix_audit_log_target ON audit_log (target_id);
CREATE INDEX ix_audit_log_action ON audit_log (action, id);

{{ONLY:postgres}} CREATE OR REPLACE FUNCTION lianban_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$;
{{ONLY:postgres}} CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION lianban_append_only();
{{ONLY:postgres}} CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION lianban_append_only();
{{ONLY:postgres}} CREATE TRIGGER refund_events_append_only BEFORE UPDATE OR DELETE ON refund_events FOR EACH ROW EXECUTE FUNCTION lianban_append_only();
{{ONLY:postgres}} CREATE TRIGGER refund_events_no_truncate BEFORE TRUNCATE ON refund_events FOR EACH STATEMENT EXECUTE FUNCTION lianban_append_only();
{{ONLY:mysql}} CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_log is append-only';
{{ONLY:mysql}} CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_log is append-only';
{{ONLY:mysql}} CREATE TRIGGER refund_events_no_update BEFORE UPDATE ON refund_events FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refund_events is append-only';
{{ONLY:mysql}} CREATE TRIGGER refund_events_no_delete BEFORE DELETE ON refund_events FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refund_events is append-only';
{{ONLY:sqlite}} CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
{{ONLY:sqlite}} CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
{{ONLY:sqlite}} CREATE TRIGGER refund_events_no_update BEFORE UPDATE ON refund_events BEGIN SELECT RAISE(ABORT, 'refund_events is append-only'); END;
{{ONLY:sqlite}} CREATE TRIGGER refund_events_no_delete BEFORE DELETE ON refund_events BEGIN SELECT RAISE(ABORT, 'refund_events is append-only'); END;
