-- Units (employers, 单位): binding by the legal representative and the
-- 办税员 they authorise, 参保登记 per scheme, rosters (增员 / 减员), monthly
-- declarations of the agency's 预处理数据, payment by 三方协议 debit, 银行端凭证
-- or the hall's POS, certificates, and refunds with uploaded attachments.
--
-- A unit's payment is not a second money path: it is a row of orders (with
-- unit_id, unit_declaration_id and method set), so settlement, the
-- query/close worker, crediting (入库), booking (记账), reconciliation and
-- anomalies treat it like any order. The months it pays are rows of records
-- (payer_unit_id set), so each employee's own records list shows them; its
-- certificates are rows of certificates and its refunds rows of refunds
-- (unit_id set). Every new column on those tables defaults to '' or 0, which
-- is what an individual's row has always meant, so existing code and
-- indexes keep working. Columns that hold an individual's value (person_id,
-- declaration_id…) are NOT NULL without a default and get '' on a unit's row.
--
-- No personal data is stored here in the clear: people are persons rows
-- (name and ID number sealed there) referred to by id; bank account names
-- and numbers are sealed, with an HMAC blind index to look numbers up.
-- Money is BIGINT fen; periods are YYYYMM; times are UTC.

-- units: an employer, identified by its 统一社会信用代码 (uscc, GB 32100).
-- unit_type is enterprise or institution (机关事业单位); region_code the 盟市
-- it is registered in.
CREATE TABLE units (
  id VARCHAR(40) PRIMARY KEY,
  uscc VARCHAR(18) NOT NULL,
  name VARCHAR(128) NOT NULL,
  unit_type VARCHAR(16) NOT NULL,
  region_code VARCHAR(6) NOT NULL,
  created_at {{TIME}} NOT NULL
) {{TABLE}};
CREATE UNIQUE INDEX ux_units_uscc ON units (uscc);

-- unit_members: who may act for a unit. The legal representative (role
-- legal_rep) binds the unit and authorises operators (role operator,
-- 办税员). A member is a person (any of their verified logins acts);
-- user_id is the login that bound or was named, '' when none was. Removing
-- sets removed_at and removed_by and clears the keys, so history stays.
-- active_key is "unit_id|person_id" while the membership is active and NULL
-- after, so the unique index allows one active membership per unit and
-- person on every dialect (NULLs never collide). rep_key is the unit_id
-- while the member is the active legal representative, NULL otherwise: one
-- legal representative per unit at a time.
CREATE TABLE unit_members (
  id VARCHAR(40) PRIMARY KEY,
  unit_id VARCHAR(40) NOT NULL,
  user_id VARCHAR(40) NOT NULL DEFAULT '',
  person_id VARCHAR(40) NOT NULL,
  role VARCHAR(16) NOT NULL,
  active_key VARCHAR(82),
  rep_key VARCHAR(40),
  added_by VARCHAR(40) NOT NULL,
  created_at {{TIME}} NOT NULL,
  removed_by VARCHAR(40) NOT NULL DEFAULT '',
  removed_at {{TIME}}
) {{TABLE}};
CREATE UNIQUE INDEX ux_unit_members_active ON unit_members (active_key);
CREATE UNIQUE INDEX ux_unit_members_rep ON unit_members (rep_key);
CREATE INDEX ix_unit_members_unit ON unit_members (unit_id, role);
CREATE INDEX ix_unit_members_person ON unit_members (person_id);
CREATE INDEX ix_unit_members_user ON unit_members (user_id);

-- unit_registrations: a unit's 参保登记 in one scheme (enterprise_pension,
-- enterprise_medical, institution_pension, institution_medical), once per
-- unit and scheme, with the agency's receipt number.
CREATE TABLE unit_registrations (
  id VARCHAR(40) PRIMARY KEY,
  unit_id VARCHAR(40) NOT NULL,
  scheme VARCHAR(32) NOT NULL,
  region_code VARCHAR(6) NOT NULL,
  receipt_no VARCHAR(40) NOT NULL,
  registered_by VARCHAR(40) NOT NULL,
  registered_at {{TIME}} NOT NULL
) {{TABLE}};
CREATE UNIQUE INDEX ux_unit_registrations_unit_scheme ON unit_registrations (unit_id, scheme);
CREATE UNIQUE INDEX ux_unit_registrations_receipt ON unit_registrations (receipt_no);

