package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations are numbered SQL files (NNNN_name.sql) written once for all
// three dialects; a few tokens stand for the types that differ:
//
//	{{TIME}}  a UTC timestamp       {{BLOB}}  binary data
//	{{TEXT}}  long text             {{TABLE}} MySQL table options
//
// A statement that must differ by dialect (a trigger, say) starts with
// {{ONLY:postgres}}, {{ONLY:mysql}} or {{ONLY:sqlite}} and runs only there;
// write each such statement on one line, since statements are split at
// semicolons that end a line.
//
// Each file is applied once, in order, and recorded in schema_migrations.
// On MySQL, which commits each DDL statement on its own, a file is applied
// statement by statement and a failed one resumed where it stopped
// (migrate_mysql.go).
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[int]string{}
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %q: want NNNN_name.sql", e.Name())
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %q and %q share version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

func (db *DB) render(sql string) string {
	var r *strings.Replacer
	switch db.Dialect {
	case Postgres:
		r = strings.NewReplacer("{{TIME}}", "TIMESTAMPTZ", "{{BLOB}}", "BYTEA", "{{TEXT}}", "TEXT", "{{TABLE}}", "")
	case MySQL:
		r = strings.NewReplacer("{{TIME}}", "DATETIME(6)", "{{BLOB}}", "LONGBLOB", "{{TEXT}}", "MEDIUMTEXT",
			"{{TABLE}}", "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")
	default:
		r = strings.NewReplacer("{{TIME}}", "DATETIME", "{{BLOB}}", "BLOB", "{{TEXT}}", "TEXT", "{{TABLE}}", "")
	}
	return r.Replace(sql)
}

// forDialect drops statements marked for other dialects and strips the
// marks from the rest.
func (db *DB) forDialect(stmts []string) []string {
	var out []string
	for _, st := range stmts {
		t := strings.TrimSpace(st)
		if rest, ok := strings.CutPrefix(t, "{{ONLY:"); ok {
			d, body, found := strings.Cut(rest, "}}")
			if !found || Dialect(d) != db.Dialect {
				continue
			}
			t = strings.TrimSpace(body)
		}
		out = append(out, t)
	}
	return out
}

// splitStatements splits a migration on semicolons that end a line; the
// MySQL driver runs one statement per Exec.
func splitStatements(sql string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--") || t == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteString("\n")
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// Migrate applies every migration not yet recorded. Several instances may
// start at once: PostgreSQL and MySQL serialise them with an advisory lock.
func (db *DB) Migrate(ctx context.Context) (applied []string, err error) {
	return db.migrateUpTo(ctx, 0)
}

// Pending returns the names of the embedded migrations the database has
// not recorded: its schema is behind this binary (it has not been migrated
// yet, or another instance is migrating it now). A schema ahead of the
// binary (a newer instance migrated it during a rolling update) has none
// pending: migrations only add, so an older binary still runs on it.
func (db *DB) Pending(ctx context.Context) ([]string, error) {
	ms, err := loadMigrations()
	if err != nil {
		return nil, err
	}
	var versions []int
	// The reader: on SQLite a readiness probe must not queue behind the
	// single writer's payments.
	if err := db.Reader.WithContext(ctx).Raw("SELECT version FROM schema_migrations").Scan(&versions).Error; err != nil {
		return nil, err
	}
	done := map[int]bool{}
	for _, v := range versions {
		done[v] = true
	}
	var pending []string
	for _, m := range ms {
		if !done[m.version] {
			pending = append(pending, m.name)
		}
	}
	return pending, nil
}

// migrateUpTo applies the migrations up to version last (every one when
// last is 0); tests use it to put data into an older schema first.
func (db *DB) migrateUpTo(ctx context.Context, last int) (applied []string, err error) {
	ms, err := loadMigrations()
	if err != nil {
		return nil, err
	}
	if last > 0 {
		var upTo []migration
		for _, m := range ms {
			if m.version <= last {
				upTo = append(upTo, m)
			}
		}
		ms = upTo
	}
	return db.applyMigrations(ctx, ms)
}

// applyMigrations applies those of ms the database has not recorded, in
// order, under the migration lock.
func (db *DB) applyMigrations(ctx context.Context, ms []migration) (applied []string, err error) {
	sqlDB, err := db.Gorm.DB()
	if err != nil {
		return nil, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	switch db.Dialect {
	case Postgres:
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7470101)"); err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(7470101)") //nolint:errcheck
	case MySQL:
		// GET_LOCK answers 0 when it timed out and NULL on an error,
		// without failing: migrating then would run beside the instance
		// that holds the lock.
		// The lock's name is the server's, not the database's: named after
		// the database, so another schema on the same server (staging, the
		// tests' databases) is not kept waiting.
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(CONCAT('lianban_migrate:', DATABASE()), 120)").Scan(&got); err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		switch {
		case !got.Valid:
			return nil, fmt.Errorf("migration lock: the server could not take it")
		case got.Int64 != 1:
			return nil, fmt.Errorf("migration lock: another instance has held it for 120 s; start again when it is done")
		}
		defer conn.ExecContext(context.Background(), "SELECT RELEASE_LOCK(CONCAT('lianban_migrate:', DATABASE()))") //nolint:errcheck
		// The progress of a migration is written with autocommit, whatever
		// the connection's URL or the server's init_connect said.
		if _, err := conn.ExecContext(ctx, "SET autocommit = 1"); err != nil {
			return nil, err
		}
	}
	create := db.render(`CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name VARCHAR(191) NOT NULL, applied_at {{TIME}} NOT NULL) {{TABLE}}`)
	if _, err := conn.ExecContext(ctx, create); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	var progress map[int]migrationProgress
	if db.Dialect == MySQL {
		if progress, err = readProgress(ctx, conn, db.render); err != nil {
			return nil, err
		}
	}
	done := map[int]bool{}
	rows, err := conn.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, err
		}
		done[v] = true
	}
	rows.Close()
	for _, m := range ms {
		if done[m.version] {
			continue
		}
		if db.Dialect == MySQL {
			// MySQL commits each DDL statement on its own: a migration
			// that fails midway stays half-applied, and is resumed
			// where it stopped (applyResumable).
			if err := applyResumable(ctx, conn, m, db.forDialect(splitStatements(db.render(m.sql))), progress[m.version]); err != nil {
				return applied, err
			}
			applied = append(applied, m.name)
			continue
		}
		// PostgreSQL and SQLite roll the whole file back on a failure.
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return applied, err
		}
		for _, stmt := range db.forDialect(splitStatements(db.render(m.sql))) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				_ = tx.Rollback()
				return applied, fmt.Errorf("migration %s: %w", m.name, err)
			}
		}
		ph := "?, ?, ?"
		if db.Dialect == Postgres {
			ph = "$1, $2, $3"
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ("+ph+")", m.version, m.name, time.Now().UTC()); err != nil {
			_ = tx.Rollback()
			return applied, err
		}
		if err := tx.Commit(); err != nil {
			return applied, err
		}
		applied = append(applied, m.name)
	}
	return applied, nil
}
