package store

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
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
