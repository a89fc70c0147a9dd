package store

import (
	"context"
	"fmt"
	"net"
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
// miniredis whose TTLs run on the wall clock. addr is a redis:// URL, or
// several comma-separated host:port addresses for a cluster.
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
	var opts redis.UniversalOptions
	if strings.HasPrefix(addr, "redis://") || strings.HasPrefix(addr, "rediss://") {
		o, err := redis.ParseURL(addr)
		if err != nil {
			return nil, fmt.Errorf("redis URL: %w", err)
		}
		opts = redis.UniversalOptions{Addrs: []string{o.Addr}, DB: o.DB, Username: o.Username, Password: o.Password, TLSConfig: o.TLSConfig}
	} else {
		opts.Addrs = strings.Split(addr, ",")
	}
	c := redis.NewUniversalClient(&opts)
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("reach redis: %w", err)
	}
	return &Redis{Client: c}, nil
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
