package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	sqlite "github.com/lianban/lianban/store/sqlitedialect"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names the SQL engine behind a DB.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
	MySQL    Dialect = "mysql"
)

// DB is the database handle shared by the workflows.
type DB struct {
	Gorm    *gorm.DB
	Dialect Dialect
	// Reader serves reads made outside a transaction. On SQLite it is a
	// pool of its own with several read-only connections: Gorm has one
	// connection (writers serialise there anyway), and reads queued behind
	// it were the records page's ceiling under load, while WAL lets readers
	// run beside the writer and see every committed write. Elsewhere it is
	// Gorm itself.
	Reader *gorm.DB
	// InMemory is an SQLite database held in memory (sqlite://:memory:):
	// its one connection is the whole database, and nothing reaches a disk.
	InMemory bool
}

// Open connects to the database named by a URL: sqlite://path,
// postgres://…, or mysql://user:pass@host:port/db. It does not migrate.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	dialect, dialector, err := dialectorFor(rawURL)
	if err != nil {
		return nil, err
	}
	g, err := openPool(ctx, dialect, dialector)
	if err != nil {
		return nil, err
	}
	db := &DB{Gorm: g, Dialect: dialect, Reader: g, InMemory: dialect == SQLite && strings.Contains(rawURL, ":memory:")}
	if dialect == SQLite && !db.InMemory {
		_, rest, _ := strings.Cut(rawURL, "://")
		rd, err := sqliteDialector(sqliteDSN(rest) + sqliteReadOnly)
		if err != nil {
			_ = db.Close()
			return nil, err
		}
		r, err := openPool(ctx, dialect, rd)
		if err != nil {
			_ = db.Close()
			return nil, err
		}
		sqlDB, _ := r.DB()
		sqlDB.SetMaxOpenConns(sqliteReaders)
		sqlDB.SetMaxIdleConns(sqliteReaders)
		db.Reader = r
	}
	return db, nil
}

// sqliteReaders is the size of SQLite's read pool: a few more than the
// two cores the service is sized for, so a reader waiting on the disk does
// not hold the others up.
const sqliteReaders = 4

// sqliteReadOnly is appended to the read pool's DSN: its connections can
// never write, so nothing routed to the pool by mistake can race the
// writer's transactions.
const sqliteReadOnly = "&_pragma=query_only(1)"

func openPool(ctx context.Context, dialect Dialect, dialector gorm.Dialector) (*gorm.DB, error) {
	g, err := gorm.Open(dialector, &gorm.Config{
		TranslateError: true,
		// Times are stored in UTC: SQLite compares them as text, so mixed
		// offsets would order wrongly.
		NowFunc:                func() time.Time { return time.Now().UTC() },
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		// No PrepareStmt: SQLite's connections keep their own statements
		// (sqlitedialect.NewConnector), pgx caches statements by itself,
		// and MySQL's server-side statements are a limited global
		// resource.
	})
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	switch dialect {
	case SQLite:
		// Writers serialise on SQLite anyway; one connection for writes
		// avoids SQLITE_BUSY on lock upgrades (see research/libraries.md).
		sqlDB.SetMaxOpenConns(1)
	default:
		// As many idle connections as open ones: with fewer, every burst
		// above the idle count closed connections and the next one opened
		// them again, a TCP and authentication handshake per request.
		sqlDB.SetMaxOpenConns(32)
		sqlDB.SetMaxIdleConns(32)
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("reach %s database: %w", dialect, err)
	}
	return g, nil
}

// Close closes the connection pools.
func (db *DB) Close() error {
	var errs []error
	if db.Reader != nil && db.Reader != db.Gorm {
		if s, err := db.Reader.DB(); err == nil {
			errs = append(errs, s.Close())
		}
	}
	s, err := db.Gorm.DB()
	if err != nil {
		return err
	}
	errs = append(errs, s.Close())
	return errors.Join(errs...)
}

// Ping checks the database answers, for /readyz.
func (db *DB) Ping(ctx context.Context) error {
	s, err := db.Gorm.DB()
	if err != nil {
		return err
	}
	return s.PingContext(ctx)
}

func dialectorFor(raw string) (Dialect, gorm.Dialector, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "", nil, fmt.Errorf("database URL %q: want sqlite://, postgres:// or mysql://", RedactURL(raw))
	}
	switch scheme {
	case "sqlite", "file":
		path := rest
		if path == "" {
			return "", nil, errors.New("sqlite:// needs a file path")
		}
		if dir := filepath.Dir(path); dir != "." && path != ":memory:" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return "", nil, fmt.Errorf("create database directory: %w", err)
			}
		}
		d, err := sqliteDialector(sqliteDSN(path))
		return SQLite, d, err
	case "postgres", "postgresql":
		return Postgres, postgres.Open(raw), nil
	case "mysql":
		u, err := url.Parse(raw)
		if err != nil {
			return "", nil, fmt.Errorf("mysql URL: %w", err)
		}
		pass, _ := u.User.Password()
		q := u.Query()
		q.Set("parseTime", "true")
		q.Set("loc", "UTC")
		q.Set("charset", "utf8mb4")
		q.Set("time_zone", "'+00:00'")
		dsn := fmt.Sprintf("%s:%s@tcp(%s)%s?%s", u.User.Username(), pass, u.Host, u.Path, q.Encode())
		return MySQL, mysql.New(mysql.Config{DSN: dsn, DefaultStringSize: 191}), nil
	}
	return "", nil, fmt.Errorf("database URL scheme %q not supported", scheme)
}

// sqliteDialector opens SQLite through the connector that keeps each
// connection's prepared statements. A query string that does not parse is
// refused here; the rest of the DSN is checked when the pool first
// connects (openPool's ping), as with sql.Open.
func sqliteDialector(dsn string) (gorm.Dialector, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite database: %w", err)
	}
	return sqlite.Dialector{Conn: sql.OpenDB(c)}, nil
}

// sqliteDSN is the connection string of a database file. Immediate
// transactions: a read-then-write transaction takes the write lock at
// BEGIN instead of failing on upgrade. Times are written as
// "2006-01-02 15:04:05.999999999-07:00" in UTC and read back in UTC, as
// every database made before modernc.org/sqlite v1.62.0 holds them:
// SQLite compares them as text, so one column in two formats would
// compare and page wrongly (that driver writes time.String by default).
// Every commit is synced to disk (synchronous FULL, SQLite's default,
// stated because one write relaxes it for itself and puts back this,
// SQLiteSynchronous).
func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(" + SQLiteSynchronous + ")" +
		"&_pragma=foreign_keys(1)&_txlock=immediate&_time_format=sqlite&_timezone=UTC"
}

// SQLiteSynchronous is the synchronous setting of every SQLite
// connection the store opens.
const SQLiteSynchronous = "FULL"

// RedactURL hides the password in a connection URL, for logs.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// IsDuplicate reports a unique-key violation on any dialect.
func IsDuplicate(err error) bool { return errors.Is(err, gorm.ErrDuplicatedKey) }
