-- The individual's journey: people, accounts, family and grants, enrolments,
-- declarations, orders, records, notifications and idempotency keys.
-- Money is BIGINT fen; personal data is stored sealed (AES-256-GCM) with an
-- HMAC blind index for look-ups; times are UTC.

CREATE TABLE persons (
  id VARCHAR(40) PRIMARY KEY,
  id_index VARCHAR(64) NOT NULL,
  id_sealed VARCHAR(255) NOT NULL,
  name_sealed VARCHAR(255) NOT NULL,
  birth_date VARCHAR(10) NOT NULL,
  male BOOLEAN NOT NULL,
  id_region VARCHAR(6) NOT NULL,
  created_at {{TIME}} NOT NULL
) {{TABLE}};
CREATE UNIQUE INDEX ux_persons_id_index ON persons (id_index);

CREATE TABLE users (
  id VARCHAR(40) PRIMARY KEY,
  channel VARCHAR(20) NOT NULL,
  subject VARCHAR(128) NOT NULL,
  union_id VARCHAR(128) NOT NULL DEFAULT '',
  person_id VARCHAR(40),
  phone_sealed VARCHAR(255) NOT NULL DEFAULT '',
  verified_at {{TIME}},
  created_at {{TIME}} NOT NULL
) {{TABLE}};
CREATE UNIQUE INDEX ux_users_channel_subject ON users (channel, subject);
CREATE INDEX ix_users_person ON users (person_id);

CREATE TABLE family_members (
  id VARCHAR(40) PRIMARY KEY,
  user_id VARCHAR(40) NOT NULL,
  person_id VARCHAR(40) NOT NULL,
  relation VARCHAR(20) NOT NULL,
  created_at {{TIME}} NOT NULL
) {{TABLE}};
CREATE UNIQUE INDEX ux_family_user_person ON family_members (user_id, person_id);

-- payer_links remember people a user may pay for because the user named
-- them with a matching name and ID number (代缴) without adding them as
-- family. They allow paying, never seeing history.
CREATE TABLE payer_links (
  user_id VARCHAR(40) NOT NULL,
  person_id VARCHAR(40) NOT NULL,
  created_at {{TIME}} NOT NULL,
  PRIMARY KEY (user_id, person_id)
) {{TABLE}};

CREATE TABLE grants (
  id VARCHAR(40) PRIMARY KEY,
  grantor_person_id VARCHAR(40) NOT NULL,
  grantee_user_id VARCHAR(40) NOT NULL DEFAULT '',
  grantee_person_id VARCHAR(40) NOT NULL DEFAULT '',
  created_at {{TIME}} NOT NULL,
  revoked_at {{TIME}}
) {{TABLE}};
CREATE INDEX ix_grants_grantor ON grants (grantor_person_id);
CREATE INDEX ix_grants_grantee_user ON grants (grantee_user_id);
CREATE INDEX ix_grants_grantee_person ON grants (grantee_person_id);

CREATE TABLE enrolments (
  id VARCHAR(40) PRIMARY KEY,
  person_id VARCHAR(40) NOT NULL,
  scheme VARCHAR(32) NOT NULL,
  region_code VARCHAR(6) NOT NULL,
  medical_option VARCHAR(20) NOT NULL DEFAULT '',
  status VARCHAR(16) NOT NULL,
  receipt_no VARCHAR(40) NOT NULL,
  registered_at {{TIME}} NOT NULL,
  enrolled_by_user_id VARCHAR(40) NOT NULL
) {{TABLE}};
CREATE UNIQUE INDEX ux_enrolments_person_scheme ON enrolments (person_id, scheme);
CREATE UNIQUE INDEX ux_enrolments_receipt ON enrolments (receipt_no);

-- unit_insurance is what the agencies tell us about people insured through
-- an employer; a person insured through a unit cannot also enrol as a
-- flexible worker in the same scheme.
CREATE TABLE unit_insurance (
  person_id VARCHAR(40) NOT NULL,
  scheme VARCHAR(32) NOT NULL,
  unit_name VARCHAR(128) NOT NULL,
  created_at {{TIME}} NOT NULL,
  PRIMARY KEY (person_id, scheme)
) {{TABLE}};

CREATE TABLE declarations (
  id VARCHAR(40) PRIMARY KEY,
  person_id VARCHAR(40) NOT NULL,
  enrolment_id VARCHAR(40) NOT NULL,
  payable_id VARCHAR(64) NOT NULL,
  scheme VARCHAR(32) NOT NULL,
  year INTEGER NOT NULL,
  region_code VARCHAR(6) NOT NULL,
  option_code VARCHAR(32) NOT NULL,
  base_fen BIGINT NOT NULL,
  monthly_fen BIGINT NOT NULL,
  extra_fen BIGINT NOT NULL,
  period_from VARCHAR(6) NOT NULL,
  period_to VARCHAR(6) NOT NULL,
  amount_fen BIGINT NOT NULL,
  status VARCHAR(16) NOT NULL,
  order_no VARCHAR(40) NOT NULL DEFAULT '',
  declared_by_user_id VARCHAR(40) NOT NULL,
  expires_at {{TIME}} NOT NULL,
  created_at {{TIME}} NOT NULL,
  updated_at {{TIME}} NOT NULL
) {{TABLE}};
CREATE INDEX ix_declarations_person ON declarations (person_id, scheme);

