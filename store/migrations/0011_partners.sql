-- Partners of the counter API (/partner/v1): banks at their counters, 云POS
-- and 裕农通 operators, the hall's POS. Each signs every request with an
-- HMAC key (channels/partner); admin staff create partners, rotate and
-- retire keys, and disable partners (service/partners).

-- partners: id is the X-Partner-Id a terminal sends (e.g. sandbox-bank).
-- channels lists the counter channels it may take money through, comma
-- separated (bank_counter, yun_pos, yunongtong, hall_pos). key_version is
-- bumped by every key change, so two concurrent rotations or retirements
-- cannot both act on the same set of live keys.
CREATE TABLE partners (
  id VARCHAR(40) PRIMARY KEY,
  name VARCHAR(128) NOT NULL,
  channels VARCHAR(128) NOT NULL,
  status VARCHAR(16) NOT NULL,
  key_version INTEGER NOT NULL DEFAULT 0,
  created_by VARCHAR(40) NOT NULL,
  created_at {{TIME}} NOT NULL,
  updated_at {{TIME}} NOT NULL,
  disabled_at {{TIME}}
) {{TABLE}};

-- partner_keys: a partner's signing keys. The secret is sealed with the
-- PII cipher (AES-GCM): a copy of the database signs nothing. A rotation
-- adds a key; at most two are live at once (old and new while terminals
-- switch); a retired key stays as history and never signs again.
CREATE TABLE partner_keys (
  id VARCHAR(40) PRIMARY KEY,
  partner_id VARCHAR(40) NOT NULL,
  secret_sealed {{TEXT}} NOT NULL,
  status VARCHAR(16) NOT NULL,
  created_by VARCHAR(40) NOT NULL,
  created_at {{TIME}} NOT NULL,
  retired_at {{TIME}}
) {{TABLE}};
CREATE INDEX ix_partner_keys_partner ON partner_keys (partner_id, status, created_at);

-- partner_nonces: every X-Nonce a partner's verified request used, kept
-- until its signature could no longer pass the ±300 s clock window
-- (expires_at). The unique key is the record that a nonce was used: Redis
-- only screens replays before this insert, so a replay is refused whether
-- Redis is up, down or lost its keys. The worker purges expired rows.
-- nonce_hash is hex(sha256(nonce)), so any nonce fits the key's width.
CREATE TABLE partner_nonces (
  partner_id VARCHAR(40) NOT NULL,
  nonce_hash VARCHAR(64) NOT NULL,
  expires_at {{TIME}} NOT NULL,
  PRIMARY KEY (partner_id, nonce_hash)
) {{TABLE}};
CREATE INDEX ix_partner_nonces_expires ON partner_nonces (expires_at);

-- partner_calls: every /partner/v1 request, refused ones included (with
-- the partner id it claimed): who, with which key, what (method, route,
-- path without the query), the HTTP status, the outcome (ok, error,
-- refused) and, for a refusal, its reason (which the caller is never
-- told), where from, and the request id. Append-only, like audit_log.
CREATE TABLE partner_calls (
  id VARCHAR(48) PRIMARY KEY,
  at {{TIME}} NOT NULL,
  partner_id VARCHAR(64) NOT NULL,
  authenticated BOOLEAN NOT NULL,
  key_id VARCHAR(40) NOT NULL,
  method VARCHAR(10) NOT NULL,
  route VARCHAR(128) NOT NULL,
  path VARCHAR(255) NOT NULL,
  status INTEGER NOT NULL,
  outcome VARCHAR(16) NOT NULL,
  reason VARCHAR(32) NOT NULL,
  client_ip VARCHAR(64) NOT NULL,
  peer_ip VARCHAR(64) NOT NULL,
  request_id VARCHAR(64) NOT NULL
) {{TABLE}};
CREATE INDEX ix_partner_calls_partner ON partner_calls (partner_id, id);
CREATE INDEX ix_partner_calls_at ON partner_calls (at);

{{ONLY:postgres}} CREATE TRIGGER partner_calls_append_only BEFORE UPDATE OR DELETE ON partner_calls FOR EACH ROW EXECUTE FUNCTION lianban_append_only();
{{ONLY:postgres}} CREATE TRIGGER partner_calls_no_truncate BEFORE TRUNCATE ON partner_calls FOR EACH STATEMENT EXECUTE FUNCTION lianban_append_only();
{{ONLY:mysql}} CREATE TRIGGER partner_calls_no_update BEFORE UPDATE ON partner_calls FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'partner_calls is append-only';
{{ONLY:mysql}} CREATE TRIGGER partner_calls_no_delete BEFORE DELETE ON partner_calls FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'partner_calls is append-only';
{{ONLY:sqlite}} CREATE TRIGGER partner_calls_no_update BEFORE UPDATE ON partner_calls BEGIN SELECT RAISE(ABORT, 'partner_calls is append-only'); END;
{{ONLY:sqlite}} CREATE TRIGGER partner_calls_no_delete BEFORE DELETE ON partner_calls BEGIN SELECT RAISE(ABORT, 'partner_calls is append-only'); END;
