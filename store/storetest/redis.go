package storetest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lianban/lianban/store"
	"github.com/redis/go-redis/v9"
)

// RedisTarget is a Redis a suite runs against.
type RedisTarget struct {
	Name string
	addr string // as store.OpenRedis takes it; "" is the embedded server
	env  string // the variable that named it, for the failure message
}

// RedisTargets lists the default Redis — the real one named by
// LIANBAN_TEST_REDIS, else the embedded one — and, when
// LIANBAN_TEST_REDIS_CLUSTER names a cluster's nodes (host:port,...), the
// cluster.
func RedisTargets() []RedisTarget {
	ts := []RedisTarget{{Name: "redis", addr: os.Getenv("LIANBAN_TEST_REDIS"), env: "LIANBAN_TEST_REDIS"}}
	if a := os.Getenv("LIANBAN_TEST_REDIS_CLUSTER"); a != "" {
		ts = append(ts, RedisTarget{Name: "cluster", addr: a, env: "LIANBAN_TEST_REDIS_CLUSTER"})
	}
	return ts
}

// Open returns a client on the target, closed when the test ends. Every
// command sent through it is checked by a slot guard: a command or a
// MULTI/EXEC naming keys of different hash tags fails with CROSSSLOT, as
// on a cluster, and fails the test, whichever Redis the test runs on.
func (rt RedisTarget) Open(t testing.TB) *store.Redis {
	t.Helper()
	r, err := store.OpenRedis(context.Background(), rt.addr)
	if err != nil {
		t.Fatalf("redis named by %s is unreachable: %v", rt.env, err)
	}
	if rt.Name == "cluster" && !r.Cluster() {
		t.Fatalf("%s names one server, not a cluster's nodes", rt.env)
	}
	g := &slotGuard{}
	r.Client.AddHook(g)
	t.Cleanup(func() {
		_ = r.Close()
		if bad := g.crossed(); len(bad) > 0 {
			t.Errorf("Redis commands naming keys of different hash tags (CROSSSLOT on a cluster):\n%s", strings.Join(bad, "\n"))
		}
	})
	return r
}

// Redis returns a client on the default Redis target.
func Redis(t testing.TB) *store.Redis { return RedisTargets()[0].Open(t) }

// ForEachRedis runs fn on every database target with the default Redis,
// then on SQLite with each further Redis target (the cluster): what Redis
// does does not depend on the database, so the cluster costs a suite one
// more run, not one per database.
func ForEachRedis(t *testing.T, fn func(t *testing.T, db *store.DB, r *store.Redis)) {
	rts := RedisTargets()
	for _, tg := range Targets() {
		t.Run(tg.Name, func(t *testing.T) { fn(t, tg.Open(t), rts[0].Open(t)) })
	}
	for _, rt := range rts[1:] {
		t.Run("sqlite+"+rt.Name, func(t *testing.T) { fn(t, openSQLite(t), rt.Open(t)) })
	}
}

// SQLiteOnEachRedis runs fn on SQLite with every Redis target, for suites
// about Redis alone.
func SQLiteOnEachRedis(t *testing.T, fn func(t *testing.T, db *store.DB, r *store.Redis)) {
	for _, rt := range RedisTargets() {
		t.Run(rt.Name, func(t *testing.T) { fn(t, openSQLite(t), rt.Open(t)) })
	}
}

// slotGuard records every command, and every MULTI/EXEC block, whose keys
// carry different hash tags. A Redis Cluster refuses those with CROSSSLOT;
// the embedded and the single Redis most tests run on accept them, so
// without the guard such a command would pass every test and fail in
// production. Comparing hash tags (the part of a key between its first {
// and the next }, else the whole key) is stricter than comparing slots:
// keys that must go together say so with a tag rather than share a slot by
// chance. Pipelines without MULTI are not blocks: a cluster client splits
// them by node.
type slotGuard struct {
	mu  sync.Mutex
	bad []string
}

var _ redis.Hook = (*slotGuard)(nil)

func (g *slotGuard) DialHook(next redis.DialHook) redis.DialHook { return next }

func (g *slotGuard) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if err := g.check([]redis.Cmder{cmd}); err != nil {
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

func (g *slotGuard) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		blocks := [][]redis.Cmder{cmds}
		if len(cmds) == 0 || cmds[0].Name() != "multi" {
			blocks = blocks[:0]
			for _, c := range cmds {
				blocks = append(blocks, []redis.Cmder{c})
			}
		}
		for _, b := range blocks {
			if err := g.check(b); err != nil {
				for _, c := range cmds {
					c.SetErr(err)
				}
				return err
			}
		}
		return next(ctx, cmds)
	}
}

// check fails, and records, a block whose keys carry different hash tags.
func (g *slotGuard) check(block []redis.Cmder) error {
	tag, first := "", ""
	for _, c := range block {
		keys := commandKeys(c.Args(), len(block) > 1)
		if store.OneServerCommand(c) && len(keys) > 0 {
			keys = keys[1:] // never sent to a cluster, but its other keys go together on one
		}
		for _, k := range keys {
			switch {
			case first == "":
				tag, first = hashTag(k), k
			case hashTag(k) != tag:
				var names []string
				for _, c := range block {
					names = append(names, strings.TrimSpace(fmt.Sprintln(c.Args()...)))
				}
				g.mu.Lock()
				g.bad = append(g.bad, "  "+strings.Join(names, "; ")+" ("+first+" and "+k+")")
				g.mu.Unlock()
				return fmt.Errorf("CROSSSLOT keys %s and %s have different hash tags (storetest slot guard)", first, k)
			}
		}
	}
	return nil
}

func (g *slotGuard) crossed() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.bad...)
}

// hashTag is the part of key a cluster hashes to pick its slot.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}

// commandKeys returns the keys of the multi-key commands a cluster checks
// for CROSSSLOT. A command not listed names at most one key, which cannot
// cross anything by itself but can within a MULTI block (inBlock): there
// it is taken to be the first argument, unless the command names no key.
func commandKeys(args []any, inBlock bool) []string {
	if len(args) < 2 {
		return nil
	}
	s := func(i int) string { return fmt.Sprint(args[i]) }
	var idx []int
	switch name := strings.ToLower(s(0)); name {
	case "del", "unlink", "exists", "touch", "mget", "watch", "sinter", "sinterstore", "sunion",
		"sunionstore", "sdiff", "sdiffstore", "pfcount", "pfmerge":
		for i := 1; i < len(args); i++ {
			idx = append(idx, i)
		}
	case "mset", "msetnx":
		for i := 1; i < len(args); i += 2 {
			idx = append(idx, i)
		}
	case "rename", "renamenx", "smove", "rpoplpush", "lmove", "blmove", "brpoplpush", "copy":
		idx = []int{1, 2}
	case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro":
		n, _ := strconv.Atoi(s(2))
		for i := 3; i < 3+n && i < len(args); i++ {
			idx = append(idx, i)
		}
	case "multi", "exec", "discard", "ping", "echo", "select", "time", "script", "function", "publish", "info", "cluster":
	default:
		if inBlock {
			idx = []int{1}
		}
	}
	var keys []string
	for _, i := range idx {
		if i < len(args) {
			keys = append(keys, s(i))
		}
	}
	return keys
}