-- unit_employees: one spell of a person insured in one scheme through a
-- unit, from from_period (增员) to to_period inclusive (减员; '' while open).
-- wage_fen is the declared monthly wage (缴费工资) the agency's assessment
-- starts from.
--
-- open_key is "person_id|scheme" while the spell is open-ended and NULL
-- once it has an end, so no person has two open spells in one scheme, in
-- one unit or across units, on every dialect. Overlaps between ended spells
-- and a new one are beyond a portable constraint: the service checks them
-- in the transaction that adds the spell. A spell is never deleted.
CREATE TABLE unit_employees (
  id VARCHAR(40) PRIMARY KEY,
  unit_id VARCHAR(40) NOT NULL,
  scheme VARCHAR(32) NOT NULL,
  person_id VARCHAR(40) NOT NULL,
  wage_fen BIGINT NOT NULL,
  from_period VARCHAR(6) NOT NULL,
  to_period VARCHAR(6) NOT NULL DEFAULT '',
  open_key VARCHAR(80),
  created_by VARCHAR(40) NOT NULL,
  created_at {{TIME}} NOT NULL,
  removed_by VARCHAR(40) NOT NULL DEFAULT '',
  removed_at {{TIME}}
) {{TABLE}};
CREATE UNIQUE INDEX ux_unit_employees_open ON unit_employees (open_key);
CREATE UNIQUE INDEX ux_unit_employees_spell ON unit_employees (unit_id, scheme, person_id, from_period);
CREATE INDEX ix_unit_employees_unit ON unit_employees (unit_id, scheme, id);
CREATE INDEX ix_unit_employees_person ON unit_employees (person_id, scheme);

-- unit_declarations: a unit confirming one month's 预处理数据 (the agency's
-- assessment for every employee and scheme) as its declaration. seq 0 is
-- the month's declaration, one per unit and period; a change after
-- confirming is a correction declaration (更正申报) with the next seq and
-- corrects_id naming the declaration it corrects, so the unique index on
-- (unit_id, period, seq) also stops two corrections racing for one number.
-- The sums are the lines' sums: amount_fen = unit_fen + individual_fen.
-- order_no is the live payment order ('' when none), set and cleared by
-- conditional updates like declarations.order_no.
CREATE TABLE unit_declarations (
  id VARCHAR(40) PRIMARY KEY,
  unit_id VARCHAR(40) NOT NULL,
  period VARCHAR(6) NOT NULL,
  seq INTEGER NOT NULL DEFAULT 0,
  corrects_id VARCHAR(40) NOT NULL DEFAULT '',
  amount_fen BIGINT NOT NULL,
  unit_fen BIGINT NOT NULL,
  individual_fen BIGINT NOT NULL,
  headcount INTEGER NOT NULL DEFAULT 0,
  status VARCHAR(16) NOT NULL,
  order_no VARCHAR(40) NOT NULL DEFAULT '',
  created_by VARCHAR(40) NOT NULL,
  created_at {{TIME}} NOT NULL,
  updated_at {{TIME}} NOT NULL
) {{TABLE}};
CREATE UNIQUE INDEX ux_unit_declarations_period_seq ON unit_declarations (unit_id, period, seq);
CREATE INDEX ix_unit_declarations_corrects ON unit_declarations (corrects_id);
CREATE INDEX ix_unit_declarations_status ON unit_declarations (status);

-- unit_declaration_lines: one employee in one scheme of a declaration, as
-- the agency assessed it: base (缴费基数), the unit's part and the
-- individual's part. Paged by (declaration_id, id); the record written for
-- the employee's month when the unit pays points back here.
CREATE TABLE unit_declaration_lines (
  id VARCHAR(40) PRIMARY KEY,
  declaration_id VARCHAR(40) NOT NULL,
  employee_id VARCHAR(40) NOT NULL,
  person_id VARCHAR(40) NOT NULL,
  scheme VARCHAR(32) NOT NULL,
  region_code VARCHAR(6) NOT NULL,
  base_fen BIGINT NOT NULL,
  unit_fen BIGINT NOT NULL,
  individual_fen BIGINT NOT NULL,
  amount_fen BIGINT NOT NULL
) {{TABLE}};
CREATE UNIQUE INDEX ux_unit_declaration_lines_employee ON unit_declaration_lines (declaration_id, employee_id);
CREATE INDEX ix_unit_declaration_lines_page ON unit_declaration_lines (declaration_id, id);
CREATE INDEX ix_unit_declaration_lines_person ON unit_declaration_lines (person_id, scheme);