-- period_claims make "at most one open declaration per person, scheme and
-- period" a primary key, on every dialect.
CREATE TABLE period_claims (
  person_id VARCHAR(40) NOT NULL,
  scheme VARCHAR(32) NOT NULL,
  period VARCHAR(6) NOT NULL,
  declaration_id VARCHAR(40) NOT NULL,
  state VARCHAR(16) NOT NULL,
  PRIMARY KEY (person_id, scheme, period)
) {{TABLE}};
CREATE INDEX ix_claims_declaration ON period_claims (declaration_id);

CREATE TABLE orders (
  order_no VARCHAR(40) PRIMARY KEY,
  declaration_id VARCHAR(40) NOT NULL,
  person_id VARCHAR(40) NOT NULL,
  payer_user_id VARCHAR(40) NOT NULL,
  channel VARCHAR(20) NOT NULL,
  scheme VARCHAR(32) NOT NULL,
  amount_fen BIGINT NOT NULL,
  refunded_fen BIGINT NOT NULL DEFAULT 0,
  status VARCHAR(24) NOT NULL,
  transaction_id VARCHAR(64) NOT NULL DEFAULT '',
  pay_params {{TEXT}},
  expires_at {{TIME}} NOT NULL,
  created_at {{TIME}} NOT NULL,
  paid_at {{TIME}},
  closed_at {{TIME}},
  next_query_at {{TIME}},
  query_attempts INTEGER NOT NULL DEFAULT 0,
  updated_at {{TIME}} NOT NULL
) {{TABLE}};
CREATE INDEX ix_orders_payer ON orders (payer_user_id, created_at);
CREATE INDEX ix_orders_declaration ON orders (declaration_id);
CREATE INDEX ix_orders_status_query ON orders (status, next_query_at);

-- records: one row per person, scheme and month (annual schemes: one row
-- per year, period = January and period_to = December).
CREATE TABLE records (
  id VARCHAR(40) PRIMARY KEY,
  person_id VARCHAR(40) NOT NULL,
  scheme VARCHAR(32) NOT NULL,
  period VARCHAR(6) NOT NULL,
  period_to VARCHAR(6) NOT NULL DEFAULT '',
  region_code VARCHAR(6) NOT NULL,
  base_fen BIGINT NOT NULL,
  amount_fen BIGINT NOT NULL,
  status VARCHAR(16) NOT NULL,
  order_no VARCHAR(40) NOT NULL,
  payer_user_id VARCHAR(40) NOT NULL,
  paid_at {{TIME}} NOT NULL,
  credited_at {{TIME}},
  booked_at {{TIME}},
  tax_voucher_no VARCHAR(40) NOT NULL DEFAULT '',
  booking_no VARCHAR(40) NOT NULL DEFAULT ''
) {{TABLE}};
CREATE UNIQUE INDEX ux_records_person_scheme_period ON records (person_id, scheme, period);
CREATE INDEX ix_records_order ON records (order_no);
CREATE INDEX ix_records_status ON records (status);

-- notifications: every verified channel notification, unique per channel
-- event id, inserted in the settling transaction so a duplicate settles
-- nothing.
CREATE TABLE notifications (
  channel VARCHAR(20) NOT NULL,
  notify_id VARCHAR(128) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  order_no VARCHAR(40) NOT NULL,
  outcome VARCHAR(24) NOT NULL,
  received_at {{TIME}} NOT NULL,
  PRIMARY KEY (channel, notify_id)
) {{TABLE}};

-- anomalies: what does not match (foreign or wrong-amount notifications,
-- money paid twice, reconciliation differences), each with its resolution.
CREATE TABLE anomalies (
  id VARCHAR(40) PRIMARY KEY,
  source VARCHAR(20) NOT NULL,
  channel VARCHAR(20) NOT NULL,
  order_no VARCHAR(40) NOT NULL,
  kind VARCHAR(40) NOT NULL,
  detail VARCHAR(500) NOT NULL,
  resolution VARCHAR(500) NOT NULL DEFAULT '',
  created_at {{TIME}} NOT NULL,
  resolved_at {{TIME}}
) {{TABLE}};
CREATE INDEX ix_anomalies_order ON anomalies (order_no);

CREATE TABLE idempotency_keys (
  user_id VARCHAR(40) NOT NULL,
  operation VARCHAR(40) NOT NULL,
  idem_key VARCHAR(191) NOT NULL,
  request_hash VARCHAR(64) NOT NULL,
  status_code INTEGER NOT NULL,
  body {{TEXT}},
  created_at {{TIME}} NOT NULL,
  PRIMARY KEY (user_id, operation, idem_key)
) {{TABLE}};
