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
		for _, q := range []string{"CREATE TABLE t4 (id INT PRIMARY KEY, n INT NOT NULL)", "CREATE INDEX ix_t4_n ON t4 (n)",
			"INSERT INTO schema_migration_progress (version, statements_done, statements_tried) VALUES (9002, 1, 2)"} {
			if err := db.Gorm.Exec(q).Error; err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.applyMigrations(ctx, []migration{died}); err != nil || tables("t5") != 1 {
			t.Fatalf("the interrupted migration: %v", err)
		}

		// A real conflict stops the migration, on every start.
		conflict := migration{version: 9003, name: "9003_conflict", sql: `CREATE TABLE t6 (id INT PRIMARY KEY) {{TABLE}};
CREATE TABLE t1 (id INT PRIMARY KEY) {{TABLE}};`}
		for run := 1; run <= 2; run++ {
			if _, err := db.applyMigrations(ctx, []migration{conflict}); err == nil {
				t.Fatalf("start %d: a migration creating a table that exists was applied", run)
			}
		}
	})
}