-- tripartite_agreements: 三方协议 between the unit, its bank and the tax
-- bureau, allowing debits from the unit's account. status is pending until
-- the bank answers, then verified or refused (refuse_reason says why), and
-- revoked when ended. The account holder's name and number are sealed;
-- account_no_index is the number's blind index.
CREATE TABLE tripartite_agreements (
  id VARCHAR(40) PRIMARY KEY,
  unit_id VARCHAR(40) NOT NULL,
  agreement_no VARCHAR(40) NOT NULL,
  bank_code VARCHAR(20) NOT NULL,
  account_name_sealed VARCHAR(255) NOT NULL,
  account_no_sealed VARCHAR(255) NOT NULL,
  account_no_index VARCHAR(64) NOT NULL,
  status VARCHAR(16) NOT NULL,
  refuse_reason VARCHAR(200) NOT NULL DEFAULT '',
  created_by VARCHAR(40) NOT NULL,
  created_at {{TIME}} NOT NULL,
  verified_at {{TIME}},
  revoked_at {{TIME}}
) {{TABLE}};
CREATE UNIQUE INDEX ux_tripartite_agreements_no ON tripartite_agreements (agreement_no);
CREATE INDEX ix_tripartite_agreements_unit ON tripartite_agreements (unit_id, status);
CREATE INDEX ix_tripartite_agreements_account ON tripartite_agreements (account_no_index);

-- tripartite_debits: the debit request for one order paid through an
-- agreement. debit_no is fixed when the debit is first planned and reused
-- on every retry and query, so the bank debits at most once; one debit per
-- order. "Result unknown" stays pending (status unknown, queried again at
-- next_query_at), never failed.
CREATE TABLE tripartite_debits (
  debit_no VARCHAR(40) PRIMARY KEY,
  order_no VARCHAR(40) NOT NULL,
  agreement_id VARCHAR(40) NOT NULL,
  unit_id VARCHAR(40) NOT NULL,
  amount_fen BIGINT NOT NULL,
  status VARCHAR(16) NOT NULL,
  bank_ref VARCHAR(64) NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error VARCHAR(300) NOT NULL DEFAULT '',
  next_query_at {{TIME}},
  created_at {{TIME}} NOT NULL,
  updated_at {{TIME}} NOT NULL,
  finished_at {{TIME}}
) {{TABLE}};
CREATE UNIQUE INDEX ux_tripartite_debits_order ON tripartite_debits (order_no);
CREATE INDEX ix_tripartite_debits_follow ON tripartite_debits (status, next_query_at);

-- bank_vouchers: 银行端缴税凭证. The unit takes the voucher number to any
-- partner bank, whose counter finds the order by it (partnerQueryPayables
-- {voucher_no}); one voucher per order, void after expires_at.
CREATE TABLE bank_vouchers (
  voucher_no VARCHAR(40) PRIMARY KEY,
  order_no VARCHAR(40) NOT NULL,
  unit_id VARCHAR(40) NOT NULL,
  unit_declaration_id VARCHAR(40) NOT NULL,
  amount_fen BIGINT NOT NULL,
  created_at {{TIME}} NOT NULL,
  expires_at {{TIME}} NOT NULL
) {{TABLE}};
CREATE UNIQUE INDEX ux_bank_vouchers_order ON bank_vouchers (order_no);
CREATE INDEX ix_bank_vouchers_unit ON bank_vouchers (unit_id, created_at);

