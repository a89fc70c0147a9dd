package store

import (
	"context"
	"strings"
	"testing"
)

// A MySQL migration that failed midway (its DDL committed statement by
// statement) is resumed at the statement that failed when the fixed binary
// starts, instead of failing for good on the table its first statement
// created. A statement that was started and perhaps applied before the
// process died is run again and its "already exists" taken as done; a
// statement the server refused is refused again.
func TestAMySQLMigrationThatFailedMidwayResumesWhereItStopped(t *testing.T) {
	openUnmigrated(t, func(t *testing.T, db *DB) {
		if db.Dialect != MySQL {
			t.Skip("PostgreSQL and SQLite apply a migration in one transaction")
		}
		ctx := context.Background()
		count := func(q string, args ...any) int64 {
			t.Helper()
			var n int64
			if err := db.Gorm.Raw(q, args...).Scan(&n).Error; err != nil {
				t.Fatal(err)
			}
			return n
		}
		tables := func(names ...string) int64 {
			return count("SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ?", names)
		}

		broken := migration{version: 9001, name: "9001_three_tables", sql: `CREATE TABLE t1 (id INT PRIMARY KEY) {{TABLE}};
INSERT INTO t1 (id) VALUES (1);
CREATE TABLE t2 (id INT PRIMARY KEY) {{TABLE}};
CREATE TABLE t3 (id INT PRIMARY KEY, broken) {{TABLE}};`}
		if _, err := db.applyMigrations(ctx, []migration{broken}); err == nil || !strings.Contains(err.Error(), "statement 4") {
			t.Fatalf("the broken statement: %v", err)
		}
		if tables("t1", "t2", "t3") != 2 {
			t.Fatal("want the first two tables left by the failed migration")
		}
		fixed := broken
		fixed.sql = strings.Replace(broken.sql, ", broken", "", 1)
		if applied, err := db.applyMigrations(ctx, []migration{fixed}); err != nil || len(applied) != 1 {
			t.Fatalf("the fixed migration on the half-applied schema: %v %v", applied, err)
		}
		if tables("t1", "t2", "t3") != 3 || count("SELECT count(*) FROM t1") != 1 {
			t.Fatal("the migration was not resumed where it stopped")
		}
		if count("SELECT count(*) FROM schema_migrations WHERE version = 9001") != 1 || count("SELECT count(*) FROM schema_migration_progress") != 0 {
			t.Fatal("the resumed migration is not recorded as applied")
		}

		// The process died while the second statement ran, after it was
		// applied and before its progress was written.
		died := migration{version: 9002, name: "9002_index", sql: `CREATE TABLE t4 (id INT PRIMARY KEY, n INT NOT NULL) {{TABLE}};
CREATE INDEX ix_t4_n ON t4 (n);
CREATE TABLE t5 (id INT PRIMARY KEY) {{TABLE}};`}
		stmts := db.forDialect(splitStatements(db.render(died.sql)))
		for _, q := range []string{"CREATE TABLE t4 (id INT PRIMARY KEY, n INT NOT NULL)", "CREATE INDEX ix_t4_n ON t4 (n)"} {
			if err := db.Gorm.Exec(q).Error; err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Gorm.Exec("INSERT INTO schema_migration_progress (version, statements_done, done_sha256, statements_tried, tried_sha256) VALUES (9002, 1, ?, 2, ?)",
			progressDigest(stmts[:1]), progressDigest(stmts[:2])).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := db.applyMigrations(ctx, []migration{died}); err != nil || tables("t5") != 1 {
			t.Fatalf("the interrupted migration: %v", err)
		}

		// A real conflict stops the migration, on every start.
		conflict := migration{version: 9003, name: "9003_conflict", sql: `CREATE TABLE t6 (id INT PRIMARY KEY) {{TABLE}};
CREATE TABLE t1 (id INT PRIMARY KEY) {{TABLE}};`}
		for run := 1; run <= 2; run++ {
			if _, err := db.applyMigrations(ctx, []migration{conflict}); err == nil || !strings.Contains(err.Error(), "statement 2") {
				t.Fatalf("start %d: a migration creating a table that exists: %v", run, err)
			}
		}

		// A file whose statements before the place it stopped have changed
		// since is refused, not resumed at a place that now names another
		// statement.
		changed := migration{version: 9004, name: "9004_changed", sql: `CREATE TABLE t7 (id INT PRIMARY KEY) {{TABLE}};
CREATE TABLE t8 (id INT PRIMARY KEY, broken) {{TABLE}};`}
		if _, err := db.applyMigrations(ctx, []migration{changed}); err == nil {
			t.Fatal("the broken statement was accepted")
		}
		changed.sql = `CREATE TABLE t9 (id INT PRIMARY KEY) {{TABLE}};
CREATE TABLE t7 (id INT PRIMARY KEY) {{TABLE}};
CREATE TABLE t8 (id INT PRIMARY KEY) {{TABLE}};`
		if _, err := db.applyMigrations(ctx, []migration{changed}); err == nil || !strings.Contains(err.Error(), "have changed since") {
			t.Fatalf("a changed file resumed: %v", err)
		}
		if tables("t9") != 0 {
			t.Fatal("a statement of the changed file ran")
		}

		// A file with data statements resumes after the last statement
		// that committed: its UPDATE has run once. (That a data statement
		// commits together with its progress, so a crash between them
		// cannot run it twice, is not simulated here.)
		dml := migration{version: 9005, name: "9005_fill", sql: `CREATE TABLE t10 (id INT PRIMARY KEY, n INT NOT NULL) {{TABLE}};
INSERT INTO t10 (id, n) VALUES (1, 0), (2, 0);
UPDATE t10 SET n = n + 1;
INSERT INTO t10 (id, n) VALUES (1, 9);`}
		if _, err := db.applyMigrations(ctx, []migration{dml}); err == nil {
			t.Fatal("a duplicate key was accepted")
		}
		dml.sql = strings.Replace(dml.sql, "(1, 9)", "(3, 9)", 1)
		if _, err := db.applyMigrations(ctx, []migration{dml}); err != nil {
			t.Fatal(err)
		}
		if count("SELECT COALESCE(SUM(n), 0) FROM t10") != 11 {
			t.Fatal("the UPDATE ran twice, or not at all")
		}
	})
}
