-- The worker looks for unattached uploads older than a week on every pass
-- (service/uploads PurgeUnattachedUploads, ordered by created_at). The
-- indexes of 0009 start with the owner or the unit, so without this one
-- every pass scanned the whole table.
CREATE INDEX ix_uploads_created ON uploads (created_at, id);
