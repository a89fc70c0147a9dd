package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Redis is the cache connection and, in embedded mode, the in-process
// server behind it.
type Redis struct {
	Client   redis.UniversalClient
	embedded *miniredis.Miniredis
	stopTick func()

	batcherOnce sync.Once
	batcher     *redis.AutoPipeliner
}

// Embedded reports whether this is the in-process miniredis: single
// process only, lost on restart.
func (r *Redis) Embedded() bool { return r.embedded != nil }

// OpenRedis connects to Redis. An empty addr starts an in-process
// miniredis whose TTLs run on the wall clock. Otherwise addr is one of:
//
//   - redis://[user:pass@]host:port/db (rediss:// for TLS): one server;
//   - host:port,host:port,...: a Redis Cluster, through any of its nodes
//     (the client learns the rest from them);
//   - redis://[user:pass@]host:port?addr=host:port&addr=...: a Redis
//     Cluster with a password or TLS (go-redis's cluster URL).
//
// A cluster is asked for CLUSTER INFO before OpenRedis returns, so a list
// of addresses of servers without cluster mode fails here rather than on
// first use.
func OpenRedis(ctx context.Context, addr string) (*Redis, error) {
	if addr == "" {
		m := miniredis.NewMiniRedis()
		if err := m.Start(); err != nil {
			return nil, fmt.Errorf("start embedded redis: %w", err)
		}
		c := redis.NewUniversalClient(&redis.UniversalOptions{
			Addrs:  []string{"embedded:0"},
			Dialer: func(ctx context.Context, _, _ string) (net.Conn, error) { return m.Dial() },
		})
		return &Redis{Client: c, embedded: m, stopTick: tickEmbedded(m, embeddedTick)}, nil
	}
	c, err := newRedisClient(addr)
	if err != nil {
		return nil, err
	}
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("reach redis: %w", err)
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		if err := cc.ClusterInfo(ctx).Err(); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("redis cluster: %w", err)
		}
	}
	return &Redis{Client: c}, nil
}

// Batcher is the client's autopipeliner when Redis is one server of its
// own, and nil on the embedded server and on a cluster (or if go-redis
// could not make one). A command issued on it returns at once and waits
// only when its result is read; the commands of concurrent requests go
// to Redis in one write and come back in one read. Under make perf's load
// that was the difference between a cached read costing a third of
// /healthz and half of it: the Redis round trip's send and receive were
// two fifths of the request's CPU, and Redis's own on the same cores.
// The embedded server answers in process, without those system calls, and
// on a cluster the session and a person's keys live on different nodes.
func (r *Redis) Batcher() *redis.AutoPipeliner {
	r.batcherOnce.Do(func() {
		c, ok := r.Client.(*redis.Client)
		if !ok || r.embedded != nil {
			return
		}
		// The default: one batch in flight at a time, in submit order, and
		// no waiting for more commands (a lone request is sent at once).
		if ap, err := c.AsyncAutoPipeline(); err == nil {
			r.batcher = ap
		}
	})
	return r.batcher
}

// GetExWith reads key, renewing its TTL to ttl, and the values at keys
// (nil for a missing one), in one round trip: a request's session and the
// cache entries its handler will read. A missing key is redis.Nil, and
// the values are nil when they could not be read. On one Redis server of
// its own both go through the autopipeliner (Batcher) as one script, so
// they are one command of whichever batch they join; a server refusing
// scripts (an ACL without @scripting) is read as the embedded server and
// a cluster are, with a pipeline of GETEX and MGET (on a cluster the key
// and keys go to their own nodes: keys must share one hash tag).
func (r *Redis) GetExWith(ctx context.Context, key string, ttl time.Duration, keys []string) ([]byte, []any, error) {
	ap := r.Batcher()
	if len(keys) == 0 {
		c := redis.Cmdable(r.Client)
		if ap != nil {
			c = ap
		}
		raw, err := c.GetEx(ctx, key, ttl).Bytes()
		return raw, nil, err
	}
	if ap != nil {
		vals, err := getExWith.Run(ctx, ap, append([]string{key}, keys...), ttl.Milliseconds()).Slice()
		if err == nil && len(vals) == len(keys)+1 {
			v, ok := vals[0].(string)
			if !ok {
				return nil, nil, redis.Nil
			}
			return []byte(v), vals[1:], nil
		}
		var refused redis.Error
		if err != nil && !errors.As(err, &refused) {
			return nil, nil, err // unreachable: a pipeline would not reach it either
		}
	}
	pipe := r.Client.Pipeline()
	getex := pipe.GetEx(ctx, key, ttl)
	mget := pipe.MGet(ctx, keys...)
	_, _ = pipe.Exec(ctx) // each command carries its own error
	raw, err := getex.Bytes()
	vals, merr := mget.Result()
	if merr != nil {
		vals = nil
	}
	return raw, vals, err
}