-- uploads: a file a user uploaded (PDF, JPEG or PNG; type checked by
-- content), for a unit's refund attachments (开户许可证, 缴费凭证) and the
-- like. owner_user_id uploaded it; unit_id is the unit it was uploaded for
-- ('' if none). blob_key names the bytes in the blob store; sha256 is the
-- hex digest of the bytes, checked when they are read back.
CREATE TABLE uploads (
  id VARCHAR(40) PRIMARY KEY,
  owner_user_id VARCHAR(40) NOT NULL,
  unit_id VARCHAR(40) NOT NULL DEFAULT '',
  size BIGINT NOT NULL,
  content_type VARCHAR(64) NOT NULL,
  sha256 VARCHAR(64) NOT NULL,
  blob_key VARCHAR(128) NOT NULL,
  created_at {{TIME}} NOT NULL
) {{TABLE}};
CREATE INDEX ix_uploads_owner ON uploads (owner_user_id, created_at);
CREATE INDEX ix_uploads_unit ON uploads (unit_id, created_at);

-- upload_blobs: the database as the blob store (the default, so one
-- database is all a deployment needs); uploads.blob_key is the key here.
-- An object store can take its place without touching uploads.
CREATE TABLE upload_blobs (
  blob_key VARCHAR(128) PRIMARY KEY,
  content {{BLOB}} NOT NULL,
  created_at {{TIME}} NOT NULL
) {{TABLE}};

-- refund_attachments: the uploads a refund application carries. kind says
-- what the file is (application_form 社会保险费退费申请表, account_permit
-- 开户许可证, payment_voucher 缴费凭证, or '' when the applicant did not say).
CREATE TABLE refund_attachments (
  refund_no VARCHAR(40) NOT NULL,
  upload_id VARCHAR(40) NOT NULL,
  kind VARCHAR(24) NOT NULL DEFAULT '',
  created_at {{TIME}} NOT NULL,
  PRIMARY KEY (refund_no, upload_id)
) {{TABLE}};
CREATE INDEX ix_refund_attachments_upload ON refund_attachments (upload_id);

-- orders: a unit's payment. unit_id and unit_declaration_id are '' on an
-- individual's order (whose declaration_id, person_id are '' on a unit's);
-- method is tripartite, bank_voucher or pos for a unit, '' for an
-- individual's channel payment.
ALTER TABLE orders ADD COLUMN unit_id VARCHAR(40) NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN unit_declaration_id VARCHAR(40) NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN method VARCHAR(16) NOT NULL DEFAULT '';
CREATE INDEX ix_orders_unit ON orders (unit_id, created_at);
CREATE INDEX ix_orders_unit_declaration ON orders (unit_declaration_id);

