package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MySQL commits every DDL statement on its own (CREATE, ALTER, DROP), so a
// migration file cannot be applied in one transaction there. One that
// failed midway (a lost connection, a server restart, a statement the
// server refused) used to stay half-applied and unrecorded: the next start
// ran it again from its first statement, which failed on the table it had
// already created, and every instance refused to start until someone
// repaired the schema by hand. Now each statement's progress is kept in
// schema_migration_progress, and a rerun resumes at the first statement
// not known to be done.

// migrationProgress is how far a MySQL migration got: statements [0, done)
// were applied; statement tried-1 was started (tried > done: it may have
// been applied without its progress being written, if the process died
// between the two).
type migrationProgress struct {
	done, tried int
}

// readProgress creates schema_migration_progress if needed and reads it.
func readProgress(ctx context.Context, conn *sql.Conn, render func(string) string) (map[int]migrationProgress, error) {
	create := render(`CREATE TABLE IF NOT EXISTS schema_migration_progress (version BIGINT PRIMARY KEY, statements_done INT NOT NULL, statements_tried INT NOT NULL) {{TABLE}}`)
	if _, err := conn.ExecContext(ctx, create); err != nil {
		return nil, fmt.Errorf("create schema_migration_progress: %w", err)
	}
	rows, err := conn.QueryContext(ctx, "SELECT version, statements_done, statements_tried FROM schema_migration_progress")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]migrationProgress{}
	for rows.Next() {
		var v int
		var p migrationProgress
		if err := rows.Scan(&v, &p.done, &p.tried); err != nil {
			return nil, err
		}
		out[v] = p
	}
	return out, rows.Err()
}

// applyResumable applies m's statements from where p says it stopped,
// writing its progress around each (with autocommit: each is durable on
// its own, as the DDL is), and records m as applied.
//
// The statement that was started but neither finished nor refused (the
// process died, or the connection was lost, while it ran) is run again; if
// it fails only because what it creates is there already (or what it drops
// is gone), it had been applied, and the migration goes on. That leniency
// is for that one statement only: anywhere else, and for a statement the
// server refused, such an error is a real conflict and stops the
// migration as before.
func applyResumable(ctx context.Context, conn *sql.Conn, m migration, stmts []string, p migrationProgress) error {
	setProgress := func(done, tried int) error {
		_, err := conn.ExecContext(ctx, "INSERT INTO schema_migration_progress (version, statements_done, statements_tried) VALUES (?, ?, ?) "+
			"ON DUPLICATE KEY UPDATE statements_done = VALUES(statements_done), statements_tried = VALUES(statements_tried)", m.version, done, tried)
		return err
	}
	for i := p.done; i < len(stmts); i++ {
		if err := setProgress(i, i+1); err != nil {
			return fmt.Errorf("migration %s: progress: %w", m.name, err)
		}
		if _, err := conn.ExecContext(ctx, stmts[i]); err != nil {
			if !(i == p.done && p.tried > p.done && alreadyApplied(err)) {
				// Refused, not interrupted: the next run must not take
				// the same refusal as work done. (If this write fails too,
				// the connection is likely gone, and the statement may
				// well have been applied.)
				_ = setProgress(i, i)
				return fmt.Errorf("migration %s, statement %d: %w", m.name, i+1, err)
			}
		}
		if err := setProgress(i+1, i+1); err != nil {
			return fmt.Errorf("migration %s: progress: %w", m.name, err)
		}
	}
	// Recorded and its progress dropped together: INSERT first, so a
	// failure between them leaves a progress row for a recorded
	// migration, which is never read again.
	if _, err := conn.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", m.version, m.name, time.Now().UTC()); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	_, _ = conn.ExecContext(ctx, "DELETE FROM schema_migration_progress WHERE version = ?", m.version)
	return nil
}

// alreadyApplied reports whether err says a DDL statement's work is done
// already: the table, column or index exists, or what it drops is gone.
func alreadyApplied(err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch me.Number {
	case 1050, // ER_TABLE_EXISTS_ERROR
		1060, // ER_DUP_FIELDNAME
		1061, // ER_DUP_KEYNAME
		1091: // ER_CANT_DROP_FIELD_OR_KEY
		return true
	}
	return false
}