// getExWith is GETEX of KEYS[1] (TTL ARGV[1] ms) and GET of each further
// key, as one command: [value, values...], a missing one nil (false in
// Lua keeps the array's length). A Script is its source and hash, never
// changed.
var getExWith = redis.NewScript(getExWithSource)

const getExWithSource = `
local out = {redis.call('GETEX', KEYS[1], 'PX', ARGV[1])}
for i = 2, #KEYS do out[i] = redis.call('GET', KEYS[i]) end
return out`

// OneServerCommand reports whether cmd is one this package sends only to
// Redis of one server (GetExWith's script, through Batcher), so its keys
// may carry different hash tags: the tests' slot guard lets it.
func OneServerCommand(cmd redis.Cmder) bool {
	args := cmd.Args()
	if len(args) < 2 {
		return false
	}
	switch cmd.Name() {
	case "evalsha":
		return args[1] == getExWith.Hash()
	case "eval":
		return args[1] == getExWithSource
	}
	return false
}

// Cluster reports whether this is a Redis Cluster.
func (r *Redis) Cluster() bool {
	_, ok := r.Client.(*redis.ClusterClient)
	return ok
}

func isRedisURL(addr string) bool {
	return strings.HasPrefix(addr, "redis://") || strings.HasPrefix(addr, "rediss://")
}

// isClusterURL reports whether a redis:// URL names further nodes with
// addr= parameters, as go-redis's cluster URLs do.
func isClusterURL(addr string) bool {
	u, err := url.Parse(addr)
	return err == nil && u.Query().Has("addr")
}

// newRedisClient builds the client addr names, without connecting.
func newRedisClient(addr string) (redis.UniversalClient, error) {
	switch {
	case isRedisURL(addr) && isClusterURL(addr):
		if u, err := url.Parse(addr); err == nil && strings.Trim(u.Path, "/0") != "" {
			return nil, fmt.Errorf("redis cluster URL: a cluster has only database 0, not %s", u.Path)
		}
		o, err := redis.ParseClusterURL(addr)
		if err != nil {
			return nil, fmt.Errorf("redis cluster URL: %w", err)
		}
		return redis.NewClusterClient(o), nil
	case isRedisURL(addr):
		o, err := redis.ParseURL(addr)
		if err != nil {
			return nil, fmt.Errorf("redis URL: %w", err)
		}
		return redis.NewClient(o), nil
	}
	var nodes []string
	for _, a := range strings.Split(addr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			nodes = append(nodes, a)
		}
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("redis: no address in %q", addr)
	}
	// One address is one server; UniversalClient makes a cluster client of
	// two or more.
	return redis.NewUniversalClient(&redis.UniversalOptions{Addrs: nodes}), nil
}

// embeddedTick is how often the embedded server's TTLs advance: keys
// expire up to this late, which no TTL here (sessions, nonces, rate-limit
// windows of a minute and more) notices.
const embeddedTick = 100 * time.Millisecond

// tickEmbedded advances the embedded server's TTLs on the wall clock until
// the returned stop is called. miniredis's own ClockTTL(true) does the same
// on every command, and its fastForward sorts every key each time: with a
// few thousand sessions that was a quarter of the CPU of a getMe under
// load (make perf's profile).
func tickEmbedded(m *miniredis.Miniredis, every time.Duration) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				m.FastForward(now.Sub(last))
				last = now
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// Close closes the client and stops an embedded server.
func (r *Redis) Close() error {
	err := r.Client.Close()
	if r.stopTick != nil {
		r.stopTick()
	}
	if r.embedded != nil {
		r.embedded.Close()
	}
	return err
}