-- records: an employee's month paid by their unit has payer_unit_id set and
-- unit_line_id naming the declaration line it came from; the employee is
-- person_id as always, so their records list shows it with its stage times
-- (paid_at, credited_at, booked_at).
--
-- adjustment_no is 0 for a month's contribution. The unique index on
-- (person_id, scheme, period) becomes (person_id, scheme, period,
-- adjustment_no): still exactly one contribution per person, scheme and
-- month (every existing row and every individual payment has 0), so nobody
-- is credited twice for a month; a difference paid later for a month
-- already paid (a unit's correction declaration n, or a 调差) is its own row
-- with adjustment_no n. A person employed by a unit and a flexible worker
-- in another scheme differ in scheme, as before.
ALTER TABLE records ADD COLUMN payer_unit_id VARCHAR(40) NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN unit_line_id VARCHAR(40) NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN adjustment_no INTEGER NOT NULL DEFAULT 0;
{{ONLY:postgres}} DROP INDEX ux_records_person_scheme_period;
{{ONLY:sqlite}} DROP INDEX ux_records_person_scheme_period;
{{ONLY:mysql}} DROP INDEX ux_records_person_scheme_period ON records;
CREATE UNIQUE INDEX ux_records_person_scheme_period ON records (person_id, scheme, period, adjustment_no);
CREATE INDEX ix_records_payer_unit ON records (payer_unit_id, period);

-- certificates: a unit's 完税证明 (and 补开, reissue_of) has unit_id set and
-- person_id ''. unit_id is covered by the immutability triggers like every
-- other column: they are replaced below with unit_id added.
ALTER TABLE certificates ADD COLUMN unit_id VARCHAR(40) NOT NULL DEFAULT '';
CREATE INDEX ix_certificates_unit ON certificates (unit_id, issued_at);
{{ONLY:postgres}} CREATE OR REPLACE FUNCTION certificates_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'certificates are immutable: % cannot be deleted', OLD.certificate_no; END IF; IF OLD.revoked_at IS NOT NULL OR (NEW.certificate_no, NEW.kind, NEW.person_id, NEW.unit_id, NEW.issued_by_user_id, NEW.scheme, NEW.period_from, NEW.period_to, NEW.order_no, NEW.reissue_of, NEW.total_fen, NEW.line_count, NEW.canonical, NEW.signature, NEW.key_id, NEW.algorithm, NEW.pdf, NEW.issued_at) IS DISTINCT FROM (OLD.certificate_no, OLD.kind, OLD.person_id, OLD.unit_id, OLD.issued_by_user_id, OLD.scheme, OLD.period_from, OLD.period_to, OLD.order_no, OLD.reissue_of, OLD.total_fen, OLD.line_count, OLD.canonical, OLD.signature, OLD.key_id, OLD.algorithm, OLD.pdf, OLD.issued_at) THEN RAISE EXCEPTION 'certificates are immutable: only an unrevoked certificate may be revoked (%)', OLD.certificate_no; END IF; RETURN NEW; END $$;
{{ONLY:mysql}} DROP TRIGGER IF EXISTS certificates_no_update;
{{ONLY:mysql}} CREATE TRIGGER certificates_no_update BEFORE UPDATE ON certificates FOR EACH ROW BEGIN IF OLD.revoked_at IS NOT NULL OR NOT (NEW.certificate_no <=> OLD.certificate_no AND NEW.kind <=> OLD.kind AND NEW.person_id <=> OLD.person_id AND NEW.unit_id <=> OLD.unit_id AND NEW.issued_by_user_id <=> OLD.issued_by_user_id AND NEW.scheme <=> OLD.scheme AND NEW.period_from <=> OLD.period_from AND NEW.period_to <=> OLD.period_to AND NEW.order_no <=> OLD.order_no AND NEW.reissue_of <=> OLD.reissue_of AND NEW.total_fen <=> OLD.total_fen AND NEW.line_count <=> OLD.line_count AND NEW.canonical <=> OLD.canonical AND NEW.signature <=> OLD.signature AND NEW.key_id <=> OLD.key_id AND NEW.algorithm <=> OLD.algorithm AND NEW.pdf <=> OLD.pdf AND NEW.issued_at <=> OLD.issued_at) THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'certificates are immutable: only an unrevoked certificate may be revoked'; END IF; END;
{{ONLY:sqlite}} DROP TRIGGER IF EXISTS certificates_no_update;
{{ONLY:sqlite}} CREATE TRIGGER certificates_no_update BEFORE UPDATE ON certificates FOR EACH ROW WHEN OLD.revoked_at IS NOT NULL OR NEW.certificate_no IS NOT OLD.certificate_no OR NEW.kind IS NOT OLD.kind OR NEW.person_id IS NOT OLD.person_id OR NEW.unit_id IS NOT OLD.unit_id OR NEW.issued_by_user_id IS NOT OLD.issued_by_user_id OR NEW.scheme IS NOT OLD.scheme OR NEW.period_from IS NOT OLD.period_from OR NEW.period_to IS NOT OLD.period_to OR NEW.order_no IS NOT OLD.order_no OR NEW.reissue_of IS NOT OLD.reissue_of OR NEW.total_fen IS NOT OLD.total_fen OR NEW.line_count IS NOT OLD.line_count OR NEW.canonical IS NOT OLD.canonical OR NEW.signature IS NOT OLD.signature OR NEW.key_id IS NOT OLD.key_id OR NEW.algorithm IS NOT OLD.algorithm OR NEW.pdf IS NOT OLD.pdf OR NEW.issued_at IS NOT OLD.issued_at BEGIN SELECT RAISE(ABORT, 'certificates are immutable: only an unrevoked certificate may be revoked'); END;

-- refunds: a unit's application has unit_id set and person_id ''. Its
-- open_key is "unit:<unit_id>|<scheme>" while open, so a unit has one open
-- application per scheme; the prefix keeps it apart from persons' keys.
-- The staff steps, payouts, events and messages are the individual path's.
ALTER TABLE refunds ADD COLUMN unit_id VARCHAR(40) NOT NULL DEFAULT '';
CREATE INDEX ix_refunds_unit ON refunds (unit_id, refund_no);
