-- A certificate's PDF is stored as it is rendered: its page and font
-- streams are already deflated, so the few percent PostgreSQL's TOAST
-- compression (pglz) could win back are not there. PostgreSQL does not know
-- that: for a value over 2 KB it runs pglz over the whole PDF (the text
-- header compresses, so it does not give up after the first kilobyte) and
-- only then finds it saved too little and stores the original. Measured
-- on a 42 KB certificate: 1.0 ms per insert with the default storage,
-- 0.28 ms with EXTERNAL, the same bytes on disk, and under make perf a
-- certificate cost PostgreSQL about 3 ms of CPU on the same two cores the
-- server renders on. EXTERNAL keeps the value out of line, uncompressed;
-- it applies to rows written from now on, and changes nothing else.
-- MySQL (InnoDB) and SQLite do not compress a column unless told to.
-- The change is instant (no rewrite) but takes the table's exclusive
-- lock: waiting for it behind a long reader (a backup) would queue every
-- certificate read and issue behind the migration. Past 5 s it gives up
-- instead, the whole migration rolls back, and the next start tries again.
{{ONLY:postgres}} SET LOCAL lock_timeout = '5s';
{{ONLY:postgres}} ALTER TABLE certificates ALTER COLUMN pdf SET STORAGE EXTERNAL;
