package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
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
//
// Progress names statements by their place in the file and is checked
// against their text: a file changed since (the fix of the statement that
// failed is expected; an earlier statement added, dropped or edited is
// not) is refused rather than resumed at a place that no longer means the
// same statement.

// migrationProgress is how far a MySQL migration got: statements [0, done)
// were applied, and doneSum is their digest (progressDigest); statement
// tried-1 was started (tried > done: it may have been applied without its
// progress being written, if the process died between the two), and
// triedSum is the digest of [0, tried).
type migrationProgress struct {
	done, tried       int
	doneSum, triedSum string
}

// progressDigest is the SHA-256 of statements, each ended by a NUL.
func progressDigest(stmts []string) string {
	h := sha256.New()
	for _, s := range stmts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// readProgress creates schema_migration_progress if needed and reads it.
func readProgress(ctx context.Context, conn *sql.Conn, render func(string) string) (map[int]migrationProgress, error) {
	create := render(`CREATE TABLE IF NOT EXISTS schema_migration_progress (version BIGINT PRIMARY KEY, ` +
		`statements_done INT NOT NULL, done_sha256 VARCHAR(64) NOT NULL, statements_tried INT NOT NULL, tried_sha256 VARCHAR(64) NOT NULL) {{TABLE}}`)
	if _, err := conn.ExecContext(ctx, create); err != nil {
		return nil, fmt.Errorf("create schema_migration_progress: %w", err)
	}
	rows, err := conn.QueryContext(ctx, "SELECT version, statements_done, done_sha256, statements_tried, tried_sha256 FROM schema_migration_progress")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]migrationProgress{}
	for rows.Next() {
		var v int
		var p migrationProgress
		if err := rows.Scan(&v, &p.done, &p.doneSum, &p.tried, &p.triedSum); err != nil {
			return nil, err
		}
		out[v] = p
	}
	return out, rows.Err()
}

// applyResumable applies m's statements from where p says it stopped,
// writing its progress around each, and records m as applied. A DDL
// statement commits on its own, so its progress is written after it (with
// autocommit); any other statement (an UPDATE filling a new column) is
// committed together with its progress, so it is never applied twice.
//
// The statement that was started but neither finished nor refused (the
// process died, or the connection was lost, while it ran) is run again,
// if its text is unchanged; if it fails only because what it creates is
// there already (or what it drops is gone), it had been applied, and the
// migration goes on. That leniency is for that one statement only:
// anywhere else, and for a statement the server refused, such an error is
// a real conflict and stops the migration as before.
func applyResumable(ctx context.Context, conn *sql.Conn, m migration, stmts []string, p migrationProgress) error {
	if p.done > len(stmts) || (p.done > 0 && progressDigest(stmts[:p.done]) != p.doneSum) {
		return fmt.Errorf("migration %s stopped after its statement %d, and its statements up to there have changed since: "+
			"repair the schema by hand to match the file, then delete its row of schema_migration_progress", m.name, p.done)
	}
	inFlight := p.tried == p.done+1 && p.tried <= len(stmts) && progressDigest(stmts[:p.tried]) == p.triedSum
	const upsert = "INSERT INTO schema_migration_progress (version, statements_done, done_sha256, statements_tried, tried_sha256) VALUES (?, ?, ?, ?, ?) " +
		"ON DUPLICATE KEY UPDATE statements_done = VALUES(statements_done), done_sha256 = VALUES(done_sha256), " +
		"statements_tried = VALUES(statements_tried), tried_sha256 = VALUES(tried_sha256)"
	type execer interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	}
	setProgress := func(x execer, done, tried int) error {
		_, err := x.ExecContext(ctx, upsert, m.version, done, progressDigest(stmts[:done]), tried, progressDigest(stmts[:tried]))
		return err
	}
	for i := p.done; i < len(stmts); i++ {
		if err := setProgress(conn, i, i+1); err != nil {
			return fmt.Errorf("migration %s: progress: %w", m.name, err)
		}
		var err error
		if isDDL(stmts[i]) {
			if _, err = conn.ExecContext(ctx, stmts[i]); err == nil {
				if err := setProgress(conn, i+1, i+1); err != nil {
					// Applied, its progress not written: left in flight,
					// so the next start finds it done.
					return fmt.Errorf("migration %s: progress: %w", m.name, err)
				}
				continue
			}
		} else {
			err = inTx(ctx, conn, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, stmts[i]); err != nil {
					return err
				}
				return setProgress(tx, i+1, i+1)
			})
		}
		if err != nil {
			if i == p.done && inFlight && alreadyApplied(err) {
				if err := setProgress(conn, i+1, i+1); err != nil {
					return fmt.Errorf("migration %s: progress: %w", m.name, err)
				}
				continue
			}
			// Refused, not interrupted: the next run must not take the
			// same refusal as work done. (If this write fails too, the
			// connection is likely gone, and the statement may well have
			// been applied.)
			_ = setProgress(conn, i, i)
			return fmt.Errorf("migration %s, statement %d: %w", m.name, i+1, err)
		}
	}
	// Recorded, then its progress dropped: a failure between them leaves
	// a progress row for a recorded migration, which is never read again.
	if _, err := conn.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", m.version, m.name, time.Now().UTC()); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	_, _ = conn.ExecContext(ctx, "DELETE FROM schema_migration_progress WHERE version = ?", m.version)
	return nil
}

// isDDL reports whether stmt is one MySQL commits on its own.
func isDDL(stmt string) bool {
	f := strings.Fields(stmt)
	if len(f) == 0 {
		return false
	}
	switch strings.ToUpper(f[0]) {
	case "CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE":
		return true
	}
	return false
}

// inTx runs fn in a transaction on conn.
func inTx(ctx context.Context, conn *sql.Conn, fn func(tx *sql.Tx) error) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// alreadyApplied reports whether err says a DDL statement's work is done
// already: the table, column, index or trigger exists, or what it drops is
// gone.
func alreadyApplied(err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch me.Number {
	case 1050, // ER_TABLE_EXISTS_ERROR
		1051, // ER_BAD_TABLE_ERROR (DROP TABLE of one gone)
		1060, // ER_DUP_FIELDNAME
		1061, // ER_DUP_KEYNAME
		1091, // ER_CANT_DROP_FIELD_OR_KEY
		1359, // ER_TRG_ALREADY_EXISTS
		1360: // ER_TRG_DOES_NOT_EXIST (DROP TRIGGER of one gone)
		return true
	}
	return false
}
