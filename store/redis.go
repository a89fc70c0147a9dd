package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Redis is the cache connection and, in embedded mode, the in-process
// server behind it.
type Redis struct {
	Client redis.UniversalClient
	// Log, when set, hears of what the store decides on its own (reading
	// the plain way once a server refuses scripts).
	Log *slog.Logger
	// CloseWait bounds Close's wait for the client (defaultCloseWait when
	// zero).
	CloseWait time.Duration
	embedded  *miniredis.Miniredis
	stopTick  func()

	batcherOnce sync.Once
	batcher     *redis.AutoPipeliner
	batchWait   time.Duration
	noScripts   atomic.Bool // the server refused GetExWith's script
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
		srv := m.Server() // read once: miniredis clears it on Close
		c := redis.NewUniversalClient(&redis.UniversalOptions{
			Addrs:  []string{"embedded:0"},
			Dialer: func(context.Context, string, string) (net.Conn, error) { return newEmbeddedConn(srv), nil },
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
// could not make one). The commands of concurrent requests submitted to
// it go to Redis in one write and come back in one read. Under make
// perf's load that was the difference between a cached read costing a
// third of /healthz and half of it: the Redis round trip's send and
// receive were two fifths of the request's CPU, and Redis's own on the
// same cores. The embedded server answers in process, without those
// system calls, and on a cluster the session and a person's keys live on
// different nodes.
func (r *Redis) Batcher() *redis.AutoPipeliner {
	r.batcherOnce.Do(func() {
		c, ok := r.Client.(*redis.Client)
		if !ok || r.embedded != nil {
			return
		}
		// The default: one batch in flight at a time, in submit order, and
		// no waiting for more commands (a lone request is sent at once).
		// A bounded queue (batcherQueue).
		o := redis.DefaultAutoPipelineOptions()
		o.MaxQueuedCommands = batcherQueue
		if ap, err := c.AsyncAutoPipelineWithOptions(o); err == nil {
			r.batcher = ap
			// A batched command does not heed its caller's context (the
			// batch runs on its own), so a caller stops waiting at its
			// context's end, or once the batch ahead and its own could
			// each have timed out; with timeouts off, at its context's
			// end alone.
			if opt := c.Options(); opt.ReadTimeout > 0 && opt.WriteTimeout > 0 {
				r.batchWait = 2*opt.ReadTimeout + opt.WriteTimeout
			}
		}
	})
	return r.batcher
}

// batcherQueue bounds the commands waiting in the batcher (in health a
// batch holds a few dozen). When Redis hangs, the commands of requests
// that stopped waiting stay queued until the batch ahead fails; past this
// many a read fails at once as unavailable rather than queue, or wait on
// a plain command that would not heed its context either.
const batcherQueue = 4096

// defaultCloseWait is how long Close waits for the client: a healthy one
// closes at once, and a batch in flight ends by its read timeout (3 s by
// default).
const defaultCloseWait = 5 * time.Second

// GetExWith reads key, renewing its TTL to ttl, and the values at keys
// (nil for a missing one; keys share one hash tag), in one round trip: a
// request's session and the cache entries its handler will read. A
// missing key is redis.Nil, and the values are nil when they could not be
// read. On one Redis server of its own it is one script submitted to the
// Batcher, so it joins whichever batch is going; elsewhere, and on a
// server that refuses the script (an ACL without @scripting, a proxy
// that shards keys: remembered), it is GETEX, with MGET beside it in a
// pipeline when keys are named.
func (r *Redis) GetExWith(ctx context.Context, key string, ttl time.Duration, keys []string) ([]byte, []any, error) {
	if ap := r.Batcher(); ap != nil && !r.noScripts.Load() {
		vals, err := r.batchedScript(ctx, ap, key, keys, ttl.Milliseconds())
		var refused redis.Error
		switch {
		case err == nil && len(vals) == len(keys)+1:
			v, ok := vals[0].(string)
			if !ok {
				return nil, nil, redis.Nil
			}
			if len(keys) == 0 {
				return []byte(v), nil, nil
			}
			return []byte(v), vals[1:], nil
		case errors.As(err, &refused):
			// The server answered: read the plain way, and for good when
			// it refuses the command itself (not one key of one request).
			if scriptRefused(refused.Error()) && r.noScripts.CompareAndSwap(false, true) && r.Log != nil {
				// Only the refusal: an unknown command's reply goes on to
				// echo its arguments, the session key among them.
				reason, _, _ := strings.Cut(refused.Error(), ", with args")
				r.Log.WarnContext(ctx, "redis refuses the session read's script: reading with GETEX and MGET from now on, one round trip without batching",
					"reason", reason)
			}
		case err != nil:
			return nil, nil, err // the context's end, the network, a full queue: a plain read would fare no better
		}
	}
	if len(keys) == 0 {
		raw, err := r.Client.GetEx(ctx, key, ttl).Bytes()
		return raw, nil, err
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

// scriptRefused reports whether a server's error refuses GetExWith's
// script itself: its ACL forbids the command (not a key), scripting is
// not there, or the keys are sharded across nodes behind one address.
func scriptRefused(msg string) bool {
	return strings.HasPrefix(msg, "NOPERM") && strings.Contains(msg, "command") ||
		strings.HasPrefix(msg, "ERR unknown command") || strings.HasPrefix(msg, "CROSSSLOT")
}

// batchedScript runs getExWith on key and keys through the batcher
// (sending the script itself when the server does not have it yet),
// waiting until its reply, ctx's end or batchWait, whichever comes first.
// Only the wait ends early: a command submitted runs with its batch.
func (r *Redis) batchedScript(ctx context.Context, ap *redis.AutoPipeliner, key string, keys []string, ttlMillis int64) ([]any, error) {
	if r.batchWait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.batchWait)
		defer cancel()
	}
	run := func(name, script string) ([]any, error) {
		if err := ctx.Err(); err != nil {
			return nil, err // gone already: take no place in the queue
		}
		args := make([]any, 0, 4+len(keys)+1)
		args = append(args, name, script, 1+len(keys), key)
		for _, k := range keys {
			args = append(args, k)
		}
		cmd := redis.NewCmd(ctx, append(args, ttlMillis)...)
		if err := ap.Submit(ctx, cmd).WaitContext(ctx); err != nil {
			return nil, err // on ctx's end the reply may still land in cmd: not read
		}
		return cmd.Slice()
	}
	vals, err := run("evalsha", getExWith.Hash())
	if err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		vals, err = run("eval", getExWithSource)
	}
	return vals, err
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
// Redis of one server (GetExWith's script, through Batcher), whose first
// key may therefore carry another hash tag than the rest: the tests' slot
// guard checks the rest alone.
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

// embeddedTick is how often the embedded server's TTLs advance while it
// holds few keys: keys expire up to this late, which no TTL here
// (sessions, nonces, rate-limit windows of a minute and more) notices.
const embeddedTick = 100 * time.Millisecond

// tickEmbedded advances the embedded server's TTLs on the wall clock until
// the returned stop is called. miniredis's own ClockTTL(true) does the same
// on every command, and its fastForward sorts every key each time: with a
// few thousand sessions that was a quarter of the CPU of a getMe under
// load (make perf's profile).
//
// Even once every tick, the sort holds the server's lock while it runs
// (5 ms for 20,000 keys, 26 ms for 50,000 on the development machine),
// and every command waits: the next tick is put off so that the lock is
// held for TTLs at most a hundredth of the time (tickAfter).
func tickEmbedded(m *miniredis.Miniredis, every time.Duration) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTimer(every)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				// The cost is the sort's, not the wait for a core before it.
				start := time.Now()
				m.FastForward(start.Sub(last))
				last = start
				t.Reset(tickAfter(every, time.Since(start)))
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// tickAfter is the wait before the next tick when the last one took took:
// every, or a hundred times took when that is longer, never more than
// maxEmbeddedTick (so a key outlives its TTL by at most that much).
func tickAfter(every, took time.Duration) time.Duration {
	return min(max(every, 100*took), max(every, maxEmbeddedTick))
}

// maxEmbeddedTick bounds how late a key may expire on a busy embedded
// server: no TTL here (a query's 3 s throttle the shortest) minds it.
const maxEmbeddedTick = 2 * time.Second

// Close closes the client and stops an embedded server. go-redis's Close
// waits for the batcher to drain, and on a Redis that accepts and never
// answers that is up to its 30 s backstop: past CloseWait the process
// stops waiting and leaves the client to its own goroutine, so a shutdown
// is not held by a hung cache.
func (r *Redis) Close() error {
	wait := r.CloseWait
	if wait <= 0 {
		wait = defaultCloseWait
	}
	closed := make(chan error, 1)
	go func() { closed <- r.Client.Close() }()
	var err error
	select {
	case err = <-closed:
	case <-time.After(wait):
		err = fmt.Errorf("redis: the client did not close in %s (Redis not answering); left closing", wait)
	}
	if r.stopTick != nil {
		r.stopTick()
	}
	if r.embedded != nil {
		r.embedded.Close()
	}
	return err
}
