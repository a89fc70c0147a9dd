-- certificates: every document issued (缴费凭证, 社保缴费证明, 税收完税证明),
-- immutable once written.
--
-- canonical holds the exact bytes that were signed (models.Certificate.
-- Canonical: masked names, the lines, the verification code); signature,
-- key_id and algorithm say how. Verification reads the certificate back
-- from canonical after checking the signature, so the columns beside it are
-- only for finding rows (who, whose, which scheme and months, which order)
-- and can never change what a verifier is shown. pdf is the document as
-- rendered at issue, so a download is byte for byte what was issued.
--
-- Only revoked_at and revoke_reason may ever be set, once, by a
-- conditional update. Triggers refuse every other UPDATE and every DELETE
-- on PostgreSQL, MySQL and SQLite alike. (TiDB has no triggers: there the
-- statements marked mysql must be dropped and the application's rule, plus
-- a grant of UPDATE on the two revocation columns only, has to do.)

CREATE TABLE certificates (
  certificate_no VARCHAR(32) PRIMARY KEY,
  kind VARCHAR(32) NOT NULL,
  person_id VARCHAR(40) NOT NULL,
  issued_by_user_id VARCHAR(40) NOT NULL,
  scheme VARCHAR(32) NOT NULL,
  period_from VARCHAR(6) NOT NULL,
  period_to VARCHAR(6) NOT NULL,
  order_no VARCHAR(40) NOT NULL DEFAULT '',
  reissue_of VARCHAR(32) NOT NULL DEFAULT '',
  total_fen BIGINT NOT NULL,
  line_count INTEGER NOT NULL,
  canonical {{BLOB}} NOT NULL,
  signature {{BLOB}} NOT NULL,
  key_id VARCHAR(64) NOT NULL,
  algorithm VARCHAR(32) NOT NULL,
  pdf {{BLOB}} NOT NULL,
  issued_at {{TIME}} NOT NULL,
  revoked_at {{TIME}},
  revoke_reason VARCHAR(200) NOT NULL DEFAULT ''
) {{TABLE}};
CREATE INDEX ix_certificates_person ON certificates (person_id, issued_at);
CREATE INDEX ix_certificates_issuer ON certificates (issued_by_user_id, issued_at);
CREATE INDEX ix_certificates_order ON certificates (order_no);
CREATE INDEX ix_certificates_reissue ON certificates (reissue_of);

-- PostgreSQL: one trigger function for UPDATE and DELETE.
{{ONLY:postgres}} CREATE FUNCTION certificates_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'certificates are immutable: % cannot be deleted', OLD.certificate_no; END IF; IF OLD.revoked_at IS NOT NULL OR (NEW.certificate_no, NEW.kind, NEW.person_id, NEW.issued_by_user_id, NEW.scheme, NEW.period_from, NEW.period_to, NEW.order_no, NEW.reissue_of, NEW.total_fen, NEW.line_count, NEW.canonical, NEW.signature, NEW.key_id, NEW.algorithm, NEW.pdf, NEW.issued_at) IS DISTINCT FROM (OLD.certificate_no, OLD.kind, OLD.person_id, OLD.issued_by_user_id, OLD.scheme, OLD.period_from, OLD.period_to, OLD.order_no, OLD.reissue_of, OLD.total_fen, OLD.line_count, OLD.canonical, OLD.signature, OLD.key_id, OLD.algorithm, OLD.pdf, OLD.issued_at) THEN RAISE EXCEPTION 'certificates are immutable: only an unrevoked certificate may be revoked (%)', OLD.certificate_no; END IF; RETURN NEW; END $$;
{{ONLY:postgres}} CREATE TRIGGER certificates_immutable BEFORE UPDATE OR DELETE ON certificates FOR EACH ROW EXECUTE FUNCTION certificates_immutable();

-- MySQL: <=> is the null-safe comparison.
{{ONLY:mysql}} CREATE TRIGGER certificates_no_update BEFORE UPDATE ON certificates FOR EACH ROW BEGIN IF OLD.revoked_at IS NOT NULL OR NOT (NEW.certificate_no <=> OLD.certificate_no AND NEW.kind <=> OLD.kind AND NEW.person_id <=> OLD.person_id AND NEW.issued_by_user_id <=> OLD.issued_by_user_id AND NEW.scheme <=> OLD.scheme AND NEW.period_from <=> OLD.period_from AND NEW.period_to <=> OLD.period_to AND NEW.order_no <=> OLD.order_no AND NEW.reissue_of <=> OLD.reissue_of AND NEW.total_fen <=> OLD.total_fen AND NEW.line_count <=> OLD.line_count AND NEW.canonical <=> OLD.canonical AND NEW.signature <=> OLD.signature AND NEW.key_id <=> OLD.key_id AND NEW.algorithm <=> OLD.algorithm AND NEW.pdf <=> OLD.pdf AND NEW.issued_at <=> OLD.issued_at) THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'certificates are immutable: only an unrevoked certificate may be revoked'; END IF; END;
{{ONLY:mysql}} CREATE TRIGGER certificates_no_delete BEFORE DELETE ON certificates FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'certificates are immutable: they cannot be deleted';

-- SQLite: IS NOT is the null-safe comparison.
{{ONLY:sqlite}} CREATE TRIGGER certificates_no_update BEFORE UPDATE ON certificates FOR EACH ROW WHEN OLD.revoked_at IS NOT NULL OR NEW.certificate_no IS NOT OLD.certificate_no OR NEW.kind IS NOT OLD.kind OR NEW.person_id IS NOT OLD.person_id OR NEW.issued_by_user_id IS NOT OLD.issued_by_user_id OR NEW.scheme IS NOT OLD.scheme OR NEW.period_from IS NOT OLD.period_from OR NEW.period_to IS NOT OLD.period_to OR NEW.order_no IS NOT OLD.order_no OR NEW.reissue_of IS NOT OLD.reissue_of OR NEW.total_fen IS NOT OLD.total_fen OR NEW.line_count IS NOT OLD.line_count OR NEW.canonical IS NOT OLD.canonical OR NEW.signature IS NOT OLD.signature OR NEW.key_id IS NOT OLD.key_id OR NEW.algorithm IS NOT OLD.algorithm OR NEW.pdf IS NOT OLD.pdf OR NEW.issued_at IS NOT OLD.issued_at BEGIN SELECT RAISE(ABORT, 'certificates are immutable: only an unrevoked certificate may be revoked'); END;
{{ONLY:sqlite}} CREATE TRIGGER certificates_no_delete BEFORE DELETE ON certificates FOR EACH ROW BEGIN SELECT RAISE(ABORT, 'certificates are immutable: they cannot be deleted'); END;
