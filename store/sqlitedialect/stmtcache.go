package sqlitedialect

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"strings"

	"modernc.org/sqlite"
)

// StatementsPerConn bounds each connection's cache of prepared
// statements. The service sends a few hundred distinct statements; an
// `IN ?` with a varying number of values is a new one each time, which
// is why the cache is bounded rather than unlimited.
const StatementsPerConn = 512

// NewConnector opens connections to dsn that keep their prepared
// statements: database/sql hands a driver the same SQL text again and
// again, and the pure-Go SQLite would parse and plan it every time (a
// fifth of a money step's CPU, profiled under make bench). Each
// connection parses a statement once and resets it after each use.
//
// The cache lives in the connection, not in gorm's PrepareStmt: gorm
// prepares under a lock shared by every connection, which deadlocked
// against the single writer connection held by a transaction.
func NewConnector(dsn string) (driver.Connector, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return cachingConnector{base}, nil
}

type cachingConnector struct{ driver.Connector }

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newCachingConn(conn)
}

// sqliteConn is what every connection the driver opens implements (see
// sqlite.NewConnector); the wrapper forwards all of it.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachingConn is one connection with its statements. database/sql never
// uses a connection from two goroutines at once (a Rows' Close included),
// so the cache needs no lock.
type cachingConn struct {
	sqliteConn
	stmts map[string]*list.Element // of *cachedStmt; the list's front was used last
	lru   *list.List
	limit int // StatementsPerConn
	// closed: Close has run. database/sql closes a connection's rows
	// first, so this only keeps a late release from touching a statement
	// of a closed connection.
	closed bool
}

// sqliteStmt is what the driver's prepared statements implement.
type sqliteStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

type cachedStmt struct {
	query string
	stmt  sqliteStmt
	// busy: a Rows of this statement is still open. The statement is
	// reset when those rows close; until then the same SQL gets a
	// statement of its own.
	busy bool
	// evicted: dropped from the cache while busy; closed when released.
	evicted bool
}

func newCachingConn(conn driver.Conn) (driver.Conn, error) {
	c, ok := conn.(sqliteConn)
	if !ok {
		_ = conn.Close()
		return nil, errors.New("sqlite connection lacks the interfaces the statement cache forwards")
	}
	return &cachingConn{sqliteConn: c, stmts: map[string]*list.Element{}, lru: list.New(), limit: StatementsPerConn}, nil
}

// Unwrap is what sqlite.Limit and the like look for.
func (c *cachingConn) Unwrap() driver.Conn { return c.sqliteConn }

// cacheable is a single data statement. Scripts (migrations), PRAGMAs and
// savepoints (gorm names each one after a pointer, so their text never
// repeats) are run as before.
func cacheable(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	if len(q) < 6 || strings.Contains(query, ";") {
		return false
	}
	switch strings.ToUpper(q[:6]) {
	case "SELECT", "INSERT", "UPDATE", "DELETE":
		return true
	}
	return strings.EqualFold(q[:5], "WITH ")
}

// take returns the cached statement for query, preparing it on first
// use, or nil when the query is not cached (the caller runs it directly).
func (c *cachingConn) take(ctx context.Context, query string) (*cachedStmt, error) {
	if !cacheable(query) {
		return nil, nil
	}
	if e, ok := c.stmts[query]; ok {
		s := e.Value.(*cachedStmt)
		if s.busy {
			return nil, nil
		}
		c.lru.MoveToFront(e)
		return s, nil
	}
	st, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	full, ok := st.(sqliteStmt)
	if !ok {
		_ = st.Close()
		return nil, nil
	}
	s := &cachedStmt{query: query, stmt: full}
	c.stmts[query] = c.lru.PushFront(s)
	for c.lru.Len() > c.limit {
		c.evict(c.lru.Back())
	}
	return s, nil
}

func (c *cachingConn) evict(e *list.Element) {
	s := c.lru.Remove(e).(*cachedStmt)
	delete(c.stmts, s.query)
	if s.busy {
		s.evicted = true
		return
	}
	_ = s.stmt.Close()
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return s.stmt.ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := s.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	full, ok := rows.(sqliteRows)
	if !ok {
		_ = rows.Close()
		return nil, errors.New("sqlite rows lack the interfaces the statement cache forwards")
	}
	s.busy = true
	return &cachedRows{sqliteRows: full, release: func() {
		s.busy = false
		if s.evicted && !c.closed {
			_ = s.stmt.Close()
		}
	}}, nil
}

// Close finalizes every cached statement, then closes the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for e := c.lru.Front(); e != nil; e = e.Next() {
		if s := e.Value.(*cachedStmt); !s.busy {
			errs = append(errs, s.stmt.Close())
		}
	}
	c.stmts, c.lru, c.closed = nil, list.New(), true
	errs = append(errs, c.sqliteConn.Close())
	return errors.Join(errs...)
}

// sqliteRows is what the driver's rows implement; the wrapper forwards
// the column-type methods gorm's migrator reads.
type sqliteRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// cachedRows releases its statement back to the cache when closed.
type cachedRows struct {
	sqliteRows
	release func()
}

func (r *cachedRows) Close() error {
	err := r.sqliteRows.Close()
	if r.release != nil {
		r.release()
		r.release = nil
	}
	return err
}

// The interface assertions keep the forwarding honest when the driver
// changes.
var (
	_ sqliteConn = (*cachingConn)(nil)
	_ sqliteRows = (*cachedRows)(nil)
)
