-- Guardianship of a minor is proven, not claimed: a guardian link comes
-- from the person registry's household (户籍) relations ('registry') or
-- from the consent of a guardian proven that way ('consent'). Revoking a
-- consent sets revoked_at; a registry proof is never revoked here (the
-- minor coming of age ends it).
CREATE TABLE guardianships (
  id VARCHAR(40) PRIMARY KEY,
  minor_person_id VARCHAR(40) NOT NULL,
  guardian_person_id VARCHAR(40) NOT NULL,
  source VARCHAR(16) NOT NULL,
  consented_by_person_id VARCHAR(40) NOT NULL DEFAULT '',
  created_at {{TIME}} NOT NULL,
  revoked_at {{TIME}}
) {{TABLE}};
CREATE INDEX ix_guardianships_minor ON guardianships (minor_person_id, guardian_person_id);
CREATE INDEX ix_guardianships_guardian ON guardianships (guardian_person_id);
-- Who filed a refund application in relation to the money: person,
-- guardian or payer. Anything else (older applications) is reviewed first.
ALTER TABLE refunds ADD COLUMN applicant_role VARCHAR(16) NOT NULL DEFAULT '';
-- Older applications filed by the person themselves are the person's.
UPDATE refunds SET applicant_role = 'person' WHERE applicant_role = '' AND EXISTS (SELECT 1 FROM users u WHERE u.id = refunds.applicant_user_id AND u.person_id = refunds.person_id);
