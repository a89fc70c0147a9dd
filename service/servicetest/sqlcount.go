package servicetest

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"
)

// Cost is what one operation asked of the stores: the round trips that
// make a money step slow, counted instead of timed so a test can hold a
// ceiling on a shared, noisy machine (issue 13).
type Cost struct {
	// Statements is every SQL statement, in or outside a transaction, on
	// the writer and the read pool.
	Statements int
	// Writes is the statements that change rows (INSERT, UPDATE, DELETE).
	Writes int
	// Txs is the transactions that ran at least one statement.
	Txs int
	// Commits is what the store has to make durable: each transaction
	// plus each write made outside one (autocommit).
	Commits int
	// Redis is the Redis commands (a script or a pipeline counts once per
	// command it sends).
	Redis int
	// RedisTrips is the Redis round trips: a command alone, a script or
	// a pipeline counts once.
	RedisTrips int
	// SQL lists the statements in order, for the failure message.
	SQL []string
}

func (c Cost) String() string {
	return fmt.Sprintf("%d statements (%d writes), %d transactions, %d commits, %d Redis commands in %d round trips",
		c.Statements, c.Writes, c.Txs, c.Commits, c.Redis, c.RedisTrips)
}

// CostMeter counts the statements, transactions and commits an Env's
// database runs and its Redis commands. Measure runs one operation and
// returns its Cost; nothing else may use the Env meanwhile.
type CostMeter struct {
	mu   sync.Mutex
	on   bool
	cost Cost
	txs  map[gorm.ConnPool]bool // transactions seen in this measurement
}

// MeterCost registers the counters on env's database (writer and read
// pool) and Redis client.
func MeterCost(t testing.TB, env *Env) *CostMeter {
	t.Helper()
	m := &CostMeter{txs: map[gorm.ConnPool]bool{}}
	pools := []*gorm.DB{env.DB.Gorm}
	if env.DB.Reader != env.DB.Gorm {
		pools = append(pools, env.DB.Reader)
	}
	for _, g := range pools {
		cb := g.Callback()
		for _, err := range []error{
			cb.Create().After("*").Register("test:cost", m.count(true)),
			cb.Update().After("*").Register("test:cost", m.count(true)),
			cb.Delete().After("*").Register("test:cost", m.count(true)),
			cb.Query().After("*").Register("test:cost", m.count(false)),
			cb.Row().After("*").Register("test:cost", m.count(false)),
			cb.Raw().After("*").Register("test:cost", m.countRaw),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	env.Redis.Client.AddHook(redisCounter{m})
	return m
}

// Measure runs op and returns what it cost.
func (m *CostMeter) Measure(op func()) Cost {
	m.mu.Lock()
	m.on, m.cost, m.txs = true, Cost{}, map[gorm.ConnPool]bool{}
	m.mu.Unlock()
	op()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.on = false
	return m.cost
}

func (m *CostMeter) count(write bool) func(*gorm.DB) {
	return func(db *gorm.DB) { m.add(db, write) }
}

func (m *CostMeter) countRaw(db *gorm.DB) {
	sql := strings.ToUpper(strings.TrimSpace(db.Statement.SQL.String()))
	// PRAGMA synchronous sets a connection's setting: no row, no commit.
	read := strings.HasPrefix(sql, "SELECT") || strings.HasPrefix(sql, "SAVEPOINT") || strings.HasPrefix(sql, "RELEASE") ||
		strings.HasPrefix(sql, "ROLLBACK") || strings.HasPrefix(sql, "PRAGMA SYNCHRONOUS")
	m.add(db, !read)
}

func (m *CostMeter) add(db *gorm.DB, write bool) {
	// A query with data-modifying CTEs (WITH … AS (UPDATE …) SELECT …)
	// runs as a read in gorm's callbacks but writes.
	if sql := strings.ToUpper(strings.TrimSpace(db.Statement.SQL.String())); strings.HasPrefix(sql, "WITH ") &&
		(strings.Contains(sql, "INSERT INTO ") || strings.Contains(sql, "UPDATE ") || strings.Contains(sql, "DELETE FROM ")) {
		write = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.on || db.DryRun {
		// A dry run only builds its SQL: nothing reaches the store.
		return
	}
	m.cost.Statements++
	if write {
		m.cost.Writes++
	}
	// Inside a transaction the statement's pool is the transaction itself
	// (sql.Tx, or gorm's prepared-statement wrapper of one): one commit
	// per distinct pool. Outside one, each write commits on its own.
	tag := "   "
	if write {
		tag = "w  "
	}
	pool := db.Statement.ConnPool
	for {
		// gorm wraps a transaction anew for each session on SQLite's
		// prepared statements; the transaction is the one inside.
		p, ok := pool.(*gorm.PreparedStmtTX)
		if !ok {
			break
		}
		pool = p.Tx
	}
	if _, inTx := pool.(gorm.TxCommitter); inTx {
		tag = tag[:2] + "T"
		m.cost.SQL = append(m.cost.SQL, tag+" "+db.Statement.SQL.String())
		if !m.txs[pool] {
			m.txs[pool] = true
			m.cost.Txs++
			m.cost.Commits++
		}
		return
	}
	m.cost.SQL = append(m.cost.SQL, tag+" "+db.Statement.SQL.String())
	if write {
		m.cost.Commits++
	}
}

type redisCounter struct{ m *CostMeter }

func (h redisCounter) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h redisCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.m.addRedis(1)
		return next(ctx, cmd)
	}
}

func (h redisCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.m.addRedis(len(cmds))
		return next(ctx, cmds)
	}
}

// addRedis counts one round trip of n commands.
func (m *CostMeter) addRedis(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.on {
		m.cost.Redis += n
		m.cost.RedisTrips++
	}
}
