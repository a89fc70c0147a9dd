package sqlitedialect

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"testing"
)

// openCached opens a one-connection pool through the caching connector
// and returns it with that connection's cache, for the tests to inspect.
func openCached(t *testing.T) (*sql.DB, func() *cachingConn) {
	t.Helper()
	c, err := NewConnector("file:" + filepath.Join(t.TempDir(), "t.db") + "?_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	cache := func() *cachingConn {
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return cacheOf(t, conn)
	}
	return db, cache
}

// cacheOf is the statement cache of the connection conn holds.
func cacheOf(t *testing.T, conn *sql.Conn) *cachingConn {
	t.Helper()
	var cc *cachingConn
	if err := conn.Raw(func(dc any) error { cc = dc.(*cachingConn); return nil }); err != nil {
		t.Fatal(err)
	}
	return cc
}

func TestAStatementIsPreparedOnceAndRunsAgainWithNewValues(t *testing.T) {
	db, cache := openCached(t)
	for i := 1; i <= 3; i++ {
		if _, err := db.Exec("INSERT INTO t (id, v) VALUES (?, ?)", i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	// A failed run (the key is taken) leaves the statement usable.
	if _, err := db.Exec("INSERT INTO t (id, v) VALUES (?, ?)", 1, "again"); err == nil {
		t.Fatal("a duplicate key was inserted")
	}
	if _, err := db.Exec("INSERT INTO t (id, v) VALUES (?, ?)", 4, "v4"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, id := range []int{4, 2} {
		var v string
		if err := db.QueryRow("SELECT v FROM t WHERE id = ?", id).Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if fmt.Sprint(got) != "[v4 v2]" {
		t.Fatalf("read %v", got)
	}
	c := cache()
	if c.lru.Len() != 2 {
		t.Fatalf("%d statements cached, want the insert and the select", c.lru.Len())
	}
}

// Rows still open keep their statement: the same query run meanwhile on
// the same connection (inside one transaction) gets a statement of its
// own, and neither result is disturbed.
func TestAQueryRunAgainWhileItsRowsAreOpenGetsItsOwnStatement(t *testing.T) {
	db, _ := openCached(t)
	for i := 1; i <= 4; i++ {
		if _, err := db.Exec("INSERT INTO t (id, v) VALUES (?, ?)", i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = "SELECT id FROM t WHERE id > ? ORDER BY id"
	outer, err := tx.Query(q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var seen []int
	for outer.Next() {
		var id int
		if err := outer.Scan(&id); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, id)
		inner, err := tx.Query(q, id)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for inner.Next() {
			n++
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
		if n != 4-id {
			t.Fatalf("after %d the inner query saw %d rows", id, n)
		}
	}
	if err := outer.Close(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seen) != "[1 2 3 4]" {
		t.Fatalf("the outer query saw %v", seen)
	}
}

// Scripts and savepoints run as before and are never cached: a script's
// later statements would be dropped by a prepared statement, and gorm
// names every savepoint anew.
func TestScriptsAndSavepointsAreNotCached(t *testing.T) {
	db, cache := openCached(t)
	if _, err := db.Exec("CREATE TABLE a (x); CREATE TABLE b (y)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO b (y) VALUES (1)"); err != nil {
		t.Fatal("the script's second statement did not run:", err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"SAVEPOINT sp1", "INSERT INTO a (x) VALUES (1)", "ROLLBACK TO SAVEPOINT sp1", "RELEASE SAVEPOINT sp1"} {
		if _, err := tx.Exec(s); err != nil {
			t.Fatal(s, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM a").Scan(&n); err != nil || n != 0 {
		t.Fatalf("rolled back to the savepoint, a has %d rows (%v)", n, err)
	}
	for q := range cache().stmts {
		if !cacheable(q) {
			t.Errorf("cached %q", q)
		}
	}
}

// The cache is bounded; a statement evicted while its rows are open is
// closed only when they close.
func TestTheCacheIsBoundedAndEvictsABusyStatementOnlyWhenItsRowsClose(t *testing.T) {
	db, cache := openCached(t)
	cache().limit = 3
	if _, err := db.Exec("INSERT INTO t (id, v) VALUES (1, 'a'), (2, 'b')"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	busy, err := conn.QueryContext(ctx, "SELECT v FROM t ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for i := 0; i < 5; i++ {
		var n int
		if err := conn.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) FROM t WHERE id = %d", i)).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	c := cacheOf(t, conn)
	if c.lru.Len() != 3 {
		t.Fatalf("%d statements cached, want the limit of 3", c.lru.Len())
	}
	if _, ok := c.stmts["SELECT v FROM t ORDER BY id"]; ok {
		t.Fatal("the oldest statement was not evicted")
	}
	var got []string
	for busy.Next() {
		var v string
		if err := busy.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if err := busy.Close(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[a b]" {
		t.Fatalf("the evicted statement's rows read %v", got)
	}
}

// The wrapper forwards what database/sql looks for on a connection; a
// wrapper hiding them would make it fall back to context-free calls.
func TestTheConnectionKeepsTheDriversInterfaces(t *testing.T) {
	c, err := NewConnector("file:" + filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := c.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for name, ok := range map[string]bool{
		"ConnBeginTx":     is[driver.ConnBeginTx](conn),
		"ExecerContext":   is[driver.ExecerContext](conn),
		"QueryerContext":  is[driver.QueryerContext](conn),
		"SessionResetter": is[driver.SessionResetter](conn),
		"Validator":       is[driver.Validator](conn),
		"Pinger":          is[driver.Pinger](conn),
	} {
		if !ok {
			t.Errorf("the connection is no %s", name)
		}
	}
}

func is[T any](v any) bool { _, ok := v.(T); return ok }
